"""Sandbox benchmark: `up` time per scenario and how long each expected alert takes to arrive.

    python -m bench.sandbox [--scenario NAME ...] [--json]

For every scenario: start the sandbox with a local webhook receiver, wait until every alert
of its ground truth has reached the webhook through Alertmanager (or 120 s pass), note any
alert that was not expected, stop it. `healthy` passes when nothing fires in 60 s.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from opsloop.sandbox.manager import down, up
from opsloop.sandbox.scenario import builtin_names, load_scenario
from tests.webhook import webhook_receiver

DEADLINE_S = 120.0
QUIET_S = 60.0


def run_scenario(name: str) -> dict[str, Any]:
    """Bring one scenario up, time its alerts, bring it down."""
    expected = set(load_scenario(name).ground_truth.alerts)
    with (
        tempfile.TemporaryDirectory(prefix="opsloop-bench-") as tmp,
        webhook_receiver() as (
            url,
            received,
        ),
    ):
        start = time.monotonic()
        state = up(Path(tmp), name, webhook=url)
        ready = time.monotonic()
        arrived: dict[str, float] = {}
        deadline = ready + (DEADLINE_S if expected else QUIET_S)
        while time.monotonic() < deadline and not expected <= set(arrived):
            with received.lock:
                for item in received.items:
                    if item.get("status") == "firing":
                        for alert in item["alerts"]:
                            name_ = alert["labels"]["alertname"]
                            arrived.setdefault(name_, round(time.monotonic() - ready, 1))
            time.sleep(0.2)
        down(Path(tmp))
    return {
        "scenario": name,
        "up_s": round(ready - start, 1),
        "series": state["series"],
        "timings": {k: round(v, 1) for k, v in state["timings"].items()},
        "alert_after_up_s": {a: arrived.get(a) for a in sorted(expected)},
        "unexpected": sorted(set(arrived) - expected),
        "ok": expected <= set(arrived),
    }


def main() -> int:
    """Run the chosen scenarios (all by default) and print a table or JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", action="append", help="scenario name (repeatable)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = [run_scenario(name) for name in (args.scenario or builtin_names())]
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(f"{'scenario':20} {'up s':>6} {'series':>6}  expected alerts (s after up)   other")
        for r in results:
            alerts = (
                ", ".join(
                    f"{a} {t if t is not None else 'MISSING'}"
                    for a, t in r["alert_after_up_s"].items()
                )
                or "none"
            )
            print(
                f"{r['scenario']:20} {r['up_s']:>6} {r['series']:>6}  {alerts:30} "
                f"{', '.join(r['unexpected']) or '-'}"
            )
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
