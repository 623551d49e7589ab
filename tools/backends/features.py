"""Logged model inputs: a reference sample (training data) and live inference rows with times."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

TIME_COLUMN = "ts"


class FeatureLog:
    """Read `<dir>/<model>.reference.csv` and the live `<dir>/<model>.csv` (with a `ts` column)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def models(self) -> list[str]:
        """Return the models that have a reference sample."""
        return sorted(
            p.name.removesuffix(".reference.csv") for p in self.directory.glob("*.reference.csv")
        )

    def reference(self, model: str) -> pd.DataFrame | None:
        """Return the reference sample of `model`, or None."""
        path = self.directory / f"{model}.reference.csv"
        return pd.read_csv(path) if path.is_file() else None

    def current(self, model: str, start: float, end: float) -> pd.DataFrame | None:
        """Return inference rows logged in [start, end], or None when nothing is logged."""
        path = self.directory / f"{model}.csv"
        if not path.is_file():
            return None
        try:
            frame = pd.read_csv(path, on_bad_lines="skip")
        except pd.errors.EmptyDataError:
            return None
        rows = frame[(frame[TIME_COLUMN] >= start) & (frame[TIME_COLUMN] <= end)]
        return rows if len(rows) else None
