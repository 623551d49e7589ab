"""The sandbox world: services, who calls whom, which model each serves, and their limits."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SCORE_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
INFERENCE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1)
LATENCY_SIGMA = 0.55


@dataclass(frozen=True)
class Service:
    """A simulated service: traffic, latency and resource profile."""

    name: str
    namespace: str
    pods: int
    rps: float  # requests per second per pod at the daily mean
    latency: float  # own median processing time, seconds (callees add theirs)
    error_ratio: float
    memory_mb: float
    memory_limit_mb: float
    cpu_per_request: float  # CPU seconds per request
    cpu_limit: float  # cores per pod
    calls: tuple[tuple[str, float], ...] = ()  # (callee, calls per request)
    model: str | None = None  # the model this service serves
    timeout: float = 2.0  # seconds before a call to a callee fails
    http: bool = True
    owner: str = "platform"
    version: str = ""  # the release running now; "" for what the team does not deploy

    def release_after(self, bump: str) -> tuple[str, str]:
        """Return (previous, next) versions for a `bump` of "minor" or "patch"."""
        major, minor, patch = (int(p) for p in self.version.split("."))
        after = f"{major}.{minor + 1}.0" if bump == "minor" else f"{major}.{minor}.{patch + 1}"
        return self.version, after

    def pod_names(self) -> list[str]:
        """Return stable, Kubernetes-looking pod names."""
        return [f"{self.name}-{_suffix(self.name, i)}" for i in range(self.pods)]


@dataclass(frozen=True)
class World:
    """Every service, indexed by name."""

    services: tuple[Service, ...]
    by_name: dict[str, Service] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {s.name: s for s in self.services})

    def callees(self, name: str) -> list[str]:
        """Return the services `name` calls, directly or indirectly."""
        out: list[str] = []
        for callee, _ in self.by_name[name].calls:
            out += [callee, *self.callees(callee)]
        return list(dict.fromkeys(out))

    def callers(self, name: str) -> list[str]:
        """Return the services that call `name`, directly or indirectly."""
        return [s.name for s in self.services if name in self.callees(s.name)]

    def serving(self, model: str) -> Service | None:
        """Return the service that serves `model`."""
        return next((s for s in self.services if s.model == model), None)

    def entries(self) -> list[str]:
        """Return the services nothing calls: where outside traffic comes in."""
        return [s.name for s in self.services if not self.callers(s.name)]

    def models_near(self, name: str) -> list[str]:
        """Return the models served on `name`'s call paths: by it, its callees and callers."""
        near = {name, *self.callees(name), *self.callers(name)}
        return [s.model for s in self.services if s.model and s.name in near]

    def edges(self) -> list[tuple[str, str]]:
        """Return (caller, callee) pairs: the topology opsloop can be configured with."""
        return [(s.name, c) for s in self.services for c, _ in s.calls]


# A table reads better than one argument per line.
# fmt: off
SANDBOX = World((
    #       name             namespace pods  rps  latency  errors  mem  limit  cpu/req  cores
    Service("gateway",       "edge",  3,  40.0, 0.012, 0.001,   180,  512, 0.0008, 1.0,
            calls=(("checkout", 0.3), ("recommender", 0.5)), owner="edge", version="4.1.2"),
    Service("checkout",      "shop",  3,  12.0, 0.060, 0.002,   420, 1024, 0.0040, 1.0,
            calls=(("fraud-api", 1.0),), owner="payments", version="2.7.0"),
    Service("fraud-api",     "ml",    2,  18.0, 0.020, 0.001,   900, 2048, 0.0060, 2.0,
            calls=(("feature-store", 1.0),), model="fraud-detector", owner="ml-platform",
            version="1.8.2"),
    Service("recommender",   "ml",    2,  30.0, 0.035, 0.001,  1100, 2048, 0.0050, 1.0,
            calls=(("feature-store", 1.0),), model="recsys-ranker", owner="ml-platform",
            version="3.1.7"),
    Service("feature-store", "ml",    2,  42.0, 0.006, 0.0005,  650, 1536, 0.0010, 1.0,
            calls=(("postgres", 1.0),), owner="data-platform", version="2.13.4"),
    Service("postgres",      "data",  1,  84.0, 0.003, 0.0,    2048, 4096, 0.0004, 2.0,
            http=False, owner="data-platform"),
))
# fmt: on


def diurnal(t: np.ndarray | float) -> np.ndarray:
    """Return the traffic shape around 1.0: a daily cycle peaking at 15:00 UTC, calmer weekends."""
    t = np.asarray(t, dtype=float)
    hours = (t % 86400) / 3600.0
    weekday = ((t // 86400) + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    weekend = np.where(weekday >= 5, 0.75, 1.0)
    return weekend * (1.0 + 0.35 * np.sin(2 * np.pi * (hours - 9.0) / 24.0))


def lognormal_cdf(x: float, median: np.ndarray, sigma: float = LATENCY_SIGMA) -> np.ndarray:
    """Return P(latency ≤ x) for log-normal latencies with the given medians."""
    z = (math.log(x) - np.log(np.maximum(median, 1e-9))) / (sigma * math.sqrt(2.0))
    return 0.5 * (1.0 + _erf(z))


_erf = np.vectorize(math.erf, otypes=[float])


def _suffix(name: str, index: int) -> str:
    letters = "bcdfghjklmnpqrstvwxz2456789"
    seed = sum(ord(c) * (i + 1) for i, c in enumerate(name))
    a = "".join(letters[(seed * (k + 3)) % len(letters)] for k in range(5))
    b = "".join(letters[(seed + 7 * index + k * 11) % len(letters)] for k in range(5))
    return f"{a}-{b}"
