"""`opsloop serve`: webhook intake and investigation workers (`opsloop incidents` reads them)."""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Sequence
from typing import Annotated, Any

import typer

from opsloop.agent.cli.common import fail, load_settings, out
from opsloop.agent.cli.incidents import store_path
from opsloop.agent.config import Settings
from opsloop.agent.server.incidents import IncidentStore
from opsloop.agent.server.worker import Investigator, ReportHook, ResolvedHook, WorkerPool

log = logging.getLogger(__name__)


def make_investigator(settings: Settings) -> Investigator:
    """Return the real investigation: the assistant's RCA over the incident's alerts."""
    from opsloop.agent.assistant import Assistant  # heavy (graph, clients): only when serving

    return assistant_hooks(Assistant.from_settings(settings))[0]


def assistant_hooks(assistant: Any) -> tuple[Investigator, ReportHook, ResolvedHook]:
    """Return (investigate, on_report, on_resolved) bound to one assistant.

    The report goes to the log; a resolve closes the incident in incident memory, which
    the investigation itself wrote. Slack, when configured, adds its own hooks (see
    `build_server`).
    """

    def investigate(incident: dict[str, Any]) -> dict[str, Any]:
        return assistant.investigate(incident["alerts"], thread_id=incident["id"])

    def on_report(incident: dict[str, Any], report: dict[str, Any]) -> None:
        log.info("report for %s:\n%s", incident["id"], report.get("answer", ""))

    def on_resolved(incident: dict[str, Any]) -> None:
        try:
            assistant.deps.memory.update(
                incident["id"], outcome="resolved", resolved_at=time.time()
            )
        except KeyError:  # never investigated (failed, or resolved before it started)
            log.info("resolved %s: no incident memory record to close", incident["id"])
        except Exception as exc:  # memory is an aid: a failed write must not stop the server
            log.warning("could not close %s in incident memory: %s", incident["id"], exc)

    return investigate, on_report, on_resolved


def build_server(
    settings: Settings,
    *,
    workers: int = 2,
    investigator: Investigator | None = None,
    on_report: ReportHook | None = None,
    on_resolved: ResolvedHook | None = None,
    extra_routes: Sequence[Any] = (),
    assistant: Any = None,
) -> tuple[Any, IncidentStore, WorkerPool]:
    """Build (app, store, pool); the app's lifespan runs the pool.

    With a Slack bot token configured, `POST /slack/events` is mounted (HTTP mode, when a
    signing secret is set) and reports also go to `OPSLOOP_SLACK_CHANNEL`; the Slack app is
    `app.state.slack`, for Socket Mode.
    """
    from opsloop.agent.graph.execute import configure_pools
    from opsloop.agent.server.app import create_app
    from opsloop.agent.server.retention import retention_service

    configure_pools(workers)  # tool threads for `workers` investigations and Slack at once
    if investigator is None and assistant is None:
        from opsloop.agent.assistant import Assistant  # heavy (graph, clients): only to serve

        assistant = Assistant.from_settings(settings)
    # Intake correlates incidents over the same call graph the investigations use.
    call_graph = assistant.deps.call_graph if assistant is not None else None
    store = IncidentStore.from_settings(settings, store_path(settings), call_graph)
    if investigator is None:
        investigator, default_report, default_resolved = assistant_hooks(assistant)
        on_report = on_report or default_report
        on_resolved = on_resolved or default_resolved
    slack = _slack(settings, assistant, store)
    max_body = int(getattr(settings, "webhook_max_body_bytes", 1_048_576))
    mcp_routes, mcp_life = _mcp(settings, assistant)
    console = _console(settings, store, assistant)
    routes = [
        *extra_routes,
        *console.routes(),
        *_approvals(settings, assistant),
        *mcp_routes,
        *_change_intake(settings, max_body),
        *_pagerduty_intake(settings, max_body),
    ]
    notes = _pagerduty_notes(settings)
    if notes is not None:  # before Slack's: it only queues the note, it never blocks
        on_report = _chain(on_report, notes.on_report)
    if slack is not None:
        if settings.slack_signing_secret is not None:
            routes += slack.routes()
        if settings.slack_channel:
            on_report, on_resolved = _with_slack(slack, on_report, on_resolved, console)
    pool = WorkerPool(
        store,
        investigator,
        workers=workers,
        lease_s=float(getattr(settings, "investigation_lease_s", 600.0)),
        deadline_s=float(getattr(settings, "investigation_deadline_s", 360.0)),
        on_report=on_report,
        on_resolved=on_resolved,
    )
    saver = getattr(getattr(assistant, "graph", None), "checkpointer", None)
    retention = retention_service(settings, store.db, saver, lambda: store.clock())
    background = [*_pollers(settings), *(s for s in (notes, retention) if s is not None)]
    app = create_app(
        settings, store, pool, max_body_bytes=max_body, extra_routes=routes,
        background=background, contexts=mcp_life,
    )  # fmt: skip
    app.state.slack, app.state.pagerduty, app.state.console = slack, notes, console
    app.state.retention = retention
    if retention is not None:
        retention.export(app.state.registry)
    app.state.telemetry = _self_monitoring(app.state.registry, assistant)
    return app, store, pool


