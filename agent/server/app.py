"""`opsloop serve` HTTP app: alert webhooks in, incidents out, health and Prometheus metrics."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from opsloop.agent.db.group_commit import AsyncGroupCommit
from opsloop.agent.db.sqlite import STORE_UNAVAILABLE
from opsloop.agent.rca.alerts import AlertError, Notification, parse_alertmanager, parse_grafana
from opsloop.agent.server.auth import ReadAuth, WebhookAuth
from opsloop.agent.server.incidents import STATUSES, IncidentStore
from opsloop.agent.server.worker import WorkerPool

log = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]
MAX_LIMIT = 1000
_HINT = {
    "alertmanager": "send the JSON body an Alertmanager webhook_config posts (version 4)",
    "grafana": "send the JSON body a Grafana webhook contact point posts",
}


class Reject(Exception):
    """A request refused with a 4xx (or 503) and a JSON `{"error": ...}`."""

    def __init__(
        self, status: int, reason: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.reason, self.message, self.headers = status, reason, message, headers


class Metrics:
    """The app's own Prometheus registry (not the global one: several apps per process)."""

    def __init__(self, store: IncidentStore, pool: WorkerPool) -> None:
        self.registry = registry = CollectorRegistry()
        self.notifications = Counter(
            "opsloop_notifications", "Valid alert notifications received, duplicates included.",
            ["source", "status"], registry=registry,
        )  # fmt: skip
        self.duplicates = Counter(
            "opsloop_notifications_duplicate",
            "Notifications dropped as repeats (retries, repeat_interval) of a stored one.",
            registry=registry,
        )
        self.rejected = Counter(
            "opsloop_notifications_rejected", "Webhook requests refused, by reason.",
            ["reason"], registry=registry,
        )  # fmt: skip
        self.investigations = Counter(
            "opsloop_investigations", "Finished investigation attempts, by outcome.",
            ["outcome"], registry=registry,
        )  # fmt: skip
        self.duration = Histogram(
            "opsloop_investigation_duration_seconds", "Time one investigation attempt took.",
            buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800), registry=registry,
        )  # fmt: skip
        # Zero series up front, so dashboards and rate() see them before the first event.
        for source in ("alertmanager", "grafana", "pagerduty"):
            for status in ("firing", "resolved"):
                self.notifications.labels(source, status)
        for reason in (
            "unauthorized",
            "too_large",
            "bad_request",
            "bad_json",
            "bad_payload",
            "unavailable",
            "not_configured",
        ):
            self.rejected.labels(reason)
        for outcome in ("completed", "retry", "failed", "lost"):
            self.investigations.labels(outcome)
        registry.register(_StoreCollector(store))
        pool.listeners.append(self.observe)

    def observe(self, outcome: str, seconds: float) -> None:
        """Count one finished investigation attempt."""
        self.investigations.labels(outcome).inc()
        self.duration.observe(seconds)


class _StoreCollector:
    """Incident gauges read from the store at scrape time (other processes share the file)."""

    def __init__(self, store: IncidentStore) -> None:
        self.store = store

    def describe(self) -> list[GaugeMetricFamily]:
        return self._families()

    def collect(self) -> list[GaugeMetricFamily]:
        try:
            counts, depth = self.store.counts(), self.store.queue_depth()
        except Exception as exc:  # a scrape must not fail because the store is busy
            log.warning("metrics: cannot read the incident store: %s", exc)
            return []
        return self._families(counts, depth)

    def _families(
        self, counts: dict[str, int] | None = None, depth: int | None = None
    ) -> list[GaugeMetricFamily]:
        incidents = GaugeMetricFamily(
            "opsloop_incidents", "Incidents in the store, by status.", labels=["status"]
        )
        queue = GaugeMetricFamily(
            "opsloop_queue_depth", "Incidents waiting for or under investigation."
        )
        for status, n in (counts or {}).items():
            incidents.add_metric([status], n)
        if depth is not None:
            queue.add_metric([], depth)
        return [incidents, queue]


