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
from opsloop.sandbox.world import (
    INFERENCE_BUCKETS,
    LATENCY_BUCKETS,
    LATENCY_SIGMA,
    SCORE_BUCKETS,
    World,
    diurnal,
    lognormal_cdf,
)

CODES = ("200", "404", "500")
Sample = tuple[str, str, str, str, tuple[tuple[str, str], ...], float]
# (family, type, help, sample name, labels, value)


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
    buckets: list[float] = field(default_factory=lambda: [0.0] * (len(LATENCY_BUCKETS) + 1))
    latency_sum: float = 0.0
    cpu: float = 0.0
    memory_mb: float = 0.0
    restarts: float = 0.0
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

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)
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
            pod.requests["500"] += err
            pod.requests["404"] += not_found
            pod.requests["200"] += total - err - not_found
            median = latency[svc.name] * self.rng.normal(1.0, 0.03)
            cdf = lognormal_cdf_many(median)
            for i, share in enumerate(cdf):
                pod.buckets[i] += round(total * share)
            pod.buckets[-1] += total
            pod.latency_sum += total * median * np.exp(LATENCY_SIGMA**2 / 2)
            demand = total * svc.cpu_per_request * eff.cpu.get(svc.name, 1.0) + 0.02 * dt
            pod.cpu += min(demand, svc.cpu_limit * dt)
            self._memory(pod, svc.memory_mb, svc.memory_limit_mb, dt, eff)
            agg = self.last.setdefault(svc.name, {"requests": 0.0, "errors": 0.0})
            agg["requests"] += total
            agg["errors"] += err
            agg["latency"] = latency[svc.name]
            agg["error_ratio"] = errors[svc.name]
        for model, state in self.models.items():
            self._model(state, champions.get(model, state.version), dt, eff)

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
        """Yield every current sample with its family metadata."""
        yield from self._pod_samples()
        yield from self._model_samples()

    def _pod_samples(self) -> Iterator[Sample]:
        req = ("http_requests", "counter", "HTTP requests by status code.")
        lat = ("http_request_duration_seconds", "histogram", "HTTP request latency.")
        cpu = ("process_cpu_seconds", "counter", "CPU time consumed.")
        mem = ("process_resident_memory_bytes", "gauge", "Resident memory.")
        limit = ("container_spec_memory_limit_bytes", "gauge", "Memory limit of the pod.")
        cpu_limit = ("container_spec_cpu_limit_cores", "gauge", "CPU limit of the pod.")
        restarts = ("kube_pod_container_status_restarts", "counter", "Container restarts.")
        for pod in self.pods:
            svc = self.world.by_name[pod.service]
            base = (
                ("service", pod.service),
                ("namespace", svc.namespace),
                ("pod", pod.pod),
                ("instance", pod.instance),
                ("job", pod.service),
            )
            if svc.http:
                for code in CODES:
                    yield (*req, "http_requests_total", (*base, ("code", code)), pod.requests[code])
                yield from _histogram(lat, base, LATENCY_BUCKETS, pod.buckets, pod.latency_sum)
            yield (*cpu, "process_cpu_seconds_total", base, round(pod.cpu, 4))
            yield (*mem, "process_resident_memory_bytes", base, round(pod.memory_mb * 2**20))
            yield (*limit, "container_spec_memory_limit_bytes", base, svc.memory_limit_mb * 2**20)
            yield (*cpu_limit, "container_spec_cpu_limit_cores", base, svc.cpu_limit)
            yield (*restarts, "kube_pod_container_status_restarts_total", base, pod.restarts)

    def _model_samples(self) -> Iterator[Sample]:
        for state in self.models.values():
            svc = self.world.serving(state.model)
            # job/instance as a model server would carry them; without them the live scrape
            # would attach the exporter's own and split each series from its history.
            service = (
                (("service", svc.name), ("job", svc.name), ("instance", f"{svc.name}:9100"))
                if svc
                else ()
            )
            v = state.version
            base = (*service, ("model", state.model), ("version", v))
            for version, count in state.predictions.items():
                yield (
                    "model_predictions",
                    "counter",
                    "Predictions served by model version.",
                    "model_predictions_total",
                    (*service, ("model", state.model), ("version", version)),
                    count,
                )
            if not v:
                continue
            yield from _histogram(
                ("model_prediction_score", "histogram", "Predicted probability."),
                base,
                SCORE_BUCKETS,
                state.score_buckets,
                state.score_sum,
            )
            yield from _histogram(
                ("model_inference_duration_seconds", "histogram", "Model inference latency."),
                base,
                INFERENCE_BUCKETS,
                state.infer_buckets,
                state.infer_sum,
            )
            # The model-monitoring contract opsloop documents (docs/conventions.md).
            yield (
                "model_quality",
                "gauge",
                "Online quality on delayed labels of recent traffic, by score.",
                "model_quality",
                (*base, ("metric", "auc")),
                round(state.auc, 4),
            )
            yield (
                "model_quality_objective",
                "gauge",
                "Quality below this pages someone.",
                "model_quality_objective",
                (*service, ("model", state.model), ("metric", "auc")),
                state.slo_auc,
            )
            yield (
                "model_serving_info",
                "gauge",
                "Version served, by alias.",
                "model_serving_info",
                (*base, ("alias", "champion")),
                1.0,
            )
            for feature, value in sorted(state.psi.items()):
                yield (
                    "model_feature_drift",
                    "gauge",
                    "Drift of a live input feature against training, by method.",
                    "model_feature_drift",
                    (*service, ("model", state.model), ("feature", feature), ("method", "psi")),
                    value,
                )

    # -- persistence -----------------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        """Return the state as JSON-able data, so the live exporter continues the history."""
        from dataclasses import asdict

        return {
            "seed": self.seed,
            "rng": self.rng.bit_generator.state,
            "pods": [asdict(p) for p in self.pods],
            "models": {k: asdict(m) for k, m in self.models.items()},
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
        )
        engine.rng.bit_generator.state = data["rng"]
        return engine


def lognormal_cdf_many(median: float, bounds: tuple[float, ...] = LATENCY_BUCKETS) -> list[float]:
    """Return P(x ≤ le) for each bucket bound, for a log-normal with this median."""
    med = np.array(max(median, 1e-9))
    return [float(lognormal_cdf(le, med)) for le in bounds]


def _histogram(
    family: tuple[str, str, str],
    base: tuple[tuple[str, str], ...],
    bounds: tuple[float, ...],
    counts: list[float],
    total: float,
) -> Iterator[Sample]:
    """Yield the _bucket, _sum and _count samples of one histogram series."""
    name = family[0]
    for le, value in zip((*bounds, "+Inf"), counts, strict=True):
        yield (*family, f"{name}_bucket", (*base, ("le", _le(le))), value)
    yield (*family, f"{name}_sum", base, total)
    yield (*family, f"{name}_count", base, counts[-1])


def _le(value: float | str) -> str:
    return value if isinstance(value, str) else repr(float(value))
