"""Grouping accuracy per log line format, on the labelled corpus in `evals/logformats/`.

Each `<format>.jsonl` holds raw lines as a system writes them (header included) with the
event each came from: syslog variants, kernel and journald lines, web servers, language
loggers, JSON and logfmt, Kubernetes and database logs. A helper wrote them without reading
the parser, so a format the header stripper or the masks do not know shows up here.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from opsloop.evals.logparse import grouping_accuracy
from opsloop.tools.analysis.logtemplates import mine

CORPUS = Path(__file__).resolve().parent.parent / "logformats"
BAR = 0.9  # every format: nine lines in ten grouped exactly right


def load(path: Path) -> tuple[list[str], list[str]]:
    """Return a format's raw lines and their event ids."""
    lines, events = [], []
    for row in path.read_text(encoding="utf-8").splitlines():
        if row.strip():
            record = json.loads(row)
            lines.append(str(record["line"]))
            events.append(str(record["event"]))
    return lines, events


def run(root: Path = CORPUS) -> dict[str, Any]:
    """Mine each format on its own and score it; return per-format and overall accuracy."""
    results = []
    for path in sorted(root.glob("*.jsonl")):
        lines, events = load(path)
        started = time.perf_counter()
        ids, templates = mine(lines)
        elapsed = max(time.perf_counter() - started, 1e-9)
        score = grouping_accuracy(ids, events)
        results.append(
            {
                "name": path.stem,
                "lines": len(lines),
                "grouping_accuracy": round(score, 4),
                "bar": BAR,
                "templates": len(templates),
                "truth_templates": len(set(events)),
                "lines_per_second": len(lines) / elapsed,
                "passed": score >= BAR,
            }
        )
    lines_total = sum(r["lines"] for r in results)
    overall = (
        sum(r["grouping_accuracy"] * r["lines"] for r in results) / lines_total
        if lines_total
        else 0.0
    )
    return {
        "results": results,
        "missing": [],
        "overall": round(overall, 4),
        "passed": bool(results) and all(r["passed"] for r in results),
    }
