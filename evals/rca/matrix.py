"""The RCA eval over targets: each fault type on every target it may hit, judged per target.

A case is a scenario spec `load_scenario` understands: the built-in name for the scenario's
own target, `NAME@TARGET` for any other eligible one (opsloop.sandbox.targets), whose ground
truth is derived from that target.
"""

from __future__ import annotations

import statistics
from typing import Any

from opsloop.sandbox.scenario import load_scenario
from opsloop.sandbox.targets import eligible_targets

# The bar, per fault type × target.
PER_TARGET = {"ac_at_1": 0.9, "remediation_correct": 0.9}


def case_specs(faults: tuple[str, ...], targets: str) -> list[tuple[str, str, str]]:
    """Return (spec, fault, target) per case: `targets` is "default", "all" or a comma list."""
    out = []
    for fault in faults:
        spec = load_scenario(fault)
        own = spec.fault.target
        if targets == "default":
            chosen = [own]
        else:
            eligible = eligible_targets(spec.fault.type)
            wanted = eligible if targets == "all" else targets.split(",")
            chosen = [t for t in eligible if t in wanted]
        out += [(fault if t == own else f"{fault}@{t}", fault, t) for t in chosen]
    return out


def by_target(cases: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Return fault → target → cases, AC@1, right remediation, false alarms and latency."""
    groups: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for case in cases:
        groups.setdefault(case["fault"], {}).setdefault(case["target"], []).append(case)
    return {f: {t: _rates(g) for t, g in targets.items()} for f, targets in groups.items()}


def _rates(group: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(group)
    real = [c for c in group if c["truth_kind"] != "none"]
    return {
        "cases": n,
        "ac_at_1": round(sum(c["ac1"] for c in group) / n, 3),
        "remediation_correct": round(sum(c["remediation_ok"] for c in group) / n, 3),
        # A real fault reported as "no fault"; undefined for a false alarm's own scenario.
        "false_alarm": round(sum(c["false_alarm"] for c in real) / len(real), 3) if real else None,
        "latency_s": round(statistics.median(c["latency_s"] for c in group), 2),
    }


def passed(table: dict[str, dict[str, dict[str, Any]]]) -> bool:
    """Return True when every fault type × target row meets the issue's bar."""
    rows = [r for targets in table.values() for r in targets.values()]
    return all(all(r[k] >= v for k, v in PER_TARGET.items()) and not r["false_alarm"] for r in rows)


def render(table: dict[str, dict[str, dict[str, Any]]], cases: list[dict[str, Any]]) -> str:
    """Return the fault type × target table, then what each failing case's report said."""
    head = ("cases", "AC@1", "fix ok", "no-flt", "lat s")
    lines = [f"{'fault':<20} {'target':<15} " + " ".join(f"{h:>6}" for h in head)]
    for fault, targets in table.items():
        for target, r in targets.items():
            fa = "-" if r["false_alarm"] is None else f"{r['false_alarm']:.2f}"
            lines.append(
                f"{fault:<20} {target:<15} {r['cases']:>6} {r['ac_at_1']:>6.2f} "
                f"{r['remediation_correct']:>6.2f} {fa:>6} {r['latency_s']:>6.1f}"
            )
    failed = [c for c in cases if not (c["ac1"] and c["remediation_ok"])]
    if failed:
        lines += ["", "failing cases:"]
    for c in failed:
        action = c["action"]
        args = ", ".join(f"{k}={v}" for k, v in action.get("args", {}).items())
        lines.append(
            f"- {c['scenario']} seed {c['seed']}: top {c['top']}; action {action['name']}({args}); "
            f"alerts {', '.join(c['alerts'])}\n    verdict: {c['verdict']}"
        )
    return "\n".join(lines)
