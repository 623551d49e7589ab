"""The sandbox world's services and the metric history they emit."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sandbox.openmetrics import Family

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class Service:
    """A simulated service: traffic, latency and resource profile."""

    name: str
    namespace: str
    pods: int
    rps: float  # requests per second per pod at the daily mean
    latency_median: float  # seconds
    error_ratio: float
    memory_mb: float
    cpu_per_rps: float  # CPU seconds per request
    http: bool = True


TOPOLOGY: tuple[Service, ...] = (
    Service("gateway", "edge", 3, 40.0, 0.020, 0.001, 180, 0.0008),
    Service("checkout", "shop", 3, 12.0, 0.120, 0.002, 420, 0.0040),
    Service("fraud-api", "ml", 2, 15.0, 0.045, 0.001, 900, 0.0060),
    Service("recommender", "ml", 2, 20.0, 0.060, 0.001, 1100, 0.0050),
    Service("feature-store", "ml", 2, 35.0, 0.008, 0.0005, 650, 0.0010),
    Service("postgres", "data", 1, 60.0, 0.003, 0.0, 2048, 0.0004, http=False),
)

CALLS: dict[str, tuple[str, ...]] = {
    "gateway": ("checkout", "recommender"),
    "checkout": ("fraud-api",),
    "fraud-api": ("feature-store",),
    "recommender": ("feature-store",),
    "feature-store": ("postgres",),
}


def diurnal(timestamps: np.ndarray) -> np.ndarray:
    """Return a daily traffic shape around 1.0: low at night, peak in the afternoon (UTC)."""
    hours = (timestamps % 86400) / 3600.0
    weekday = ((timestamps // 86400) + 4) % 7  # 1970-01-01 was a Thursday
    weekend = np.where(weekday >= 5, 0.8, 1.0)
    return weekend * (1.0 + 0.35 * np.sin(2 * np.pi * (hours - 9.0) / 24.0))


_erf = np.vectorize(math.erf)


def _lognormal_cdf(x: float, median: np.ndarray, sigma: float = 0.55) -> np.ndarray:
    z = (math.log(x) - np.log(median)) / (sigma * math.sqrt(2.0))
    return 0.5 * (1.0 + _erf(z))


def build_history(
    timestamps: np.ndarray, seed: int = 7, services: tuple[Service, ...] = TOPOLOGY
) -> list[Family]:
    """Generate counters, histograms and gauges for every pod over `timestamps`."""
    rng = np.random.default_rng(seed)
    step = float(timestamps[1] - timestamps[0]) if len(timestamps) > 1 else 15.0
    shape = diurnal(timestamps)
    requests = Family("http_requests", "counter", "HTTP requests by status code.")
    latency = Family("http_request_duration_seconds", "histogram", "HTTP request latency.")
    cpu = Family("process_cpu_seconds", "counter", "CPU time consumed.")
    memory = Family("process_resident_memory_bytes", "gauge", "Resident memory.")
    restarts = Family("kube_pod_container_status_restarts", "counter", "Container restarts.")
    up = Family("up", "gauge", "Target is up.")
    for svc in services:
        for i in range(svc.pods):
            pod = f"{svc.name}-{_pod_suffix(svc.name, i)}"
            labels = {
                "service": svc.name,
                "namespace": svc.namespace,
                "pod": pod,
                "instance": f"10.0.{len(svc.name)}.{10 + i}:8080",
                "job": svc.name,
            }
            rate = svc.rps * shape * rng.normal(1.0, 0.04, len(timestamps)).clip(0.7, 1.3)
            total = rng.poisson(rate * step)
            if svc.http:
                errors = rng.binomial(total, svc.error_ratio)
                not_found = rng.binomial(total - errors, 0.01)
                ok = total - errors - not_found
                for code, counts in (("200", ok), ("404", not_found), ("500", errors)):
                    requests.add(
                        "http_requests_total",
                        {**labels, "code": code},
                        np.cumsum(counts).astype(float),
                    )
                median = (
                    svc.latency_median
                    * (1 + 0.15 * (shape - 1))
                    * rng.normal(1.0, 0.03, len(timestamps)).clip(0.8, 1.2)
                )
                cumulative = np.zeros(len(timestamps))
                for le in LATENCY_BUCKETS:
                    in_bucket = np.round(total * _lognormal_cdf(le, median))
                    cumulative = np.maximum(cumulative, in_bucket)
                    latency.add(
                        "http_request_duration_seconds_bucket",
                        {**labels, "le": repr(le)},
                        np.cumsum(cumulative),
                    )
                latency.add(
                    "http_request_duration_seconds_bucket",
                    {**labels, "le": "+Inf"},
                    np.cumsum(total).astype(float),
                )
                latency.add(
                    "http_request_duration_seconds_count", labels, np.cumsum(total).astype(float)
                )
                latency.add(
                    "http_request_duration_seconds_sum",
                    labels,
                    np.cumsum(total * median * np.exp(0.55**2 / 2)),
                )
            cpu_used = total * svc.cpu_per_rps + 0.02 * step
            cpu.add("process_cpu_seconds_total", labels, np.round(np.cumsum(cpu_used), 3))
            mem = svc.memory_mb * 2**20 * (1 + 0.015 * rng.standard_normal(len(timestamps)))
            memory.add("process_resident_memory_bytes", labels, np.round(mem))
            restarts.add(
                "kube_pod_container_status_restarts_total", labels, np.zeros(len(timestamps))
            )
            up.add("up", labels, np.ones(len(timestamps)))
    return [requests, latency, cpu, memory, restarts, up]


def _pod_suffix(name: str, index: int) -> str:
    """Return a stable pod-hash-like suffix, so pod names look like Kubernetes ones."""
    letters = "bcdfghjklmnpqrstvwxz2456789"
    seed = sum(ord(c) * (i + 1) for i, c in enumerate(name))
    a = "".join(letters[(seed * (k + 3)) % len(letters)] for k in range(5))
    b = "".join(letters[(seed + 7 * index + k * 11) % len(letters)] for k in range(5))
    return f"{a[:5]}-{b}"
