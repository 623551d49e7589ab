"""Record engine samples over time and write them as OpenMetrics for promtool backfilling."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

import numpy as np

from opsloop.sandbox.exposition import labels, number
from opsloop.sandbox.series import Sample

_Key = tuple[str, str, tuple[tuple[str, str], ...]]  # (family, sample name, labels)


class Recorder:
    """A values matrix (series × steps); series may appear part-way through."""

    def __init__(self, steps: int) -> None:
        self.steps = steps
        self.timestamps = np.zeros(steps)
        self.values = np.full((512, steps), np.nan)
        self.rows: dict[_Key, int] = {}
        self.meta: dict[str, tuple[str, str]] = {}  # family -> (type, help)
        self._step = 0

    def add(self, t: float, samples: Iterable[Sample]) -> None:
        """Record every sample at time `t` (Unix seconds)."""
        col = self._step
        self.timestamps[col] = t
        for family, kind, help_text, name, pairs, value in samples:
            key = (family, name, pairs)
            row = self.rows.get(key)
            if row is None:
                row = self.rows[key] = len(self.rows)
                self.meta.setdefault(family, (kind, help_text))
                if row >= len(self.values):
                    grow = np.full((len(self.values), self.steps), np.nan)
                    self.values = np.vstack([self.values, grow])
            self.values[row, col] = value
        self._step += 1

    @property
    def series(self) -> int:
        """Return how many series were recorded."""
        return len(self.rows)

    def write(self, out: TextIO) -> int:
        """Write OpenMetrics text (families contiguous, `# EOF` last); return samples written."""
        stamps = [f"{t:.3f}".rstrip("0").rstrip(".") for t in self.timestamps[: self._step]]
        by_family: dict[str, list[tuple[_Key, int]]] = {}
        for key, row in self.rows.items():
            by_family.setdefault(key[0], []).append((key, row))
        count = 0
        for family, rows in by_family.items():
            kind, help_text = self.meta[family]
            out.write(f"# HELP {family} {help_text}\n# TYPE {family} {kind}\n")
            for (_, name, pairs), row in rows:
                prefix = f"{name}{labels(pairs)} "
                values = self.values[row, : self._step]
                lines = [
                    f"{prefix}{number(v)} {ts}\n"
                    for v, ts in zip(values, stamps, strict=True)
                    if not np.isnan(v)
                ]
                out.writelines(lines)
                count += len(lines)
        out.write("# EOF\n")
        return count
