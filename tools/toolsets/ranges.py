"""Range queries as numpy arrays, and the same span a day earlier aligned point by point."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np

from opsloop.tools.analysis.detectors.window import label_key
from opsloop.tools.toolsets.metrics import MetricsContext

Series = tuple[dict[str, str], np.ndarray, np.ndarray]


def auto_step(start: datetime, end: datetime) -> float:
    """Return a step giving about 480 points, never finer than 15 s."""
    return max(15.0, (end - start).total_seconds() / 480)


def fetch(
    ctx: MetricsContext, promql: str, start: datetime, end: datetime, step: float | None = None
) -> list[Series]:
    """Range-query `promql`; return (labels, timestamps, values) per series."""
    out = []
    for series in ctx.prom.range(promql, start, end, step or auto_step(start, end)):
        points = np.array([[float(t), float(v)] for t, v in series.get("values", [])])
        if len(points):
            labels = {k: v for k, v in series.get("metric", {}).items() if k != "__name__"}
            out.append((labels, points[:, 0], points[:, 1]))
    return out


def aligned_yesterday(
    ctx: MetricsContext,
    promql: str,
    start: datetime,
    end: datetime,
    series: list[Series],
    step: float | None = None,
    transform: Callable[[list[Series]], list[Series]] | None = None,
) -> dict[tuple, np.ndarray]:
    """Fetch the same span a day earlier, aligned point by point with today's series
    (`transform`, when given, shapes yesterday's series as today's were: pods → services)."""
    day = timedelta(days=1)
    step = step or auto_step(start, end)
    past_series = fetch(ctx, promql, start - day, end - day, step)
    if transform is not None:
        past_series = transform(past_series)
    before = {
        label_key(labels): dict(zip((ts + 86400).tolist(), vals.tolist(), strict=True))
        for labels, ts, vals in past_series
    }
    out = {}
    for labels, ts, _ in series:
        past = before.get(label_key(labels))
        if past:
            out[label_key(labels)] = np.array([past.get(t, np.nan) for t in ts.tolist()])
    return out
