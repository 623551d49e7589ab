"""A case's seeded timeline: the time grid, when the fault starts, its size, deploys and pods.

Every time is an offset in seconds from the end of the history (0 = the last sample), so a
seed gives the same world whenever it runs; only `end` (Unix seconds) anchors it to a clock.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

from opsloop.evals.rca.world2.cases import Case
from opsloop.evals.rca.world2.world import MODEL_BY_NAME, SERVICES, pod_name
from opsloop.sandbox.history import grid

HISTORY_H = 26.0  # the same time yesterday must be in the history
FINE_H, FINE_STEP, COARSE_STEP = 6.0, 15.0, 60.0  # the sandbox's scrape grid
TAIL_MIN = 14.0  # history after the nominal first alert (opsloop judges at startsAt + 5 min)
ROLL_STEP_S = 20.0  # a rolling update replaces one pod every this many seconds
ROUTINE = ("edge-proxy", "payments", "search", "notifier", "retention", "catalog", "orders")
# The fault types that ship as a deploy of the target's (or the model's serving) deployment.
DEPLOYED = {"bad-rollout", "memory-leak", "bad-model-version"}


@dataclass
class Pod:
    """One pod of a deployment's ReplicaSet and its life (offsets; inf = beyond the history)."""

    name: str
    service: str
    revision: int
    index: int
    born: float
    ready: float
    died: float = float("inf")


@dataclass
class Deploy:
    """A rollout: a deployment's new ReplicaSet, and the model version its pods serve."""

    service: str
    at: float
    revision: int
    summary: str


@dataclass
class Plan:
    """Everything a seed decides before the simulation runs."""

    case: Case
    seed: int
    end: int
    hours: float
    t: np.ndarray  # offsets, ascending, the last one 0
    tod0: float  # world seconds of day at offset 0
    onset: float
    alert_at: float  # nominal first alert (the rules decide the real one)
    magnitude: float
    ramp: float
    pods: dict[str, list[Pod]]
    deploys: list[Deploy]
    generation0: dict[str, int]
    versions: dict[tuple[str, int], str]  # (serving service, revision) -> model version
    old_restart: tuple[str, float]  # (pod, offset) of an unrelated crash hours before
    rng: np.random.Generator = field(repr=False)

    @property
    def stamps(self) -> np.ndarray:
        """Return the grid as Unix seconds."""
        return self.end + self.t

    def tod(self) -> np.ndarray:
        """Return the world's time of day (seconds) at every grid point."""
        return (self.tod0 + self.t) % 86400.0

    def steps(self) -> np.ndarray:
        """Return each grid point's distance to the previous one (the first: a fine step)."""
        return np.diff(self.t, prepend=self.t[0] - FINE_STEP)


def make_plan(case: Case, seed: int, end: int, hours: float = HISTORY_H) -> Plan:
    """Draw a case's timeline for a seed; `end` is the Unix time of the last sample."""
    rng = np.random.default_rng([seed, zlib.crc32(case.name.encode())])
    spec = case.fault

    def draw(span: tuple[float, float]) -> float:
        return float(rng.uniform(*span))

    fine = min(FINE_H, hours)
    t = grid(0.0, fine, FINE_STEP, max(0.0, hours - fine), COARSE_STEP)
    alert_at = -60.0 * (TAIL_MIN + rng.uniform(0.0, 1.0))
    onset = float(np.round((alert_at - 60.0 * draw(spec.lead_min)) / FINE_STEP) * FINE_STEP)
    tod0 = (3600.0 * draw(spec.tod_h) - alert_at) % 86400.0
    magnitude, ramp = draw(spec.magnitude), draw(spec.ramp_s)
    pods = {s.name: _replicaset(s.name, s.pods, 1, -1e9, rng, seed) for s in SERVICES}
    generation0 = {s.name: int(rng.integers(3, 60)) for s in SERVICES}
    versions = {(m.service, 1): m.version for m in MODEL_BY_NAME.values()}
    deploys: list[Deploy] = []
    # A routine release of an unrelated deployment hours before, as every real day has.
    serving = MODEL_BY_NAME[spec.target].service if spec.target in MODEL_BY_NAME else None
    quiet = [s for s in ROUTINE if s not in (spec.target, serving)]
    routine = quiet[int(rng.integers(len(quiet)))]
    at = float(np.round(-3600.0 * rng.uniform(3.0, 5.0) / FINE_STEP) * FINE_STEP)
    deploys.append(_rollout(pods, routine, at, "routine release", rng, seed))
    if spec.type in DEPLOYED:
        target = serving or spec.target
        summary = "fault release" if not serving else f"{spec.target} v{_next(versions, target)}"
        deploys.append(_rollout(pods, target, onset, summary, rng, seed))
        if serving:
            versions[(target, 2)] = _next(versions, target)
    for deploy in deploys:  # a routine release of the serving pods keeps their model version
        versions.setdefault((deploy.service, deploy.revision), versions.get((deploy.service, 1)))
    # Nothing to do with any fault: one notifier pod's container crashed once, hours ago.
    old_restart = (pods["notifier"][0].name, float(-3600.0 * rng.uniform(7.0, 10.0)))
    return Plan(
        case=case, seed=seed, end=int(end), hours=hours, t=t, tod0=tod0, onset=onset,
        alert_at=alert_at, magnitude=magnitude, ramp=ramp, pods=pods, deploys=deploys,
        generation0=generation0, versions={k: v for k, v in versions.items() if v},
        old_restart=old_restart, rng=rng,
    )  # fmt: skip


def _next(versions: dict[tuple[str, int], str], service: str) -> str:
    return str(int(versions[(service, 1)]) + 1)


def _replicaset(
    service: str, count: int, revision: int, start: float, rng: np.random.Generator, salt: int
) -> list[Pod]:
    deployment = next(s.deployment for s in SERVICES if s.name == service)
    out = []
    for i in range(count):
        born = start + ROLL_STEP_S * i
        ready = born + float(rng.uniform(10.0, 25.0))
        out.append(Pod(pod_name(deployment, revision, i, salt), service, revision, i, born, ready))
    return out


def _rollout(
    pods: dict[str, list[Pod]],
    service: str,
    at: float,
    summary: str,
    rng: np.random.Generator,
    salt: int,
) -> Deploy:
    """Replace a deployment's live pods one by one (maxSurge 1, maxUnavailable 0)."""
    live = [p for p in pods[service] if p.died == float("inf")]
    revision = max(p.revision for p in pods[service]) + 1
    fresh = _replicaset(service, len(live), revision, at, rng, salt)
    for old, new in zip(live, fresh, strict=True):
        old.died = new.ready + 2.0
    pods[service] += fresh
    return Deploy(service, at, revision, summary)
