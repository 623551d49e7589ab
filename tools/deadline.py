"""A turn's deadline, carried in a context variable to every tool and backend call under it.

The assistant sets it per question or investigation; tool runs and HTTP requests to backends
shorten their timeouts to what is left, so a backend that never answers cannot keep an
investigation (and its lease) alive past it.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import requests
from requests.adapters import HTTPAdapter

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "opsloop_deadline", default=None
)
PAST_DEADLINE = (
    "the turn's deadline passed (OPSLOOP_TURN_DEADLINE_S); the answer is partial, "
    "what did not answer is listed"
)


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Give everything run inside a deadline `seconds` from now (None: none)."""
    token = _DEADLINE.set(None if seconds is None else time.monotonic() + seconds)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def remaining() -> float | None:
    """Return the seconds left before the deadline (None when there is none)."""
    end = _DEADLINE.get()
    return None if end is None else end - time.monotonic()


class DeadlineAdapter(HTTPAdapter):
    """An HTTP adapter whose timeouts never run past the caller's deadline."""

    def send(self, request: Any, *args: Any, timeout: Any = None, **kwargs: Any) -> Any:
        """Send with the timeout cut to what is left; refuse once nothing is."""
        left = remaining()
        if left is not None:
            if left <= 0:
                raise requests.ConnectTimeout(f"not sent: {PAST_DEADLINE}", request=request)
            if isinstance(timeout, tuple):
                timeout = tuple(left if t is None else min(t, left) for t in timeout)
            else:
                timeout = left if timeout is None else min(timeout, left)
        return super().send(request, *args, timeout=timeout, **kwargs)


class DeadlineTransport(httpx.BaseTransport):
    """An httpx transport whose timeouts never run past the caller's deadline."""

    def __init__(self, inner: httpx.BaseTransport | None = None) -> None:
        self.inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send with every timeout cut to what is left; refuse once nothing is."""
        left = remaining()
        if left is not None:
            if left <= 0:
                raise httpx.ConnectTimeout(f"not sent: {PAST_DEADLINE}", request=request)
            timeouts = dict(request.extensions.get("timeout") or {})
            for phase in ("connect", "read", "write", "pool"):
                given = timeouts.get(phase)
                timeouts[phase] = left if given is None else min(given, left)
            request.extensions["timeout"] = timeouts
        return self.inner.handle_request(request)

    def close(self) -> None:
        """Close the wrapped transport."""
        self.inner.close()
