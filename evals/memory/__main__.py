"""`python -m opsloop.evals.memory [--json] [--threshold T] [--embedding E]`: memory recall.

Every installed embedding is scored side by side (hashing, and minilm with the
`opsloop[minilm]` extra) on the incident set and on the paraphrase set.
"""

from __future__ import annotations

import argparse
import json
import sys

from opsloop.evals.memory import embeddings, run, run_paraphrases

RECALL_BAR = 0.9


def _print(report: dict, para: dict) -> None:
    print(
        f"memory [{report['embedding']}] ({report['incidents']} incidents, "
        f"{report['no_match_queries']} no-match queries, threshold {report['threshold']:.2f}): "
        f"recall@1 {report['recall_at_1']:.3f}, recall@3 {report['recall_at_3']:.3f}, "
        f"MRR {report['mrr']:.3f}; true-match similarity min {report['match_min_score']:.3f}, "
        f"median {report['match_median_score']:.3f}; no-match max similarity "
        f"{report['no_match_max_score']:.3f} "
        f"({'clean' if report['no_match_clean'] else 'FALSE MATCHES'}); "
        f"query p50 {report['query_p50_ms']} ms, add {report['add_per_incident_ms']} ms/incident"
    )
    print(
        f"  paraphrases ({para['queries']}): recall@1 {para['recall_at_1']:.3f}, recall@3 "
        f"{para['recall_at_3']:.3f} (ranking alone: {para['ranked_recall_at_1']:.3f}, "
        f"{para['ranked_recall_at_3']:.3f})"
    )
    for miss in report["misses"]:
        print(f"  miss {miss['id']}: got {miss['got']}")
    for fm in report["false_matches"]:
        print(f"  false match {fm['id']} ({fm['score']:.3f}): {fm['query'][:80]}")


def main() -> int:
    """Run the eval; exit 0 when hashing's recall@3 ≥ 0.9 and no no-match query matches."""
    parser = argparse.ArgumentParser(prog="python -m opsloop.evals.memory", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--threshold", type=float, help="similarity threshold to use")
    parser.add_argument("--embedding", help="hashing or minilm (default: every installed one)")
    args = parser.parse_args()
    ok = True
    reports = {}
    for embedding in [args.embedding] if args.embedding else embeddings():
        report = run(threshold=args.threshold, embedding=embedding)
        reports[embedding] = {**report, "paraphrases": run_paraphrases(embedding=embedding)}
        if not args.json:
            _print(report, reports[embedding]["paraphrases"])
        if embedding == "hashing":  # the gate: other embeddings are reported beside it
            ok = report["recall_at_3"] >= RECALL_BAR and report["no_match_clean"]
    if args.json:
        print(json.dumps(reports, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
