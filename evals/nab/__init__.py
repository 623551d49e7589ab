"""NAB eval: run a causal detector over the NAB corpus and score it the way NAB does."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from opsloop.evals.nab.scorer import (
    PROFILES,
    FileRows,
    Outcome,
    best_threshold,
    file_rows,
    normalised,
)
from opsloop.evals.nab.scorer import score_file as score_one
from opsloop.tools.analysis.detectors.streaming import read_nab_csv, score_series

# The benchmark data sits in shared/ beside the checkout (as in CI); OPSLOOP_NAB_DATA overrides.
DEFAULT_DATA = Path(
    os.environ.get("OPSLOOP_NAB_DATA")
    or Path(__file__).resolve().parents[2].parent / "shared" / "data" / "nab"
)

Detector = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class NabFile:
    """One corpus file: `category/name.csv`, its rows and its windows as inclusive row ranges."""

    name: str
    timestamps: np.ndarray
    values: np.ndarray
    windows: list[tuple[int, int]]

    @property
    def category(self) -> str:
        """Return the NAB category, the file's folder."""
        return self.name.split("/", 1)[0]


def load_corpus(data_dir: Path = DEFAULT_DATA) -> list[NabFile]:
    """Read every data file and its windows (`labels/combined_windows.json`)."""
    labels = json.loads((data_dir / "labels" / "combined_windows.json").read_text())
    files = []
    for path in sorted((data_dir / "data").glob("*/*.csv")):
        name = path.relative_to(data_dir / "data").as_posix()
        timestamps, values = read_nab_csv(path)
        windows = []
        for start, end in labels.get(name, []):
            t0, t1 = (np.datetime64(t.replace(" ", "T"), "s").astype(float) for t in (start, end))
            first = int(np.searchsorted(timestamps, t0, side="left"))
            last = int(np.searchsorted(timestamps, t1, side="right")) - 1
            if first <= last:
                windows.append((first, last))
        files.append(NabFile(name, timestamps, values, windows))
    return files


def _detect_one(args: tuple[Detector, NabFile]) -> np.ndarray:
    detector, nab_file = args
    return np.asarray(detector(nab_file.timestamps, nab_file.values), dtype=float)


def detect(
    files: list[NabFile], detector: Detector = score_series, processes: int = 2
) -> list[np.ndarray]:
    """Score every file with `detector` (a picklable function), in `processes` workers."""
    jobs = [(detector, f) for f in files]
    if processes <= 1:
        return [_detect_one(job) for job in jobs]
    # Longest files first so the two workers finish together.
    order = sorted(range(len(files)), key=lambda i: -len(files[i].values))
    with get_context("fork").Pool(processes) as pool:
        done = pool.map(_detect_one, [jobs[i] for i in order], chunksize=1)
    scores: list[np.ndarray] = [np.empty(0)] * len(files)
    for i, s in zip(order, done, strict=True):
        scores[i] = s
    return scores


def outcome_dict(outcome: Outcome, profile_name: str) -> dict[str, Any]:
    """Return an outcome's normalised score, raw score and counts under a profile."""
    score = normalised(outcome.raw, outcome.windows, PROFILES[profile_name])
    return {
        "score": None if np.isnan(score) else round(score, 2),
        "raw": round(outcome.raw, 4),
        "windows": outcome.windows,
        "detected": outcome.detected,
        "false_positives": outcome.false_positives,
    }


def evaluate(files: list[NabFile], scores: list[np.ndarray]) -> dict[str, Any]:
    """Pick one threshold per profile over the corpus; score the corpus and each category."""
    rows: list[FileRows] = [file_rows(len(f.values), f.windows) for f in files]
    report: dict[str, Any] = {
        "files": len(files),
        "windows": sum(r.n_windows for r in rows),
        "profiles": {},
        "categories": {},
    }
    for name, profile in PROFILES.items():
        threshold, _ = best_threshold(rows, scores, profile)
        per_file = [score_one(r, s, threshold, profile) for r, s in zip(rows, scores, strict=True)]
        total = sum(per_file, Outcome(0.0, 0, 0, 0))
        report["profiles"][name] = {"threshold": threshold, **outcome_dict(total, name)}
        by_category: dict[str, Outcome] = {}
        for f, outcome in zip(files, per_file, strict=True):
            by_category[f.category] = by_category.get(f.category, Outcome(0.0, 0, 0, 0)) + outcome
        for category, outcome in sorted(by_category.items()):
            report["categories"].setdefault(category, {})[name] = outcome_dict(outcome, name)
    return report


def run(
    data_dir: Path = DEFAULT_DATA, detector: Detector = score_series, processes: int = 2
) -> dict[str, Any]:
    """Detect on every file, then evaluate; the report includes the detection time."""
    files = load_corpus(data_dir)
    start = time.perf_counter()
    scores = detect(files, detector, processes)
    report = {"data": str(data_dir), "detect_seconds": round(time.perf_counter() - start, 1)}
    return {**report, **evaluate(files, scores)}
