"""Build the assistant's dependencies from Settings: clients, tools, catalog, stores, LLM."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from agent.answers import AnswerStore
from agent.audit import AuditLog
from agent.config import Settings
from agent.deps import Deps
from agent.llm import make_llm
from agent.planner.catalog import LiveCatalog
from tools.base import OpsTool
from tools.detect import detector_tools
from tools.discovery import Discovery
from tools.features import FeatureLog
from tools.logs import make_backend
from tools.logs.search import LogsContext, grafana_logs_link, logs_tools
from tools.metrics import MetricsContext, metrics_tools
from tools.prometheus import PromClient


def secret_values(settings: Settings) -> tuple[str, ...]:
    """Return every configured secret value, so it can be redacted from prompts."""
    values = [
        getattr(settings, name).get_secret_value()
        for name in type(settings).model_fields
        if hasattr(getattr(settings, name), "get_secret_value")
    ]
    values += list(settings.prometheus_headers.values())
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
    )
    state = settings.state_dir
    secrets = secret_values(settings)
    logs = LogsContext(
        make_backend(settings, state),
        link=grafana_logs_link(settings.grafana_url, settings.grafana_logs_datasource),
        secrets=secrets,
    )
    features = FeatureLog(settings.feature_log_dir) if settings.feature_log_dir else None
    tools = {
        t.name: t
        for t in [
            *metrics_tools(ctx),
            *logs_tools(logs),
            *detector_tools(ctx, features),
            *(extra_tools or []),
        ]
    }
    return Deps(
        settings=settings,
        tools=tools,
        catalog=LiveCatalog(discovery, rate_window=settings.rate_window),
        answers=AnswerStore(state / "answers.sqlite"),
        audit=AuditLog(state / "audit.sqlite"),
        llm=llm if llm is not None else make_llm(settings),
        tz=ZoneInfo(settings.timezone) if settings.timezone else None,
        secrets=secrets,
    )
