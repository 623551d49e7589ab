"""Vectorisation benchmark: `score_matrix` against a per-series IsolationForest loop.

    python -m bench.detectors [--series N] [--baseline-series M] [--no-nab] [--json]

Generates N seeded synthetic series of one day at one-minute resolution (1440 points: daily
and hourly seasonality, Gaussian noise, and in 80 % of series one injected anomaly: a spike,
a level shift, a 30-minute dip or a 30-minute variance burst). Times `score_matrix` on all of
them and a baseline that loops over series fitting scikit-learn's IsolationForest
(n_estimators=100, contamination="auto", max_samples=256, n_jobs=1) on [value, first
difference] of the whole series, then scoring the same points: a non-causal baseline that
sees each day in hindsight. The baseline runs on a seeded random subset of M series and its
time is extrapolated linearly to N, and the output says so.

Quality on the injected anomalies: point-wise ROC AUC (label: the anomaly's first 30 minutes,
a spike's single minute) and event precision/recall at a budget of one alert per anomaly
(the top-k scores over all series, k = number of anomalies; an event counts as found when an
alert lands in its first 30 minutes). Rows before the detector's warm-up are not scored.

With NAB data present it also scores, on the NAB corpus, a causal IsolationForest detector
(refit every 500 rows on the preceding 2000 rows' [value, difference]) next to ours.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import tracemalloc
from typing import Any

import numpy as np
from sklearn.ensemble import IsolationForest

from opsloop.tools.analysis.detectors.streaming import Params, score_matrix

POINTS = 1440
EVENT_SPAN = 30  # minutes of an anomaly that count as its onset
KINDS = ("spike", "shift", "dip", "burst")
SKIP = Params().counter_check + Params().warmup  # rows before our detector can score


def make_series(n: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return values (n, 1440), onset labels and each series' anomaly start (-1: none)."""
    rng = np.random.default_rng(seed)
    minute = np.arange(POINTS)
    level = rng.uniform(10, 100, (n, 1))
    daily = (
        rng.uniform(0, 0.5, (n, 1))
        * level
        * np.sin(2 * np.pi * (minute / POINTS + rng.random((n, 1))))
    )
    hourly = rng.uniform(0, 0.05, (n, 1)) * level * np.sin(2 * np.pi * minute / 60)
    sigma = rng.uniform(0.02, 0.08, (n, 1)) * level
    values = level + daily + hourly + sigma * rng.standard_normal((n, POINTS))
    onset = np.where(rng.random(n) < 0.8, rng.integers(300, POINTS - EVENT_SPAN, n), -1)
    kind = rng.integers(0, len(KINDS), n)
    size = rng.uniform(4, 8, n) * sigma[:, 0] * rng.choice([-1, 1], n)
    labels = np.zeros((n, POINTS), dtype=bool)
    for i in np.flatnonzero(onset >= 0):
        start, span = onset[i], slice(onset[i], onset[i] + EVENT_SPAN)
        if KINDS[kind[i]] == "spike":
            values[i, start] += 1.5 * size[i]
            labels[i, start] = True
            continue
        if KINDS[kind[i]] == "shift":
            values[i, start:] += size[i]
        elif KINDS[kind[i]] == "dip":
            values[i, span] -= abs(size[i])
        else:
            values[i, span] += 4 * sigma[i, 0] * rng.standard_normal(EVENT_SPAN)
        labels[i, span] = True
    return values, labels, onset


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Return the ROC AUC of scores for boolean labels (ties share ranks)."""
    s, y = np.ravel(scores), np.ravel(labels)
    order = np.argsort(s, kind="stable")
    ranks = np.empty(len(s))
    ranks[order] = np.arange(1, len(s) + 1)
    _, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    ranks = (np.bincount(inverse, ranks) / counts)[inverse]  # average rank within ties
    pos = int(y.sum())
    return float((ranks[y].sum() - pos * (pos + 1) / 2) / (pos * (len(s) - pos)))


def quality(scores: np.ndarray, labels: np.ndarray, onset: np.ndarray) -> dict[str, float]:
    """Point and event AUC, and event precision/recall with one alert per injected anomaly.

    Event AUC ranks each anomaly's highest score over its first 30 minutes against every
    point outside anomalies: fair to detectors that flag an event once and then go quiet.
    """
    s, y = scores[:, SKIP:], labels[:, SKIP:]
    events = int((onset >= 0).sum())
    peaks = np.array([scores[i, o : o + EVENT_SPAN].max() for i, o in enumerate(onset) if o >= 0])
    quiet = s[~y & (onset[:, None] < 0) | ~y & (np.arange(SKIP, POINTS) < onset[:, None])]
    top = np.argsort(-s, axis=None, kind="stable")[:events]
    rows, cols = np.unravel_index(top, s.shape)
    cols = cols + SKIP
    hit = (onset[rows] >= 0) & (cols >= onset[rows]) & (cols < onset[rows] + EVENT_SPAN)
    return {
        "point_auc": round(auc(s, y), 4),
        "event_auc": round(
            auc(np.r_[peaks, quiet], np.r_[np.ones(len(peaks)), np.zeros(len(quiet))] > 0), 4
        ),
        "precision": round(float(hit.mean()), 4),
        "recall": round(len(set(rows[hit].tolist())) / events, 4),
    }


def iforest_scores(values: np.ndarray) -> np.ndarray:
    """Fit an IsolationForest per series on [value, difference]; return -score_samples."""
    out = np.empty_like(values)
    for i, x in enumerate(values):
        features = np.column_stack([x, np.r_[0.0, np.diff(x)]])
        model = IsolationForest(n_estimators=100, contamination="auto", random_state=0, n_jobs=1)
        out[i] = -model.fit(features).score_samples(features)
    return out


def iforest_causal(timestamps: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Score a series causally: refit every 500 rows on the preceding 2000 rows, score the next."""
    x = np.nan_to_num(np.asarray(values, dtype=float))
    features = np.column_stack([x, np.r_[0.0, np.diff(x)]])
    out = np.zeros(len(x))
    for start in range(200, len(x), 500):
        model = IsolationForest(n_estimators=100, contamination="auto", random_state=0, n_jobs=1)
        model.fit(features[max(0, start - 2000) : start])
        out[start : start + 500] = -model.score_samples(features[start : start + 500])
    return out


