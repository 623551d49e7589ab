"""scan_signals: every service's golden signals and model quality, scored at fine resolution.

An investigation starts seconds after an alert fired, so the anomaly is young: the scan
uses a short rate() range and also judges the last few points, where `detect_anomalies`
(built for "is anything unusual in the last 30 minutes?") would average a fresh change away.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from opsloop.tools.analysis.detectors.window import WindowScore, label_key, score_window
from opsloop.tools.analysis.series import format_value
from opsloop.tools.backends.prometheus.clients import dependency_queries
from opsloop.tools.backends.prometheus.identity import relabel
from opsloop.tools.backends.prometheus.kube import kube_queries, per_service
from opsloop.tools.backends.prometheus.promql import (
    check_label_name,
    escape_value,
    format_duration,
    parse_duration,
)
from opsloop.tools.backends.prometheus.signals import build_signal
from opsloop.tools.base import Evidence, OpsTool, ToolResult, ToolStatus, ops_tool
from opsloop.tools.errors import OpsError
from opsloop.tools.toolsets.metrics import MetricsContext, window
from opsloop.tools.toolsets.ranges import Series, aligned_yesterday, fetch

STEP_S = 5.0
RECENT_POINTS = 3  # the last ~15 s at STEP_S: what a fresh alert has to show
EVIDENCE_TOP = 12
PARALLEL_QUERIES = 4
# Moves that mean trouble; they get evidence records before traffic and "less CPU" moves.
BAD_MOVES = {
    ("error_ratio", "up"),
    ("latency_p99", "up"),
    ("cpu_util", "up"),
    ("cpu_throttling", "up"),
    ("memory_util", "up"),
    ("restarts", "up"),
    ("oom_kills", "up"),
    ("unavailable", "up"),
    ("not_ready", "up"),
    ("model_quality", "down"),
    ("feature_drift", "up"),
}


@dataclass(frozen=True)
class ScanQuery:
    """One signal for every service (grouped by service, and model for model metrics)."""

    signal: str
    promql: str
    unit: str
    title: str
    combine: str = ""  # per pod, joined to services by pod and combined: "max" or "sum"


class ScanArgs(BaseModel):
    """Arguments of scan_signals."""

    services: list[str] | None = Field(None, description="Services to scan; all if unset.")
    end: str | None = Field(None, description="Window end (the alert time): ISO-8601 or Unix s.")
    range: str = Field("15m", description="The window to judge, ending at `end`.")
    baseline: str = Field("2h", description="History before the window that counts as normal.")
    rate: str = Field("1m", description="Range inside rate(); short so a fresh change shows.")


def scan_queries(ctx: MetricsContext, rate: str) -> list[ScanQuery]:
    """Return the queries the scan runs: golden signals, Kubernetes saturation and health,
    model quality and input drift (every name from docs/conventions.md)."""
    label = ctx.service_label
    names = set(ctx.discovery.metric_names())
    kube = kube_queries(names, rate)
    golden = ["error_ratio", "latency_p99", "request_rate"]
    if not any(q.signal == "restarts" for q in kube):  # restarts named by service, not by pod
        golden.append("restarts")
    out = []
    # One query per signal: the union (`or`) over every request convention present, each
    # relabelled into the service label, the first convention winning for a service in both.
    maps = ctx.discovery.metric_maps()
    for name in golden:
        built = [
            b for m in maps if (b := build_signal(name, None, m, service_label=label, window=rate))
        ]
        parts = list(dict.fromkeys(b.promql for b in built))
        if parts:
            promql = parts[0] if len(parts) == 1 else " or ".join(f"({p})" for p in parts)
            out.append(ScanQuery(name, promql, built[0].unit, built[0].title))
    # Dependencies measured by their clients (databases, external APIs): their own rows.
    for signal, promql, unit, title in dependency_queries(ctx.discovery.clients(), label, rate):
        out.append(ScanQuery(signal, promql, unit, title))
    # Saturation as a share of the container's limit ("at 95 % of its CPU limit" says more
    # than "0.95 cores"), throttling, restarts and OOM kills, joined to services by pod.
    out += [ScanQuery(q.signal, q.promql, q.unit, q.title, q.combine) for q in kube]
    # The model monitor's quality and input drift: it sees drift before a feature log
    # written in batches does.
    models = ctx.models
    for signal, metric, promql_by, title in (
        ("model_quality", models.quality, models.quality_by, "model quality"),
        ("feature_drift", models.feature_drift, models.drift_by, "feature drift"),
    ):
        if metric in names:
            identity = ctx.discovery.identity(metric) or label
            promql = relabel(promql_by(identity), identity, label)
            out.append(ScanQuery(signal, promql, "", title))
    return out


# What a scan needs, by signal, and the source that provides it (docs/conventions.md).
SOURCES = {
    "error_ratio": "request metrics (OpenTelemetry or Prometheus-client HTTP)",
    "cpu_util": "container CPU and its limit (cAdvisor, kube-state-metrics)",
    "memory_util": "container memory and its limit (cAdvisor, kube-state-metrics)",
    "restarts": "restarts (kube-state-metrics)",
    "model_quality": "model quality (the model monitor's metrics)",
}


def rate_for(ctx: MetricsContext, rate: str, at: datetime) -> str:
    """Return `rate`, widened to four scrape intervals when the data around `at` is sparser."""
    try:
        interval = ctx.discovery.scrape_interval(at)
    except OpsError:
        return rate
    wanted = parse_duration(rate)
    if interval is None or 4 * interval <= wanted:
        return rate
    return format_duration(math.ceil(4 * interval / 15) * 15)


def unread(queries: list[ScanQuery]) -> list[str]:
    """Return the sources whose signals the scan could not read: nothing judged them."""
    have = {q.signal for q in queries}
    return [source for signal, source in SOURCES.items() if signal not in have]


def scan_tools(ctx: MetricsContext) -> list[OpsTool]:
    """Build the scan_signals tool bound to the metrics context."""

    def scan_signals(
        services: list[str] | None = None,
        end: str | None = None,
        range: str = "15m",
        baseline: str = "2h",
        rate: str = "1m",
    ) -> ToolResult:
        """Score every service's error ratio, p99 latency, request rate, restarts, CPU and
        memory against their limits, and each model's online quality and input drift, in a
        short window ending at `end` (the alert time) against the baseline before it and the
        same time yesterday.
        Returns per signal the direction, robust z and onset time. Use it first when
        investigating an alert: what moved, where, and which moved first."""
        start, stop, seconds = window(range, end, ctx.now())
        first = start - timedelta(seconds=parse_duration(baseline))
        wanted = set(ctx.discovery.resolve_service(s) for s in services) if services else None

        def score(q: ScanQuery) -> list[tuple[ScanQuery, WindowScore, float]]:
            pods = ctx.pods.at(stop) if q.combine and ctx.pods else None

            def by_service(rows: list[Series]) -> list[Series]:  # per pod → per service
                if not q.combine:
                    return rows
                return per_service(rows, pods, q.combine, ctx.service_label) if pods else []

            series = by_service(fetch(ctx, q.promql, first, stop, STEP_S))
            # A series that names no service (a client call naming no dependency) says nothing.
            series = [s for s in series if s[0].get(ctx.service_label)]
            if wanted is not None:
                series = [s for s in series if s[0].get(ctx.service_label) in wanted]
            past = yesterday.get(q.promql, q.promql)
            refs = aligned_yesterday(ctx, past, first, stop, series, STEP_S, by_service)
            out = []
            for labels, ts, values in series:
                scored = score_window(
                    labels,
                    ts,
                    values,
                    stop.timestamp(),
                    seconds,
                    refs.get(label_key(labels)),
                    recent=RECENT_POINTS,
                )
                if scored is not None:
                    # The highest of the last half minute: a level an alert has just crossed
                    # (PSI above 0.25) can sit at the edge in a three-point median.
                    tail = values[-6:][np.isfinite(values[-6:])]
                    out.append((q, scored, float(tail.max()) if len(tail) else scored.current))
            return out

        # A dozen range queries, twice (today and yesterday): side by side, not in a row.
        # rate() needs a few samples in its range: widen it where the data is sparser than
        # the range allows (a 60 s scrape interval, yesterday's downsampled history).
        rate = rate_for(ctx, rate, stop)
        queries = scan_queries(ctx, rate)
        past_rate = rate_for(ctx, rate, stop - timedelta(days=1))
        yesterday = (
            {q.promql: p.promql for q, p in zip(queries, scan_queries(ctx, past_rate), strict=True)}
            if past_rate != rate
            else {}
        )
        with ThreadPoolExecutor(max_workers=PARALLEL_QUERIES) as pool:
            rows = [row for rows_of in pool.map(score, queries) for row in rows_of]
        if not rows:
            return ToolResult(
                status=ToolStatus.NO_DATA,
                summary="no series with enough history before the window to judge it.",
            )
        rows.sort(key=lambda r: (-((r[0].signal, r[1].direction) in BAD_MOVES), -r[1].score))
        moved = [r for r in rows if r[1].direction != "flat"]
        lines = [
            f"{len(moved)} of {len(rows)} signals left their baseline in the {range} before "
            f"{stop:%H:%M:%S} UTC (rate over {rate}); strongest first:"
        ]
        evidence, data = [], []
        for q, s, peak in rows:
            item = _row(ctx, q, s, peak)
            if s.direction != "flat" and len(evidence) < EVIDENCE_TOP:
                item["evidence"] = len(evidence)
                evidence.append(
                    Evidence(
                        tool="scan_signals",
                        query=_one(q.promql, s.labels, ctx.service_label),
                        summary=item["text"],
                        link=ctx.link(_one(q.promql, s.labels, ctx.service_label), first, stop),
                        values={
                            "z": s.z,
                            "current": s.current,
                            "baseline": s.baseline,
                            **({"change_pct": s.change * 100} if s.change is not None else {}),
                        },
                    )
                )
                lines.append(f"- {item['text']}")
            data.append(item)
        if not moved:
            lines.append("- nothing moved beyond 3 robust standard deviations")
        return ToolResult(
            status=ToolStatus.OK,
            summary="\n".join(lines),
            evidence=evidence,
            data={
                "t0": stop.timestamp(),
                "window_s": seconds,
                "series": data,
                "unread": unread(queries),
            },
        )

    return [ops_tool(scan_signals, name="scan_signals", args_schema=ScanArgs, timeout_s=60)]


def _row(ctx: MetricsContext, q: ScanQuery, s: WindowScore, peak: float) -> dict[str, Any]:
    service = s.labels.get(ctx.service_label, "")
    model = s.labels.get("model")
    feature = s.labels.get("feature")
    metric = s.labels.get("metric")  # which quality score (auc, accuracy, ...)
    who = f"{model} ({service})" if model else service
    if feature:
        who = f"{who} {feature}"
    when = (
        "steady"
        if s.direction == "flat"
        else f"{s.direction} since {datetime.fromtimestamp(s.onset, UTC):%H:%M:%S}"
        if s.onset
        else s.direction
    )
    versus = "vs yesterday" if s.seasonal else "vs baseline"
    title = f"{q.title} ({metric})" if metric else q.title
    text = (
        f"{who} {title}: {when}, now {format_value(s.current, q.unit)}, baseline "
        f"{format_value(s.baseline, q.unit)} (z {s.z:.1f} {versus})"
    )
    return {
        "service": service,
        "model": model,
        "feature": feature,
        "metric": metric,
        "signal": q.signal,
        "direction": s.direction,
        "z": round(s.z, 2),
        "score": round(s.score, 4),
        "onset": s.onset,
        "baseline": s.baseline,
        "current": s.current,
        "peak": peak,
        "seasonal": s.seasonal,
        "query": q.promql,
        "text": text,
    }


def _one(promql: str, labels: dict[str, str], service_label: str) -> str:
    """Return the query narrowed to one series, so its evidence link shows just that line."""
    keep = {k: v for k, v in labels.items() if k in (service_label, "model", "feature", "metric")}
    if not keep:
        return promql
    # `and on (…)` against a one-sample vector filters after aggregation, whatever the shape.
    one = "vector(1)"
    for key, value in keep.items():
        # A label value is data: escaped as a PromQL string, and `$` doubled because
        # label_replace reads `$1` in its replacement as a capture group.
        text = escape_value(value.replace("$", "$$"))
        one = f'label_replace({one}, "{check_label_name(key)}", "{text}", "", "")'
    return f"({promql}) and on ({', '.join(keep)}) {one}"
