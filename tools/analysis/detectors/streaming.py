"""Streaming univariate anomaly detector: range exceedance of four causal views, vectorised.

Every row is scored from that row and earlier rows only. Four views of the series are kept:
the value; its exponential moving average (level shifts under noise); its deviation from
that average before this row (spikes riding on a trend); and its absolute difference from
the value one day earlier (broken daily patterns). Each view scores how far it leaves the
range it spanned over the last `window` rows, relative to that range: a new high or low
scores, a familiar value does not, and after a level shift the range grows so the detector
adapts. Views are averaged (the day-over-day one at a quarter weight); a row scores only when it
beats every score of the last `cooldown` rows, because NAB credits the first detection of
an anomaly and charges later ones; the result is mapped to [0, 1) with `calibration` at 0.5.

Counter-like series (never dipping over their first rows, bar drops towards zero) are scored
on their rate, increase per second with a reset counting up from zero, instead of the value.
A missing value (NaN) scores 0 and adds nothing to the history; windows and the cooldown
count rows, so a gap ages the history like any other rows.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

DAY_S = 86_400.0


@dataclass(frozen=True)
class Params:
    """Hyper-parameters, global by design: nothing is tuned per series or per category."""

    window: int = 4000  # rows of history a value is compared with
    blocks: int = 8  # the window slides a block at a time: it spans 7/8 to all of `window`
    warmup: int = 100  # rows a view must have seen before it scores
    smooth: int = 24  # span of the moving average (2 h at 5-minute rows)
    # Chosen by leave-one-category-out on NAB (python -m opsloop.evals.nab --loo): a quarter
    # weight for the day-over-day view and a 48-row cooldown are what carry over to a category
    # the settings never saw; half weight and 12 rows fitted the in-sample categories better.
    seasonal_weight: float = 0.25  # day-over-day view counts a quarter: daily patterns drift
    slots: int = 288  # time-of-day slots remembered for the day-over-day view (5 min)
    cooldown: int = 48  # rows a score must beat before it counts again
    counter_check: int = 30  # rows watched before deciding whether the series is a counter
    calibration: float = 0.01  # mean view score mapped to 0.5 (near NAB's best threshold)


class _Range:
    """Sliding min/max of one view over about `window` rows, and how far a value leaves it."""

    def __init__(self, n: int, p: Params, upper_only: bool = False) -> None:
        self.k, self.size, self.warmup = p.blocks, p.window // p.blocks, p.warmup
        self.upper_only = upper_only
        self.block_hi = np.full((n, self.k), -np.inf)
        self.block_lo = np.full((n, self.k), np.inf)
        self.past_hi, self.past_lo = np.full(n, -np.inf), np.full(n, np.inf)
        self.cur_hi, self.cur_lo = np.full(n, -np.inf), np.full(n, np.inf)
        self.seen = np.zeros(n, dtype=np.int64)
        self.rows = 0

    def reset(self, mask: np.ndarray) -> None:
        """Forget the history of the masked series."""
        for arr in (self.block_hi, self.past_hi, self.cur_hi):
            arr[mask] = -np.inf
        for arr in (self.block_lo, self.past_lo, self.cur_lo):
            arr[mask] = np.inf
        self.seen[mask] = 0

    def step(self, f: np.ndarray, ok: np.ndarray) -> np.ndarray:
        """Score f (where ok) against the range so far, then add it; return g = e / (1 + e)."""
        hi = np.maximum(self.past_hi, self.cur_hi)
        lo = np.minimum(self.past_lo, self.cur_lo)
        live = ok & (self.seen >= self.warmup)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            # A floor keeps a long flat line finite; any move off it still scores high.
            span = np.maximum(hi - lo, 1e-9 * (1.0 + np.abs(hi)))
            out = (f - hi) if self.upper_only else np.maximum(f - hi, lo - f)
            e = np.where(live, out / span, 0.0)
        e = np.clip(np.nan_to_num(e, nan=0.0, posinf=1e12), 0.0, 1e12)
        fv = np.where(ok, f, np.nan)
        self.cur_hi = np.fmax(self.cur_hi, fv)
        self.cur_lo = np.fmin(self.cur_lo, fv)
        self.seen += ok
        self.rows += 1
        if self.rows % self.size == 0:  # every series rolls over together: rows, not valid rows
            slot = (self.rows // self.size) % self.k
            self.block_hi[:, slot], self.block_lo[:, slot] = self.cur_hi, self.cur_lo
            self.past_hi, self.past_lo = self.block_hi.max(axis=1), self.block_lo.min(axis=1)
            self.cur_hi = np.full_like(self.cur_hi, -np.inf)
            self.cur_lo = np.full_like(self.cur_lo, np.inf)
        return e / (1.0 + e)


class _Engine:
    """Detector state for n series stepped together; one row of every series per step."""

    def __init__(self, n: int, p: Params) -> None:
        self.p = p
        self.seen = np.zeros(n, dtype=np.int64)
        self.prev_x, self.prev_t = np.full(n, np.nan), np.full(n, np.nan)
        self.ups = np.zeros(n, dtype=np.int64)
        self.dips = np.zeros(n, dtype=np.int64)  # decreases that are not resets towards zero
        self.counter = np.zeros(n, dtype=bool)
        self.ema = np.full(n, np.nan)
        self.slot_v, self.slot_t = np.zeros((n, p.slots)), np.full((n, p.slots), -np.inf)
        # value, moving average, deviation from the average, day-over-day difference
        self.views = (_Range(n, p), _Range(n, p), _Range(n, p), _Range(n, p, upper_only=True))
        self.weights = np.array([1.0, 1.0, 1.0, p.seasonal_weight]) / (3.0 + p.seasonal_weight)
        self.recent = np.zeros((n, p.cooldown))
        self.rows = 0
        self.alpha = 2.0 / (p.smooth + 1.0)

    def _transform(self, t: np.ndarray, x: np.ndarray, ok: np.ndarray) -> tuple:
        """Watch for counters; return the value to score and where it is defined."""
        p = self.p
        prev, dt = self.prev_x, t - self.prev_t
        has_prev = ok & np.isfinite(prev)
        reset = has_prev & (x < 0.5 * prev)
        dip = has_prev & (x < prev) & ~reset
        self.ups += has_prev & (x > prev)
        self.dips += dip
        self.seen += ok
        decide = ok & (self.seen == p.counter_check)
        self.counter |= decide & (self.dips == 0) & (2 * self.ups >= p.counter_check) & (x >= 0)
        # A counter that dips after all was not one: score its values from scratch.
        relapse = self.counter & dip
        if relapse.any():
            self.counter &= ~relapse
            for view in self.views:
                view.reset(relapse)
            self.ema[relapse] = np.nan
            self.slot_t[relapse] = -np.inf
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(reset, x, x - prev) / dt
        value = np.where(self.counter, rate, x)
        live = ok & (self.seen > p.counter_check)
        live &= ~self.counter | (has_prev & (dt > 0))
        self.prev_x = np.where(ok, x, self.prev_x)
        self.prev_t = np.where(ok, t, self.prev_t)
        return np.where(live, value, 0.0), live

    def _day_ago(self, t: np.ndarray, v: np.ndarray, live: np.ndarray) -> tuple:
        """Return the value remembered about a day ago at this time of day, and where known."""
        p = self.p
        slot = ((t % DAY_S) * (p.slots / DAY_S)).astype(np.int64) % p.slots
        rows = np.arange(len(t))
        lag_v, lag_t = self.slot_v[rows, slot], self.slot_t[rows, slot]
        # Irregular rows: accept what was stored within two slot widths of a day ago.
        known = live & (np.abs(t - lag_t - DAY_S) <= 2 * DAY_S / p.slots)
        self.slot_v[rows, slot] = np.where(live, v, lag_v)
        self.slot_t[rows, slot] = np.where(live, t, lag_t)
        return lag_v, known

    def step(self, t: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Consume one row per series; return their scores in [0, 1)."""
        ok = np.isfinite(x)
        v, live = self._transform(t, np.where(ok, x, 0.0), ok)
        before = self.ema
        fresh = np.isnan(before)
        self.ema = np.where(live, np.where(fresh, v, before + self.alpha * (v - before)), before)
        lag_v, known = self._day_ago(t, v, live)
        g = (
            self.views[0].step(v, live),
            self.views[1].step(self.ema, live),
            self.views[2].step(v - before, live & ~fresh),
            self.views[3].step(np.abs(v - lag_v), known),
        )
        s = sum(w * gi for w, gi in zip(self.weights, g, strict=True))
        beat = s > self.recent.max(axis=1)
        self.recent[:, self.rows % self.p.cooldown] = s
        self.rows += 1
        s = np.where(beat, s, 0.0)
        return s / (s + self.p.calibration)


