"""`python -m opsloop.evals.rca.world2 [--seeds N] [--case NAME] [--json]`: RCA on world 2."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from opsloop.evals.rca.world2.cases import case_names, cases
from opsloop.evals.rca.world2.runner import run


def main() -> int:
    """Run the eval and print the per-case table; exit 1 if the world raised wrong alerts."""
    parser = argparse.ArgumentParser(prog="python -m opsloop.evals.rca.world2", description=__doc__)
    parser.add_argument("--seeds", type=int, default=3, help="seeds per case (1..N)")
    parser.add_argument("--case", action="append", choices=case_names(), help="only these cases")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--out", type=Path, help="also write the JSON report to this file")
    args = parser.parse_args()
    progress = (lambda _: None) if args.json else (lambda line: print(line, flush=True))
    report = run(args.case or case_names(), tuple(range(1, args.seeds + 1)), progress=progress)
    report["said_no_fault"] = said_no_fault(report["cases"])
    if args.out:
        args.out.write_text(json.dumps(report, indent=2, default=str))
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print_report(report)
    return 0 if all(c["world_check"]["ok"] for c in report["cases"]) else 1


def said_no_fault(results: list[dict[str, Any]]) -> dict[str, float | None]:
    """Per case (and overall): how often the verdict was "no fault" on a real fault.

    `judge()` ranks hypotheses even under a false-alarm verdict, so a report that calls a
    real fault nothing can still count for AC@1; this figure shows how often that happened.
    """
    out: dict[str, float | None] = {}
    groups = {name: [c for c in results if c["scenario"] == name] for name in case_names()}
    faults = []
    for name, group in groups.items():
        if not group:
            continue
        if cases()[name].ground_truth.kind == "none":
            out[name] = None
            continue
        faults += group
        out[name] = round(sum(c["false_alarm"] for c in group) / len(group), 3)
    out["overall"] = (
        round(sum(c["false_alarm"] for c in faults) / len(faults), 3) if faults else None
    )
    return out


def print_report(report: dict[str, Any]) -> None:
    """Print the summary table (the sandbox eval's figures) and each case's top hypotheses."""
    print()
    head = ("cases", "AC@1", "AC@3", "kind", "fix ok", "wrong", "named", "nofault")
    print(f"{'case':<26} " + " ".join(f"{h:>7}" for h in head))
    rows = [*report["by_fault"].items(), ("overall", report["overall"])]
    missed = report.get("said_no_fault", {})
    for name, r in rows:
        said = missed.get(name)
        print(
            f"{name:<26} {r['cases']:>7} {r['ac_at_1']:>7.2f} {r['ac_at_3']:>7.2f} "
            f"{r['kind_accuracy']:>7.2f} {r['remediation_correct']:>7.2f} "
            f"{r['remediation_wrong']:>7.2f} {r['decisive_named']:>7.2f} "
            + (f"{said:>7.2f}" if said is not None else f"{'-':>7}")
        )
    print("(named: share of reports whose verdict names the decisive evidence; nofault: share of")
    print(' real faults whose verdict was "no fault"; - for the false alarm)')
    lat = report["latency_s"]
    print(f"\ninvestigation latency: median {lat['median']} s, p95 {lat['p95']} s")
    print("\ntop 3 hypotheses per case (kind:target score), action, alerts sent")
    print('(ok*: counted by judge() as AC@1 although the verdict called the fault "no fault"):')
    for c in report["cases"]:
        tops = ", ".join(f"{h['kind']}:{h['target']} {h['score']:.2f}" for h in c["hypotheses"])
        verdict = ("verdict no fault; " if c["false_alarm"] else "") + (tops or "(no hypothesis)")
        real = cases()[c["scenario"]].ground_truth.kind != "none"
        mark = ("ok*" if real and c["false_alarm"] else "ok ") if c["ac1"] else "MISS"
        action = c["action"]
        args = ",".join(f"{k}={v}" for k, v in sorted(action.get("args", {}).items()))
        print(f"  {mark} {c['scenario']} seed {c['seed']}: {verdict}; {action['name']}({args})")
        print(f"       alerts: {'; '.join(c['alerts'])}")
        if not c["world_check"]["ok"]:
            print(f"       world check FAILED: {c['world_check']}")


if __name__ == "__main__":
    sys.exit(main())
