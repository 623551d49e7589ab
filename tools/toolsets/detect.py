"""Detector tools for the agent: detect_anomalies (check_drift and forecast beside it)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
from pydantic import BaseModel, Field

from opsloop.tools.analysis.detectors.multivariate import isolation
from opsloop.tools.analysis.detectors.window import WindowScore, callees_first, rank
from opsloop.tools.analysis.series import format_value, label_text
from opsloop.tools.backends.features import FeatureLog
from opsloop.tools.backends.prometheus.promql import parse_duration
from opsloop.tools.backends.prometheus.signals import SIGNALS, TITLES, Signal, build_signal
from opsloop.tools.base import Evidence, OpsTool, ToolResult, ToolStatus, ops_tool
from opsloop.tools.callgraph import CallGraph
from opsloop.tools.toolsets.drift import drift_tools
from opsloop.tools.toolsets.forecast import clock, forecast_tools
from opsloop.tools.toolsets.metrics import MetricsContext, window
from opsloop.tools.toolsets.ranges import aligned_yesterday, fetch

TOP = 8
# p50 and p95 move with p99; judging all three triples the list without adding a suspect.
OVERVIEW_SKIP = ("latency_p50", "latency_p95")
MULTIVARIATE = ("request_rate", "error_ratio", "latency_p50", "latency_p95", "latency_p99")


class DetectArgs(BaseModel):
    """Arguments of detect_anomalies."""

    service: str | None = Field(None, description="Service to check; every service if unset.")
    signal: Signal | None = Field(None, description="One golden signal; all if unset.")
    query: str | None = Field(None, description="A PromQL selection to rank instead.")
    range: str = Field("30m", description="The window to judge, ending at `end`.")
    end: str | None = Field(None, description="Window end: ISO-8601 or Unix seconds.")
    baseline: str = Field("2h", description="How much history before the window is normal.")


def _describe(title: str, s: WindowScore, unit: str) -> str:
    where = label_text(s.labels) if s.labels else ""
    move = "steady" if s.direction == "flat" else f"{s.direction} since {clock(s.onset)}"
    versus = "vs yesterday" if s.seasonal else "vs its baseline"
    return (
        f"{title} {where}: {move}, now {format_value(s.current, unit)}, baseline "
        f"{format_value(s.baseline, unit)} (z {s.z:.1f} {versus}, score {s.score:.2f})"
    ).replace("  ", " ")


def detector_tools(
    ctx: MetricsContext,
    features: FeatureLog | None = None,
    call_graph: CallGraph | None = None,
) -> list[OpsTool]:
    """Build the detector tools bound to the metrics context, feature log and call graph."""
    call_graph = call_graph or CallGraph()

    def targets(service: str | None, signal: str | None, query: str | None):
        if query:
            return [(query, "query", "", "query")]
        names = [signal] if signal else [s for s in SIGNALS if s not in OVERVIEW_SKIP]
        service = ctx.discovery.resolve_service(service) if service else None
        metric_map = ctx.discovery.metric_map(service)
        out = []
        for name in names:
            built = build_signal(
                name, service, metric_map, service_label=ctx.service_label, window=ctx.rate_window
            )
            if built:
                title = f"{service or 'all services'} {built.title}"
                out.append((built.promql, title, built.unit, name))
        return out

    def detect_anomalies(
        service: str | None = None,
        signal: str | None = None,
        query: str | None = None,
        range: str = "30m",
        end: str | None = None,
        baseline: str = "2h",
    ) -> ToolResult:
        """Rank series by how anomalous the recent window is against the baseline before it,
        with the estimated onset time and direction of each change. Give a service (all its
        golden signals, or one `signal`), a PromQL `query`, or nothing (key signals of every
        service). With a service, also runs IsolationForest across its signals. Use it for
        "is checkout latency anomalous?" or "anything unusual right now?"."""
        start, stop, seconds = window(range, end, ctx.now())
        base_s = parse_duration(baseline)
        scored: list[tuple[WindowScore, str, str, str]] = []
        names: dict[str, str] = {}
        for promql, title, unit, name in targets(service, signal, query):
            series = fetch(ctx, promql, start - timedelta(seconds=base_s), stop)
            refs = aligned_yesterday(ctx, promql, start - timedelta(seconds=base_s), stop, series)
            ranked = rank(series, stop.timestamp(), seconds, refs)
            scored += [(s, title, unit, promql) for s in ranked]
            names[promql] = name
        if not scored:
            return ToolResult(
                status=ToolStatus.NO_DATA,
                summary="no series with enough history to judge the window.",
            )
        scored.sort(
            key=lambda item: -item[0].score * rank_weight(names[item[3]], item[0].direction)
        )
        scored = callees_first(scored, call_graph.edges(), ctx.service_label)
        moved = [item for item in scored if item[0].direction != "flat"]
        lines = [
            f"{len(moved)} of {len(scored)} series left their baseline in the last {range} "
            f"(baseline: the {baseline} before); strongest first (knock-on moves such as fewer "
            "requests count half), a called service before its callers when both moved:"
        ]
        lines += [
            f"{i}. {_describe(title, s, unit)}"
            for i, (s, title, unit, _) in enumerate(scored[:TOP], 1)
        ]
        evidence = []
        for s, title, unit, promql in scored[:3]:
            sel = promql if not s.labels else f"{promql}  # {label_text(s.labels)}"
            evidence.append(
                Evidence(
                    tool="detect_anomalies",
                    query=sel,
                    summary=_describe(title, s, unit),
                    link=ctx.link(promql, start - timedelta(seconds=base_s), stop),
                    values={
                        "z": s.z,
                        "score": s.score,
                        "current": s.current,
                        "baseline": s.baseline,
                        **({"change_pct": s.change * 100} if s.change is not None else {}),
                    },
                )
            )
        if service and not query and not signal:
            note = _multivariate(ctx, service, start, stop, base_s)
            if note:
                lines.append(note[0])
                evidence.append(note[1])
        return ToolResult(
            status=ToolStatus.OK,
            summary="\n".join(lines),
            evidence=evidence,
            data={"ranked": [{**s.public(), "title": t, "query": q} for s, t, _, q in scored[:20]]},
        )

    return [
        ops_tool(
            detect_anomalies, name="detect_anomalies", args_schema=DetectArgs, output_chars=5000
        ),
        *drift_tools(ctx, features),
        *forecast_tools(ctx),
    ]


# Moves that are usually effects, not faults: fewer requests reach a service behind a failing
# caller, and a service doing less is faster and idler. They rank below a fault's own signal.
KNOCK_ON = {
    ("request_rate", "down"),
    ("request_rate", "up"),
    ("latency_p99", "down"),
    ("cpu", "down"),
    ("memory", "down"),
}


def rank_weight(signal: str, direction: str) -> float:
    """Return the ranking weight of a move: knock-on effects count half."""
    return 0.5 if (signal, direction) in KNOCK_ON else 1.0


def _multivariate(
    ctx: MetricsContext, service: str, start: datetime, stop: datetime, base_s: float
) -> tuple[str, Evidence] | None:
    metric_map = ctx.discovery.metric_map(service)
    columns, names, stamps = [], [], None
    for name in MULTIVARIATE:
        built = build_signal(
            name, service, metric_map, service_label=ctx.service_label, window=ctx.rate_window
        )
        rows = fetch(ctx, built.promql, start - timedelta(seconds=base_s), stop) if built else []
        if len(rows) != 1:
            continue
        _, ts, vals = rows[0]
        series = dict(zip(ts.tolist(), vals.tolist(), strict=True))
        stamps = set(series) if stamps is None else stamps & set(series)
        columns.append(series)
        names.append(TITLES[name])
    if not stamps or len(columns) < 2:
        return None
    grid = np.array(sorted(stamps))
    matrix = np.array([[col[t] for col in columns] for t in grid])
    cut = grid < start.timestamp()
    result = isolation(names, matrix[cut], matrix[~cut])
    if result is None:
        return None
    text = (
        f"IsolationForest over {len(names)} signals: {result.outlier_share:.0%} of the "
        f"window's points are outliers (baseline {result.baseline_share:.0%}); most "
        f"deviant: {result.deviant[0][0]}"
    )
    return text, Evidence(
        tool="detect_anomalies",
        query=f"isolation_forest({service})",
        summary=text,
        values={
            "outlier_pct": result.outlier_share * 100,
            "baseline_pct": result.baseline_share * 100,
        },
    )
