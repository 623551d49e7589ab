"""Run world 2's cases: generate, backfill, serve, replay the rules, investigate, judge.

One case with one seed: generate the history (ending now), backfill it into a fresh TSDB
with promtool BEFORE Prometheus starts (blocks added to a running Prometheus appear only
after about 40 s), start Prometheus on a free loopback port, replay the alert rules to find
what fires, hand those alerts to opsloop's public API as Alertmanager would, and score the
report with the sandbox eval's `judge()`. Every process started is stopped by its handle.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from opsloop.evals.rca import judge, summarise
from opsloop.evals.rca.world2.cases import cases
from opsloop.evals.rca.world2.firing import Check, check_case, describe, notifications, query
from opsloop.evals.rca.world2.generate import History, generate
from opsloop.sandbox.procs import backfill, free_port, prometheus

PROMETHEUS_CONFIG = """\
global:
  scrape_interval: 15s
  evaluation_interval: 15s
scrape_configs: []
"""
DATA_DEADLINE_S = 30.0


@contextmanager
def serve(history: History, workdir: Path) -> Iterator[str]:
    """Backfill `history` into a new TSDB, start Prometheus on it, yield its URL, stop it."""
    workdir.mkdir(parents=True, exist_ok=True)
    om = workdir / "history.om"
    history.write(om)
    tsdb = workdir / "tsdb"
    backfill(om, tsdb)
    om.unlink()
    config = workdir / "prometheus.yml"
    config.write_text(PROMETHEUS_CONFIG)
    port = free_port()
    server = prometheus(tsdb, port, config).start(deadline_s=60.0)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_for_data(url, float(history.plan.end))
        yield url
    finally:
        server.stop()


def _wait_for_data(url: str, at: float) -> None:
    """Poll until the backfilled blocks answer queries, or fail at the deadline."""
    stop = time.monotonic() + DATA_DEADLINE_S
    delay = 0.05
    while time.monotonic() < stop:
        try:
            if query(url, "count(kube_pod_labels)", at):
                return
        except httpx.HTTPError:
            pass
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)
    raise TimeoutError(f"Prometheus at {url} served no backfilled data in {DATA_DEADLINE_S:.0f} s")


def alerts_of(check: Check) -> list[dict[str, Any]]:
    """Return the incident's alerts as opsloop's webhook parser reads them (Alert.public())."""
    from opsloop.agent.rca.alerts import parse_alertmanager

    out: dict[str, dict[str, Any]] = {}
    for payload in notifications(check.alerts):
        for alert in parse_alertmanager(payload).firing:
            out[alert.fingerprint] = alert.public()
    return list(out.values())


def investigate(url: str, alerts: list[dict[str, Any]], home: Path, thread: str) -> dict:
    """Investigate with opsloop's public API on a fresh home; no LLM, no MLflow."""
    from opsloop.agent.assistant import Assistant
    from opsloop.agent.config import Settings

    home.mkdir(parents=True, exist_ok=True)
    os.environ["OPSLOOP_HOME"] = str(home)
    assistant = Assistant.from_settings(Settings(home=home, prometheus_url=url))
    try:
        return assistant.investigate(alerts, thread_id=thread)
    finally:
        assistant.close()


def run_case(name: str, seed: int, workdir: Path) -> dict[str, Any]:
    """Run one case with one seed; return the judged case with the world's own checks."""
    case = cases()[name]
    started = time.monotonic()
    history = generate(case, seed)
    plan = history.plan
    with serve(history, workdir) as url:
        ready = time.monotonic() - started
        check = check_case(url, case, plan.end + plan.onset, float(plan.end))
        alerts = alerts_of(check)
        begun = time.monotonic()
        if alerts:
            result = investigate(url, alerts, workdir / "home", f"world2-{name}-{seed}")
        else:
            result = {"hypotheses": [], "actions": [], "false_alarm": False}
        latency = time.monotonic() - begun
    judged = judge(result, case.ground_truth.model_dump())
    judged.update(
        scenario=name,
        seed=seed,
        alerts=[describe(f) for f in check.alerts],
        latency_s=round(latency, 3),
        world_s=round(ready, 1),
        hypotheses=[
            {k: h.get(k) for k in ("kind", "target", "score")}
            for h in result.get("hypotheses", [])[:3]
        ],
        false_alarm=bool(result.get("false_alarm")),
        report=result.get("answer", ""),
        world_check={
            "ok": check.ok,
            "missing": check.missing,
            "extra": check.extra,
            "before_fault": check.before,
            "holds": check.holds,
            "yesterday": check.yesterday,
        },
    )
    return judged


def run(
    names: list[str],
    seeds: tuple[int, ...],
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Run every case × seed; return the summary (sandbox figures) with every case."""
    results = []
    with tempfile.TemporaryDirectory(prefix="opsloop-world2-") as tmp:
        for name in names:
            for seed in seeds:
                case = run_case(name, seed, Path(tmp) / f"{name}-{seed}")
                results.append(case)
                top = case["hypotheses"][0] if case["hypotheses"] else None
                progress(
                    f"{name} seed {seed}: rank {case['rank']}, top {case['top']}, action "
                    f"{case['action']['name']}, {case['latency_s']:.2f} s"
                    + ("" if case["world_check"]["ok"] else "  [world check failed]")
                    + ("" if top else "  [no hypothesis]")
                )
    return summarise(results)
