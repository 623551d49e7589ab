"""Build the assistant's dependencies from Settings: clients, tools, catalog, stores, LLM."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from opsloop.agent.approvals.audit import AuditLog
from opsloop.agent.approvals.policy import Policy
from opsloop.agent.config import ConfigError, Settings
from opsloop.agent.db.postgres import is_postgres
from opsloop.agent.graph.deps import Deps
from opsloop.agent.llm.client import make_llm
from opsloop.agent.mcp.registry import borrowed_tools, close_all, connect_all, drop_when_down
from opsloop.agent.planner.catalog import LiveCatalog
from opsloop.agent.stores.answers import AnswerStore
from opsloop.tools.backends.changelog import ChangeEvent, ChangeLog
from opsloop.tools.backends.features import FeatureLog
from opsloop.tools.backends.jobs import JobStore
from opsloop.tools.backends.logs import make_backend
from opsloop.tools.backends.mlflow_registry import Registry
from opsloop.tools.backends.orchestrators import make_orchestrator
from opsloop.tools.backends.prometheus.client import PromClient
from opsloop.tools.backends.prometheus.discovery import Discovery
from opsloop.tools.backends.prometheus.rollouts import rollouts, service_resolver
from opsloop.tools.backends.prometheus.served_versions import version_switches
from opsloop.tools.base import OpsTool
from opsloop.tools.callgraph import CallGraph
from opsloop.tools.toolsets.alerts import AlertsContext, alert_tools
from opsloop.tools.toolsets.changes import ChangesContext, changes_tools
from opsloop.tools.toolsets.condition import condition_tools
from opsloop.tools.toolsets.detect import detector_tools
from opsloop.tools.toolsets.incident_queue import QueueContext, queue_tools
from opsloop.tools.toolsets.incidents import incident_tools
from opsloop.tools.toolsets.logs import LogsContext, grafana_logs_link, logs_tools
from opsloop.tools.toolsets.metrics import MetricsContext, metrics_tools
from opsloop.tools.toolsets.registry import RegistryContext, registry_tools
from opsloop.tools.toolsets.retrain import RetrainContext, retrain_tools
from opsloop.tools.toolsets.rollback import rollback_tools
from opsloop.tools.toolsets.scan import scan_tools
from opsloop.tools.toolsets.silences import silence_tools


def secret_values(settings: Settings) -> tuple[str, ...]:
    """Return every configured secret value, so it can be redacted from prompts."""
    values = [
        getattr(settings, name).get_secret_value()
        for name in type(settings).model_fields
        if hasattr(getattr(settings, name), "get_secret_value")
    ]
    values += list(settings.prometheus_headers.values()) + list(settings.otlp_headers.values())
    for server in settings.mcp_servers:  # other MCP servers' tokens
        for key in ("env", "headers"):
            entry = server.get(key) if isinstance(server, dict) else None
            values += [str(v) for v in entry.values()] if isinstance(entry, dict) else []
    return tuple(v for v in values if v)


def build_deps(settings: Settings, *, extra_tools: list[OpsTool] | None = None, llm=None) -> Deps:
    """Wire real clients and tools for `settings` (an explicit `llm` overrides the config)."""
    prom = PromClient.from_settings(settings)
    discovery = Discovery(prom, settings.service_label)
    ctx = MetricsContext(
        prom=prom,
        discovery=discovery,
        prometheus_url=settings.prometheus_url,
        grafana_url=settings.grafana_url,
        grafana_datasource=settings.grafana_datasource,
        service_label=settings.service_label,
        rate_window=settings.rate_window,
        models=settings.model_metrics,
    )
    state = settings.state_dir
    secrets = secret_values(settings)
    logs = LogsContext(
        make_backend(settings, state),
        link=grafana_logs_link(settings.grafana_url, settings.grafana_logs_datasource),
        secrets=secrets,
    )
    features = FeatureLog(settings.feature_log_dir) if settings.feature_log_dir else None
    memory = LazyMemory(settings)
    call_graph = CallGraph(settings.topology, prom, extra=discovery.dependency_edges)
    registry = make_registry(settings)
    changelog = ChangeLog.open(changelog_path(settings))
    alerts = AlertsContext(settings.alertmanager_url, now=lambda: ctx.now().timestamp())
    audit = AuditLog.from_settings(settings)
    policy = Policy.from_config(settings.policy)
    queue = QueueContext(
        open=lambda: open_queue(settings),
        decisions=audit.for_thread,
        now=lambda: ctx.now().timestamp(),
    )
    tools = {
        t.name: t
        for t in [
            *metrics_tools(ctx),
            *logs_tools(logs),
            *detector_tools(ctx, features, call_graph),
            *scan_tools(ctx),
            *condition_tools(ctx),
            *changes_tools(change_feed(ctx, changelog, registry)),
            *model_tools(settings, secrets, registry, changelog),
            *incident_tools(memory),
            *alert_tools(alerts),
            *silence_tools(alerts, policy.spec.max_silence_hours),
            *queue_tools(queue),
            *(extra_tools or []),
        ]
    }
    # Tools lent by configured MCP servers: never part of the default registry.
    servers = connect_all(settings.mcp_servers, state) if settings.mcp_servers else []
    tools |= {t.name: t for t in borrowed_tools(servers) if t.name not in tools}
    drop_when_down(servers, tools)
    return Deps(
        settings=settings,
        tools=tools,
        catalog=LiveCatalog(discovery, rate_window=settings.rate_window, pods=ctx.pods),
        answers=AnswerStore(state / "answers.sqlite"),
        audit=audit,
        llm=llm if llm is not None else make_llm(settings),
        tz=ZoneInfo(settings.timezone) if settings.timezone else None,
        secrets=secrets,
        policy=policy,
        memory=memory,
        observers=answer_observers(settings),
        call_graph=call_graph,
        closers=[lambda: close_all(servers)] if servers else [],
    )


def answer_observers(settings: Settings) -> list[Callable[[dict[str, Any]], None]]:
    """Return the exporters every answer record goes to: OTLP traces when configured.

    (`opsloop serve` adds its Prometheus metrics; see `opsloop.agent.cli.serve.build_server`.)
    """
    if not settings.otlp_endpoint:
        return []
    from opsloop.agent.telemetry.traces import OtlpExporter

    return [OtlpExporter.from_settings(settings).observe]


class LazyMemory:
    """Incident memory opened on first use: importing Chroma costs a second."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._memory: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._memory is None:
            self._memory = open_memory(self._settings)
        return getattr(self._memory, name)


