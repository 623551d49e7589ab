"""Series on a time grid, written as OpenMetrics for `promtool tsdb create-blocks-from`."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

import numpy as np

KINDS = {"counter", "gauge", "histogram"}


@dataclass
class Series:
    """One series: sample name, labels in order, a value per grid point (NaN = no sample)."""

    name: str
    labels: tuple[tuple[str, str], ...]
    values: np.ndarray


class Store:
    """Metric families (kind, help) and their series, in the order they were added."""

    def __init__(self, stamps: np.ndarray) -> None:
        self.stamps = np.asarray(stamps, dtype=np.int64)
        self.families: dict[str, tuple[str, str, list[Series]]] = {}

    def family(self, name: str, kind: str, help_text: str) -> None:
        """Declare a family (a counter's family name has no `_total`)."""
        if kind not in KINDS:
            raise ValueError(f"unknown metric kind {kind}")
        self.families.setdefault(name, (kind, help_text, []))

    def add(self, family: str, name: str, labels: dict[str, str], values: np.ndarray) -> None:
        """Add a series to a declared family."""
        values = np.asarray(values, dtype=float)
        if values.shape != self.stamps.shape:
            raise ValueError(f"{name}: {values.shape} values for {self.stamps.shape} stamps")
        self.families[family][2].append(Series(name, tuple(labels.items()), values))

    def series(self) -> Iterator[Series]:
        """Yield every series."""
        for _, _, rows in self.families.values():
            yield from rows

    @property
    def samples(self) -> int:
        """Return how many samples will be written."""
        return int(sum(np.count_nonzero(~np.isnan(s.values)) for s in self.series()))

    def write(self, out: TextIO) -> int:
        """Write OpenMetrics text (families contiguous, `# EOF` last); return samples written."""
        stamps = self.stamps.astype(str)
        count = 0
        for family, (kind, help_text, rows) in self.families.items():
            if not rows:
                continue
            out.write(f"# HELP {family} {help_text}\n# TYPE {family} {kind}\n")
            for row in rows:
                prefix = f"{row.name}{render_labels(row.labels)} "
                keep = ~np.isnan(row.values)
                values = _numbers(row.values[keep])
                out.write(
                    "".join(f"{prefix}{v} {s}\n" for v, s in zip(values, stamps[keep], strict=True))
                )
                count += len(values)
        out.write("# EOF\n")
        return count

    def digest(self) -> str:
        """Return a hash of every series and value (what a seed must reproduce)."""
        h = hashlib.sha256(self.stamps.tobytes())
        for s in self.series():
            h.update(repr((s.name, s.labels)).encode())
            h.update(np.nan_to_num(s.values, nan=-1.0).tobytes())
        return h.hexdigest()


def render_labels(pairs: tuple[tuple[str, str], ...]) -> str:
    """Render `{a="b",…}` with escaped values."""
    if not pairs:
        return ""
    body = ",".join(
        f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for k, v in pairs
    )
    return "{" + body + "}"


def _numbers(values: np.ndarray) -> list[str]:
    """Render values compactly: integers without a point, others with 10 significant digits."""
    if values.size == 0:
        return []
    whole = np.all(values == np.round(values)) and np.all(np.abs(values) < 1e15)
    if whole:
        return values.astype(np.int64).astype(str).tolist()
    return [f"{v:.10g}" for v in values]
