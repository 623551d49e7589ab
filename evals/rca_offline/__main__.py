"""`python -m opsloop.evals.rca_offline [--cases N] [--seed S] [--json]`: offline RCA ranking."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from opsloop.evals.rca_offline import METHODS, run

_KEYS = (("ac1", "AC@1"), ("ac3", "AC@3"), ("avg5", "Avg@5"))


def render(report: dict[str, Any]) -> str:
    """Render AC@1/AC@3/Avg@5 per fault type and method, then ratios against N-Sigma."""
    width = 20
    lines = [
        f"RCA offline ({report['cases']} cases, seed {report['seed']}, "
        f"{report['seconds']} s); service-level AC@1 / AC@3 / Avg@5",
        f"{'fault':<9}" + "".join(f"{m:>{width}}" for m in METHODS),
    ]
    for group, by_method in report["results"].items():
        cells = [" ".join(f"{by_method[m][k]:.2f}" for k, _ in _KEYS) for m in METHODS]
        lines.append(f"{group:<9}" + "".join(f"{c:>{width}}" for c in cells))
    lines += ["", "ratio vs N-Sigma (AC@1 / AC@3 / Avg@5)"]
    others = [m for m in METHODS if m != "nsigma"]
    lines.append(f"{'fault':<9}" + "".join(f"{m:>{width}}" for m in others))
    for group, by_method in report["ratio_vs_nsigma"].items():
        cells = [
            " ".join(
                "  n/a" if by_method[m][k] is None else f"{by_method[m][k]:.2f}" for k, _ in _KEYS
            )
            for m in others
        ]
        lines.append(f"{group:<9}" + "".join(f"{c:>{width}}" for c in cells))
    return "\n".join(lines)


def main() -> int:
    """Run the suite and print the table (or JSON)."""
    parser = argparse.ArgumentParser(
        prog="python -m opsloop.evals.rca_offline", description=__doc__
    )
    parser.add_argument("--cases", type=int, default=400, help="number of cases (faults in turn)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the case generator")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    if args.cases < 1:
        parser.error("--cases must be at least 1")
    report = run(args.cases, args.seed)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
