"""Write metric history as OpenMetrics text for `promtool tsdb create-blocks-from openmetrics`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TextIO

import numpy as np

from tools.promql import escape_value


@dataclass
class Series:
    """One labelled series: values aligned with the family's timestamps."""

    labels: dict[str, str]
    values: np.ndarray


@dataclass
class Family:
    """A metric family (counter, gauge or histogram sample name) and its series."""

    name: str
    kind: str  # "counter" | "gauge" | "histogram"
    help: str
    series: list[tuple[str, Series]] = field(default_factory=list)  # (sample name, series)

    def add(self, sample_name: str, labels: dict[str, str], values: np.ndarray) -> None:
        """Add one series; `sample_name` carries the suffix (_total, _bucket, _sum, _count)."""
        self.series.append((sample_name, Series(labels, values)))


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{escape_value(v)}"' for k, v in labels.items()) + "}"


def write(out: TextIO, families: Iterable[Family], timestamps: Sequence[float]) -> int:
    """Write families to `out`; return the number of samples written."""
    stamps = [f"{t:.3f}".rstrip("0").rstrip(".") for t in timestamps]
    count = 0
    for fam in families:
        out.write(f"# HELP {fam.name} {fam.help}\n# TYPE {fam.name} {fam.kind}\n")
        for sample_name, s in fam.series:
            prefix = sample_name + _labels(s.labels) + " "
            lines = [f"{prefix}{_fmt(v)} {ts}\n" for v, ts in zip(s.values, stamps, strict=True)]
            out.writelines(lines)
            count += len(lines)
    out.write("# EOF\n")
    return count


def _fmt(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))
