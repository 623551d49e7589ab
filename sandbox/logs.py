"""JSON-lines logs per service: ordinary chatter plus the errors a scenario causes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from opsloop.sandbox.engine import Engine
from opsloop.sandbox.faults import consumers, intensity
from opsloop.sandbox.ml.data import FEATURES, SCORED_UNITS, UNIT_SCORES, drifted_features
from opsloop.sandbox.scenario import Fault
from opsloop.sandbox.wording import config_error, slow_line
from opsloop.sandbox.world import SANDBOX, Service, World

SLOW_CALL_S = 1.0  # a callee this slow (median) makes its callers' errors timeouts
REQUEST_SAMPLE = 0.005  # share of requests that leave an access-log line
PATHS = {
    "gateway": ["/api/checkout", "/api/recommendations", "/api/cart", "/healthz"],
    "checkout": ["/checkout/confirm", "/checkout/quote", "/checkout/charge"],
    "fraud-api": ["/v1/score"],
    "recommender": ["/v1/rank", "/v1/similar"],
    "feature-store": ["/features/transaction", "/features/user", "/features/item"],
}
CHATTER = {
    "postgres": ["checkpoint complete: wrote {n} buffers", "autovacuum: table features done"],
    "feature-store": ["cache hit ratio {r}", "db pool: {n} active connections"],
    "fraud-api": ["scored batch of {n} transactions", "model cache warm"],
    "recommender": ["candidate generation returned {n} items", "re-rank done"],
    "checkout": ["cart reconciled", "payment provider latency p50 {n}ms"],
    "gateway": ["upstream pool healthy", "rate limiter tokens {n}"],
}


class LogWriter:
    """Append log lines to `<dir>/<service>.log`, one JSON object per line."""

    def __init__(self, directory: Path, fault: Fault, started: float | None, seed: int) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.world: World = SANDBOX  # the engine's world, from the first emit on
        self._latency: dict[str, float] = {}  # median latency per service at the last emit
        self.fault, self.started = fault, started
        self.rng = np.random.default_rng([seed, 99])
        self._files: dict[str, TextIO] = {}
        self._versions: dict[str, str] = {}
        self._restarts: dict[str, float] = {}

    def close(self) -> None:
        """Flush and close every file."""
        for handle in self._files.values():
            handle.close()
        self._files.clear()

    def emit(self, t: float, dt: float, engine: Engine) -> None:
        """Write the lines services would have logged during (t - dt, t]."""
        self.world = engine.world
        self._latency = {name: rates.get("latency", 0.0) for name, rates in engine.last.items()}
        for pod in engine.pods:
            stats = engine.last.get(pod.service, {})
            pods = sum(1 for p in engine.pods if p.service == pod.service)
            requests = stats.get("requests", 0.0) / max(pods, 1)
            errors = stats.get("errors", 0.0) / max(pods, 1)
            for _ in range(self.rng.poisson(requests * REQUEST_SAMPLE + 0.02 * dt)):
                self._chatter(t - dt * self.rng.random(), pod.service, pod.pod, stats)
            for _ in range(self.rng.poisson(errors * 0.3)):
                self._error(t - dt * self.rng.random(), pod.service, pod.pod, stats)
            self._restart_lines(t, pod.service, pod.pod, pod.restarts)
        self._fault_lines(t, dt, engine)
        for model, state in engine.models.items():
            if state.version and self._versions.get(model) != state.version:
                service = engine.world.serving(model)
                if service is not None:
                    previous = self._versions.get(model)
                    self._write(
                        t,
                        service.name,
                        service.pod_names()[0],
                        "INFO",
                        f"loaded model {model} version {state.version} (alias champion)",
                        model=model,
                        version=state.version,
                        previous=previous,
                    )
                self._versions[model] = state.version
        for handle in self._files.values():  # readers tail these files live
            handle.flush()

    # -- line kinds ------------------------------------------------------------------------

    def _chatter(self, t: float, service: str, pod: str, stats: dict[str, float]) -> None:
        if service in PATHS and self.rng.random() < 0.8:
            ms = int(stats.get("latency", 0.05) * 1000 * self.rng.lognormal(0, 0.4))
            path = PATHS[service][int(self.rng.integers(len(PATHS[service])))]
            self._write(
                t,
                service,
                pod,
                "INFO",
                f"GET {path} 200 in {ms}ms",
                method="GET",
                path=path,
                status=200,
                latency_ms=ms,
            )
            return
        template = CHATTER[service][int(self.rng.integers(len(CHATTER[service])))]
        self._write(
            t,
            service,
            pod,
            "INFO",
            template.format(
                n=int(self.rng.integers(3, 400)), r=round(float(self.rng.uniform(0.85, 0.99)), 2)
            ),
        )

    def _error(self, t: float, service: str, pod: str, stats: dict[str, float]) -> None:
        path = PATHS.get(service, ["/"])[0]
        message, extra = self._error_message(t, service, stats)
        self._write(
            t, service, pod, "ERROR", message, method="POST", path=path, status=500, **extra
        )

    def _error_message(self, t: float, service: str, stats: dict[str, float]) -> tuple[str, dict]:
        fault, k = self.fault, self._intensity(t)
        svc = self.world.by_name[service]
        if fault.type == "config-error" and service == fault.target and k > 0:
            return config_error(svc)
        callee = self._slow_callee(svc, k)
        if callee:
            return (
                f"upstream timeout calling {callee} after {svc.timeout * 1000:.0f}ms",
                {"error": "UpstreamTimeout", "upstream": callee},
            )
        return ("internal error while handling request", {"error": "InternalServerError"})

    def _slow_callee(self, svc: Service, k: float) -> str | None:
        """Return the callee whose slowness a timeout names: the one on the way to a slow
        dependency, else one slow enough to time out; None when no call is slow."""
        direct = [c for c, _ in svc.calls]
        target = self.fault.target
        if self.fault.type == "dependency-latency" and k > 0:
            for callee in direct:
                if callee == target or target in self.world.callees(callee):
                    return callee
        return next((c for c in direct if self._latency.get(c, 0.0) > SLOW_CALL_S), None)

    def _restart_lines(self, t: float, service: str, pod: str, restarts: float) -> None:
        if restarts > self._restarts.get(pod, restarts):
            self._write(
                t - 1,
                service,
                pod,
                "ERROR",
                "container killed: OOMKilled (exit code 137)",
                error="OOMKilled",
            )
            self._write(t, service, pod, "INFO", f"starting {service}", event="startup")
        self._restarts[pod] = restarts

    def _fault_lines(self, t: float, dt: float, engine: Engine) -> None:
        fault = self.fault
        k = self._intensity(t)
        if k <= 0 or fault.type in ("none", "config-error"):
            return
        target = fault.target
        svc = engine.world.by_name.get(target) or engine.world.serving(target)
        if svc is None:
            return
        pod = svc.pod_names()[int(self.rng.integers(svc.pods))]
        rate = 0.5 * k * dt  # lines per tick, so the pattern stands out from chatter
        for _ in range(self.rng.poisson(rate)):
            level, message, extra = _fault_message(fault.type, svc, target, engine, self.rng)
            self._write(t - dt * self.rng.random(), svc.name, pod, level, message, **extra)

    def _intensity(self, t: float) -> float:
        """Return the fault's strength at `t`; nothing before the scenario clock starts."""
        return 0.0 if self.started is None else intensity(self.fault, self.started, t)

    # -- output ----------------------------------------------------------------------------

    def _write(self, t: float, service: str, pod: str, level: str, msg: str, **extra: Any) -> None:
        handle = self._files.get(service)
        if handle is None:
            handle = self._files[service] = (self.directory / f"{service}.log").open(
                "a", encoding="utf-8"
            )
        record = {
            "timestamp": datetime.fromtimestamp(t, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": level,
            "service": service,
            "pod": pod,
            "msg": msg,
            "trace_id": f"{int(self.rng.integers(0, 2**63)):016x}",
            **{k: v for k, v in extra.items() if v is not None},
        }
        handle.write(json.dumps(record) + "\n")


def _fault_message(
    kind: str, svc: Service, target: str, engine: Engine, rng: np.random.Generator
) -> tuple[str, str, dict[str, Any]]:
    """Return one log line of a `kind` fault on `target`, logged by `svc` (which runs it)."""
    if kind == "dependency-latency":
        ms = int(engine.last.get(target, {}).get("latency", 0.2) * 1000 * rng.lognormal(0, 0.3))
        return ("WARN", *slow_line(svc, ms, PATHS.get(svc.name, ["/"])[0]))
    if kind == "memory-leak":
        # The heap grows to just under the container's limit before the OOM kill.
        heap = round(svc.memory_limit_mb / 1024 * float(rng.uniform(0.75, 0.975)), 2)
        return (
            "WARN",
            f"GC pause {int(rng.integers(300, 1500))}ms, heap {heap}GiB",
            {"heap_gib": heap},
        )
    if kind == "cpu-saturation":
        return (
            "WARN",
            f"request queue depth {int(rng.integers(180, 400))} exceeds 200; CPU throttled",
            {"queue_depth_limit": 200},
        )
    if kind == "schema-change":
        value = round(float(rng.uniform(2, 99)), 1)
        readers = consumers(engine.world, target)
        model = readers[int(rng.integers(len(readers)))]
        feature = UNIT_SCORES[model]
        return (
            "WARN",
            f"feature {feature}={value} outside training range [0, 1]",
            {"feature": feature, "value": value, "consumer": model},
        )
    if kind == "data-drift":
        value = round(float(rng.uniform(0.25, 0.6)), 2)
        feature = (*drifted_features(target), *FEATURES[target])[0]
        return (
            "WARN",
            f"feature monitor: {feature} PSI {value} above 0.25",
            {"feature": feature, "psi": value, "model": target},
        )
    if kind == "seasonal-peak":
        return ("INFO", "partner batch import in progress (partner=acme)", {"partner": "acme"})
    if kind == "bad-model-release":
        return (
            "INFO",
            f"champion {target} scored {int(rng.integers(50, 500))} {SCORED_UNITS[target]}",
            {"model": target},
        )
    return ("INFO", "ok", {})
