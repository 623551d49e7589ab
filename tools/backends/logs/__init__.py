"""Log search over one interface: the embedded SQLite store, Loki, or Elasticsearch/OpenSearch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from opsloop.tools.backends.logs.base import LogBackend, LogQuery, LogRecord, LogResult
from opsloop.tools.backends.logs.local import LocalLogStore
from opsloop.tools.backends.logs.remote import ElasticBackend, LokiBackend
from opsloop.tools.deadline import DeadlineTransport

__all__ = ["LogBackend", "LogQuery", "LogRecord", "LogResult", "make_backend"]


def make_backend(settings: Any, state_dir: Path) -> LogBackend:
    """Build the configured backend (clients are made here, once, and injected)."""
    if settings.logs_backend == "local":
        return LocalLogStore(state_dir / "logs.sqlite", list(settings.logs_paths))
    if not settings.logs_url:
        raise ValueError(f"OPSLOOP_LOGS_URL is required for the {settings.logs_backend} backend")
    headers = {}
    if settings.logs_bearer_token:
        headers["Authorization"] = f"Bearer {settings.logs_bearer_token.get_secret_value()}"
    if settings.logs_tenant:
        headers["X-Scope-OrgID"] = settings.logs_tenant
    auth = None
    if settings.logs_username:
        password = settings.logs_password.get_secret_value() if settings.logs_password else ""
        auth = (settings.logs_username, password)
    client = httpx.Client(
        headers=headers, auth=auth, timeout=settings.prometheus_timeout,
        transport=DeadlineTransport(),
    )  # fmt: skip
    if settings.logs_backend == "loki":
        return LokiBackend(settings.logs_url, client, service_label=settings.logs_service_label)
    return ElasticBackend(settings.logs_url, client, index=settings.logs_index)
