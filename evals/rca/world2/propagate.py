"""Latency and errors along the calls: each service's own time plus what it waits for.

A service's requests take its own (log-normal) time, scaled by what slows its pods (CPU
throttling, a heap near its limit), plus the mean time of every call it makes: to services,
to pg-main and to paygate. A request fails on its own or when a call fails and the service
passes the failure on. The edge proxy is a router: each request goes to one backend, so its
latency is a mixture of its routes, not a sum. orders ⇄ inventory is a cycle, solved by
repeating the pass until it settles.
"""

from __future__ import annotations

import numpy as np

from opsloop.evals.rca.world2.dynamics import State, noise, ramp
from opsloop.evals.rca.world2.world import BY_NAME, SERVICES

DB_MEDIAN, DB_SIGMA = 0.0025, 0.7
EXT_MEDIAN, EXT_SIGMA, EXT_ERROR_MEDIAN = 0.14, 0.35, 0.04
ORDER = (
    "catalog", "ranking", "retention", "notifier", "payments", "inventory", "orders", "search",
    "edge-proxy",
)  # fmt: skip
PASSES = 5


def mean_of(median: np.ndarray, sigma: float) -> np.ndarray:
    """Return the mean of a log-normal with this median."""
    return median * np.exp(sigma * sigma / 2.0)


def call_failure(calls: float, errors: np.ndarray) -> np.ndarray:
    """Return the chance a request fails given `calls` calls that each fail with `errors`."""
    errors = np.clip(errors, 0.0, 1.0)
    return calls * errors if calls <= 1 else 1.0 - (1.0 - errors) ** calls


def dependencies(state: State) -> None:
    """pg-main and paygate as their clients see them (no metrics of their own)."""
    plan, t = state.plan, state.t
    spec, rng, n = plan.case.fault, plan.rng, len(t)
    slow = np.ones(n)
    if spec.type == "db-slow":
        slow = 1.0 + (plan.magnitude - 1.0) * ramp(t - plan.onset, plan.ramp) * noise(rng, n, 0.08)
    ext_errors = 0.0015 * noise(rng, n, 0.3, 0.8)
    if spec.type == "external-errors":
        hit = ramp(t - plan.onset, plan.ramp) * noise(rng, n, 0.06)
        ext_errors = np.clip(ext_errors + plan.magnitude * hit, 0.0, 0.98)
    state.extra.update(
        db_median=DB_MEDIAN * slow * noise(rng, n, 0.05),
        db_errors=2e-5 + np.clip(0.0003 * (slow - 1.0), 0.0, 0.01),
        ext_median=EXT_MEDIAN * noise(rng, n, 0.04),
        ext_errors=ext_errors,
    )


def propagate(state: State) -> None:
    """Set every pod's OK-latency median, its error ratio and its latency components."""
    dependencies(state)
    x, n = state.extra, len(state.t)
    db_mean = mean_of(x["db_median"], DB_SIGMA)
    ext_errors = x["ext_errors"]
    ext_mean = (1 - ext_errors) * mean_of(x["ext_median"], EXT_SIGMA) + ext_errors * mean_of(
        EXT_ERROR_MEDIAN, EXT_SIGMA
    )
    own = {s.name: s.latency * noise(state.plan.rng, n, 0.05) for s in SERVICES}
    median = {s.name: own[s.name].copy() for s in SERVICES}
    errors = {s.name: np.zeros(n) for s in SERVICES}
    for _ in range(PASSES):
        for name in ORDER:
            s = BY_NAME[name]
            seen = {c: errors[c] + state.dropped[c] for c, _, _ in s.calls}
            if s.router:
                _router(state, s, own[name], median, seen)
            else:
                waits = s.db_ops * db_mean + s.external * ext_mean
                ok = np.ones(n) - call_failure(s.db_ops, x["db_errors"]) * 0.9
                ok = ok * (1.0 - call_failure(s.external, ext_errors))
                for callee, calls, passed in s.calls:
                    waits = waits + calls * mean_of(median[callee], BY_NAME[callee].sigma)
                    ok = ok * (1.0 - passed * call_failure(calls, seen[callee]))
                for p in state.pods[name]:
                    p.median = own[name] * p.slow + waits
                    p.errors = np.clip(1.0 - (1.0 - p.own_errors) * ok, 0.0, 1.0)
                    p.components = [(np.ones(n), p.median, s.sigma)]
            median[name] = _by_share(state, name, "median")
            errors[name] = _by_share(state, name, "errors")
    state.extra.update(median=median, errors=errors)


def _router(
    state: State,
    s: object,
    own: np.ndarray,
    median: dict[str, np.ndarray],
    seen: dict[str, np.ndarray],
) -> None:
    rps = np.maximum(state.rps[s.name], 1e-9)
    weights = {c: state.routes[(s.name, c)] / rps for c, _, _ in s.calls}
    local = np.clip(1.0 - sum(weights.values()), 0.0, 1.0)
    for p in state.pods[s.name]:
        mine = own * p.slow
        parts = [(local, mine, s.sigma)]
        parts += [(w, mine + median[c], BY_NAME[c].sigma) for c, w in weights.items()]
        p.components = parts
        p.median = sum(w * m for w, m, _ in parts)
        failed = sum(w * np.clip(seen[c], 0.0, 1.0) for c, w in weights.items())
        p.errors = np.clip(p.own_errors + failed, 0.0, 1.0)


def _by_share(state: State, name: str, what: str) -> np.ndarray:
    total = np.zeros(len(state.t))
    weight = np.zeros(len(state.t))
    for p in state.pods[name]:
        share = np.nan_to_num(p.share)
        total += share * np.nan_to_num(getattr(p, what))
        weight += share
    fallback = np.nanmean([getattr(p, what) for p in state.pods[name]], axis=0)
    return np.where(weight > 0, total / np.maximum(weight, 1e-9), np.nan_to_num(fallback))
