"""Time until a resource crosses its limit, from the recent trend, with an uncertainty band."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RESET_DROP = 0.3  # a fall of 30 % between points is a restart, not a trend


@dataclass
class Forecast:
    """When a series is expected to reach `limit` (seconds from the last point)."""

    current: float
    limit: float
    slope: float  # units per second
    eta_s: float | None  # None: not growing towards the limit
    low_s: float | None  # optimistic end of the 95 % band
    high_s: float | None  # pessimistic end (None: may never reach it)
    points: int
    reset_at: float | None = None  # when the series last dropped (a restart), if it did
    peak: float | None = None  # the value just before that drop


def time_to_limit(ts: np.ndarray, values: np.ndarray, limit: float) -> Forecast | None:
    """Fit a line to the points since the last reset and extrapolate to `limit`."""
    ok = np.isfinite(values)
    ts, values = np.asarray(ts, float)[ok], np.asarray(values, float)[ok]
    if len(ts) < 5:
        return None
    drops = np.nonzero(values[1:] < (1 - RESET_DROP) * values[:-1])[0]
    reset = None
    if len(drops):
        cut = drops[-1] + 1
        reset = (float(ts[cut]), float(values[cut - 1]))
        ts, values = ts[cut:], values[cut:]
    if len(ts) < 5:  # restarted moments ago: say so rather than guess a trend
        return Forecast(float(values[-1]), limit, 0.0, None, None, None, len(ts), *reset)
    x = ts - ts[-1]
    slope, intercept = np.polyfit(x, values, 1)
    residual = values - (slope * x + intercept)
    dof = max(len(x) - 2, 1)
    se = float(np.sqrt(np.sum(residual**2) / dof / max(np.sum((x - x.mean()) ** 2), 1e-12)))
    current, slope = float(intercept), float(slope)
    reset_at, peak = reset or (None, None)
    if current >= limit:
        return Forecast(current, limit, slope, 0.0, 0.0, 0.0, len(x), reset_at, peak)
    if slope <= 0:
        return Forecast(current, limit, slope, None, None, None, len(x), reset_at, peak)
    gap = limit - current
    fast, slow = slope + 1.96 * se, slope - 1.96 * se
    return Forecast(
        current,
        limit,
        slope,
        float(gap / slope),
        float(gap / fast),
        float(gap / slow) if slow > 0 else None,
        len(x),
        reset_at,
        peak,
    )
