"""`python -m opsloop.evals.nab [--loo] [--json] [--data DIR] [--processes N]`: NAB scores.

--loo scores every category with the threshold chosen on the other categories alone (leave
one category out), beside the in-sample score, for each profile.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from opsloop.evals.nab import DEFAULT_DATA, detect, load_corpus, run
from opsloop.evals.nab.loo import leave_one_out
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


def _loo_cell(c: dict[str, Any]) -> str:
    # A category without windows has no score: show its false-positive rows instead.
    return _cell(c["score"]) if c["score"] is not None else f"{c['false_positives']:>3} fp"


def render_loo(report: dict[str, Any]) -> str:
    """Render in-sample and left-out scores per category, one column pair per profile."""
    head = f"{'category':<24}" + "".join(f"{n[:18]:>22}" for n in PROFILES)
    lines = [
        f"NAB leave-one-category-out ({report['files']} files, {report['data']}); "
        f"detection {report['detect_seconds']} s",
        head,
        f"{'':<24}" + f"{'in-sample  left-out':>22}" * len(PROFILES),
    ]
    profiles = report["profiles"]
    for category in profiles["standard"]["categories"]:
        cells = []
        for name in PROFILES:
            c = profiles[name]["categories"][category]
            cells.append(f"{_loo_cell(c['in_sample'])}    {_loo_cell(c['left_out'])}")
        lines.append(f"{category:<24}" + "".join(f"{cell:>22}" for cell in cells))
    for label in ("mean", "min"):
        cells = []
        for name in PROFILES:
            inside, out = (profiles[name][f"{k}_{label}"] for k in ("in_sample", "left_out"))
            cells.append(f"{_cell(inside)}    {_cell(out)}")
        lines.append(f"{label:<24}" + "".join(f"{cell:>22}" for cell in cells))
    return "\n".join(lines)


def run_loo(data: Path, processes: int) -> dict[str, Any]:
    """Detect once with the shipped settings, then score leave-one-category-out."""
    import time

    files = load_corpus(data)
    start = time.perf_counter()
    scores = detect(files, processes=processes)
    seconds = round(time.perf_counter() - start, 1)
    report = leave_one_out(files, {"shipped": scores})
    return {"data": str(data), "files": len(files), "detect_seconds": seconds, **report}


def main() -> int:
    """Score the corpus and print the table (or JSON)."""
    parser = argparse.ArgumentParser(prog="python -m opsloop.evals.nab", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--loo", action="store_true", help="score each category with a threshold chosen without it"
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="NAB data folder")
    parser.add_argument("--processes", type=int, default=2, help="detection worker processes")
    args = parser.parse_args()
    if args.loo:
        report = run_loo(args.data, args.processes)
        print(json.dumps(report, indent=2) if args.json else render_loo(report))
        return 0
    report = run(args.data, processes=args.processes)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
