"""Who a write action runs on behalf of: set by the act node, read by write tools."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_ACTOR: ContextVar[str | None] = ContextVar("opsloop_actor", default=None)


def current_actor() -> str:
    """Return the approver a write runs for (`opsloop` outside an approved action)."""
    return _ACTOR.get() or "opsloop"


@contextmanager
def acting_as(who: str) -> Iterator[None]:
    """Run the block on behalf of `who`; tools record them as the author of changes."""
    token = _ACTOR.set(who)
    try:
        yield
    finally:
        _ACTOR.reset(token)