def nab_comparison() -> dict[str, Any]:
    """Standard-profile NAB scores of ours and the causal IsolationForest, same scorer."""
    from opsloop.evals.nab import DEFAULT_DATA, detect, evaluate, load_corpus
    from opsloop.tools.analysis.detectors.streaming import score_series

    files = load_corpus(DEFAULT_DATA)
    result = {}
    for name, detector in (("ours", score_series), ("iforest_causal", iforest_causal)):
        start = time.perf_counter()
        report = evaluate(files, detect(files, detector, processes=2))
        result[name] = {
            "standard": report["profiles"]["standard"]["score"],
            "reward_low_FP_rate": report["profiles"]["reward_low_FP_rate"]["score"],
            "reward_low_FN_rate": report["profiles"]["reward_low_FN_rate"]["score"],
            "seconds_2_processes": round(time.perf_counter() - start, 1),
        }
    return result


def run(n_series: int, baseline_series: int, nab: bool) -> dict[str, Any]:
    """Run the benchmark; return every figure as a dict."""
    values, labels, onset = make_series(n_series)
    tracemalloc.start()
    start = time.perf_counter()
    ours = score_matrix(values, step_seconds=60.0)
    ours_s = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    subset = np.sort(
        np.random.default_rng(0).choice(n_series, min(baseline_series, n_series), False)
    )
    start = time.perf_counter()
    base = iforest_scores(values[subset])
    base_measured = time.perf_counter() - start
    base_s = base_measured * n_series / len(subset)
    report: dict[str, Any] = {
        "series": n_series,
        "points": int(values.size),
        "ours_seconds": round(ours_s, 2),
        "ours_points_per_second": round(values.size / ours_s),
        "ours_peak_traced_mb": round(peak / 2**20, 1),
        "process_max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "baseline": "IsolationForest per series, [value, diff], fit on the whole day (hindsight)",
        "baseline_series_run": len(subset),
        "baseline_seconds_measured": round(base_measured, 2),
        "baseline_seconds": round(base_s, 1),
        "baseline_extrapolated": len(subset) < n_series,
        "speedup": round(base_s / ours_s, 1),
        "quality_ours_all": quality(ours, labels, onset),
        "quality_ours_subset": quality(ours[subset], labels[subset], onset[subset]),
        "quality_baseline_subset": quality(base, labels[subset], onset[subset]),
    }
    if nab:
        report["nab"] = nab_comparison()
    return report


def main() -> int:
    """Parse arguments, run, print."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.detectors",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--series", type=int, default=10_000, help="series of one day each")
    parser.add_argument(
        "--baseline-series", type=int, default=200, help="series the baseline is timed on"
    )
    parser.add_argument("--no-nab", action="store_true", help="skip the NAB comparison")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    report = run(args.series, args.baseline_series, nab=not args.no_nab)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    for key, value in report.items():
        print(f"{key:28} {value}")
    if report["baseline_extrapolated"]:
        print(
            f"(baseline timed on {report['baseline_series_run']} random series and extrapolated "
            f"linearly to {report['series']})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
