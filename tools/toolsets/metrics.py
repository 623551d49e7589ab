"""Prometheus tools for the agent: PromQL queries, discovery and golden signals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from opsloop.tools.analysis.series import (
    SeriesStats,
    format_change,
    format_value,
    label_text,
    summarise_matrix,
    unit_for_query,
)
from opsloop.tools.backends.prometheus.client import PromClient
from opsloop.tools.backends.prometheus.discovery import Discovery
from opsloop.tools.backends.prometheus.kube import PodIndex
from opsloop.tools.backends.prometheus.links import metric_link
from opsloop.tools.backends.prometheus.modelmon import ModelMetrics
from opsloop.tools.backends.prometheus.promql import format_duration
from opsloop.tools.backends.prometheus.signals import SIGNALS, TITLES, build_signal
from opsloop.tools.base import Evidence, OpsTool, ToolResult, ToolStatus, ops_tool
from opsloop.tools.errors import OpsError
from opsloop.tools.facts import instant_facts, series_facts
from opsloop.tools.toolsets.compare import run_compare
from opsloop.tools.toolsets.instant import instant_rows, no_samples, no_series
from opsloop.tools.toolsets.windows import step_for, when, window

MAX_SERIES_SHOWN = 10
MAX_FACT_SERIES = 50  # series whose figures an answer may quote (the model sees the top 10)


@dataclass
class MetricsContext:
    """What the metrics tools need, injected by the caller."""

    prom: PromClient
    discovery: Discovery
    prometheus_url: str
    grafana_url: str | None = None
    grafana_datasource: str = "prometheus"
    service_label: str = "service"
    rate_window: str = "5m"
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    models: ModelMetrics = field(default_factory=ModelMetrics)  # the model monitor's names
    pods: PodIndex | None = None  # Kubernetes pods → services; built from discovery if unset

    def __post_init__(self) -> None:
        if self.pods is None:
            self.pods = PodIndex(self.prom, self.discovery.services, self.discovery.server_pods)

    def link(self, expr: str, start: datetime, end: datetime) -> str:
        """Return the Grafana or Prometheus page for `expr` over the window."""
        return metric_link(
            expr,
            start,
            end,
            prometheus_url=self.prometheus_url,
            grafana_url=self.grafana_url,
            grafana_datasource=self.grafana_datasource,
        )


class QueryMetricsArgs(BaseModel):
    """Arguments of query_metrics."""

    query: str = Field(description="PromQL expression.")
    range: str = Field("1h", description="Window length ending at `end`, e.g. 15m, 1h, 1d.")
    end: str | None = Field(
        None, description="Window end: ISO-8601 time or Unix seconds; now if unset."
    )
    instant: bool = Field(False, description="Evaluate once at `end` instead of over the window.")
    title: str | None = Field(None, description="Short label for what the query measures.")
    unit: str | None = Field(
        None,
        description="seconds, bytes, ratio, percent, per_second, cores or count; guessed if unset.",
    )
    compare: str | None = Field(
        None,
        description="Compare with the same window shifted back: day (same time yesterday), "
        "week (same time last week) or a duration such as 2d; reports both windows' values "
        "and the change. Unset: compare with the window just before.",
    )


class GoldenSignalsArgs(BaseModel):
    """Arguments of golden_signals."""

    service: str = Field(description="Service name as found by list_services.")
    range: str = Field("1h", description="Window length ending at `end`.")
    end: str | None = Field(None, description="Window end: ISO-8601 time or Unix seconds.")


class ListMetricsArgs(BaseModel):
    """Arguments of list_metrics."""

    contains: str | None = Field(None, description="Only metric names containing this text.")
    service: str | None = Field(None, description="Only metrics that this service exposes.")
    limit: int = Field(50, ge=1, le=500, description="Maximum names to return.")


class ListServicesArgs(BaseModel):
    """Arguments of list_services (none)."""


def _stats_line(s: SeriesStats, unit: str, dur: str) -> str:
    return (
        f"{label_text(s.labels)}: last {format_value(s.last, unit)}, "
        f"mean {format_value(s.mean, unit)}, min {format_value(s.min, unit)}, "
        f"max {format_value(s.max, unit)}; vs previous {dur}: {format_change(s.change)} "
        f"{s.spark}"
    )


def _stats_values(s: SeriesStats, prefix: str) -> dict[str, float]:
    values = {
        f"{prefix}last": s.last,
        f"{prefix}mean": s.mean,
        f"{prefix}min": s.min,
        f"{prefix}max": s.max,
    }
    if s.change is not None:
        values[f"{prefix}change_pct"] = s.change * 100
    return values


def run_query(
    ctx: MetricsContext, args: QueryMetricsArgs, tool: str = "query_metrics"
) -> ToolResult:
    """Run one PromQL query and summarise it (shared by the tools below)."""
    if args.compare:
        return run_compare(ctx, args, tool)
    start, end, seconds = window(args.range, args.end, ctx.now())
    unit = args.unit or unit_for_query(args.query)
    title = args.title or "result"
    if args.instant:
        result = ctx.prom.instant(args.query, end)
        return _instant_result(ctx, args, result, start, end, unit, title, tool)
    step = step_for(2 * seconds)
    # Query the preceding window too, so each series can be compared with what came before.
    result = ctx.prom.range(args.query, start - timedelta(seconds=seconds), end, step)
    stats = summarise_matrix(result, split_at=start.timestamp())
    link = ctx.link(args.query, start, end)
    dur = format_duration(seconds)
    if not stats:
        return no_samples(title, args.query, when(start, end), link, tool)
    stats.sort(key=lambda s: s.max, reverse=True)
    shown = stats[:MAX_SERIES_SHOWN]
    lines = [
        f"{title} over {when(start, end)} ({dur}, step {format_duration(step)}), "
        f"{len(stats)} series:"
    ]
    lines += [f"- {_stats_line(s, unit, dur)}" for s in shown]
    if len(stats) > len(shown):
        lines.append(
            f"- … {len(stats) - len(shown)} more series not shown (sorted by max): "
            "aggregate with sum by (…) or add label filters to see them."
        )
    values: dict[str, float] = {"series": float(len(stats))}
    for i, s in enumerate(shown):
        values.update(_stats_values(s, "" if len(shown) == 1 else f"{i}."))
    head = shown[0]
    ev_summary = f"{title}: {_stats_line(head, unit, dur)}"
    if len(stats) > 1:
        ev_summary += f" (+{len(stats) - 1} more series)"
    data = {
        "query": args.query,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "step": step,
        "unit": unit,
        "title": title,
        "series": [
            {
                "labels": s.labels,
                "min": s.min,
                "mean": s.mean,
                "max": s.max,
                "last": s.last,
                "previous_mean": s.previous_mean,
                "change": s.change,
                "points": s.points,
            }
            for s in stats
        ],
    }
    record = Evidence(tool=tool, query=args.query, summary=ev_summary, link=link, values=values)
    record.facts = series_facts(
        stats[:MAX_FACT_SERIES], args.query, title, unit, seconds, len(stats)
    )
    return ToolResult(status=ToolStatus.OK, summary="\n".join(lines), data=data, evidence=[record])


def _instant_result(
    ctx: MetricsContext,
    args: QueryMetricsArgs,
    result: list[dict[str, Any]],
    start: datetime,
    end: datetime,
    unit: str,
    title: str,
    tool: str,
) -> ToolResult:
    link = ctx.link(args.query, start, end)
    rows = instant_rows(result)
    if not rows:
        return no_series(title, args.query, f"{end.astimezone(UTC):%H:%M} UTC", link, tool)
    shown = rows[:MAX_SERIES_SHOWN]
    lines = [f"{title} at {end.astimezone(UTC):%Y-%m-%d %H:%M} UTC, {len(rows)} series:"]
    lines += [f"- {label_text(lbl)}: {format_value(v, unit)}" for lbl, v in shown]
    if len(rows) > len(shown):
        lines.append(f"- … {len(rows) - len(shown)} more series not shown: add label filters.")
    values = {("value" if len(shown) == 1 else f"{i}.value"): v for i, (_, v) in enumerate(shown)}
    values["series"] = float(len(rows))
    ev = f"{title}: " + "; ".join(
        f"{label_text(lbl)} {format_value(v, unit)}" for lbl, v in shown[:3]
    )
    data = {
        "query": args.query,
        "time": end.isoformat(),
        "unit": unit,
        "title": title,
        "series": [{"labels": lbl, "value": v} for lbl, v in rows],
    }
    record = Evidence(tool=tool, query=args.query, summary=ev, link=link, values=values)
    record.facts = instant_facts(rows[:MAX_FACT_SERIES], args.query, title, unit, len(rows))
    return ToolResult(status=ToolStatus.OK, summary="\n".join(lines), data=data, evidence=[record])


def metrics_tools(ctx: MetricsContext) -> list[OpsTool]:
    """Build the Prometheus tools bound to `ctx`."""

    def query_metrics(**kwargs: Any) -> ToolResult:
        """Run a PromQL query against Prometheus and summarise each series (min, mean, max,
        last, change against the preceding window, sparkline). Use range mode (default) for
        "over the last hour" questions and instant=true for "right now". Escape label values,
        aggregate with sum by (...) to keep results small, and use histogram_quantile over
        rate(..._bucket[5m]) for latency percentiles. For "vs yesterday" or "than last week"
        set compare=day or week: both windows and the change. Returns evidence to cite as [E<n>]."""
        return run_query(ctx, QueryMetricsArgs(**kwargs))

    def golden_signals(service: str, range: str = "1h", end: str | None = None) -> ToolResult:
        """Summarise a service's golden signals over a window: request rate, 5xx error
        ratio, p50/p95/p99 latency, CPU, memory and restarts, each with its change against
        the preceding window. Use it for "how is <service> doing?" or to start an
        investigation. Service names come from list_services."""
        service = ctx.discovery.resolve_service(service)
        metric_map = ctx.discovery.metric_map(service)
        parts: list[ToolResult] = []
        missing: list[str] = []
        for signal in SIGNALS:
            built = build_signal(
                signal, service, metric_map, service_label=ctx.service_label, window=ctx.rate_window
            )
            if built is None:
                missing.append(TITLES[signal])
                continue
            sub = QueryMetricsArgs(
                query=built.promql,
                range=range,
                end=end,
                unit=built.unit,
                title=f"{service} {built.title}",
            )
            result = run_query(ctx, sub, tool="golden_signals")
            if result.status == ToolStatus.OK:
                parts.append(result)
            else:
                missing.append(TITLES[signal])
        if not parts:
            return ToolResult(
                status=ToolStatus.NO_DATA, summary=f"no golden-signal metrics found for {service}."
            )
        summary = "\n".join(p.evidence[0].summary for p in parts)
        if missing:
            summary += f"\nnot available for {service}: {', '.join(missing)}"
        return ToolResult(
            status=ToolStatus.OK,
            summary=summary,
            data={"service": service, "signals": [p.data for p in parts]},
            evidence=[e for p in parts for e in p.evidence],
        )

    def list_services() -> ToolResult:
        """List the services and models Prometheus knows, so you can use exact names."""
        services, models = ctx.discovery.services(), ctx.discovery.models()
        summary = f"services ({len(services)}): {', '.join(services) or 'none'}"
        summary += f"\nmodels ({len(models)}): {', '.join(models) or 'none'}"
        query = f"label_values({ctx.service_label}), label_values(model)"
        return ToolResult(
            status=ToolStatus.OK if services else ToolStatus.NO_DATA,
            summary=summary,
            data={"services": services, "models": models},
            evidence=[Evidence(tool="list_services", query=query, summary=summary)],
        )

    def list_metrics(
        contains: str | None = None, service: str | None = None, limit: int = 50
    ) -> ToolResult:
        """List metric names in Prometheus, optionally filtered by a substring or by the
        service that exposes them. Use before writing PromQL for an unfamiliar metric."""
        if service:
            service = ctx.discovery.resolve_service(service)
            names = ctx.discovery.metrics_of(service)
        else:
            names = ctx.discovery.metric_names()
        if contains:
            names = [n for n in names if contains.lower() in n.lower()]
        shown = names[:limit]
        summary = f"{len(names)} metric names" + (
            f" (showing {limit})" if len(names) > limit else ""
        )
        summary += ": " + ", ".join(shown) if shown else ""
        return ToolResult(
            status=ToolStatus.OK if names else ToolStatus.NO_DATA,
            summary=summary or "no metric names matched",
            data={"names": shown, "total": len(names)},
            evidence=[
                Evidence(
                    tool="list_metrics",
                    query=f"contains={contains} service={service}",
                    summary=summary[:300],
                )
            ],
        )

    return [
        ops_tool(query_metrics, name="query_metrics", args_schema=QueryMetricsArgs),
        ops_tool(
            golden_signals, name="golden_signals", args_schema=GoldenSignalsArgs, output_chars=6000
        ),
        ops_tool(list_services, name="list_services", args_schema=ListServicesArgs),
        ops_tool(list_metrics, name="list_metrics", args_schema=ListMetricsArgs),
    ]


__all__ = ["MetricsContext", "OpsError", "QueryMetricsArgs", "metrics_tools", "run_query"]
