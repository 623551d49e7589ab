"""`python -m opsloop.evals.nab [--json] [--data DIR] [--processes N]`: detector NAB scores."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from opsloop.evals.nab import DEFAULT_DATA, run
from opsloop.evals.nab.scorer import PROFILES


def _cell(value: float | None) -> str:
    return "   n/a" if value is None else f"{value:6.2f}"


def _category_cell(c: dict[str, Any]) -> str:
    # A category without windows has no null/perfect span: show its raw (FP) score instead.
    head = f"raw {c['raw']:5.2f}" if c["score"] is None else _cell(c["score"])
    return f"{head} {c['detected']:>3}/{c['windows']:<3} fp {c['false_positives']:<3}"


def render(report: dict[str, Any]) -> str:
    """Render the report as a table: profiles, then the standard-threshold view per category."""
    lines = [
        f"NAB ({report['files']} files, {report['windows']} windows, {report['data']}); "
        f"detection {report['detect_seconds']} s",
        f"{'profile':<20} {'score':>6} {'threshold':>10} {'detected':>9} {'FP rows':>8}",
    ]
    for name, p in report["profiles"].items():
        lines.append(
            f"{name:<20} {_cell(p['score'])} {p['threshold']:>10.4f} "
            f"{p['detected']:>4}/{p['windows']:<4} {p['false_positives']:>8}"
        )
    lines.append("")
    # Per category: that category's score against its own null and perfect, same thresholds.
    lines.append(f"{'category':<24}" + "".join(f"{n:>26}" for n in PROFILES))
    for category, by_profile in report["categories"].items():
        cells = [_category_cell(by_profile[name]) for name in PROFILES]
        lines.append(f"{category:<24}" + "".join(f"{cell:>26}" for cell in cells))
    return "\n".join(lines)


def main() -> int:
    """Score the corpus and print the table (or JSON)."""
    parser = argparse.ArgumentParser(prog="python -m opsloop.evals.nab", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="NAB data folder")
    parser.add_argument("--processes", type=int, default=2, help="detection worker processes")
    args = parser.parse_args()
    report = run(args.data, processes=args.processes)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