def _console(settings: Settings, store: IncidentStore, assistant: Any) -> Any:
    """Return the incident console (pages at `/`, `/incidents/{id}` for browsers, `/answers`)."""
    from opsloop.agent.factory import changelog_path
    from opsloop.agent.server.console.pages import Console
    from opsloop.tools.backends.changelog import ChangeLog
    from opsloop.tools.backends.prometheus.client import PromClient

    return Console(
        settings, store, assistant, PromClient.from_settings(settings),
        ChangeLog.open(changelog_path(settings)),
    )  # fmt: skip


def _approvals(settings: Settings, assistant: Any) -> list[Any]:
    """Return `/approvals/{thread}` when this server runs the graph that pauses for them."""
    if assistant is None:
        return []
    from opsloop.agent.approvals.people import People
    from opsloop.agent.server.approvals import approval_routes

    return approval_routes(assistant, People(settings.people))


def _mcp(settings: Settings, assistant: Any) -> tuple[list[Any], list[Any]]:
    """Return `/mcp` (MCP over streamable HTTP, token required) and its session lifespan."""
    if assistant is None:
        return [], []
    from opsloop.agent.factory import open_queue
    from opsloop.agent.mcp.http import mcp_http

    routes, lifespan = mcp_http(assistant, settings, incidents=lambda: open_queue(settings))
    return routes, [lifespan]


def _change_intake(settings: Settings, max_body: int) -> list[Any]:
    """Return `POST /changes`, writing to the change log the investigations read."""
    from opsloop.agent.factory import changelog_path
    from opsloop.agent.server.auth import WebhookAuth
    from opsloop.agent.server.changes import changes_routes
    from opsloop.tools.backends.changelog import ChangeLog

    return changes_routes(ChangeLog.open(changelog_path(settings)), WebhookAuth(settings), max_body)


def _pagerduty_intake(settings: Settings, max_body: int) -> list[Any]:
    """Return `POST /alerts/pagerduty` (it refuses every request until a secret is set)."""
    from opsloop.agent.server.pagerduty import pagerduty_routes

    return pagerduty_routes(settings, max_body)


def _pagerduty_notes(settings: Settings) -> Any:
    """Return the PagerDuty note hook and sender when an API token is set, else None."""
    from opsloop.agent.server.pagerduty_notes import build_notes

    return build_notes(settings)


def _chain(first: ReportHook | None, then: ReportHook) -> ReportHook:
    """Call `first`, then `then`; a failing `first` is logged and never skips `then`."""

    def report(incident: dict[str, Any], result: dict[str, Any]) -> None:
        if first is not None:
            try:
                first(incident, result)
            except Exception:
                log.exception("report hook failed for %s", incident["id"])
        then(incident, result)

    return report


def _pollers(settings: Settings) -> list[Any]:
    """Return the registry alias poller when a registry is configured (moves made outside)."""
    from opsloop.agent.factory import changelog_path, make_registry
    from opsloop.tools.backends.changelog import ChangeLog
    from opsloop.tools.backends.registry_changes import AliasPoller

    registry = make_registry(settings)
    if registry is None:
        return []
    interval = float(getattr(settings, "registry_poll_s", 60.0))
    return [AliasPoller(registry, ChangeLog.open(changelog_path(settings)), interval)]


def _self_monitoring(registry: Any, assistant: Any) -> Any:
    """Export every answer the assistant gives here (alerts, Slack) on the app's /metrics."""
    from opsloop.agent.telemetry.metrics import Telemetry

    deps = getattr(assistant, "deps", None)  # None when only an investigator was given
    telemetry = Telemetry(registry, tools=deps.tools if deps is not None else ())
    if deps is not None:
        deps.observers.append(telemetry.observe)
    return telemetry


def _slack(settings: Settings, assistant: Any, store: IncidentStore) -> Any:
    """Return the Slack app when a bot token and an assistant are there, else None."""
    if assistant is None or settings.slack_bot_token is None:
        return None
    from opsloop.agent.slack.app import build_slack

    return build_slack(settings, assistant, store)


def _with_slack(
    slack: Any, on_report: ReportHook | None, on_resolved: ResolvedHook | None, console: Any
) -> tuple[ReportHook, ResolvedHook]:
    """Chain the Slack channel's hooks after the others (each failure logged apart)."""
    from opsloop.agent.slack.reports import SlackReporter

    reporter = SlackReporter(
        slack.client, slack.settings.slack_channel, slack.store, chart=console.top_chart_png,
        console_url=slack.settings.console_url,
    )  # fmt: skip
    report = _chain(on_report, reporter.on_report)

    def resolved(incident: dict[str, Any]) -> None:
        if on_resolved is not None:
            try:
                on_resolved(incident)
            except Exception:
                log.exception("resolve hook failed for %s", incident["id"])
        reporter.on_resolved(incident)

    return report, resolved


