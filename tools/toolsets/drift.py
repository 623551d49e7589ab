"""check_drift: input features and prediction scores of a model against their reference."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from opsloop.tools.analysis.detectors.drift import Drift, histogram_drift, sample_drift
from opsloop.tools.backends.features import FeatureLog
from opsloop.tools.base import Evidence, OpsTool, ToolResult, ToolStatus, ops_tool
from opsloop.tools.toolsets.metrics import MetricsContext, window


class DriftArgs(BaseModel):
    """Arguments of check_drift."""

    model: str = Field(description="Model name, e.g. fraud-detector.")
    range: str = Field("1h", description="Recent window compared against the reference.")
    end: str | None = Field(None, description="Window end: ISO-8601 or Unix seconds.")


def drift_tools(ctx: MetricsContext, features: FeatureLog | None = None) -> list[OpsTool]:
    """Build check_drift over the feature log (when there is one) and Prometheus."""

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
            results += _reported_drift(ctx, model, start, stop)
            source = f"drift reported by the model monitor ({ctx.models.feature_drift})"
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

    return [ops_tool(check_drift, name="check_drift", args_schema=DriftArgs)]


def _reported_drift(
    ctx: MetricsContext, model: str, start: datetime, stop: datetime
) -> list[Drift]:
    """Read per-feature drift exported by the model monitor (max over the window)."""
    seconds = int((stop - start).total_seconds())
    sel = ctx.models.drift_selector(model)
    query = f"max by (feature) (max_over_time({sel}[{seconds}s]))"
    out = []
    for row in ctx.prom.instant(query, stop):
        value = float(row["value"][1])
        verdict = ctx.models.drift_verdict(value)
        out.append(Drift(row["metric"].get("feature", "?"), value, 0.0, None, verdict))
    return out


def _score_drift(
    ctx: MetricsContext, model: str, start: datetime, stop: datetime, seconds: float
) -> Drift | None:
    """Compare prediction-score histograms: this window against the day before it."""
    seconds = int(seconds)
    sel = ctx.models.score_buckets(model)
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
