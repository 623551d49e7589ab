"""Log parsing eval: grouping accuracy of the template miner on LogHub 2k samples.

Layout (as in LogHub): `DIR/<Name>/<Name>_2k.log` (raw lines, headers included) and
`DIR/<Name>/<Name>_2k.log_structured.csv` (ground truth in its `EventId` column).
LogHub is not shipped here (no package on PyPI carries its samples, and its licence is not
stated): point `--loghub` at a checkout of it.
"""

from __future__ import annotations

import csv
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from opsloop.tools.analysis.logtemplates import mine

# Drain's published grouping accuracy on the LogHub 2k samples (Zhu et al., "Tools and
# Benchmarks for Automated Log Parsing", ICSE-SEIP 2019, table of Drain's results): the bar
# each dataset present must meet.
DRAIN_BAR: dict[str, float] = {
    "HDFS": 0.998,
    "BGL": 0.963,
    "Apache": 1.0,
    "Hadoop": 0.948,
    "Spark": 0.920,
    "Zookeeper": 0.967,
    "HPC": 0.887,
    "Thunderbird": 0.955,
    "Windows": 0.997,
    "Linux": 0.690,
    "Mac": 0.787,
    "Android": 0.911,
    "HealthApp": 0.780,
    "OpenSSH": 0.788,
    "OpenStack": 0.733,
    "Proxifier": 0.527,
}
# The datasets a run reports as missing when they are not there; the others only count
# when present.
BENCHMARK = ("HDFS", "BGL", "Apache", "Hadoop")


@dataclass
class DatasetResult:
    """One dataset's score beside its bar."""

    name: str
    lines: int
    grouping_accuracy: float
    bar: float | None
    templates: int
    truth_templates: int
    lines_per_second: float

    @property
    def passed(self) -> bool:
        """Tell whether the score meets the bar (a dataset without a bar always passes)."""
        return self.bar is None or self.grouping_accuracy >= self.bar


def grouping_accuracy(predicted: Sequence[str], truth: Sequence[str]) -> float:
    """Return LogPAI's grouping accuracy: the share of lines whose group is exactly right.

    A line counts when its predicted group holds exactly the lines of its true group.
    Lines without a truth label (empty) are left out, as LogPAI drops them.
    """
    if len(predicted) != len(truth):
        raise ValueError(f"{len(predicted)} predictions for {len(truth)} labels")
    pairs = [(p, t) for p, t in zip(predicted, truth, strict=True) if t]
    if not pairs:
        return 0.0
    truth_sizes = Counter(t for _, t in pairs)
    members: dict[str, Counter[str]] = defaultdict(Counter)
    for p, t in pairs:
        members[p][t] += 1
    correct = 0
    for labels in members.values():
        if len(labels) == 1:
            ((label, size),) = labels.items()
            if size == truth_sizes[label]:
                correct += size
    return correct / len(pairs)


def datasets(root: Path) -> list[str]:
    """List the datasets under `root`: the benchmark four first, then any other present."""
    present = (
        sorted(p.name for p in root.iterdir() if p.is_dir() and (p / f"{p.name}_2k.log").is_file())
        if root.is_dir()
        else []
    )
    return list(BENCHMARK) + [name for name in present if name not in BENCHMARK]


def load(root: Path, name: str) -> tuple[list[str], list[str]] | None:
    """Return a dataset's raw lines and true event ids, or None when it is not there."""
    log = root / name / f"{name}_2k.log"
    structured = root / name / f"{name}_2k.log_structured.csv"
    if not (log.is_file() and structured.is_file()):
        return None
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    with structured.open(encoding="utf-8", errors="replace", newline="") as handle:
        rows = list(csv.DictReader(handle))
    if "LineId" in (rows[0] if rows else {}):
        rows.sort(key=lambda row: int(row["LineId"]))
    truth = [row.get("EventId") or "" for row in rows]
    if len(lines) != len(truth):
        raise ValueError(f"{name}: {len(lines)} log lines but {len(truth)} labelled rows")
    return lines, truth


def evaluate(root: Path, name: str) -> DatasetResult | None:
    """Mine one dataset and score it; None when its files are missing."""
    loaded = load(root, name)
    if loaded is None:
        return None
    lines, truth = loaded
    started = time.perf_counter()
    ids, templates = mine(lines)
    elapsed = max(time.perf_counter() - started, 1e-9)
    return DatasetResult(
        name=name,
        lines=len(lines),
        grouping_accuracy=grouping_accuracy(ids, truth),
        bar=DRAIN_BAR.get(name),
        templates=len(templates),
        truth_templates=len({t for t in truth if t}),
        lines_per_second=len(lines) / elapsed,
    )


def run(root: Path) -> dict[str, Any]:
    """Score every dataset under `root`; list the benchmark datasets that are missing."""
    results: list[DatasetResult] = []
    missing: list[str] = []
    for name in datasets(root):
        result = evaluate(root, name)
        if result is None:
            missing.append(name)
        else:
            results.append(result)
    return {
        "results": [asdict(r) | {"passed": r.passed} for r in results],
        "missing": missing,
        "passed": bool(results) and all(r.passed for r in results),
    }