def serve(
    host: Annotated[
        str | None, typer.Option("--host", help="Interface to listen on [OPSLOOP_SERVE_HOST].")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", min=0, max=65535, help="Port (0: any free) [OPSLOOP_SERVE_PORT]."),
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=32, help="Investigations run in parallel.")
    ] = 2,
    open_reads: Annotated[
        bool,
        typer.Option(
            "--open-reads",
            help="Serve GET /incidents* without OPSLOOP_READ_TOKEN on a non-loopback host.",
        ),
    ] = False,
) -> None:
    """Receive Alertmanager, Grafana and PagerDuty webhooks and investigate each incident.

    Endpoints: POST /alerts/alertmanager, POST /alerts/grafana, POST /alerts/pagerduty
    (signed; OPSLOOP_PAGERDUTY_WEBHOOK_SECRETS), GET /incidents,
    GET /incidents/ID, GET /healthz, GET /metrics, /mcp (MCP over streamable HTTP, with
    OPSLOOP_READ_TOKEN or a personal token), and POST /slack/events when
    OPSLOOP_SLACK_BOT_TOKEN and OPSLOOP_SLACK_SIGNING_SECRET are set (Socket Mode with
    OPSLOOP_SLACK_APP_TOKEN instead). Reports go to OPSLOOP_SLACK_CHANNEL.
    GET /incidents* need OPSLOOP_READ_TOKEN as a Bearer token when it is set; without it
    the server stays on loopback unless --open-reads.
    """
    import uvicorn

    settings = load_settings()
    listen = host or settings.serve_host
    if not _loopback(listen) and settings.read_token is None and not open_reads:
        # Reports carry log lines and internal names: not for whoever reaches the port.
        raise fail(
            f"--host {listen} exposes GET /incidents (full reports with log lines) beyond this "
            "machine: set OPSLOOP_READ_TOKEN (readers send it as a Bearer token), or pass "
            "--open-reads to serve them to anyone who can connect."
        )
    _log_to_stderr()
    try:
        app, store, _pool = build_server(settings, workers=workers)
    except Exception as exc:
        raise fail(f"cannot start the server: {exc}") from None
    config = uvicorn.Config(
        app,
        host=host or settings.serve_host,
        port=settings.serve_port if port is None else port,
        lifespan="on",
        log_level="info",
        timeout_graceful_shutdown=30,  # then the lifespan stops the workers
    )
    server = uvicorn.Server(config)
    try:
        sock = config.bind_socket()  # bound here, so the printed port is the real one
    except OSError as exc:
        raise fail(f"cannot listen on {config.host}:{config.port}: {exc}") from None
    bound = sock.getsockname()
    shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
    out.print(
        f"opsloop serve listening on http://{shown}:{bound[1]}  (store {store.db.path})",
        soft_wrap=True,
    )
    if not settings.webhook_token:
        out.print("[yellow]warning:[/] OPSLOOP_WEBHOOK_TOKEN is unset: /alerts/* accept anyone")
    if settings.read_token is None:
        out.print("[yellow]warning:[/] OPSLOOP_READ_TOKEN is unset: GET /incidents* is open")
    if app.state.pagerduty is not None:
        out.print(f"PagerDuty: reports are added as notes via {settings.pagerduty_api_url}")
    socket = _start_socket_mode(app.state.slack, settings)
    try:
        server.run(sockets=[sock])
    finally:
        if socket is not None:
            socket.close()
        store.close()


def _start_socket_mode(slack: Any, settings: Settings) -> Any:
    """Connect to Slack in Socket Mode when an app token is set; say which modes are on."""
    if slack is None:
        return None
    modes = ["HTTP at /slack/events"] if settings.slack_signing_secret is not None else []
    socket = None
    if settings.slack_app_token is not None:
        try:
            socket = slack.socket_mode()
            socket.connect()
            modes.append("Socket Mode")
        except Exception as exc:  # HTTP intake still works; say what to fix
            out.print(f"[yellow]warning:[/] Slack Socket Mode did not connect: {exc}")
            socket = None
    channel = settings.slack_channel or "no channel (set OPSLOOP_SLACK_CHANNEL for reports)"
    out.print(f"Slack: {', '.join(modes) or 'no mode (set a signing or app token)'}; {channel}")
    return socket


def _log_to_stderr() -> None:
    """Show the one-line-per-alert and per-investigation logs beside uvicorn's."""
    logger = logging.getLogger("opsloop.agent")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def _loopback(host: str) -> bool:
    """Return True for an address only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything
