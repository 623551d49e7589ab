"""RCA eval on the sandbox: fault types × targets × seeds, through a real Alertmanager webhook.

One case: bring the sandbox up with the scenario and seed, wait for Alertmanager's first
firing notification at a loopback webhook, investigate its alerts (plus any that arrive in
the next second, as correlation would merge them), and score the report against the
scenario's ground truth. Latency is from the first notification's arrival to the report.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from opsloop.evals.rca.matrix import by_target, case_specs
from opsloop.sandbox.scenario import builtin_names, load_scenario

# Every built-in scenario with a fault (a false alarm counts: its right answer is "no fault").
FAULTS = tuple(name for name in builtin_names() if name != "healthy")
MODEL_ACTIONS = {"rollback_model", "retrain_model", "promote_model"}
ALERT_DEADLINE_S = 180.0
GATHER_S = 1.0


class Inbox:
    """Notifications received by the webhook, with their arrival times."""

    def __init__(self) -> None:
        self.items: list[tuple[float, dict[str, Any]]] = []
        self.lock = threading.Lock()
        self.event = threading.Event()

    def first_firing(self, deadline_s: float) -> list[tuple[float, dict[str, Any]]]:
        """Wait for the first firing notification; return it and those within GATHER_S."""
        stop = time.monotonic() + deadline_s
        while time.monotonic() < stop:
            with self.lock:
                firing = [(t, n) for t, n in self.items if n.get("status") == "firing"]
            if firing:
                first = firing[0][0]
                wait = first + GATHER_S - time.time()
                if wait > 0:
                    time.sleep(wait)
                with self.lock:
                    return [
                        (t, n)
                        for t, n in self.items
                        if n.get("status") == "firing" and t <= first + GATHER_S
                    ]
            self.event.wait(0.2)
            self.event.clear()
        raise TimeoutError(f"no firing notification within {deadline_s:.0f} s")


@contextmanager
def receiver() -> Iterator[tuple[str, Inbox]]:
    """Yield (url, inbox) for a webhook receiver on a free loopback port."""
    inbox = Inbox()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with inbox.lock:
                inbox.items.append((time.time(), json.loads(body or b"{}")))
            inbox.event.set()
            self.send_response(200)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/alerts/alertmanager", inbox
    finally:
        server.shutdown()
        server.server_close()


def judge(result: dict[str, Any], truth: dict[str, Any]) -> dict[str, Any]:
    """Score one report against a scenario's ground truth."""
    targets = [h["target"] for h in result.get("hypotheses", [])]
    kinds = [h["kind"] for h in result.get("hypotheses", [])]
    want = truth["target"]
    top_kind = kinds[0] if kinds else None
    actions = result.get("actions", [])
    action = actions[0] if actions else {"name": "none", "args": {}}
    expected = truth["remediation"]
    correct = _same_action(action, expected)
    wrong = any(_same_action(action, w) for w in truth.get("wrong_remediations", []))
    if truth["kind"] == "none":
        wrong = wrong or action["name"] != "none"
    if truth["kind"] == "dependency":
        wrong = wrong or action["name"] in MODEL_ACTIONS
    rank = targets.index(want) + 1 if want in targets else None
    if truth["kind"] == "none":  # a false alarm is found when the verdict is "no fault"
        rank = 1 if result.get("false_alarm") else None
        top_kind = "none" if result.get("false_alarm") else top_kind
    elif result.get("false_alarm"):  # "no fault" misses a real one, whatever weak ones it lists
        rank = None
    return {
        "rank": rank,
        "ac1": rank == 1,
        "ac3": rank is not None and rank <= 3,
        "kind_ok": top_kind == truth["kind"],
        "remediation_ok": correct,
        "wrong_remediation": wrong and not correct,
        "top": "none"
        if result.get("false_alarm")
        else f"{top_kind}:{targets[0]}"
        if targets
        else None,
        "action": action,
        "decisive": decisive_named(result.get("answer") or "", truth["kind"]),
    }


# What names the decisive evidence for each kind of cause, as the report words it: the change
# or the crash behind a service fault, the saturation behind an infra one, the dependency's own
# (client-side) series, the release, the drifted inputs, the same level yesterday.
DECISIVE = {
    "service": ("deploy", "rolled out", "config", "restarts", "oom kills", "log template"),
    "infra": ("throttled", "cpu use / limit", "memory / limit"),
    "dependency": ("client-side", "not measured", "waits on", "drifted together"),
    "model_version": ("alias move", "version switch"),
    "data": ("drifted",),
    "none": ("same time yesterday",),
}


def decisive_named(answer: str, kind: str) -> bool:
    """Return True when the report's verdict names the evidence that decides its kind."""
    head = answer.split("\nOther hypotheses")[0].split("\nHypotheses considered")[0].lower()
    return any(phrase in head for phrase in DECISIVE.get(kind, ()))


