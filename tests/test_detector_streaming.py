"""Streaming detector: causality, API equivalence, and the behaviours it promises."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from opsloop.evals.nab import DEFAULT_DATA
from opsloop.tools.analysis.detectors.streaming import (
    StreamingDetector,
    read_nab_csv,
    score_matrix,
    score_series,
)

NAB = DEFAULT_DATA
STEP = 300.0  # 5-minute rows


def seasonal(days: float = 4, seed: int = 0, noise: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Return timestamps and a daily pattern with Gaussian noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(days * 288)) * STEP
    x = 50 + 20 * np.sin(2 * np.pi * t / 86_400) + noise * rng.standard_normal(len(t))
    return t, x


def test_scores_are_causal_prefix_equal() -> None:
    t, x = seasonal(days=2)
    x[400] += 60
    full = score_series(t, x)
    for k in (50, 131, 400, 401, 575):
        np.testing.assert_array_equal(score_series(t[:k], x[:k]), full[:k])


def test_update_matches_score_series_and_stays_in_unit_interval() -> None:
    t, x = seasonal(days=1.5, seed=1)
    x[300] = np.nan
    detector = StreamingDetector()
    streamed = np.array([detector.update(ti, xi) for ti, xi in zip(t, x, strict=True)])
    np.testing.assert_array_equal(streamed, score_series(t, x))
    assert np.all((streamed >= 0) & (streamed <= 1))


def test_score_matrix_equals_score_series_per_row() -> None:
    rows = []
    for seed in range(4):
        _, x = seasonal(days=1.5, seed=seed)
        rows.append(x)
    rows[1][200:260] = np.nan  # a gap
    rows[2] = np.cumsum(np.random.default_rng(9).poisson(5, len(rows[2]))).astype(float)
    rows[3][250:] += 40  # a level shift
    matrix = np.vstack(rows)
    batch = score_matrix(matrix, step_seconds=STEP)
    t = np.arange(matrix.shape[1]) * STEP
    for i, x in enumerate(matrix):
        np.testing.assert_allclose(batch[i], score_series(t, x), rtol=0, atol=1e-9)


def test_spike_scores_highest() -> None:
    t, x = seasonal(days=3, seed=2)
    x[700] += 40
    s = score_series(t, x)
    assert int(np.argmax(s)) == 700
    assert s[700] > 0.9


def test_level_shift_is_flagged_then_absorbed() -> None:
    t, x = seasonal(days=4, seed=3)
    x[800:] += 60
    s = score_series(t, x)
    assert s[800:806].max() > 0.9
    assert s[900:].max() < 0.5 * s[800:806].max()


def test_missing_daily_peak_is_flagged() -> None:
    t, x = seasonal(days=5, seed=4, noise=0.5)
    peak = slice(3 * 288 + 40, 3 * 288 + 100)  # day 4's crest flattened to its mean
    x[peak] = 50 + 0.5 * np.random.default_rng(5).standard_normal(60)
    s = score_series(t, x)
    assert s[peak].max() > 0.5
    assert s[peak].max() > s[150 : 3 * 288].max()


def test_counter_reset_is_not_an_anomaly_but_a_burst_is() -> None:
    rng = np.random.default_rng(6)
    increments = rng.poisson(50, 3000).astype(float)
    increments[2000:2010] = 500
    counter = np.cumsum(increments)
    counter[1500:] -= counter[1499]  # restart: drops to ~0 and keeps counting
    s = score_series(np.arange(3000) * 60.0, counter)
    assert s[1495:1510].max() < 0.5
    assert s[2000:2005].max() > 0.9


def test_missing_values_and_irregular_timestamps() -> None:
    rng = np.random.default_rng(7)
    t = np.cumsum(rng.choice([0.0, 60.0, 300.0, 3600.0], 2000, p=[0.02, 0.5, 0.45, 0.03]))
    x = 10 + rng.standard_normal(2000)
    x[rng.choice(2000, 100, replace=False)] = np.nan
    s = score_series(t, x)
    assert np.all(np.isfinite(s)) and np.all((s >= 0) & (s <= 1))
    assert np.all(s[np.isnan(x)] == 0)


def test_flat_line_scores_zero() -> None:
    assert score_series(np.arange(500) * STEP, np.full(500, 45.0)).max() == 0


def test_unknown_parameter_is_rejected() -> None:
    with pytest.raises(TypeError):
        StreamingDetector(windw=10)


def test_read_nab_csv(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("timestamp,value\n2014-04-10 00:02:00,1.5\n2014-04-10 00:07:00,\n")
    t, x = read_nab_csv(path)
    assert t.tolist() == [1397088120.0, 1397088420.0]
    assert x[0] == 1.5 and np.isnan(x[1])


@pytest.mark.skipif(not NAB.exists(), reason="NAB data not present")
@pytest.mark.parametrize("name", ["art_daily_jumpsup", "art_daily_nojump", "art_daily_flatmiddle"])
def test_nab_artificial_windows_stand_out(name: str) -> None:
    from opsloop.evals.nab import load_corpus
    from opsloop.evals.nab.scorer import probation_length

    (nab_file,) = [f for f in load_corpus(NAB) if f.name.endswith(f"/{name}.csv")]
    s = score_series(nab_file.timestamps, nab_file.values)
    (start, end), n = nab_file.windows[0], len(s)
    outside = np.r_[s[probation_length(n) : start], s[end + 1 :]]
    assert s[start : end + 1].max() > outside.max()
