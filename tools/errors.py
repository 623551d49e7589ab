"""Errors that tools and clients raise, each saying what went wrong and what to do."""

from __future__ import annotations


class OpsError(RuntimeError):
    """Base class: `str(err)` is a one-line message fit for a user."""


class BackendUnavailable(OpsError):
    """A backend could not be reached or answered with a server error."""

    def __init__(self, backend: str, url: str, reason: str, fix: str) -> None:
        self.backend, self.url, self.reason, self.fix = backend, url, reason, fix
        super().__init__(f"cannot reach {backend} at {url} ({reason}). {fix}")


class QueryError(OpsError):
    """A backend rejected a query (bad syntax, bad arguments)."""


class UnknownEntity(OpsError):
    """A service, model or metric is not known to any backend."""

    def __init__(self, kind: str, name: str, suggestions: list[str]) -> None:
        self.kind, self.name, self.suggestions = kind, name, suggestions
        hint = f" Did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"unknown {kind} '{name}'.{hint}")