def _same_action(action: dict[str, Any], want: dict[str, Any]) -> bool:
    if action.get("name") != want.get("action"):
        return False
    args, wanted = action.get("args", {}), want.get("args", {}) or {}
    for key in ("model", "service", "team"):
        if key in wanted and key in args and str(args[key]) != str(wanted[key]):
            return False
    return True


def run_case(
    scenario: str, seed: int, home: Path, fault: str | None = None, target: str | None = None
) -> dict[str, Any]:
    """Run one scenario (a name, or NAME@TARGET) with one seed; return the judged case."""
    from opsloop.agent.assistant import Assistant
    from opsloop.agent.config import Settings
    from opsloop.agent.rca.alerts import parse_alertmanager
    from opsloop.sandbox.manager import down, up

    spec = load_scenario(scenario)
    truth = spec.ground_truth.model_dump()
    os.environ["OPSLOOP_HOME"] = str(home)
    with receiver() as (url, inbox):
        started = time.time()
        up(home, scenario, seed=seed, webhook=url)
        try:
            notes = inbox.first_firing(ALERT_DEADLINE_S)
            arrived = notes[0][0]
            alerts: dict[str, dict[str, Any]] = {}
            for _, note in notes:
                for alert in parse_alertmanager(note).firing:
                    alerts[alert.fingerprint] = alert.public()
            assistant = Assistant.from_settings(Settings(home=home))
            try:
                result = assistant.investigate(list(alerts.values()), thread_id=f"eval-{seed}")
            finally:
                assistant.close()
            latency = time.time() - arrived
        finally:
            down(home)
    case = judge(result, truth)
    case.update(
        scenario=scenario,
        fault=fault or scenario,
        target=target or spec.fault.target,
        truth_kind=truth["kind"],
        false_alarm=bool(result.get("false_alarm")),
        verdict=(result.get("answer") or "").strip().split("\n")[0][:240],
        seed=seed,
        alerts=sorted({a["name"] for a in alerts.values()}),
        latency_s=round(latency, 3),
        up_to_alert_s=round(arrived - started, 1),
        hypotheses=result.get("hypotheses", [])[:3],
        grounded=result.get("evals", {}).get("grounded"),
    )
    return case


def run(
    faults: tuple[str, ...] = FAULTS,
    seeds: tuple[int, ...] = (1, 2, 3, 4, 5),
    progress: Callable[[str], None] = lambda _: None,
    targets: str = "default",
) -> dict[str, Any]:
    """Run every fault × target × seed; return per-case results and the summary figures.

    `targets` is "default" (each scenario's own target), "all" (every eligible target) or a
    comma-separated list of targets (those a fault type may hit).
    """
    cases = []
    with tempfile.TemporaryDirectory(prefix="opsloop-rca-eval-") as tmp:
        for spec, fault, target in case_specs(faults, targets):
            for seed in seeds:
                home = Path(tmp) / f"{spec.replace('@', '-at-')}-{seed}"
                case = run_case(spec, seed, home, fault, target)
                cases.append(case)
                progress(describe(case))
    return summarise(cases)


def describe(case: dict[str, Any]) -> str:
    """Return one progress line per case; a miss also says what the report concluded."""
    action = case["action"]
    args = ", ".join(f"{k}={v}" for k, v in action.get("args", {}).items())
    line = (
        f"{case['scenario']} seed {case['seed']}: rank {case['rank']}, top {case['top']}, "
        f"action {action['name']}({args}), fix ok {case['remediation_ok']}, "
        f"no fault {case['false_alarm']}, {case['latency_s']:.2f} s"
    )
    if not (case["ac1"] and case["remediation_ok"]):
        line += f"\n    alerts {', '.join(case['alerts'])}; verdict: {case['verdict']}"
    return line


def summarise(cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Return AC@1, AC@3, remediation rates and latency, overall and per fault."""

    def rates(group: list[dict[str, Any]]) -> dict[str, float]:
        n = len(group) or 1
        return {
            "cases": len(group),
            "ac_at_1": round(sum(c["ac1"] for c in group) / n, 3),
            "ac_at_3": round(sum(c["ac3"] for c in group) / n, 3),
            "kind_accuracy": round(sum(c["kind_ok"] for c in group) / n, 3),
            "remediation_correct": round(sum(c["remediation_ok"] for c in group) / n, 3),
            "remediation_wrong": round(sum(c["wrong_remediation"] for c in group) / n, 3),
            "decisive_named": round(sum(c.get("decisive", False) for c in group) / n, 3),
        }

    latencies = sorted(c["latency_s"] for c in cases)
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
    by_fault = {
        f: rates([c for c in cases if c["fault"] == f])
        for f in dict.fromkeys(c["fault"] for c in cases)
    }
    return {
        "overall": rates(cases),
        "by_fault": by_fault,
        "by_target": by_target(cases),
        "latency_s": {
            "median": round(statistics.median(latencies), 3) if latencies else None,
            "p95": p95 if latencies else None,
        },
        "cases": cases,
    }
