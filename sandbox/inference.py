"""The serving side's feature log: a training reference per model and live inference rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from opsloop.sandbox.quality import RegistryQuality
from opsloop.tools.backends.features import TIME_COLUMN

REFERENCE_ROWS = 4000
ROWS_PER_TICK = 20


class InferenceLog:
    """Append what the served model saw, as a real inference logger would."""

    def __init__(self, directory: Path, quality: RegistryQuality, seed: int) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.quality = quality
        self.rng = np.random.default_rng([seed, 7])

    def write_reference(self, model: str, seed: int) -> Path:
        """Save a training-distribution sample for `model` (what drift is measured against)."""
        from opsloop.sandbox.ml.data import batch

        frame, _ = batch(model, REFERENCE_ROWS, np.random.default_rng([seed, 1]))
        path = self.directory / f"{model}.reference.csv"
        frame.to_csv(path, index=False)
        return path

    def append(
        self, t: float, model: str, version: str, drift: float, scale: dict[str, float]
    ) -> None:
        """Log one tick of scored requests with the current data shift."""
        from opsloop.sandbox.ml.data import Shift, batch

        frame, _ = batch(model, ROWS_PER_TICK, self.rng, Shift(drift=drift, scale=scale))
        scores = self.quality.load(model, version).predict_proba(frame)[:, 1]
        frame.insert(0, TIME_COLUMN, np.round(t - np.sort(self.rng.random(len(frame))), 3))
        frame["score"] = np.round(scores, 5)
        frame["version"] = version
        path = self.directory / f"{model}.csv"
        frame.to_csv(path, mode="a", header=not path.exists(), index=False)
