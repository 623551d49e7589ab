"""Traffic, pods and their resources over a plan's grid: who serves how much, when, with what.

Latency and errors, which travel along the calls, are worked out in propagate.py; model
monitoring in modelmon.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.signal import lfilter

from opsloop.evals.rca.world2.plan import Plan, Pod
from opsloop.evals.rca.world2.world import BY_NAME, EDGE_RPS, SERVICES, Service

MIB = 1024.0 * 1024.0
KILL_DOWN_S = 10.0  # an OOM-killed container is back after this long
READY_AFTER_S = 15.0  # and ready this much later
IN_FLIGHT_S = 3.0  # requests a killed pod drops before the endpoints drop it
CACHED_SHARE = 0.85  # of the daily push wave, answered by edge-proxy's cache


@dataclass
class PodState:
    """A pod's signals on the grid (NaN or False where it does not exist)."""

    pod: Pod
    exists: np.ndarray
    up: np.ndarray  # its container runs (exporters answer)
    ready: np.ndarray
    share: np.ndarray = field(default=None)  # of its service's traffic
    epoch: np.ndarray = field(default=None)  # container starts so far: counters reset
    restarts: np.ndarray = field(default=None)
    reason: tuple[str, float] | None = None  # last terminated reason and since when
    mem: np.ndarray = field(default=None)  # working set, bytes
    cpu: np.ndarray = field(default=None)  # cores used
    throttled: np.ndarray = field(default=None)  # fraction of CFS periods throttled
    slow: np.ndarray = field(default=None)  # factor on the service's own latency
    own_errors: np.ndarray = field(default=None)  # 5xx ratio of its own making
    rps: np.ndarray = field(default=None)
    median: np.ndarray = field(default=None)  # set by propagate
    errors: np.ndarray = field(default=None)  # set by propagate
    components: list = field(default_factory=list)  # (weight, median, sigma) latency mixture


@dataclass
class State:
    """The whole world on the grid."""

    plan: Plan
    t: np.ndarray
    dt: np.ndarray
    rps: dict[str, np.ndarray]
    routes: dict[tuple[str, str], np.ndarray]  # requests/s a caller sends a callee
    pods: dict[str, list[PodState]]
    dropped: dict[str, np.ndarray]  # share of a service's calls lost to killed pods
    extra: dict[str, object] = field(default_factory=dict)


def noise(rng: np.random.Generator, n: int, sigma: float, phi: float = 0.93) -> np.ndarray:
    """Return multiplicative AR(1) noise around 1 with log-spread `sigma`."""
    if n == 0:
        return np.ones(0)
    shocks = rng.normal(0.0, sigma * np.sqrt(1 - phi**2), n)
    return np.exp(lfilter([1.0], [1.0, -phi], shocks))


def ramp(x: np.ndarray, length: float) -> np.ndarray:
    """Return 0 before 0, a smooth rise over `length` seconds, then 1."""
    if length <= 0:
        return (x >= 0).astype(float)
    u = np.clip(x / length, 0.0, 1.0)
    return u * u * (3 - 2 * u)


def diurnal(tod: np.ndarray) -> np.ndarray:
    """Return the daily traffic shape around 1: quiet at night, peaking mid-afternoon."""
    hours = tod / 3600.0
    return (
        1.0 + 0.38 * np.sin(2 * np.pi * (hours - 9.0) / 24) + 0.05 * np.sin(4 * np.pi * hours / 24)
    )


