"""NAB scorer: sigmoid, probation, first detection only, FP weighting, sweep, normalisation."""

from __future__ import annotations

import numpy as np
import pytest

from opsloop.evals.nab import DEFAULT_DATA, NabFile, evaluate, load_corpus
from opsloop.evals.nab.scorer import (
    PROFILES,
    file_rows,
    normalised,
    probation_length,
    scaled_sigmoid,
    score_file,
    sweep,
)

NAB = DEFAULT_DATA
STANDARD = PROFILES["standard"]
WINDOW = (60, 69)  # 10 rows; probation of a 100-row file is 15 rows


def one(*fired: int, n: int = 100) -> np.ndarray:
    scores = np.zeros(n)
    scores[list(fired)] = 1.0
    return scores


def raw(scores: np.ndarray, windows: list[tuple[int, int]] | None = None) -> float:
    rows = file_rows(len(scores), [WINDOW] if windows is None else windows)
    return score_file(rows, scores, 0.5, STANDARD).raw


def test_scaled_sigmoid_matches_nab() -> None:
    assert float(scaled_sigmoid(-1.0)) == pytest.approx(0.98661, abs=1e-5)
    assert float(scaled_sigmoid(-0.5)) == pytest.approx(0.84828, abs=1e-5)
    assert float(scaled_sigmoid(0.0)) == 0.0
    assert float(scaled_sigmoid(1.0)) == pytest.approx(-0.98661, abs=1e-5)
    assert float(scaled_sigmoid(3.0)) == -1.0


def test_probation_length() -> None:
    assert probation_length(100) == 15
    assert probation_length(4032) == 604
    assert probation_length(15902) == 750


def test_window_start_earns_tp_weight_and_end_earns_little() -> None:
    assert raw(one(60)) == pytest.approx(1.0)
    assert raw(one(69)) == pytest.approx(float(scaled_sigmoid(-0.1) / scaled_sigmoid(-1.0)))
    assert raw(one(64)) > raw(one(66)) > raw(one(69)) > 0


def test_only_the_first_detection_in_a_window_counts() -> None:
    assert raw(one(62, 63, 67)) == pytest.approx(raw(one(62)))


def test_missed_window_costs_fn_weight() -> None:
    assert raw(one()) == -1.0


def test_probation_rows_are_ignored() -> None:
    assert raw(one(3, 14)) == -1.0
    assert raw(one(15)) == pytest.approx(-1.0 - 0.11)


def test_false_positive_weighting() -> None:
    before = raw(one(30)) - raw(one())
    assert before == pytest.approx(-0.11)  # no preceding window: fpWeight in full
    just_after = raw(one(70)) - raw(one())
    assert just_after == pytest.approx(0.11 * float(scaled_sigmoid(1 / 9)))
    far_after = raw(one(99)) - raw(one())  # 30 rows past a 10-row window: beyond 3 widths
    assert far_after == pytest.approx(-0.11)
    assert 0 > just_after > raw(one(75)) - raw(one()) > far_after


def test_sweep_matches_direct_scoring_at_every_threshold() -> None:
    rng = np.random.default_rng(0)
    sizes = (100, 250, 80)
    windows = [[(60, 69)], [(100, 130), (200, 220)], []]
    rows = [file_rows(n, w) for n, w in zip(sizes, windows, strict=True)]
    scores = [np.round(rng.random(n), 2) for n in sizes]
    for profile in PROFILES.values():
        thresholds, totals = sweep(rows, scores, profile)
        assert totals[0] == -profile.fn * 3
        for th, total in zip(thresholds[1:], totals[1:], strict=True):
            direct = sum(
                score_file(r, s, th, profile).raw for r, s in zip(rows, scores, strict=True)
            )
            assert total == pytest.approx(direct)


def _synthetic_corpus() -> list[NabFile]:
    files = []
    for i in range(4):
        n = 1000 + 100 * i
        windows = [(400 + 50 * i, 449 + 50 * i)] if i else []
        files.append(NabFile(f"cat{i % 2}/f{i}.csv", np.arange(n) * 300.0, np.zeros(n), windows))
    return files


def _perfect(files: list[NabFile]) -> list[np.ndarray]:
    scores = [np.zeros(len(f.values)) for f in files]
    for s, f in zip(scores, files, strict=True):
        for start, _ in f.windows:
            s[start] = 1.0
    return scores


def test_null_scores_zero_and_perfect_scores_hundred() -> None:
    files = _synthetic_corpus()
    null = evaluate(files, [np.zeros(len(f.values)) for f in files])
    perfect = evaluate(files, _perfect(files))
    for name in PROFILES:
        assert null["profiles"][name]["score"] == 0.0
        assert perfect["profiles"][name]["score"] == 100.0
    assert normalised(3.0, 3, STANDARD) == 100.0


@pytest.mark.skipif(not NAB.exists(), reason="NAB data not present")
def test_real_corpus_null_perfect_random() -> None:
    files = load_corpus(NAB)
    assert len(files) == 51 and sum(len(f.windows) for f in files) == 97
    assert evaluate(files, [np.zeros(len(f.values)) for f in files])["profiles"]["standard"][
        "score"
    ] == pytest.approx(0.0)
    assert evaluate(files, _perfect(files))["profiles"]["standard"]["score"] == pytest.approx(100)
    rng = np.random.default_rng(0)
    randoms = evaluate(files, [rng.random(len(f.values)) for f in files])
    assert 0 <= randoms["profiles"]["standard"]["score"] < 25


def test_leave_one_out_scores_each_category_with_settings_chosen_without_it() -> None:
    from opsloop.evals.nab.loo import choose, leave_one_out

    rng = np.random.default_rng(7)
    files, sharp, blurred = [], [], []
    for k, category in enumerate(["a", "b", "c"] * 2):
        windows = [(60 + k, 69 + k)]
        files.append(NabFile(f"{category}/f{k}.csv", np.arange(100.0), np.zeros(100), windows))
        noise = rng.uniform(0, 0.6, 100)
        sharp.append(np.where(np.arange(100) == 60 + k, 0.9, noise))
        blurred.append(rng.uniform(0, 1, 100))
    report = leave_one_out(files, {"sharp": sharp, "blurred": blurred})
    rows = [file_rows(100, f.windows) for f in files]
    for category, cell in report["profiles"]["standard"]["categories"].items():
        rest = [i for i, f in enumerate(files) if f.category != category]
        settings, threshold = choose(rows, {"sharp": sharp, "blurred": blurred}, rest, STANDARD)
        assert cell["left_out"]["settings"] == settings == "sharp"
        assert cell["left_out"]["threshold"] == threshold
        assert cell["left_out"]["detected"] == 2 and cell["left_out"]["score"] > 90
    assert report["profiles"]["standard"]["left_out_min"] > 90