def create_app(
    settings: Any,
    store: IncidentStore,
    pool: WorkerPool,
    *,
    max_body_bytes: int = 1_048_576,
    extra_routes: Sequence[BaseRoute] = (),
    manage_pool: bool = True,
    stop_timeout_s: float = 10.0,
    background: Sequence[Any] = (),
    contexts: Sequence[Callable[[], AbstractAsyncContextManager[Any]]] = (),
) -> Starlette:
    """Build the app; with `manage_pool` its lifespan starts and stops the worker pool.

    `background` holds more services (start()/stop()) the lifespan runs, e.g. a registry poll;
    `contexts` async context managers it holds open (the MCP session manager).

    `extra_routes` mounts more endpoints (e.g. `Route("/slack/events", ...)`) on the same app.
    """
    auth = WebhookAuth(settings)
    reader = ReadAuth(settings)
    metrics = Metrics(store, pool)

    def may_read(request: Request) -> None:
        if not reader.allows(request.headers.get("authorization")):
            raise Reject(
                401, "unauthorized",
                "missing or wrong read credentials: send Authorization: Bearer "
                "<OPSLOOP_READ_TOKEN> (the webhook token does not read)",
                {"WWW-Authenticate": 'Bearer realm="opsloop"'},
            )  # fmt: skip

    async def intake(
        request: Request, source: str, parse: Callable[[Any], Notification]
    ) -> Response:
        try:
            if not auth.allows(request.headers.get("authorization")):
                raise Reject(
                    401, "unauthorized", f"missing or wrong credentials: send {auth.expected()}",
                    {"WWW-Authenticate": auth.challenge()},
                )  # fmt: skip
            body = await read_body(request, max_body_bytes)
            notification = _parse(body, parse, _HINT[source])
        except Reject as exc:
            metrics.rejected.labels(exc.reason).inc()
            raise
        return await store_notification(request.app, notification, body)

    async def alertmanager(request: Request) -> Response:
        return await intake(request, "alertmanager", parse_alertmanager)

    async def grafana(request: Request) -> Response:
        return await intake(request, "grafana", parse_grafana)

    async def healthz(request: Request) -> Response:
        try:
            queue = await run_in_threadpool(store.queue_depth)
        except Exception as exc:
            log.warning("health check: incident store unusable: %s", exc)
            return JSONResponse({"status": "error", "error": f"incident store: {exc}"}, 503)
        body = {"status": "ok", "queue": queue, "workers": pool.alive}
        if pool.started and not pool.alive:
            return JSONResponse({**body, "status": "error", "error": "no worker is running"}, 503)
        return JSONResponse(body)

    async def metrics_endpoint(request: Request) -> Response:
        if reader.metrics:
            may_read(request)
        data = await run_in_threadpool(generate_latest, metrics.registry)
        return Response(data, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def incidents(request: Request) -> Response:
        console = request.app.state.console
        if console is not None and console.wants_html(request):
            return await console.index(request)
        may_read(request)
        status = request.query_params.get("status") or None
        if status is not None and status not in STATUSES:
            raise Reject(400, "bad_query", f"status must be one of {', '.join(STATUSES)}")
        limit = _limit(request.query_params.get("limit"))
        return JSONResponse(await run_in_threadpool(store.list_incidents, limit, status))

    async def incident(request: Request) -> Response:
        console = request.app.state.console
        if console is not None and console.wants_html(request):  # a browser: the page
            return await console.incident(request)
        may_read(request)
        incident_id = request.path_params["incident_id"]
        found = await run_in_threadpool(store.get, incident_id)
        if found is None:
            raise Reject(404, "unknown", f"no incident {incident_id!r}; GET /incidents lists them")
        return JSONResponse(found)

    routes: list[BaseRoute] = [
        Route("/alerts/alertmanager", guard(alertmanager), methods=["POST"]),
        Route("/alerts/grafana", guard(grafana), methods=["POST"]),
        Route("/healthz", guard(healthz), methods=["GET"]),
        Route("/metrics", guard(metrics_endpoint), methods=["GET"]),
        Route("/incidents", guard(incidents), methods=["GET"]),
        Route("/incidents/{incident_id}", guard(incident), methods=["GET"]),
        *extra_routes,
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage_pool:
            pool.start()
        for service in background:
            service.start()
        try:
            async with AsyncExitStack() as stack:
                for context in contexts:
                    await stack.enter_async_context(context())
                yield
        finally:
            for service in background:
                await run_in_threadpool(service.stop)
            if manage_pool and not await run_in_threadpool(pool.stop, stop_timeout_s):
                log.warning("investigations still running at shutdown; their leases will expire")

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
    )
    app.state.store, app.state.pool, app.state.metrics = store, pool, metrics
    app.state.console = None  # set by `opsloop serve` (agent/server/console)
    # Looked up per batch, not bound here, so a test may replace the store's method.
    batch = AsyncGroupCommit(lambda items: store.accept_batch(items))
    app.state.group_commit = batch if store.group_commit is not None else None
    app.state.registry = metrics.registry  # what /metrics serves; others may register on it
    return app


async def store_notification(app: Starlette, notification: Notification, body: bytes) -> Response:
    """Store and route a verified notification, wake the workers, and answer its sender."""
    store, pool, metrics = app.state.store, app.state.pool, app.state.metrics
    try:
        if app.state.group_commit is not None:  # SQLite: one write for whoever is waiting
            accepted = await app.state.group_commit.submit(store.prepare(notification, body))
        else:  # PostgreSQL: side by side, each under its group's lock
            accepted = await run_in_threadpool(store.accept, notification, body)
    except STORE_UNAVAILABLE:
        metrics.rejected.labels("unavailable").inc()
        raise  # → 503: the sender retries, nothing was half-stored
    if not accepted.duplicate:  # a repeat changed nothing: no work, no resolution
        pool.wake()
    source = notification.source
    metrics.notifications.labels(source, notification.status).inc()
    if accepted.duplicate:
        metrics.duplicates.inc()
    what = "duplicate" if accepted.duplicate else "new" if accepted.created else "joined"
    log.info("alert %s %s group=%s alerts=%d → incident %s (%s)", source,
             notification.status, notification.group_key, len(notification.alerts),
             accepted.incident_id, what)  # fmt: skip
    status = "duplicate" if accepted.duplicate else "accepted"
    return JSONResponse({"status": status, "incident": accepted.incident_id})


def guard(handler: Handler) -> Handler:
    """Turn Reject into its 4xx, a locked or broken store into 503, anything else into 500."""

    async def guarded(request: Request) -> Response:
        try:
            return await handler(request)
        except Reject as exc:
            return JSONResponse({"error": exc.message}, exc.status, headers=exc.headers)
        except STORE_UNAVAILABLE as exc:  # locked past busy_timeout, database down, ...
            log.error("incident store unavailable on %s: %s", request.url.path, exc)
            error = f"incident store unavailable ({exc}); retry later"
            return JSONResponse({"error": error}, 503, headers={"Retry-After": "5"})
        except Exception as exc:
            return await _server_error(request, exc)

    return guarded


async def read_body(request: Request, limit: int) -> bytes:
    """Read the body, refusing more than `limit` bytes whether announced or streamed."""
    too_large = Reject(413, "too_large", f"body exceeds {limit} bytes; send one notification")
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise Reject(400, "bad_request", f"invalid Content-Length {declared!r}")
        if int(declared) > limit:
            raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _parse(body: bytes, parse: Callable[[Any], Notification], hint: str) -> Notification:
    if not body.strip():
        raise Reject(400, "bad_json", f"the body is empty: {hint}")
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise Reject(400, "bad_json", f"the body is not valid JSON ({exc}): {hint}") from None
    try:
        return parse(payload)
    except AlertError as exc:
        raise Reject(400, "bad_payload", f"invalid notification: {exc}; {hint}") from None
    except (TypeError, ValueError, RecursionError) as exc:  # shapes the parser did not foresee
        raise Reject(400, "bad_payload", f"cannot read the notification ({exc}); {hint}") from None


def _limit(text: str | None) -> int:
    if text is None or text == "":
        return 50
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise Reject(400, "bad_query", f"limit must be an integer from 1 to {MAX_LIMIT}")
    return int(text)


ENDPOINTS = (
    "POST /alerts/alertmanager, POST /alerts/grafana, POST /alerts/pagerduty, GET /incidents, "
    "GET /incidents/ID, GET|POST /approvals/THREAD, /mcp (MCP), "
    "GET /healthz, GET /metrics (and POST /slack/events when Slack is configured)"
)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = exc.detail
    if exc.status_code in (404, 405):  # say what exists instead of a bare "Not Found"
        detail = (
            f"{detail}: {request.method} {request.url.path} is not an opsloop endpoint; "
            f"there are {ENDPOINTS}"
        )
    return JSONResponse({"error": detail}, exc.status_code, headers=exc.headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"error": f"internal error: {type(exc).__name__}; see the server log"}, 500)
