"""Detector tools for the agent: detect_anomalies, check_drift and forecast over live backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from opsloop.tools.analysis.detectors.drift import Drift, histogram_drift, sample_drift
from opsloop.tools.analysis.detectors.forecast import time_to_limit
from opsloop.tools.analysis.detectors.multivariate import isolation
from opsloop.tools.analysis.detectors.window import WindowScore, callees_first, rank
from opsloop.tools.analysis.series import format_value, label_text
from opsloop.tools.backends.features import FeatureLog
from opsloop.tools.backends.prometheus.promql import matcher, parse_duration, selector
from opsloop.tools.backends.prometheus.signals import SIGNALS, TITLES, Signal, build_signal
from opsloop.tools.base import Evidence, OpsTool, ToolResult, ToolStatus, ops_tool
from opsloop.tools.toolsets.metrics import MetricsContext, window
from opsloop.tools.toolsets.ranges import aligned_yesterday, fetch

TOP = 8
# p50 and p95 move with p99; judging all three triples the list without adding a suspect.
OVERVIEW_SKIP = ("latency_p50", "latency_p95")
MULTIVARIATE = ("request_rate", "error_ratio", "latency_p50", "latency_p95", "latency_p99")
LIMITS = {"memory": "container_spec_memory_limit_bytes", "cpu": "container_spec_cpu_limit_cores"}


class DetectArgs(BaseModel):
    """Arguments of detect_anomalies."""

    service: str | None = Field(None, description="Service to check; every service if unset.")
    signal: Signal | None = Field(None, description="One golden signal; all if unset.")
    query: str | None = Field(None, description="A PromQL selection to rank instead.")
    range: str = Field("30m", description="The window to judge, ending at `end`.")
    end: str | None = Field(None, description="Window end: ISO-8601 or Unix seconds.")
    baseline: str = Field("2h", description="How much history before the window is normal.")


class DriftArgs(BaseModel):
    """Arguments of check_drift."""

    model: str = Field(description="Model name, e.g. fraud-detector.")
    range: str = Field("1h", description="Recent window compared against the reference.")
    end: str | None = Field(None, description="Window end: ISO-8601 or Unix seconds.")


class ForecastArgs(BaseModel):
    """Arguments of forecast."""

    service: str = Field(description="Service whose pods to project.")
    signal: str = Field("memory", description="memory or cpu.")
    range: str = Field("1h", description="How much recent history the trend is fitted on.")


def _clock(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%H:%M:%S") if ts else "-"


def _describe(title: str, s: WindowScore, unit: str) -> str:
    where = label_text(s.labels) if s.labels else ""
    move = "steady" if s.direction == "flat" else f"{s.direction} since {_clock(s.onset)}"
    versus = "vs yesterday" if s.seasonal else "vs its baseline"
    return (
        f"{title} {where}: {move}, now {format_value(s.current, unit)}, baseline "
        f"{format_value(s.baseline, unit)} (z {s.z:.1f} {versus}, score {s.score:.2f})"
    ).replace("  ", " ")


def detector_tools(
    ctx: MetricsContext,
    features: FeatureLog | None = None,
    topology: dict[str, list[str]] | None = None,
) -> list[OpsTool]:
    """Build the detector tools bound to the metrics context, feature log and call graph."""
    topology = topology or {}

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
        scored = callees_first(scored, topology, ctx.service_label)
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

    def check_drift(model: str, range: str = "1h", end: str | None = None) -> ToolResult:
        """Check a model for data drift: PSI and two-sample KS of each input feature (live
        inference rows against the training reference) and of the prediction-score
        distribution (this window against the day before). Use it for "is there drift on
        fraud-detector?"."""
        start, stop, seconds = window(range, end, ctx.now())
        results: list[Drift] = []
        source = ""
        ref = features.reference(model) if features else None
        cur = features.current(model, start.timestamp(), stop.timestamp()) if features else None
        if ref is not None and cur is not None:
            cols = [c for c in ref.columns if c in cur.columns and c not in ("ts", "label")]
            results += [sample_drift(c, ref[c].to_numpy(), cur[c].to_numpy()) for c in cols]
            source = f"{len(cur)} logged inference rows vs a {len(ref)}-row training reference"
        else:
            results += _reported_psi(ctx, model, start, stop)
            source = "PSI reported by the model monitor (model_feature_psi)"
        score = _score_drift(ctx, model, start, stop, seconds)
        if score:
            results.append(score)
        if not results:
            return ToolResult(
                status=ToolStatus.NO_DATA,
                summary=f"no feature or score data for {model} in the window.",
            )
        drifted = [d for d in results if d.verdict == "drifted"]
        order = sorted(results, key=lambda d: -d.psi)
        lines = [
            f"{model}: {len(drifted)} of {len(results)} distributions drifted "
            f"(PSI > 0.25 or KS-confirmed); source: {source}"
        ]
        lines += [
            f"- {d.name}: {d.verdict}, PSI {d.psi:.3g}, KS {d.ks:.3g}"
            + (f" (p {d.p_value:.2g})" if d.p_value is not None else "")
            for d in order
        ]
        values = {f"{d.name}.psi": d.psi for d in results}
        values |= {f"{d.name}.ks": d.ks for d in results}
        values["drifted"] = float(len(drifted))
        return ToolResult(
            status=ToolStatus.OK,
            summary="\n".join(lines),
            data={"model": model, "drift": [d.__dict__ for d in order]},
            evidence=[
                Evidence(
                    tool="check_drift",
                    query=f"drift model={model} window={range}",
                    summary=lines[0]
                    + "; "
                    + "; ".join(f"{d.name} PSI {d.psi:.3g}" for d in order[:4]),
                    values=values,
                )
            ],
        )

    def forecast(service: str, signal: str = "memory", range: str = "1h") -> ToolResult:
        """Project each pod's memory or CPU from its recent trend and say when it reaches its
        limit, with a 95 % band ("fraud-api memory reaches its limit in ~40 min"). Use it to
        warn before an outage."""
        if signal not in LIMITS:
            return ToolResult.failure("signal must be memory or cpu")
        service = ctx.discovery.resolve_service(service)
        start, stop, _ = window(range, None, ctx.now())
        metric_map = ctx.discovery.metric_map(service)
        built = build_signal(
            signal, service, metric_map, service_label=ctx.service_label, window=ctx.rate_window
        )
        if built is None:
            return ToolResult.failure(f"{service} exposes no {signal} metric I recognise")
        limit_q = (
            f"max by (pod) ({selector(LIMITS[signal], [matcher(ctx.service_label, service)])})"
        )
        limits = {
            r["metric"].get("pod", ""): float(r["value"][1])
            for r in ctx.prom.instant(limit_q, stop)
        }
        if not limits:
            return ToolResult.failure(f"no {LIMITS[signal]} for {service}: the limit is unknown")
        unit = built.unit
        lines, values = [], {}
        for labels, ts, vals in fetch(ctx, built.promql, start, stop):
            pod = labels.get("pod", "")
            fc = time_to_limit(ts, vals, limits.get(pod, max(limits.values())))
            if fc is None:
                continue
            if fc.points < 5 and fc.reset_at:
                outlook = (
                    f"restarted at {_clock(fc.reset_at)} after reaching "
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

    return [
        ops_tool(
            detect_anomalies, name="detect_anomalies", args_schema=DetectArgs, output_chars=5000
        ),
        ops_tool(check_drift, name="check_drift", args_schema=DriftArgs),
        ops_tool(forecast, name="forecast", args_schema=ForecastArgs),
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


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "not reached at this trend"
    if seconds < 90:
        return f"~{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"~{seconds / 60:.0f} min"
    return f"~{seconds / 3600:.1f} h"


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


def _reported_psi(ctx: MetricsContext, model: str, start: datetime, stop: datetime) -> list[Drift]:
    """Read per-feature PSI exported by the serving system (max over the window)."""
    seconds = int((stop - start).total_seconds())
    sel = selector("model_feature_psi", [matcher("model", model)])
    query = f"max by (feature) (max_over_time({sel}[{seconds}s]))"
    out = []
    for row in ctx.prom.instant(query, stop):
        value = float(row["value"][1])
        verdict = "drifted" if value > 0.25 else "moderate" if value > 0.1 else "stable"
        out.append(Drift(row["metric"].get("feature", "?"), value, 0.0, None, verdict))
    return out


def _score_drift(
    ctx: MetricsContext, model: str, start: datetime, stop: datetime, seconds: float
) -> Drift | None:
    """Compare prediction-score histograms: this window against the day before it."""
    seconds = int(seconds)
    sel = selector("model_prediction_score_bucket", [matcher("model", model)])
    now = ctx.prom.instant(f"sum by (le) (increase({sel}[{seconds}s]))", stop)
    before = ctx.prom.instant(f"sum by (le) (increase({sel}[86400s] offset {seconds}s))", stop)
    if not now or not before:
        return None

    def counts(rows: list[dict[str, Any]]) -> dict[float, float]:
        return {float(r["metric"]["le"]): float(r["value"][1]) for r in rows}

    cur, ref = counts(now), counts(before)
    bounds = sorted(set(cur) & set(ref))
    if len(bounds) < 3:
        return None
    cum_cur = np.array([cur[b] for b in bounds])
    cum_ref = np.array([ref[b] for b in bounds])
    # Buckets are cumulative: difference them into per-bucket counts.
    return histogram_drift(
        "prediction_score", np.diff(cum_ref, prepend=0), np.diff(cum_cur, prepend=0)
    )