def simulate_traffic(plan: Plan) -> State:
    """Work out request rates per service and route, and which pods serve them."""
    rng, t, spec = plan.rng, plan.t, plan.case.fault
    n = len(t)
    edge = EDGE_RPS * diurnal(plan.tod()) * noise(rng, n, 0.035)
    search_boost = np.ones(n)
    cached = np.zeros(n)  # requests edge-proxy answers from its cache (app config, home feed)
    if spec.type == "seasonal-peak":  # the push wave mostly fetches cached app config
        surge = edge * (_daily_peak(plan) - 1.0)
        cached = CACHED_SHARE * surge
        edge = edge + (1.0 - CACHED_SHARE) * surge
    if spec.type == "cpu-throttling":  # the campaign lands on search
        search_boost = 1.0 + (plan.magnitude - 1.0) * ramp(t - plan.onset, plan.ramp)
    routes: dict[tuple[str, str], np.ndarray] = {}
    calls = {(s.name, c): k for s in SERVICES for c, k, _ in s.calls}
    routes[("edge-proxy", "orders")] = calls[("edge-proxy", "orders")] * edge
    routes[("edge-proxy", "search")] = calls[("edge-proxy", "search")] * edge * search_boost
    rps = {s.name: np.zeros(n) for s in SERVICES}
    rps["edge-proxy"] = edge * (1.0 + calls[("edge-proxy", "search")] * (search_boost - 1.0))
    rps["edge-proxy"] = rps["edge-proxy"] + cached
    for _ in range(40):  # a fixed point: orders ⇄ inventory is a cycle
        for s in SERVICES:
            if s.name == "edge-proxy":
                continue
            rps[s.name] = sum(
                (routes.get((a, s.name), 0.0) for a in BY_NAME if (a, s.name) in calls),
                np.zeros(n),
            )
        for (a, b), k in calls.items():
            if a != "edge-proxy":
                routes[(a, b)] = k * rps[a]
    state = State(plan, t, plan.steps(), rps, routes, {}, {s.name: np.zeros(n) for s in SERVICES})
    for s in SERVICES:
        state.pods[s.name] = [_pod_state(state, p, s) for p in plan.pods[s.name]]
    _memory_and_kills(state)
    for s in SERVICES:
        _shares(state, s)
        _cpu(state, s)
    return state


def _daily_peak(plan: Plan) -> np.ndarray:
    """The push-notification peak: same time of day, nearly the same size, every day."""
    t = plan.t
    start_tod = (plan.tod0 + plan.onset) % 86400.0
    since = (plan.tod() - start_tod) % 86400.0
    since = np.where(since > 80000, since - 86400.0, since)
    length = 60.0 * plan.rng.uniform(28.0, 36.0)
    shape = ramp(since, plan.ramp) * (1.0 - ramp(since - length, 300.0))
    yesterday = plan.magnitude * plan.rng.uniform(0.96, 1.03)
    size = np.where(t > plan.onset - 43200.0, plan.magnitude, yesterday)
    return 1.0 + (size - 1.0) * shape


def _pod_state(state: State, pod: Pod, service: Service) -> PodState:
    t = state.t
    exists = (t >= pod.born) & (t < pod.died)
    ready = exists & (t >= pod.ready)
    n = len(t)
    ps = PodState(pod, exists, exists.copy(), ready)
    ps.epoch = np.zeros(n, dtype=int)
    ps.restarts = np.zeros(n)
    ps.slow = np.ones(n)
    ps.own_errors = service.errors * noise(state.plan.rng, n, 0.25, 0.8)
    spec, plan = state.plan.case.fault, state.plan
    if spec.type == "bad-rollout" and service.name == spec.target and pod.revision == 2:
        ps.own_errors = ps.own_errors + plan.magnitude * noise(plan.rng, n, 0.08)
    at = plan.old_restart[1]
    if pod.name == plan.old_restart[0] and pod.born < at < pod.died:
        back = at + KILL_DOWN_S
        ps.restarts = (t >= back).astype(float)
        ps.epoch = (t >= back).astype(int)
        ps.up &= ~((t >= at) & (t < back))
        ps.ready &= ~((t >= at) & (t < back + READY_AFTER_S))
        ps.reason = ("Error", back)
    return ps