def _params(params: dict) -> Params:
    known = {f.name for f in fields(Params)}
    unknown = set(params) - known
    if unknown:
        raise TypeError(f"unknown detector parameters: {sorted(unknown)}")
    return Params(**params)


class StreamingDetector:
    """Score one series a row at a time; each score uses that row and earlier rows only."""

    def __init__(self, **params: float) -> None:
        self.params = _params(params)
        self._engine = _Engine(1, self.params)

    def update(self, timestamp: float, value: float) -> float:
        """Consume one row (epoch seconds, value; NaN = missing) and return its score in [0, 1]."""
        score = self._engine.step(np.array([float(timestamp)]), np.array([float(value)]))
        return float(score[0])


def score_series(timestamps: np.ndarray, values: np.ndarray, **params: float) -> np.ndarray:
    """Score a series row by row, exactly as feeding `StreamingDetector.update` would."""
    engine = _Engine(1, _params(params))
    t = np.asarray(timestamps, dtype=float)
    x = np.asarray(values, dtype=float)
    out = np.empty(len(x))
    for i in range(len(x)):
        out[i] = engine.step(t[i : i + 1], x[i : i + 1])[0]
    return out


def score_matrix(
    values: np.ndarray, step_seconds: float = 60.0, start: float = 0.0, **params: float
) -> np.ndarray:
    """Score many regularly spaced series at once: rows are series, columns are time steps.

    Column j has timestamp `start + j·step_seconds` for every series; the per-step work is
    vectorised across series and equals `score_series` on each row with those timestamps.
    """
    x = np.atleast_2d(np.asarray(values, dtype=float))
    engine = _Engine(x.shape[0], _params(params))
    out = np.empty_like(x)
    for j in range(x.shape[1]):
        t = np.full(x.shape[0], start + j * step_seconds)
        out[:, j] = engine.step(t, x[:, j])
    return out


def read_nab_csv(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a NAB `timestamp,value` file; return epoch seconds and values (blank = NaN)."""
    with open(path, newline="") as fh:
        rows = [row for row in csv.reader(fh) if row][1:]
    stamps = np.array([row[0].strip().replace(" ", "T") for row in rows], dtype="datetime64[s]")
    values = np.array([float(row[1]) if row[1].strip() else np.nan for row in rows])
    return stamps.astype(np.int64).astype(float), values
