"""`python -m opsloop.evals.nezha [--json] [--data DIR] [--method M]`: RCA on real faults."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from opsloop.evals.nezha import DEFAULT_DATA, RANKERS, run


def render(report: dict[str, Any]) -> str:
    """One table per method: AC@1, AC@3, Avg@5 and n overall and per fault type."""
    lines = [f"Nezha Online Boutique ({report['cases']} faults, {report['data']})"]
    for method, result in report["methods"].items():
        lines += [
            "",
            f"{method} ({result['seconds']} s)",
            f"{'':<16}{'AC@1':>7}{'AC@3':>7}{'Avg@5':>7}{'n':>5}",
        ]
        for row, cell in result["table"].items():
            lines.append(
                f"{row:<16}{cell['ac1']:>7.3f}{cell['ac3']:>7.3f}{cell['avg5']:>7.3f}{cell['n']:>5}"
            )
    return "\n".join(lines)


def main() -> int:
    """Rank every case with each method and print the tables (or JSON)."""
    parser = argparse.ArgumentParser(prog="python -m opsloop.evals.nezha", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="nezha-ob data folder")
    parser.add_argument("--method", choices=list(RANKERS), action="append", help="default: all")
    args = parser.parse_args()
    if not (args.data / "cases").is_dir():
        print(f"error: no cases/ folder under {args.data} (set --data)", file=sys.stderr)
        return 2
    report = run(args.data, tuple(args.method or RANKERS))
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
