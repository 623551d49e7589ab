"""forecast: when each pod's memory or CPU reaches its limit, from the recent trend."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from opsloop.tools.analysis.detectors.forecast import time_to_limit
from opsloop.tools.analysis.series import format_value
from opsloop.tools.backends.prometheus.promql import matcher, selector
from opsloop.tools.backends.prometheus.signals import build_signal
from opsloop.tools.base import Evidence, OpsTool, ToolResult, ToolStatus, ops_tool
from opsloop.tools.toolsets.metrics import MetricsContext, window
from opsloop.tools.toolsets.ranges import fetch

KSM_LIMITS = "kube_pod_container_resource_limits"  # kube-state-metrics, by resource
SPEC_LIMITS = {"memory": "container_spec_memory_limit_bytes"}  # cAdvisor's own, when no KSM


class ForecastArgs(BaseModel):
    """Arguments of forecast."""

    service: str = Field(description="Service whose pods to project.")
    signal: str = Field("memory", description="memory or cpu.")
    range: str = Field("1h", description="How much recent history the trend is fitted on.")


def forecast_tools(ctx: MetricsContext) -> list[OpsTool]:
    """Build forecast bound to the metrics context."""

    def forecast(service: str, signal: str = "memory", range: str = "1h") -> ToolResult:
        """Project each pod's memory or CPU from its recent trend and say when it reaches its
        limit, with a 95 % band ("fraud-api memory reaches its limit in ~40 min"). Use it to
        warn before an outage."""
        if signal not in ("memory", "cpu"):
            return ToolResult.failure("signal must be memory or cpu")
        service = ctx.discovery.resolve_service(service)
        start, stop, _ = window(range, None, ctx.now())
        metric_map = ctx.discovery.metric_map(service)
        built = build_signal(
            signal, service, metric_map, service_label=ctx.service_label, window=ctx.rate_window
        )
        if built is None:
            return ToolResult.failure(f"{service} exposes no {signal} metric I recognise")
        limits = _limits(ctx, service, signal, metric_map.workload, stop)
        if not limits:
            return ToolResult.failure(
                f"no {signal} limit for {service} ({KSM_LIMITS} or cAdvisor's): "
                "the limit is unknown"
            )
        unit = built.unit
        lines, values = [], {}
        for labels, ts, vals in fetch(ctx, built.promql, start, stop):
            pod = labels.get("pod", "")
            fc = time_to_limit(ts, vals, limits.get(pod, max(limits.values())))
            if fc is None:
                continue
            if fc.points < 5 and fc.reset_at:
                outlook = (
                    f"restarted at {clock(fc.reset_at)} after reaching "
                    f"{format_value(fc.peak or 0, unit)}; too early to project"
                )
            elif fc.eta_s is None or fc.high_s is None:  # flat, falling, or not significant
                outlook = "no significant growth towards the limit"
            else:
                outlook = (
                    f"limit in {_minutes(fc.eta_s)} ({_minutes(fc.low_s)}–{_minutes(fc.high_s)})"
                )
            lines.append(
                f"- {pod}: {format_value(fc.current, unit)} of "
                f"{format_value(fc.limit, unit)}, trend {format_value(fc.slope * 60, unit)}"
                f"/min → {outlook}"
            )
            values[f"{pod}.eta_min"] = (fc.eta_s or 0) / 60
            values[f"{pod}.current"], values[f"{pod}.limit"] = fc.current, fc.limit
        if not lines:
            return ToolResult(status=ToolStatus.NO_DATA, summary=f"not enough {signal} history.")
        head = f"{service} {signal} vs limit, trend over the last {range}:"
        return ToolResult(
            status=ToolStatus.OK,
            summary="\n".join([head, *lines]),
            data={"values": values},
            evidence=[
                Evidence(
                    tool="forecast",
                    query=built.promql,
                    summary=" ".join(lines[:2]),
                    link=ctx.link(built.promql, start, stop),
                    values=values,
                )
            ],
        )

    return [ops_tool(forecast, name="forecast", args_schema=ForecastArgs)]


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "not reached at this trend"
    if seconds < 90:
        return f"~{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"~{seconds / 60:.0f} min"
    return f"~{seconds / 3600:.1f} h"


def _limits(
    ctx: MetricsContext, service: str, signal: str, workload: str, at: Any
) -> dict[str, float]:
    """Return each pod's limit of `signal` (kube-state-metrics, else cAdvisor's spec)."""
    names = set(ctx.discovery.metric_names())
    who = matcher(workload or ctx.service_label, service)
    queries = []
    if KSM_LIMITS in names:
        queries.append(selector(KSM_LIMITS, [who, matcher("resource", signal)]))
    if signal in SPEC_LIMITS and SPEC_LIMITS[signal] in names:
        queries.append(f"{selector(SPEC_LIMITS[signal], [who])} > 0")  # 0: no limit set
    for query in queries:
        rows = ctx.prom.instant(f"max by (pod) ({query})", at)
        if rows:
            return {r["metric"].get("pod", ""): float(r["value"][1]) for r in rows}
    return {}


def clock(ts: float | None) -> str:
    """Format a Unix time as HH:MM:SS UTC ("-" when unknown)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%H:%M:%S") if ts else "-"
