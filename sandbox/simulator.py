"""The live half of the sandbox: a process that advances the world every second and exports it.

    python -m opsloop.sandbox.simulator --dir $OPSLOOP_HOME/sandbox

It continues the engine state left by the history, serves /metrics for Prometheus, appends
logs, follows the registry's `champion` alias, and plays the scenario's fault at its onset.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from opsloop.sandbox.engine import Engine
from opsloop.sandbox.exposition import render
from opsloop.sandbox.faults import Effects, change_event, effects_at
from opsloop.sandbox.inference import InferenceLog
from opsloop.sandbox.logs import LogWriter
from opsloop.sandbox.quality import RegistryQuality
from opsloop.sandbox.scenario import Scenario
from opsloop.sandbox.world import SANDBOX
from opsloop.tools.backends.changelog import ChangeEvent, ChangeLog

TICK_S = 1.0
LIVE_FILE = "live_at"
CHAMPION_POLL_S = 2.0


class Champions:
    """Read the `champion` alias of each model from the MLflow registry, every few seconds."""

    def __init__(self, tracking_uri: str, models: list[str]) -> None:
        from mlflow import MlflowClient

        self.client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        self.models = models
        self.current: dict[str, str] = {}
        self._checked = 0.0

    def get(self, now: float) -> dict[str, str]:
        """Return model → champion version, refreshed every CHAMPION_POLL_S."""
        if now - self._checked >= CHAMPION_POLL_S or not self.current:
            for model in self.models:
                # A locked or missing registry: keep serving what we had.
                with contextlib.suppress(Exception):
                    self.current[model] = str(
                        self.client.get_model_version_by_alias(model, "champion").version
                    )
            self._checked = now
        return dict(self.current)


class Simulator:
    """Advance the engine on a clock and keep the rendered /metrics page fresh."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        config = json.loads((directory / "sim.json").read_text())
        self.config = config
        self.scenario = Scenario.model_validate(config["scenario"])
        # A positive onset counts from the moment `up` saw the first scrape (it writes LIVE_FILE),
        # so what changes at onset is scraped before and after: backfilled series end without
        # staleness markers and would otherwise linger for five minutes.
        onset = float(config["scenario"]["fault"]["onset"])
        self.started: float | None = None if onset >= 0 else float(config["started"])
        self.quality = RegistryQuality(config["tracking_uri"], config["seed"])
        self.engine = Engine.load(
            SANDBOX, self.quality, json.loads((directory / "engine.json").read_text())
        )
        for model, slo in config.get("slo", {}).items():
            self.engine.models[model].slo_auc = slo
        self.champions = Champions(config["tracking_uri"], list(self.engine.models))
        self.changelog = ChangeLog(Path(config["changelog"]))
        self.logs = LogWriter(
            directory / "logs", self.scenario.fault, self.started, config["seed"] + 1
        )
        self.inference = InferenceLog(directory / "inference", self.quality, config["seed"])
        self.onset_done = bool(config.get("onset_done"))
        self.page = render(self.engine.samples())
        self.last = float(config["history_end"])
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def tick(self, now: float) -> None:
        """Advance from the last tick to `now`."""
        self._onset(now)
        dt = max(0.001, now - self.last)
        eff = (
            effects_at(self.scenario.fault, SANDBOX, self.started, now)
            if self.started is not None
            else Effects()
        )
        self.engine.step(now, dt, eff, self.champions.get(now))
        self.logs.emit(now, dt, self.engine)
        for model, state in self.engine.models.items():
            if state.version:
                self.inference.append(
                    now, model, state.version, eff.drift.get(model, 0.0), eff.scale.get(model, {})
                )
        page = render(self.engine.samples())
        with self.lock:
            self.page = page
        self.last = now

    def _onset(self, now: float) -> None:
        """Play the scenario's one-off action (alias move, deploy, config push) at its onset."""
        fault = self.scenario.fault
        if self.started is None:
            live = self.directory / LIVE_FILE
            if not live.exists():
                return
            self.started = self.logs.started = float(live.read_text())
        if self.onset_done or now < self.started + fault.onset:
            return
        self.onset_done = True
        if fault.type == "bad-model-release":
            from opsloop.sandbox.ml.registry import move_alias

            move_alias(
                self.config["tracking_uri"],
                self.changelog,
                fault.target,
                "champion",
                self.config["bad_candidates"][fault.target],
                who="ci-bot",
                reason="nightly release: offline validation passed",
                at=now,
            )
        elif event := change_event(fault):
            who, kind, summary, detail = event
            self.changelog.record(ChangeEvent(now, who, kind, fault.target, summary, detail))
            if kind == "deploy":  # kube-state-metrics shows the rollout from the next scrape
                self.engine.deploys.setdefault(fault.target, []).append(now)

    def run(self) -> None:
        """Tick until stopped."""
        next_tick = time.time()
        while not self.stopping.is_set():
            try:
                self.tick(time.time())
            except Exception:  # keep exporting; the traceback goes to simulator.log
                traceback.print_exc()
                sys.stderr.flush()
            next_tick += TICK_S
            self.stopping.wait(max(0.0, next_tick - time.time()))
        self.logs.close()


def serve(sim: Simulator, port: int) -> ThreadingHTTPServer:
    """Serve /metrics and /healthz on loopback in a background thread."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # scraped every second: keep the log quiet
            pass

        def do_GET(self) -> None:
            if self.path.startswith("/metrics"):
                with sim.lock:
                    body = sim.page.encode()
                content_type = "text/plain; version=0.0.4; charset=utf-8"
            elif self.path.startswith("/healthz"):
                body, content_type = b"ok\n", "text/plain"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> int:
    """Run the simulator until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(description="Run the opsloop sandbox simulator.")
    parser.add_argument("--dir", type=Path, required=True, help="sandbox directory")
    args = parser.parse_args(argv)
    sim = Simulator(args.dir)
    # Catch up from the end of history before the first scrape. Served first, the history-end
    # page would be scraped, then the whole gap's requests would land in one second's step and
    # every service would show a traffic surge for half a minute.
    sim.tick(time.time())
    server = serve(sim, int(sim.config["exporter_port"]))
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: sim.stopping.set())
    try:
        sim.run()
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
