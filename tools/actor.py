"""Who a write action runs on behalf of: set by the act node, read by write tools."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_ACTOR: ContextVar[str | None] = ContextVar("opsloop_actor", default=None)
_THREAD: ContextVar[str | None] = ContextVar("opsloop_thread", default=None)
_REQUESTER: ContextVar[str | None] = ContextVar("opsloop_requester", default=None)


def current_actor() -> str:
    """Return the approver a write runs for (`opsloop` outside an approved action)."""
    return _ACTOR.get() or "opsloop"


def current_thread() -> str | None:
    """Return the incident or conversation an approved action runs in, if any."""
    return _THREAD.get()


def current_requester() -> str | None:
    """Return who asked for the approved action, if known."""
    return _REQUESTER.get()


@contextmanager
def acting_as(
    who: str, thread: str | None = None, requested_by: str | None = None
) -> Iterator[None]:
    """Run the block on behalf of `who`, within `thread` (an incident or conversation id),
    for `requested_by`; tools record them as the author and the occasion of changes."""
    tokens = (_ACTOR.set(who), _THREAD.set(thread), _REQUESTER.set(requested_by))
    try:
        yield
    finally:
        _ACTOR.reset(tokens[0])
        _THREAD.reset(tokens[1])
        _REQUESTER.reset(tokens[2])
