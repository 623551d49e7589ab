"""`python -m opsloop.evals.memory [--json] [--threshold T]`: memory recall@3 and no-match."""

from __future__ import annotations

import argparse
import json
import sys

from opsloop.evals.memory import run

RECALL_BAR = 0.9


def main() -> int:
    """Run the eval; exit 0 when recall@3 ≥ 0.9 and no no-match query matches."""
    parser = argparse.ArgumentParser(prog="python -m opsloop.evals.memory", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--threshold", type=float, help="similarity threshold to use")
    args = parser.parse_args()
    report = run(threshold=args.threshold)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"memory ({report['incidents']} incidents, {report['no_match_queries']} no-match "
            f"queries, threshold {report['threshold']:.2f}): recall@1 {report['recall_at_1']:.3f}, "
            f"recall@3 {report['recall_at_3']:.3f}, MRR {report['mrr']:.3f}; true-match similarity "
            f"min {report['match_min_score']:.3f}, median {report['match_median_score']:.3f}; "
            "no-match max "
            f"similarity {report['no_match_max_score']:.3f} "
            f"({'clean' if report['no_match_clean'] else 'FALSE MATCHES'}); "
            f"query p50 {report['query_p50_ms']} ms"
        )
        for miss in report["misses"]:
            print(f"  miss {miss['id']}: got {miss['got']}")
        for fm in report["false_matches"]:
            print(f"  false match {fm['id']} ({fm['score']:.3f}): {fm['query'][:80]}")
    ok = report["recall_at_3"] >= RECALL_BAR and report["no_match_clean"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
