"""The simulation: advance every pod and model by `dt` seconds and expose their metrics.

One engine serves both the backfilled history (stepped at 60 s and 15 s) and the live
exporter (stepped each second), so counters continue across the boundary.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from opsloop.sandbox.faults import Effects
from opsloop.sandbox.series import (
    CODES,
    Sample,
    model_samples,
    pod_samples,
    workload_samples,
)
from opsloop.sandbox.world import (
    INFERENCE_BUCKETS,
    LATENCY_BUCKETS,
    LATENCY_SIGMA,
    SCORE_BUCKETS,
    World,
    diurnal,
    lognormal_cdf,
)

CFS_PERIOD_S = 0.1  # the kernel's default CFS period


@dataclass
class Quality:
    """How a model version really performs on the data it sees now."""

    auc: float
    score_cdf: list[float]  # P(score ≤ le) for SCORE_BUCKETS
    score_mean: float
    psi: dict[str, float]
    inference_s: float  # median inference latency


QualityFn = Callable[[str, str, float, tuple[tuple[str, float], ...]], Quality]


@dataclass
class PodState:
    """Cumulative counters and gauges of one pod."""

    service: str
    pod: str
    instance: str
    requests: dict[str, float] = field(default_factory=lambda: dict.fromkeys(CODES, 0.0))
    # Latency histogram per status code, as OpenTelemetry's http.server.request.duration is.
    buckets: dict[str, list[float]] = field(
        default_factory=lambda: {c: [0.0] * (len(LATENCY_BUCKETS) + 1) for c in CODES}
    )
    latency_sum: dict[str, float] = field(default_factory=lambda: dict.fromkeys(CODES, 0.0))
    cpu: float = 0.0
    cfs_periods: float = 0.0  # CFS scheduler periods, and those the CPU limit throttled
    cfs_throttled: float = 0.0
    memory_mb: float = 0.0
    restarts: float = 0.0
    oom_killed: bool = False  # the last termination was an OOM kill
    # Calls to callees that serve no HTTP (the database): callee → error type ("" = none) →
    # (latency buckets, latency sum), as a database client histogram records them.
    clients: dict[str, dict[str, tuple[list[float], float]]] = field(default_factory=dict)
    leak_mb: float = 0.0
    leak_factor: float = 1.0


@dataclass
class ModelState:
    """Cumulative counters and quality gauges of one served model."""

    model: str
    version: str = ""
    slo_auc: float = 0.8
    predictions: dict[str, float] = field(default_factory=dict)
    score_buckets: list[float] = field(default_factory=lambda: [0.0] * (len(SCORE_BUCKETS) + 1))
    score_sum: float = 0.0
    infer_buckets: list[float] = field(default_factory=lambda: [0.0] * (len(INFERENCE_BUCKETS) + 1))
    infer_sum: float = 0.0
    auc: float = 0.0
    validation_auc: dict[str, float] = field(default_factory=dict)
    psi: dict[str, float] = field(default_factory=dict)


@dataclass
class Engine:
    """The world's state and the rules that advance it."""

    world: World
    quality: QualityFn
    seed: int = 7
    pods: list[PodState] = field(default_factory=list)
    models: dict[str, ModelState] = field(default_factory=dict)
    last: dict[str, dict[str, float]] = field(default_factory=dict)  # per-service rates, for logs
    # service → deploy times: kube-state-metrics shows each as a generation step and a new
    # ReplicaSet once the engine's clock (`now`) passes it.
    deploys: dict[str, list[float]] = field(default_factory=dict)
    now: float = 0.0

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)
        # Client-side calls draw from their own stream, so adding them changed no other noise.
        self.client_rng = np.random.default_rng(self.seed + 1_000_003)
        if not self.pods:
            for svc in self.world.services:
                for i, pod in enumerate(svc.pod_names()):
                    self.pods.append(
                        PodState(
                            svc.name,
                            pod,
                            f"10.0.{len(svc.name)}.{10 + i}:8080",
                            memory_mb=svc.memory_mb,
                            leak_factor=1.0 + 0.15 * i,
                        )
                    )
        for svc in self.world.services:
            if svc.model and svc.model not in self.models:
                self.models[svc.model] = ModelState(svc.model)

    # -- advancing -------------------------------------------------------------------------

    def step(self, t: float, dt: float, eff: Effects, champions: dict[str, str]) -> None:
        """Advance the world from `t - dt` to `t` under the given effects and champions."""
        self.now = t
        shape = float(diurnal(t))
        latency = self._latencies(shape, eff)
        errors = self._error_ratios(latency, eff)
        self.last = {}
        for pod in self.pods:
            svc = self.world.by_name[pod.service]
            rate = svc.rps * shape * eff.traffic.get(svc.name, 1.0) * self.rng.normal(1, 0.04)
            total = float(self.rng.poisson(max(rate, 0.0) * dt))
            err = float(self.rng.binomial(int(total), min(1.0, errors[svc.name])))
            not_found = float(self.rng.binomial(int(total - err), 0.01))
            median = latency[svc.name] * self.rng.normal(1.0, 0.03)
            cdf = lognormal_cdf_many(median)
            mean = median * np.exp(LATENCY_SIGMA**2 / 2)
            for code, n in (("500", err), ("404", not_found), ("200", total - err - not_found)):
                pod.requests[code] += n
                for i, share in enumerate(cdf):
                    pod.buckets[code][i] += round(n * share)
                pod.buckets[code][-1] += n
                pod.latency_sum[code] += n * mean
            self._client_calls(pod, svc, total, latency, errors)
            demand = total * svc.cpu_per_request * eff.cpu.get(svc.name, 1.0) + 0.02 * dt
            allowed = svc.cpu_limit * dt
            pod.cpu += min(demand, allowed)
            periods = dt / CFS_PERIOD_S
            pod.cfs_periods += periods
            if demand > allowed:  # the share of periods in which the quota ran out
                pod.cfs_throttled += periods * min(1.0, (demand - allowed) / demand * 2)
            self._memory(pod, svc.memory_mb, svc.memory_limit_mb, dt, eff)
            agg = self.last.setdefault(svc.name, {"requests": 0.0, "errors": 0.0})
            agg["requests"] += total
            agg["errors"] += err
            agg["latency"] = latency[svc.name]
            agg["error_ratio"] = errors[svc.name]
        for model, state in self.models.items():
            self._model(state, champions.get(model, state.version), dt, eff)

    def _client_calls(
        self, pod: PodState, svc: Any, total: float, latency: dict, errors: dict
    ) -> None:
        """Record this step's calls to callees without HTTP metrics, as their client sees them."""
        for callee, per_request in svc.calls:
            if self.world.by_name[callee].http:
                continue
            calls = float(self.client_rng.poisson(max(total * per_request, 0.0)))
            failed = float(self.client_rng.binomial(int(calls), min(1.0, errors[callee])))
            cdf = lognormal_cdf_many(latency[callee])
            mean = latency[callee] * np.exp(LATENCY_SIGMA**2 / 2)
            by_error = pod.clients.setdefault(callee, {})
            for error, n in (("", calls - failed), ("timeout", failed)):
                buckets, total_s = by_error.get(error, ([0.0] * (len(LATENCY_BUCKETS) + 1), 0.0))
                for i, share in enumerate(cdf):
                    buckets[i] += round(n * share)
                buckets[-1] += n
                by_error[error] = (buckets, total_s + n * mean)

    def _latencies(self, shape: float, eff: Effects) -> dict[str, float]:
        """Median latency per service: own time (slowed by load, CPU and faults) plus callees."""
        out: dict[str, float] = {}

        def resolve(name: str) -> float:
            if name in out:
                return out[name]
            svc = self.world.by_name[name]
            own = svc.latency * (1 + 0.15 * (shape - 1)) * eff.latency.get(name, 1.0)
            util = svc.cpu_per_request * eff.cpu.get(name, 1.0) * svc.rps * shape / svc.cpu_limit
            if util > 0.8:  # queueing once pods run hot
                own *= 1 + 12 * (util - 0.8) ** 2
            out[name] = own + sum(
                n * min(resolve(c), self.world.by_name[name].timeout) for c, n in svc.calls
            )
            return out[name]

        for svc in self.world.services:
            resolve(svc.name)
        return out

    def _error_ratios(self, latency: dict[str, float], eff: Effects) -> dict[str, float]:
        """5xx ratio per service: its own, injected faults, callee errors and timeouts."""
        out: dict[str, float] = {}

        def resolve(name: str) -> float:
            if name in out:
                return out[name]
            svc = self.world.by_name[name]
            ratio = svc.error_ratio + eff.errors.get(name, 0.0)
            for callee, _ in svc.calls:
                timeouts = 1.0 - float(lognormal_cdf(svc.timeout, np.array(latency[callee])))
                ratio += 0.5 * resolve(callee) + timeouts
            out[name] = min(1.0, ratio)
            return out[name]

        for svc in self.world.services:
            resolve(svc.name)
        return out

    def _memory(self, pod: PodState, base: float, limit: float, dt: float, eff: Effects) -> None:
        leak = eff.leak_mb_per_min.get(pod.service, 0.0) * pod.leak_factor * dt / 60.0
        pod.leak_mb += leak
        pod.memory_mb = base * float(self.rng.normal(1.0, 0.01)) + pod.leak_mb
        if pod.memory_mb >= limit:  # OOMKilled: the container restarts empty
            pod.restarts += 1
            pod.oom_killed = True
            pod.leak_mb = 0.0
            pod.memory_mb = base

    def _model(self, state: ModelState, version: str, dt: float, eff: Effects) -> None:
        if not version:
            return
        state.version = version
        scale = tuple(sorted(eff.scale.get(state.model, {}).items()))
        q = self.quality(state.model, version, eff.drift.get(state.model, 0.0), scale)
        served = sum(
            self.last.get(s.name, {}).get("requests", 0.0)
            for s in self.world.services
            if s.model == state.model
        )
        state.predictions[version] = state.predictions.get(version, 0.0) + served
        for i, share in enumerate(q.score_cdf):
            state.score_buckets[i] += round(served * share)
        state.score_buckets[-1] += served
        state.score_sum += served * q.score_mean
        infer = lognormal_cdf_many(q.inference_s, INFERENCE_BUCKETS)
        for i, share in enumerate(infer):
            state.infer_buckets[i] += round(served * share)
        state.infer_buckets[-1] += served
        state.infer_sum += served * q.inference_s
        # Labels arrive in batches; the online AUC is a noisy, smoothed estimate.
        noisy = q.auc + float(self.rng.normal(0, 0.004))
        alpha = 1.0 if state.auc == 0 else min(1.0, dt / 6.0)
        state.auc += alpha * (noisy - state.auc)
        state.psi = {
            k: round(v + abs(float(self.rng.normal(0, 0.004))), 4) for k, v in q.psi.items()
        }

    # -- reading ---------------------------------------------------------------------------

    def samples(self) -> Iterator[Sample]:
        """Yield every current sample with its family metadata (opsloop.sandbox.series)."""
        yield from pod_samples(self)
        yield from workload_samples(self)
        yield from model_samples(self)

    # -- persistence -----------------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        """Return the state as JSON-able data, so the live exporter continues the history."""
        from dataclasses import asdict

        return {
            "seed": self.seed,
            "rng": self.rng.bit_generator.state,
            "client_rng": self.client_rng.bit_generator.state,
            "pods": [asdict(p) for p in self.pods],
            "models": {k: asdict(m) for k, m in self.models.items()},
            "deploys": self.deploys,
            "now": self.now,
        }

    @classmethod
    def load(cls, world: World, quality: QualityFn, data: dict[str, Any]) -> Engine:
        """Rebuild an engine from `dump()` output."""
        engine = cls(
            world,
            quality,
            seed=data["seed"],
            pods=[PodState(**p) for p in data["pods"]],
            models={k: ModelState(**m) for k, m in data["models"].items()},
            deploys=data.get("deploys", {}),
            now=data.get("now", 0.0),
        )
        engine.rng.bit_generator.state = data["rng"]
        if "client_rng" in data:
            engine.client_rng.bit_generator.state = data["client_rng"]
        return engine


def lognormal_cdf_many(median: float, bounds: tuple[float, ...] = LATENCY_BUCKETS) -> list[float]:
    """Return P(x ≤ le) for each bucket bound, for a log-normal with this median."""
    med = np.array(max(median, 1e-9))
    return [float(lognormal_cdf(le, med)) for le in bounds]
