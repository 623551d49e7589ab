"""`opsloop sandbox up|down|status`: build the world, start its processes, record their PIDs."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from opsloop.agent.config import current_user
from opsloop.sandbox.engine import Engine
from opsloop.sandbox.faults import change_event, effects_at
from opsloop.sandbox.history import backfill_recording, grid, run_history
from opsloop.sandbox.inference import InferenceLog
from opsloop.sandbox.launch import start_processes
from opsloop.sandbox.logs import LogWriter
from opsloop.sandbox.procs import find_binary, free_port, port_in_use, stop_pid
from opsloop.sandbox.quality import RegistryQuality
from opsloop.sandbox.scenario import Scenario, load_scenario
from opsloop.sandbox.world import SANDBOX
from opsloop.tools.backends.changelog import ChangeEvent, ChangeLog

FINE_HOURS, FINE_STEP = 6.0, 15.0
DENSE_S, DENSE_STEP = 360.0, 1.0  # the last minutes at the live scrape interval (see grid)
COARSE_HOURS, COARSE_STEP = 26.0, 60.0
SLO_MARGIN = 0.05  # page when online AUC falls this far below the champion's usual AUC
Progress = Callable[[str], None]


class SandboxError(RuntimeError):
    """The sandbox cannot be started, stopped or read."""


def sandbox_dir(home: Path) -> Path:
    """Return the directory holding everything the sandbox writes."""
    return home / "sandbox"


def read_state(home: Path) -> dict[str, Any] | None:
    """Return the recorded state of a sandbox, or None when none was started."""
    path = sandbox_dir(home) / "state.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def alive(pid: int | None, marker: str) -> bool:
    """Return True if `pid` runs and its command line mentions `marker` (not a reused PID)."""
    if not pid:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        try:
            os.kill(pid, 0)
            return True
        except OSError:
            return False
    return marker in cmdline


def up(
    home: Path,
    scenario: str = "healthy",
    *,
    seed: int | None = None,
    webhook: str | None = None,
    ports: dict[str, int] | None = None,
    progress: Progress = lambda _: None,
) -> dict[str, Any]:
    """Build and start the sandbox; return its state. Raises SandboxError if one runs."""
    spec = load_scenario(scenario)
    root = sandbox_dir(home)
    _check_can_start(home, ports or {})
    seed = spec.seed if seed is None else seed
    clock = time.monotonic()
    timings: dict[str, float] = {}

    def lap(name: str) -> None:
        timings[name] = round(time.monotonic() - clock - sum(timings.values()), 3)

    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    started = float(int(time.time()))
    ports = {
        "prometheus": free_port(),
        "alertmanager": free_port(),
        "exporter": free_port(),
        **(ports or {}),
    }
    webhook = webhook or "http://127.0.0.1:8080/alerts/alertmanager"
    changelog = ChangeLog(root / "changes.sqlite")
    tracking_uri = f"sqlite:///{root / 'mlflow' / 'mlflow.db'}"

    progress("training model versions and seeding the MLflow registry")
    seeded, bad = _seed_world(root, tracking_uri, changelog, spec, started, seed)
    lap("registry_s")
    progress(f"simulating {COARSE_HOURS + FINE_HOURS:g} h of history")
    engine, recorder, history_end, slo = _simulate_history(
        root, tracking_uri, changelog, spec, seeded, started, seed
    )
    lap("history_s")
    progress(f"backfilling {recorder.series} series with promtool")
    tsdb, samples = backfill_recording(recorder, root / "prometheus")
    lap("backfill_s")

    progress("starting the simulator, Prometheus and Alertmanager")
    (root / "engine.json").write_text(json.dumps(engine.dump()))
    (root / "sim.json").write_text(
        json.dumps(
            {
                "seed": seed,
                "started": started,
                "history_end": history_end,
                "scenario": spec.model_dump(),
                "tracking_uri": tracking_uri,
                "changelog": str(root / "changes.sqlite"),
                "exporter_port": ports["exporter"],
                "bad_candidates": bad,
                "slo": slo,
                "onset_done": spec.fault.onset < 0,
            }
        )
    )
    try:
        processes = start_processes(root, tsdb, ports, webhook)
    except (RuntimeError, TimeoutError) as exc:
        raise SandboxError(str(exc)) from exc
    lap("start_s")
    timings["total_s"] = round(time.monotonic() - clock, 3)
    urls = _urls(ports)
    state = {
        "scenario": spec.name,
        "spec": scenario,
        "seed": seed,
        "started": started,
        "directory": str(root),
        "ports": ports,
        "webhook": webhook,
        "processes": {
            name: {"pid": proc.pid, "log": str(proc.log_path)} for name, proc in processes.items()
        },
        "urls": urls,
        "mlflow": {
            "tracking_uri": tracking_uri,
            "ui_command": f"mlflow ui --backend-store-uri {tracking_uri} --port 5000",
        },
        "logs_dir": str(root / "logs"),
        "series": recorder.series,
        "history_samples": samples,
        "history_hours": COARSE_HOURS + FINE_HOURS,
        "timings": timings,
        "ground_truth": spec.ground_truth.model_dump(),
        "models": [
            {"name": m.name, "versions": m.versions, "champion": m.champion} for m in seeded
        ],
        # opsloop's Settings read these while the sandbox runs (see agent/config.py).
        "settings": {
            "prometheus_url": urls["prometheus"],
            "alertmanager_url": urls["alertmanager"],
            "mlflow_tracking_uri": tracking_uri,
            "logs_backend": "local",
            "logs_paths": [str(root / "logs" / "*.log")],
            "changelog_path": str(root / "changes.sqlite"),
            "feature_log_dir": str(root / "inference"),
            "topology": {s.name: [c for c, _ in s.calls] for s in SANDBOX.services},
            "owners": {s.name: s.owner for s in SANDBOX.services},
            # Where `mlflow ui` (ui_command above) serves, so evidence links land there.
            "mlflow_ui_url": "http://127.0.0.1:5000",
            "retrain_command": [
                sys.executable,
                "-m",
                "opsloop.sandbox.ml.retrain",
                "--model",
                "{model}",
                "--window",
                "{window}",
                "--tracking-uri",
                "{tracking_uri}",
                "--sandbox-dir",
                str(root),
                "--created-by",
                "{requested_by}",
            ],
            # Whoever started the sandbox may approve its write actions, nobody else.
            "policy": {
                "roles": {"sandbox-admin": {"actions": ["*"], "models": ["*"]}},
                "users": {current_user(): ["sandbox-admin"]},
            },
        },
    }
    (root / "state.json").write_text(json.dumps(state, indent=2))
    return state


def _check_can_start(home: Path, ports: dict[str, int]) -> None:
    """Refuse a second sandbox, missing binaries and busy ports, before touching anything."""
    existing = read_state(home)
    root = sandbox_dir(home)
    if existing and any(alive(p["pid"], str(root)) for p in existing["processes"].values()):
        raise SandboxError(
            f"a sandbox is already running (scenario {existing['scenario']}); "
            "stop it with `opsloop sandbox down` first"
        )
    for binary in ("prometheus", "promtool"):
        find_binary(binary)
    find_binary("prometheus-alertmanager", "alertmanager")
    for name, port in ports.items():
        if port_in_use(port):
            raise SandboxError(
                f"port {port} for {name} is already in use; pick another or "
                "leave it out to use a free port"
            )


def _seed_world(
    root: Path, tracking_uri: str, changelog: ChangeLog, spec: Scenario, started: float, seed: int
) -> tuple[list, dict[str, str]]:
    """Train and register the models, and write the change log up to now."""
    from opsloop.sandbox.ml.registry import move_alias, seed_registry

    (root / "mlflow").mkdir()
    # MLflow narrates every registration on stderr; keep that in a log, not the terminal.
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    with (root / "registry.log").open("w") as log, contextlib.redirect_stderr(log):
        seeded = seed_registry(
            tracking_uri, root / "mlflow" / "artifacts", changelog, now=started, seed=seed
        )
    bad = {m.name: m.bad_candidate for m in seeded if m.bad_candidate}
    _background_changes(changelog, started)
    fault = spec.fault
    if fault.onset < 0:  # the fault began before `up`: its change belongs in the history
        if fault.type == "bad-model-release":
            move_alias(
                tracking_uri,
                changelog,
                fault.target,
                "champion",
                bad[fault.target],
                who="ci-bot",
                reason="nightly release",
                at=started + fault.onset,
            )
        elif event := change_event(fault):
            who, kind, summary, detail = event
            changelog.record(
                ChangeEvent(started + fault.onset, who, kind, fault.target, summary, detail)
            )
    return seeded, bad


def _simulate_history(
    root: Path,
    tracking_uri: str,
    changelog: ChangeLog,
    spec: Scenario,
    seeded: list,
    started: float,
    seed: int,
):
    """Run the engine over the past with real model quality; write the logs of the last hours."""
    quality = RegistryQuality(tracking_uri, seed)
    engine = Engine(SANDBOX, quality, seed=seed)
    for event in changelog.events():
        if event.kind == "deploy":
            engine.deploys.setdefault(event.target, []).append(event.at)
    slo = {}
    for m in seeded:
        slo[m.name] = round(quality(m.name, m.champion, 0.0, ()).auc - SLO_MARGIN, 3)
        engine.models[m.name].slo_auc = slo[m.name]
    fault = spec.fault
    logs = LogWriter(root / "logs", fault, started, seed + 1)
    timestamps = grid(
        started, FINE_HOURS, FINE_STEP, COARSE_HOURS, COARSE_STEP, DENSE_S, DENSE_STEP
    )
    recorder = run_history(
        engine,
        timestamps,
        lambda t: effects_at(fault, SANDBOX, started, t),
        _champion_timeline(changelog),
        logs,
        logs_from=started - FINE_HOURS * 3600,
    )
    logs.close()
    inference = InferenceLog(root / "inference", quality, seed)
    for m in seeded:
        inference.write_reference(m.name, seed)
    return engine, recorder, float(timestamps[-1]), slo


def down(home: Path) -> list[str]:
    """Stop every sandbox process; return the names of those that were running."""
    state = read_state(home)
    if state is None:
        return []
    root = sandbox_dir(home)
    stopped = []
    for name, proc in state["processes"].items():
        if alive(proc["pid"], str(root)) and stop_pid(proc["pid"]):
            stopped.append(name)
    (root / "state.json").unlink(missing_ok=True)
    return stopped


def status(home: Path, reveal: bool = False) -> dict[str, Any]:
    """Return what runs, where, and (with `reveal`) the scenario's ground truth."""
    state = read_state(home)
    if state is None:
        return {"running": False}
    root = sandbox_dir(home)
    processes = {
        name: {**proc, "alive": alive(proc["pid"], str(root))}
        for name, proc in state["processes"].items()
    }
    out = {k: v for k, v in state.items() if k not in ("ground_truth", "settings")}
    out["processes"] = processes
    out["running"] = all(p["alive"] for p in processes.values())
    if reveal:
        out["ground_truth"] = state["ground_truth"]
    return out


