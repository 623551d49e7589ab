"""NAB scoring: probation, windows, scaled sigmoid, corpus threshold sweep, normalisation.

Follows numenta/NAB at ea702d7: `nab/sweeper.py` (`scaledSigmoid`, `calcSweepScore`,
`calcScoreByThreshold`) for the per-row weights and the exhaustive threshold sweep, and
`nab/runner.py` (`normalize`) for 100·(raw − null)/(perfect − null) with perfect = windows·tpWeight.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

PROBATION_PERCENT = 0.15
PROBATION_CAP = 750  # sweeper: min(floor(0.15·N), 0.15·5000)


@dataclass(frozen=True)
class Profile:
    """One NAB cost matrix."""

    tp: float
    fn: float
    fp: float


PROFILES: dict[str, Profile] = {
    "standard": Profile(tp=1.0, fn=1.0, fp=0.11),
    "reward_low_FP_rate": Profile(tp=1.0, fn=1.0, fp=0.22),
    "reward_low_FN_rate": Profile(tp=1.0, fn=2.0, fp=0.11),
}


@dataclass(frozen=True)
class FileRows:
    """Per-row scoring terms of one file, for the rows past probation.

    `window` is the window index within the file (-1 outside windows); `tp_credit` is the
    credit of a detection in a window before tpWeight; `fp_cost` is the negative weight of a
    detection outside windows before fpWeight.
    """

    rows: np.ndarray
    window: np.ndarray
    tp_credit: np.ndarray
    fp_cost: np.ndarray
    n_windows: int


def probation_length(n_rows: int) -> int:
    """Return how many leading rows of a file are not scored."""
    return int(min(math.floor(PROBATION_PERCENT * n_rows), PROBATION_CAP))


def scaled_sigmoid(position: np.ndarray | float) -> np.ndarray:
    """Return NAB's `2·sigmoid(-5·p) − 1`, and −1 for p ≥ 3 (an FP well behind a window)."""
    p = np.asarray(position, dtype=float)
    return np.where(p >= 3.0, -1.0, 2.0 / (1.0 + np.exp(5.0 * p)) - 1.0)


_MAX_TP = float(scaled_sigmoid(-1.0))  # normalises an on-time detection to exactly tpWeight


def file_rows(n_rows: int, windows: list[tuple[int, int]]) -> FileRows:
    """Compute the scoring terms of every scorable row of a file; windows are inclusive rows."""
    idx = np.arange(n_rows)
    window = np.full(n_rows, -1)
    tp_credit = np.zeros(n_rows)
    # Distance past the preceding window in units of (its width − 1); 3.0 = no window before.
    past = np.full(n_rows, 3.0)
    for k, (start, end) in enumerate(sorted(windows)):
        width = end - start + 1
        inside = slice(start, end + 1)
        window[inside] = k
        tp_credit[inside] = scaled_sigmoid(-(end - idx[inside] + 1) / width) / _MAX_TP
        after = idx > end
        past[after] = (idx[after] - end) / max(width - 1, 1)
    fp_cost = scaled_sigmoid(past)
    keep = idx >= probation_length(n_rows)
    scored_windows = len(np.unique(window[keep & (window >= 0)]))
    return FileRows(idx[keep], window[keep], tp_credit[keep], fp_cost[keep], scored_windows)


@dataclass(frozen=True)
class Outcome:
    """Raw score and counts of one file (or a sum of files) at one threshold."""

    raw: float
    windows: int
    detected: int
    false_positives: int

    def __add__(self, other: Outcome) -> Outcome:
        return Outcome(
            self.raw + other.raw,
            self.windows + other.windows,
            self.detected + other.detected,
            self.false_positives + other.false_positives,
        )


def score_file(rows: FileRows, scores: np.ndarray, threshold: float, profile: Profile) -> Outcome:
    """Score one file at a threshold: first detection per window, every detection outside."""
    fired = np.asarray(scores, dtype=float)[rows.rows] >= threshold
    outside = fired & (rows.window < 0)
    raw = profile.fp * float(rows.fp_cost[outside].sum())
    detected = 0
    for k in np.unique(rows.window[rows.window >= 0]):
        hits = np.flatnonzero(fired & (rows.window == k))
        if len(hits):
            raw += profile.tp * float(rows.tp_credit[hits[0]])
            detected += 1
        else:
            raw -= profile.fn
    return Outcome(raw, rows.n_windows, detected, int(outside.sum()))


def sweep(
    all_rows: list[FileRows], all_scores: list[np.ndarray], profile: Profile
) -> tuple[np.ndarray, np.ndarray]:
    """Return every candidate threshold (descending) and the corpus raw score at each.

    The first entry is +inf (nothing fires: the null score). Exhaustive, like NAB's sweeper:
    rows are visited from the highest score down; a window's value is the best credit among
    its rows fired so far, which is its earliest fired row since credit falls along a window.
    """
    scores, window, credit, cost = [], [], [], []
    offset = 0
    for rows, s in zip(all_rows, all_scores, strict=True):
        scores.append(np.asarray(s, dtype=float)[rows.rows])
        window.append(np.where(rows.window >= 0, rows.window + offset, -1))
        credit.append(rows.tp_credit)
        cost.append(rows.fp_cost)
        offset += int(rows.window.max(initial=-1)) + 1
    s = np.concatenate(scores)
    w, tp, fp = np.concatenate(window), np.concatenate(credit), np.concatenate(cost)
    order = np.argsort(-s, kind="stable")
    s, w, tp, fp = s[order], w[order], tp[order], fp[order]
    inside = w >= 0
    gain = np.where(inside, 0.0, profile.fp * fp)
    # Running best credit per window; a row adds what it raises its window's best by.
    best = pd.Series(np.where(inside, profile.tp * tp, -np.inf)).groupby(w).cummax().to_numpy()
    prev = pd.Series(best).groupby(w).shift(1, fill_value=-profile.fn).to_numpy()
    gain[inside] = np.maximum(best[inside], -profile.fn) - np.maximum(prev[inside], -profile.fn)
    n_windows = sum(r.n_windows for r in all_rows)
    totals = -profile.fn * n_windows + np.cumsum(gain)
    # A threshold equal to a score fires every row with that score: keep each run's last row.
    last = np.r_[s[1:] != s[:-1], True]
    return np.r_[np.inf, s[last]], np.r_[-profile.fn * n_windows, totals[last]]


def normalised(raw: float, n_windows: int, profile: Profile) -> float:
    """Return 100·(raw − null)/(perfect − null); null misses every window, perfect hits each."""
    null, perfect = -profile.fn * n_windows, profile.tp * n_windows
    if perfect == null:
        return float("nan")
    return 100.0 * (raw - null) / (perfect - null)


def best_threshold(
    all_rows: list[FileRows], all_scores: list[np.ndarray], profile: Profile
) -> tuple[float, float]:
    """Return (threshold, raw score) maximising the corpus score; the highest such threshold."""
    thresholds, totals = sweep(all_rows, all_scores, profile)
    k = int(np.argmax(totals))
    return float(thresholds[k]), float(totals[k])
