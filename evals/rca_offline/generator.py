"""Deterministic RCAEval-like cases: a random call graph, one injected fault, a wide metric table.

Each case draws a DAG of 6–12 services (an entry service calls into the rest, edges point from
caller to callee), simulates traffic with a compressed daily cycle, per-service cpu, mem,
latency-50/-90 and cumulative `requests_total`/`errors_total` counters (with restarts), then
injects one fault (cpu, mem, delay or loss) into one service. Latency and errors propagate to the
callers with attenuation, a scrape lag and noise; unrelated services get occasional glitches.
Columns follow the RCAEval convention `<service>_<metric>` beside a `time` column.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

FAULTS = ("cpu", "mem", "delay", "loss")
STEP_S = 15  # the Prometheus default scrape interval
NORMAL_ROWS, ANOMALOUS_ROWS = 240, 80  # an hour of history, twenty minutes of incident
_NAMES = (
    "frontend", "checkout", "cart-svc", "ts-order-service", "payment", "shipping", "catalog",
    "recommend", "ad-svc", "currency", "email", "ts-auth-service", "user-db", "inventory",
    "pricing", "search", "ts-route-service", "notify", "ts-travel-service", "profile",
)  # fmt: skip


@dataclass
class Case:
    """One generated incident: the table, when the fault was injected, and the answer."""

    frame: pd.DataFrame
    anomaly_time: float
    root: str
    fault: str
    topology: dict[str, list[str]] = field(default_factory=dict)


def random_dag(rng: np.random.Generator, n: int) -> list[list[int]]:
    """Return callees per service; service 0 is the entry and every service is reachable."""
    callees: list[list[int]] = [[] for _ in range(n)]
    for j in range(1, n):
        # Callers come from earlier services, so the graph is acyclic by construction.
        callees[int(rng.integers(0, j))].append(j)
        for i in range(j):
            if j not in callees[i] and rng.random() < 0.12:
                callees[i].append(j)
    return callees


def _noise(rng: np.random.Generator, shape: int | tuple[int, ...], scale: float) -> np.ndarray:
    # Student-t with 4 degrees of freedom: mostly Gaussian, with the occasional outlier.
    return scale * rng.standard_t(4, size=shape) / np.sqrt(2.0)


def _lagged(series: np.ndarray, lag: int) -> np.ndarray:
    return series if lag == 0 else np.concatenate([np.repeat(series[:1], lag), series[:-lag]])


def _wander(rng: np.random.Generator, rows: int, scale: float) -> np.ndarray:
    # Mean-reverting drift (an AR(1) process): heaps grow and get collected, they do not walk off.
    steps, out = _noise(rng, rows, scale), np.zeros(rows)
    for k in range(1, rows):
        out[k] = 0.97 * out[k - 1] + steps[k]
    return out


def _counter(rng: np.random.Generator, per_row: np.ndarray) -> np.ndarray:
    counts = np.cumsum(rng.poisson(np.maximum(per_row, 0.0)))
    if rng.random() < 0.15:  # a pod restart resets the counter to zero
        at = int(rng.integers(10, len(per_row) - 10))
        counts[at:] -= counts[at - 1]
    return counts.astype(float)


def generate_case(seed: int, fault: str) -> Case:
    """Generate one case deterministically from `seed`, with `fault` in one service."""
    if fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}; expected one of {', '.join(FAULTS)}")
    rng = np.random.default_rng(seed)
    n = int(rng.integers(6, 13))
    names = [str(x) for x in rng.choice(_NAMES, size=n, replace=False)]
    callees = random_dag(rng, n)
    rows = NORMAL_ROWS + ANOMALOUS_ROWS
    t = np.arange(rows, dtype=float)
    start = 1_692_000_000 + int(rng.integers(0, 10_000_000)) // STEP_S * STEP_S
    times = start + STEP_S * t
    root = int(rng.integers(0, n))
    # The effect shows a row or two after the injection, and ramps up over a few scrapes.
    begin = NORMAL_ROWS + int(rng.integers(0, 3))
    ramp = np.clip((t - begin + 1) / int(rng.integers(1, 5)), 0.0, 1.0)

    # Traffic: a daily cycle compressed to a few hours, so an hour of history holds a trend.
    period = rng.uniform(2.0, 6.0) * 3600 / STEP_S
    season = 1 + rng.uniform(0.1, 0.3) * np.sin(2 * np.pi * t / period + rng.uniform(0, 6.3))
    rate = np.zeros((n, rows))
    rate[0] = rng.uniform(30, 120) * season * (1 + _noise(rng, rows, 0.03))
    share = {(i, j): rng.uniform(0.4, 1.2) for i in range(n) for j in callees[i]}
    for i in range(n):
        for j in callees[i]:
            rate[j] += rate[i] * share[(i, j)]

    severity = rng.uniform(0.3, 1.4)
    loss = rng.uniform(0.1, 0.4) * severity if fault == "loss" else 0.0
    base_lat = rng.uniform(0.004, 0.04, size=n)
    own = np.empty((n, rows))
    for i in range(n):
        load = rate[i] / rate[i][:NORMAL_ROWS].mean()
        own[i] = base_lat[i] * (1 + 0.3 * (load - 1)) * (1 + np.abs(_noise(rng, rows, 0.08)))
    if fault == "cpu":
        own[root] *= 1 + rng.uniform(0.3, 1.0) * severity * ramp
    elif fault == "mem":
        own[root] *= 1 + rng.uniform(0.0, 0.15) * severity * ramp
    elif fault == "delay":
        own[root] += rng.uniform(0.05, 0.3) * severity * ramp
    else:  # retransmission timeouts: a few requests wait ~200 ms
        own[root] += loss * 0.2 * ramp * rng.uniform(0.5, 1.5, rows)

    # Latency propagates from callees (later indices) to callers, attenuated and lagged.
    lat = own.copy()
    for i in reversed(range(n)):
        for j in callees[i]:
            weight = min(1.0, share[(i, j)]) * rng.uniform(0.3, 1.0)
            lat[i] += weight * _lagged(lat[j], int(rng.integers(0, 3)))
    errors = 0.002 * rate
    if fault == "loss":
        errors[root] += 0.5 * loss * rate[root] * ramp  # server-side broken connections
        for i in range(n):
            if root in callees[i]:
                errors[i] += loss * rate[i] * share[(i, root)] * _lagged(ramp, 1)

    columns: dict[str, np.ndarray] = {"time": times}
    for i, name in enumerate(names):
        served = rate[i] * (1 - loss * ramp) if i == root else rate[i]
        cpu = rng.uniform(0.05, 0.2) + rng.uniform(0.002, 0.01) * served
        cpu = cpu * (1 + _noise(rng, rows, 0.04))
        mem_level = rng.uniform(100, 900)
        mem = mem_level * (1 + _wander(rng, rows, 0.004) + _noise(rng, rows, 0.01))
        if i == root and fault == "cpu":
            cpu = cpu + rng.uniform(0.8, 2.5) * severity * ramp
        if i == root and fault == "mem":
            leak = np.clip((t - begin) / ANOMALOUS_ROWS, 0, 1)
            mem = mem + mem_level * rng.uniform(0.3, 1.0) * severity * leak
        p50 = lat[i] * (1 + _noise(rng, rows, 0.05))
        p90 = lat[i] * rng.uniform(1.5, 3.0) * (1 + np.abs(_noise(rng, rows, 0.1)))
        columns[f"{name}_cpu"] = cpu
        columns[f"{name}_mem"] = mem
        columns[f"{name}_latency-50"] = p50
        columns[f"{name}_latency-90"] = p90
        columns[f"{name}_requests_total"] = _counter(rng, served * STEP_S)
        columns[f"{name}_errors_total"] = _counter(rng, errors[i] * STEP_S)
    frame = pd.DataFrame(columns)
    _glitch(rng, frame, names, root)
    return Case(
        frame=frame,
        anomaly_time=float(times[NORMAL_ROWS]),
        root=names[root],
        fault=fault,
        topology={names[i]: [names[j] for j in callees[i]] for i in range(n) if callees[i]},
    )


def _glitch(rng: np.random.Generator, frame: pd.DataFrame, names: list[str], root: int) -> None:
    """Add the dirt real tables have: glitches and busy neighbours elsewhere, missing cells."""
    others = [c for c in frame.columns if c != "time" and not c.startswith(names[root] + "_")]
    gauges = [c for c in others if not c.endswith("_total")]
    for _ in range(int(rng.poisson(1.5))):
        # A GC pause or a scrape glitch: one to a few scrapes, mostly one.
        col = gauges[int(rng.integers(0, len(gauges)))]
        at = NORMAL_ROWS + int(rng.integers(0, ANOMALOUS_ROWS - 5))
        rows = slice(at, at + int(rng.geometric(0.6)) - 1)
        frame.loc[rows, col] *= rng.uniform(1.5, 3.0)
    if rng.random() < 0.3:
        # A busy neighbour (a batch job, a deploy): a modest level shift in an unrelated service.
        col = gauges[int(rng.integers(0, len(gauges)))]
        at = NORMAL_ROWS + int(rng.integers(-20, ANOMALOUS_ROWS - 10))
        frame.loc[at:, col] *= rng.uniform(1.1, 1.4)
    holes = rng.random(frame.shape) < 0.005
    holes[:, 0] = False
    frame.mask(holes, inplace=True)
