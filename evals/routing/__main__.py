"""`python -m opsloop.evals.routing [--holdout|--fresh] [--json]`: routing accuracy, latency."""

from __future__ import annotations

import json
import sys

from opsloop.evals.routing import DATASETS, run


def main() -> int:
    """Run the suite; exit 1 when accuracy is under 95 %."""
    dataset = next((d for d in DATASETS if f"--{d}" in sys.argv), "questions")
    report = run(dataset)
    if "--json" in sys.argv:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"routing ({dataset}): {report['correct']}/{report['cases']} correct "
            f"({report['accuracy']:.1%}); planner median "
            f"{report['planner_latency_ms']['median']} ms"
        )
        for failure in report["failures"]:
            print(f"  ✗ {failure['question']!r}: {'; '.join(failure['problems'])}")
    return 0 if report["accuracy"] >= 0.95 else 1


if __name__ == "__main__":
    sys.exit(main())