def _memory_and_kills(state: State) -> None:
    """Working sets; the leaking release's containers are OOM-killed at their limit."""
    plan, t = state.plan, state.t
    spec = plan.case.fault
    for s in SERVICES:
        limit = s.mem_limit_mb * MIB
        leaking = [
            p for p in state.pods[s.name] if spec.type == "memory-leak" and s.name == spec.target
            and p.pod.revision == 2
        ]  # fmt: skip
        bases = {
            p.pod.name: s.mem_mb * MIB * plan.rng.uniform(0.92, 1.08) for p in state.pods[s.name]
        }
        rates = {}
        if leaking:  # the fastest leaker is killed first, just before the nominal alert
            first = leaking[0]
            fastest = (limit - bases[first.pod.name]) / (plan.alert_at - 30.0 - first.pod.born)
            for i, p in enumerate(leaking):
                rates[p.pod.name] = fastest * (1.0 if i == 0 else plan.rng.uniform(0.82, 0.93))
        for p in state.pods[s.name]:
            base = bases[p.pod.name]
            warm = 0.65 + 0.35 * ramp(t - p.pod.born, 600.0)
            saw = 1.0 + 0.03 * ((t - p.pod.born) % 420.0) / 420.0
            mem = base * warm * saw * noise(plan.rng, len(t), 0.01)
            if p.pod.name in rates:
                mem = _leak(state, p, base, rates[p.pod.name], limit)
            p.mem = np.where(p.up, np.minimum(mem, limit * 0.999), np.nan)


def _leak(state: State, p: PodState, base: float, rate: float, limit: float) -> np.ndarray:
    """Grow memory from each container start; kill at the limit; restart; repeat."""
    t = state.t
    mem = np.full(len(t), np.nan)
    start = p.pod.born
    pods = BY_NAME[p.pod.service].pods
    while True:
        kill = start + (limit - base) / rate
        span = (t >= start) & (t < min(kill, p.pod.died))
        mem[span] = (base + rate * (t[span] - start)) * noise(
            state.plan.rng, int(span.sum()), 0.004
        )
        if kill >= min(p.pod.died, t[-1] + 1.0):
            break
        back = kill + KILL_DOWN_S
        p.up &= ~((t >= kill) & (t < back))
        p.ready &= ~((t >= kill) & (t < back + READY_AFTER_S))
        p.restarts = p.restarts + (t >= back)
        p.epoch = p.epoch + (t >= back)
        p.reason = p.reason or ("OOMKilled", back)
        i = int(np.searchsorted(t, kill))
        if i < len(t):
            state.dropped[p.pod.service][i] += IN_FLIGHT_S / state.dt[i] / pods
        start = back
    gc = np.clip((mem / limit - 0.85) / 0.15, 0.0, 1.0) ** 2
    p.slow = p.slow * (1.0 + 5.0 * np.nan_to_num(gc))
    p.own_errors = p.own_errors + 0.04 * np.nan_to_num(gc)
    return mem


def _shares(state: State, s: Service) -> None:
    pods = state.pods[s.name]
    weights = [p.ready * state.plan.rng.uniform(0.93, 1.07) for p in pods]
    total = np.maximum(sum(weights), 1e-9)
    for p, w in zip(pods, weights, strict=True):
        p.share = np.where(p.exists, w / total, np.nan)
        p.rps = np.nan_to_num(p.share) * state.rps[s.name]


def _cpu(state: State, s: Service) -> None:
    """CPU use against the limit; CFS throttling and the queueing it causes."""
    rng = state.plan.rng
    for p in state.pods[s.name]:
        demand = (s.cpu_base + p.rps * s.cpu_per_req) * noise(rng, len(state.t), 0.06, 0.7)
        util = demand / s.cpu_limit
        throttled = 0.004 + 0.9 / (1.0 + np.exp(-(util - 0.95) / 0.045))
        p.throttled = np.where(p.up, throttled, np.nan)
        p.cpu = np.where(p.up, np.minimum(demand, 0.985 * s.cpu_limit), np.nan)
        p.slow = p.slow * (1.0 + 6.0 * np.clip(throttled - 0.03, 0.0, None))
