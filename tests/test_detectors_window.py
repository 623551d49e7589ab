"""Window ranking, IsolationForest over signals, drift and time-to-limit on synthetic data."""

import numpy as np
import pandas as pd
import pytest

from opsloop.tools.analysis.detectors.drift import histogram_drift, sample_drift
from opsloop.tools.analysis.detectors.forecast import time_to_limit
from opsloop.tools.analysis.detectors.multivariate import isolation
from opsloop.tools.analysis.detectors.window import WindowScore, callees_first, rank, score_window

T0 = 1_800_000_000.0
rng = np.random.default_rng(1)


def series(level=1.0, jump=0.0, at=None, n=240, step=15.0, noise=0.02):
    ts = T0 - step * np.arange(n - 1, -1, -1)
    values = level * (1 + noise * rng.standard_normal(n))
    if at is not None:
        values[ts >= at] += jump
    return ts, values


def test_the_series_that_moved_ranks_first_with_onset_and_direction():
    calm = series()
    jumped = series(jump=0.5, at=T0 - 600)
    dropped = series(jump=-0.3, at=T0 - 300)
    ranked = rank(
        [({"s": "calm"}, *calm), ({"s": "up"}, *jumped), ({"s": "down"}, *dropped)], T0, 1800
    )
    assert [r.labels["s"] for r in ranked] == ["up", "down", "calm"]
    up, down, calm_score = ranked
    assert up.direction == "up" and abs(up.onset - (T0 - 600)) <= 30
    assert down.direction == "down" and abs(down.onset - (T0 - 300)) <= 30
    assert calm_score.direction == "flat" and calm_score.onset is None
    assert up.change == pytest.approx(0.5, abs=0.05)


def test_flat_zero_baseline_is_not_an_alarm_for_noise_but_is_for_a_real_jump():
    ts, _ = series()
    zeros = np.zeros_like(ts)
    assert score_window({}, ts, zeros, T0, 1800).direction == "flat"
    spiked = zeros.copy()
    spiked[ts >= T0 - 300] = 0.3
    assert score_window({}, ts, spiked, T0, 1800).direction == "up"


def test_too_little_data_is_skipped():
    ts, values = series(n=4)
    assert score_window({}, ts, values, T0, 1800) is None


def test_isolation_forest_flags_the_joint_anomaly_and_names_the_signal():
    base = rng.normal([1.0, 0.001, 0.1], [0.02, 0.0002, 0.005], size=(200, 3))
    window = rng.normal([1.0, 0.2, 0.1], [0.02, 0.01, 0.005], size=(40, 3))
    result = isolation(["rps", "errors", "p99"], base, window)
    assert result.outlier_share > 0.9 and result.baseline_share < 0.1
    assert result.deviant[0][0] == "errors"


def test_drift_flags_shifted_features_and_not_stable_ones():
    ref = pd.DataFrame({"a": rng.normal(0, 1, 4000), "b": rng.normal(0, 1, 4000)})
    cur = pd.DataFrame({"a": rng.normal(0, 1, 2000), "b": rng.normal(1.0, 1, 2000)})
    verdicts = {c: sample_drift(c, ref[c], cur[c]).verdict for c in ref}
    assert verdicts == {"a": "stable", "b": "drifted"}
    same = histogram_drift("score", np.array([50, 30, 20]), np.array([500, 300, 200]))
    moved = histogram_drift("score", np.array([50, 30, 20]), np.array([10, 30, 60]))
    assert same.verdict == "stable" and same.psi < 1e-6
    assert moved.verdict == "drifted" and moved.ks > 0.3


def test_time_to_limit_from_a_leak_after_the_last_restart():
    ts = T0 - 15.0 * np.arange(239, -1, -1)
    memory = 900 + 0.5 * (ts - ts[0]) / 60  # +0.5 MB per minute
    memory[:100] = memory[:100] + 1000  # an earlier cycle that ended in a restart
    memory[100:] = 900 + 0.5 * (ts[100:] - ts[100]) / 60
    fc = time_to_limit(ts, memory, limit=1000.0)
    expected = (1000 - memory[-1]) / (0.5 / 60)
    assert fc.points == 140 and fc.eta_s == pytest.approx(expected, rel=0.02)
    assert fc.low_s <= fc.eta_s <= fc.high_s


def test_flat_or_falling_series_never_reach_the_limit():
    ts = T0 - 15.0 * np.arange(100)[::-1]
    fc = time_to_limit(ts, 500 - 0.01 * np.arange(100), limit=1000)
    assert fc.eta_s is None
    assert time_to_limit(ts[:3], np.ones(3), 10) is None


def test_a_daily_ramp_is_not_an_anomaly_when_yesterday_ramped_too():
    ts = T0 - 15.0 * np.arange(480)[::-1]
    # A morning ramp: flat, then +50 % over the last half hour, exactly as yesterday.
    ramp = np.where(ts < T0 - 1800, 1.0, 1.0 + 0.5 * (ts - (T0 - 1800)) / 1800)
    noisy = ramp * (1 + 0.01 * rng.standard_normal(len(ts)))
    raw = score_window({}, ts, noisy, T0, 1800)
    seasonal = score_window({}, ts, noisy, T0, 1800, reference=ramp.copy())
    assert raw.direction == "up" and not raw.seasonal
    assert seasonal.direction == "flat" and seasonal.seasonal


def test_a_pod_that_just_restarted_is_reported_not_projected():
    ts = T0 - 15.0 * np.arange(60)[::-1]
    memory = 900 + 10 * np.arange(60, dtype=float)
    memory[-2:] = 900  # OOM-killed two points ago
    fc = time_to_limit(ts, memory, limit=1500.0)
    assert fc.eta_s is None and fc.reset_at == ts[-2] and fc.peak == memory[-3]


def _moved(service: str, z: float, direction: str = "up") -> tuple:
    score = WindowScore({"service": service}, z / 100, z, direction, 0.0, 0.0, 1.0, None)
    return (score, "error ratio", "", "q1")


def test_a_callee_ranks_before_the_callers_it_drags_along():
    topology = {"gateway": ["checkout"], "checkout": ["fraud-api"], "recommender": []}
    items = [_moved("gateway", 30), _moved("recommender", 20), _moved("checkout", 10)]
    order = [i[0].labels["service"] for i in callees_first(items, topology)]
    assert order == ["checkout", "gateway", "recommender"]
    # transitively, and only for the same query moving the same way
    deep = [_moved("gateway", 30), _moved("fraud-api", 5)]
    assert [i[0].labels["service"] for i in callees_first(deep, topology)] == [
        "fraud-api",
        "gateway",
    ]
    other = [_moved("gateway", 30), (_moved("checkout", 10)[0], "latency", "", "q2")]
    assert [i[3] for i in callees_first(other, topology)] == ["q1", "q2"]
    opposite = [_moved("gateway", 30), _moved("checkout", 10, "down")]
    assert [i[0].direction for i in callees_first(opposite, topology)] == ["up", "down"]