def _urls(ports: dict[str, int]) -> dict[str, str]:
    return {
        "prometheus": f"http://127.0.0.1:{ports['prometheus']}",
        "alertmanager": f"http://127.0.0.1:{ports['alertmanager']}",
        "exporter": f"http://127.0.0.1:{ports['exporter']}/metrics",
    }


def _champion_timeline(changelog: ChangeLog) -> Callable[[float], dict[str, str]]:
    """Return t → {model: champion version at t}, from the alias moves in the change log."""
    moves = [
        e
        for e in changelog.events()
        if e.kind == "alias_move" and e.detail.get("alias") == "champion"
    ]

    def at(t: float) -> dict[str, str]:
        current: dict[str, str] = {}
        for event in moves:
            if event.at <= t:
                current[event.target] = str(event.detail["to"])
        return current

    return at


def _background_changes(changelog: ChangeLog, now: float) -> None:
    """Record the routine changes any platform has, so the fault's change is not the only one."""
    for hours_ago, who, kind, target, summary in (
        (20.0, "deploy-bot", "deploy", "gateway", ""),
        (9.0, "carol", "config", "recommender", "recommender config: CANDIDATES 200 → 250"),
        (5.5, "deploy-bot", "deploy", "checkout", ""),
        (2.0, "deploy-bot", "deploy", "feature-store", ""),
    ):
        # A deploy brought what runs now; a fault's release (sandbox.wording) comes after it.
        summary = summary or f"{target} {SANDBOX.by_name[target].version} deployed"
        changelog.record(ChangeEvent(now - hours_ago * 3600, who, kind, target, summary, {}))
