"""`python -m opsloop.evals.rca [--world sandbox|world2] [--seeds N] [--fault NAME]
[--targets default|all|T1,T2] [--json]`: RCA accuracy on the sandbox, or on world 2
(`--world world2` takes world 2's options). `--targets all` runs each fault type on every
target it may hit and judges each fault type × target."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from opsloop.evals.rca import FAULTS, run
from opsloop.evals.rca.matrix import passed, render

# The targets of the RCA issue; the run exits 1 when one is missed.
TARGETS = {"ac_at_1": 0.9, "ac_at_3": 1.0, "remediation_correct": 0.9}
WRONG_MAX = 0.05


def main() -> int:
    """Run the eval; exit 0 when every target is met."""
    if "--world" in sys.argv:
        at = sys.argv.index("--world")
        world = sys.argv[at + 1] if at + 1 < len(sys.argv) else ""
        del sys.argv[at : at + 2]
        if world == "world2":
            from opsloop.evals.rca.world2.__main__ import main as world2

            return world2()
        if world != "sandbox":
            print(f"--world must be sandbox or world2, not {world!r}", file=sys.stderr)
            return 2
    parser = argparse.ArgumentParser(prog="python -m opsloop.evals.rca", description=__doc__)
    parser.add_argument("--seeds", type=int, default=5, help="how many seeds per fault")
    parser.add_argument(
        "--first-seed", type=int, default=1, help="start at this seed (to split a run)"
    )
    parser.add_argument("--fault", action="append", choices=FAULTS, help="only these faults")
    parser.add_argument("--faults", help="only these faults, comma-separated")
    parser.add_argument(
        "--targets",
        default="default",
        help="default (each scenario's own target), all (every eligible target) or T1,T2",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--out", type=Path, help="also write the JSON report to this file")
    args = parser.parse_args()
    faults = tuple(args.fault or []) + tuple(filter(None, (args.faults or "").split(",")))
    if unknown := [f for f in faults if f not in FAULTS]:
        parser.error(f"unknown fault {unknown[0]!r}; choose from {', '.join(FAULTS)}")
    faults = faults or FAULTS
    progress = (lambda _: None) if args.json else (lambda line: print(line, flush=True))
    seeds = tuple(range(args.first_seed, args.first_seed + args.seeds))
    report = run(faults, seeds, progress=progress, targets=args.targets)
    if args.out:
        args.out.write_text(json.dumps(report, indent=2, default=str))
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    elif args.targets != "default":
        print()
        print(render(report["by_target"], report["cases"]))
        lat = report["latency_s"]
        print(f"\nalert→report latency: median {lat['median']} s, p95 {lat['p95']} s")
    else:
        print()
        head = ("cases", "AC@1", "AC@3", "kind", "fix ok", "wrong", "named")
        print(f"{'fault':<20} " + " ".join(f"{h:>6}" for h in head))
        rows = [*report["by_fault"].items(), ("overall", report["overall"])]
        for name, r in rows:
            print(
                f"{name:<20} {r['cases']:>6} {r['ac_at_1']:>6.2f} {r['ac_at_3']:>6.2f} "
                f"{r['kind_accuracy']:>6.2f} {r['remediation_correct']:>6.2f} "
                f"{r['remediation_wrong']:>6.2f} {r['decisive_named']:>6.2f}"
            )
        lat = report["latency_s"]
        print(
            f"\nalert→report latency (deterministic): median {lat['median']} s, p95 {lat['p95']} s"
        )
    if args.targets != "default":
        return 0 if passed(report["by_target"]) else 1
    overall = report["overall"]
    ok = all(overall[k] >= v for k, v in TARGETS.items())
    return 0 if ok and overall["remediation_wrong"] <= WRONG_MAX else 1


if __name__ == "__main__":
    sys.exit(main())
