"""`python -m opsloop.evals.logparse --loghub DIR | --formats [DIR] [--json]`: grouping
accuracy on LogHub samples (against Drain's published bar) or per line format."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from opsloop.evals.logparse import formats, run


def main(argv: list[str] | None = None) -> int:
    """Run the eval; exit 0 when every dataset present meets its bar."""
    parser = argparse.ArgumentParser(prog="python -m opsloop.evals.logparse", description=__doc__)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--loghub", type=Path, help="LogHub directory")
    which.add_argument(
        "--formats",
        type=Path,
        nargs="?",
        const=formats.CORPUS,
        help=f"per-format corpus of labelled lines (default {formats.CORPUS})",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    report = run(args.loghub) if args.loghub else formats.run(args.formats)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"{'dataset':<18} {'lines':>6} {'GA':>7} {'bar':>7} {'tmpl':>5} {'truth':>5}  lines/s"
        )
        for r in report["results"]:
            bar = f"{r['bar']:.3f}" if r["bar"] is not None else "-"
            mark = "ok" if r["passed"] else "BELOW"
            print(
                f"{r['name']:<18} {r['lines']:>6} {r['grouping_accuracy']:>7.3f} {bar:>7} "
                f"{r['templates']:>5} {r['truth_templates']:>5}  {r['lines_per_second']:>7.0f}"
                f"  {mark}"
            )
        for name in report["missing"]:
            print(
                f"{name:<10} skipped: no {name}/{name}_2k.log and _structured.csv in {args.loghub}"
            )
        if "overall" in report:
            print(f"{'overall':<18} {sum(r['lines'] for r in report['results']):>6} "
                  f"{report['overall']:>7.3f}")  # fmt: skip
    if not report["results"]:
        print("no dataset found", file=sys.stderr)
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