def open_memory(settings: Settings) -> Any:
    """Open the configured incident memory (local Chroma store or a Chroma server)."""
    from opsloop.agent.stores.embeddings import make_embedding
    from opsloop.agent.stores.memory import IncidentMemory

    embedding = make_embedding(
        settings.memory_embedding,
        base_url=settings.llm_base_url,
        api_key=_secret(settings.llm_api_key),
    )
    threshold = settings.memory_threshold
    if "memory_threshold" not in settings.model_fields_set:
        # Similarities differ in scale between embeddings: the setting's default is hashing's.
        threshold = getattr(embedding, "threshold", threshold)
    return IncidentMemory.open(
        settings.home / "memory", url=settings.memory_url, embedding=embedding, threshold=threshold
    )


def open_queue(settings: Settings) -> Any:
    """Open the incident queue `opsloop serve` writes, or return None if there is none yet."""
    from opsloop.agent.server.incidents import IncidentStore

    path = Path(settings.incident_store_path or settings.state_dir / "incidents.sqlite")
    if not settings.database_url and not path.exists():
        return None  # nothing received yet: create no file to read it
    return IncidentStore.from_settings(settings, path)


def changelog_path(settings: Settings) -> Path | str:
    """Return the change log in use: the incident queue's PostgreSQL when replicas share one,
    else the sandbox's file or one in the state directory."""
    if settings.database_url and is_postgres(settings.database_url):
        return settings.database_url
    return settings.changelog_path or settings.state_dir / "changes.sqlite"


def make_registry(settings: Settings) -> Registry | None:
    """Return the configured model registry client, if any."""
    uri = settings.mlflow_tracking_uri
    if not uri:
        return None
    ui = settings.mlflow_ui_url or (uri if uri.startswith(("http://", "https://")) else None)
    return Registry(uri, ui)


def change_feed(
    metrics: MetricsContext, changelog: ChangeLog, registry: Registry | None
) -> ChangesContext:
    """Return the change sources: the log, kube-state-metrics rollouts, the model versions
    serving pods count predictions for, the registry."""
    pods = metrics.pods

    def k8s(since: float, until: float) -> list[ChangeEvent]:
        resolve = service_resolver(pods, datetime.fromtimestamp(until, UTC)) if pods else None
        return rollouts(metrics.prom, since, until, resolve or (lambda ns, name: name))

    def served(since: float, until: float) -> list[ChangeEvent]:
        return version_switches(metrics.prom, metrics.models, since, until)

    observed = {"kube-state-metrics rollouts": k8s, "served model versions": served}
    return ChangesContext(changelog, observed, registry)


def model_tools(
    settings: Settings,
    secrets: tuple[str, ...] = (),
    registry: Registry | None = None,
    changelog: ChangeLog | None = None,
) -> list[OpsTool]:
    """Build the registry, rollback and retraining tools when a registry is configured."""
    registry = registry or make_registry(settings)
    if registry is None:
        return []
    changes = changelog_path(settings)
    reg = RegistryContext(registry, changelog or ChangeLog.open(changes))
    orchestrator = None
    if settings.retrain_backend != "local":
        if not (settings.retrain_url and settings.retrain_target):
            raise ConfigError(
                f"retrain_backend={settings.retrain_backend} needs OPSLOOP_RETRAIN_URL and "
                "OPSLOOP_RETRAIN_TARGET (DAG id, WorkflowTemplate or pipeline id)"
            )
        try:
            orchestrator = make_orchestrator(
                settings.retrain_backend,
                settings.retrain_url,
                settings.retrain_target,
                namespace=settings.retrain_namespace,
                username=settings.retrain_username,
                password=_secret(settings.retrain_password),
                bearer_token=_secret(settings.retrain_bearer_token),
            )
        except ValueError as exc:
            raise ConfigError(f"retraining orchestrator: {exc}") from None
    retrain = RetrainContext(
        reg=reg,
        jobs=JobStore(settings.state_dir / "jobs.sqlite"),
        command=list(settings.retrain_command),
        orchestrator=orchestrator,
        changelog_path=changes,
        metric=settings.promotion_metric,
        margin=settings.promotion_margin,
        secrets=secrets,
    )
    return [*registry_tools(reg), *rollback_tools(reg), *retrain_tools(retrain)]


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None
