"""Rank series by how anomalous a recent window is against the baseline before it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from opsloop.tools.callgraph import below, downstream

ONSET_Z = 3.0
Z_CAP = 99.0
MIN_BASELINE, MIN_WINDOW = 5, 3


@dataclass
class WindowScore:
    """How one series moved in [t0 − window, t0] against its baseline."""

    labels: dict[str, str]
    score: float  # 0..1, for ranking
    z: float  # robust z of the window level against the baseline
    direction: str  # "up" | "down" | "flat"
    onset: float | None  # first time the series left its baseline band and stayed out
    baseline: float  # baseline median
    current: float  # median of the window's second half
    change: float | None  # relative change of current against baseline
    seasonal: bool = False  # judged against the same time yesterday

    def public(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "labels": self.labels,
            "score": round(self.score, 4),
            "z": round(self.z, 2),
            "direction": self.direction,
            "onset": self.onset,
            "baseline": self.baseline,
            "current": self.current,
            "change": self.change,
            "seasonal": self.seasonal,
        }


def score_window(
    labels: dict[str, str],
    ts: np.ndarray,
    values: np.ndarray,
    t0: float,
    window_s: float,
    reference: np.ndarray | None = None,
    recent: int = 0,
) -> WindowScore | None:
    """Score one series; None when there is too little data on either side.

    `recent` > 0 also judges the median of the last `recent` points, for a change so young
    (an alert that just fired) that a sixth of the window would average it away.

    `reference` (the same series a day earlier, aligned with `ts`) removes the daily cycle:
    the window is judged on today minus yesterday, so a morning ramp or a daily batch that
    happened yesterday too is not an anomaly. Without it, the raw series is judged.
    """
    ok = np.isfinite(values)
    seasonal = bool(reference is not None and np.isfinite(reference[ok]).mean() > 0.8)
    signal = values - reference if seasonal else values
    ok &= np.isfinite(signal)
    ts, values, signal = ts[ok], values[ok], signal[ok]
    start = t0 - window_s
    in_base, in_cur = ts < start, (ts >= start) & (ts <= t0)
    if in_base.sum() < MIN_BASELINE or in_cur.sum() < MIN_WINDOW:
        return None
    base, cur, cur_ts = signal[in_base], signal[in_cur], ts[in_cur]
    level = float(np.median(values[in_base]))
    center = float(np.median(base))
    mad = 1.4826 * float(np.median(np.abs(base - center)))
    # Floors keep flat baselines (an error ratio of exactly 0) from turning noise into alarms.
    scale = max(mad, 0.05 * abs(level), 1e-9)
    # The level now: the median of the window's last sixth, third or half, whichever moved most,
    # so a shift in the last five minutes of a 30-minute window is not averaged away.
    tails = [cur[-max(MIN_WINDOW, len(cur) // k) :] for k in (6, 3, 2)]
    if recent > 0:
        tails.append(cur[-recent:])
    now = max((float(np.median(t)) for t in tails), key=lambda m: abs(m - center))
    # Capped: against a flat zero baseline (no restarts, ever) any change is "infinitely" far.
    z = float(np.clip((now - center) / scale, -Z_CAP, Z_CAP))
    direction = "flat" if abs(z) < ONSET_Z else ("up" if z > 0 else "down")
    onset = None
    if direction != "flat":
        sign = 1.0 if z > 0 else -1.0
        outside = sign * (cur - center) / scale > ONSET_Z
        # The onset: the first point out of the band after which the series mostly stays out.
        for i in np.nonzero(outside)[0]:
            if outside[i:].mean() >= 0.8:
                onset = float(cur_ts[i])
                break
    last = recent or max(MIN_WINDOW, int(in_cur.sum()) // 6)
    current = float(np.median(values[in_cur][-last:]))
    change = (current - level) / abs(level) if abs(level) > 1e-12 else None
    return WindowScore(
        labels,
        1.0 - math.exp(-abs(z) / 8.0),
        float(z),
        direction,
        onset,
        level,
        current,
        change,
        seasonal,
    )


def rank(
    series: list[tuple[dict[str, str], np.ndarray, np.ndarray]],
    t0: float,
    window_s: float,
    references: dict[tuple, np.ndarray] | None = None,
) -> list[WindowScore]:
    """Score many series (with yesterday's aligned values, keyed by labels) strongest first."""
    references = references or {}
    scored = [
        score_window(labels, ts, values, t0, window_s, references.get(label_key(labels)))
        for labels, ts, values in series
    ]
    return sorted((s for s in scored if s is not None), key=lambda s: -s.score)


def label_key(labels: dict[str, str]) -> tuple:
    """Return a hashable identity for a label set."""
    return tuple(sorted(labels.items()))


def callees_first(
    items: list[Any], topology: dict[str, list[str]], service_label: str = "service"
) -> list[Any]:
    """Reorder ranked (WindowScore, title, unit, query) items: a callee before its callers.

    Errors and latency propagate up the call graph, and a busy caller's ratio is less noisy
    than its callee's, so it can out-score the service that broke. When the same query moved
    the same way on a service and on one it (transitively) calls, the callee comes first.
    """
    reach = downstream(topology)
    under = {name: below(reach, name) for name in reach}  # cycles: as ranked
    out: list[Any] = []
    for item in items:
        score = item[0]
        svc = score.labels.get(service_label)
        at = len(out)
        if score.direction != "flat" and svc:
            for i, other in enumerate(out):
                o = other[0]
                if (
                    other[3] == item[3]
                    and o.direction == score.direction
                    and svc in under.get(o.labels.get(service_label, ""), set())
                ):
                    at = i
                    break
        out.insert(at, item)
    return out
