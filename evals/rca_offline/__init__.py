"""Offline RCA eval: our ranking against N-Sigma and a random ranking on generated cases.

Every method sees the same cleaned matrix (counters already turned into rates), so the
comparison isolates the scoring: robust z with onset/topology tie-breaks (ours), mean/std z
(N-Sigma, as in RCAEval), or nothing (random). Accuracy is at the service level, as RCAEval
reports it: AC@k is the share of cases whose root cause is in the top k, Avg@5 the mean of
AC@1..AC@5.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from opsloop.evals.rca_offline.generator import FAULTS, Case, generate_case
from opsloop.tools.analysis.rca_peers import rank_by_peers
from opsloop.tools.analysis.rca_rank import metric_matrix, rank_services, split_column

Ranker = Callable[[Case, np.random.Generator], list[str]]
METHODS = ("ours", "ours+topology", "peers", "baro", "nsigma", "random")


def nsigma(case: Case, _rng: np.random.Generator) -> list[str]:
    """Rank services by max |x - mean| / std over the anomalous rows (RCAEval's N-Sigma)."""
    times, values, names = metric_matrix(case.frame)
    split = int(np.searchsorted(times, case.anomaly_time, side="left"))
    normal = values[:split]
    std = normal.std(axis=0)
    # StandardScaler leaves a constant column unscaled rather than dividing by zero.
    std = np.where(std > 0, std, 1.0)
    z = (np.abs(values[split:] - normal.mean(axis=0)) / std).max(axis=0)
    services = [split_column(n)[0] for n in names]
    best = pd.Series(z).groupby(services, sort=False).max()
    return list(best.sort_values(ascending=False, kind="stable").index)


def random_rank(case: Case, rng: np.random.Generator) -> list[str]:
    """Rank the case's services in a random order."""
    names = sorted({split_column(c)[0] for c in case.frame.columns if c != "time"})
    return [names[i] for i in rng.permutation(len(names))]


def ours(case: Case, _rng: np.random.Generator) -> list[str]:
    """Rank with rank_services, without the call graph (`opsloop rca rank --method robust-z`)."""
    return [r.target for r in rank_services(case.frame, case.anomaly_time)]


def peers(case: Case, _rng: np.random.Generator) -> list[str]:
    """Rank with rank_by_peers (`opsloop rca rank`, its default method)."""
    return [r.target for r in rank_by_peers(case.frame, case.anomaly_time)]


def baro(case: Case, _rng: np.random.Generator) -> list[str]:
    """Rank by plain BARO: robust z, max over the anomalous rows, no hold and no tie-breaks."""
    ranked = rank_services(case.frame, case.anomaly_time, hold=1, tie_margin=0.0)
    return [r.target for r in ranked]


def ours_topology(case: Case, _rng: np.random.Generator) -> list[str]:
    """Rank with rank_services given the case's call graph."""
    ranked = rank_services(case.frame, case.anomaly_time, topology=case.topology)
    return [r.target for r in ranked]


RANKERS: dict[str, Ranker] = {
    "ours": ours,
    "ours+topology": ours_topology,
    "peers": peers,
    "baro": baro,
    "nsigma": nsigma,
    "random": random_rank,
}


def case_seed(seed: int, index: int) -> int:
    """Return the seed of case `index` in a run seeded with `seed`."""
    return seed * 1_000_003 + index


def accuracy(positions: list[int]) -> dict[str, float]:
    """Return AC@1, AC@3 and Avg@5 from the root cause's 0-based rank per case (-1: absent)."""
    if not positions:
        return {"ac1": 0.0, "ac3": 0.0, "avg5": 0.0}
    pos = np.array([p if p >= 0 else 10**9 for p in positions])
    ac = {k: float(np.mean(pos < k)) for k in range(1, 6)}
    return {"ac1": ac[1], "ac3": ac[3], "avg5": float(np.mean([ac[k] for k in range(1, 6)]))}


def run(cases: int = 400, seed: int = 0) -> dict[str, Any]:
    """Generate `cases` cases (faults in turn), rank each with every method, and score them."""
    started = time.perf_counter()
    positions: dict[str, dict[str, list[int]]] = {f: {m: [] for m in METHODS} for f in FAULTS}
    misses: list[dict[str, Any]] = []
    for index in range(cases):
        fault = FAULTS[index % len(FAULTS)]
        case = generate_case(case_seed(seed, index), fault)
        for method, ranker in RANKERS.items():
            rng = np.random.default_rng(case_seed(seed, index) + 7)
            ranking = ranker(case, rng)
            where = ranking.index(case.root) if case.root in ranking else -1
            positions[fault][method].append(where)
            if method == "ours" and where != 0:
                miss = {"case": index, "fault": fault, "root": case.root, "top": ranking[:3]}
                misses.append(miss)
    results: dict[str, dict[str, dict[str, float]]] = {}
    for fault in FAULTS:
        results[fault] = {m: accuracy(positions[fault][m]) for m in METHODS}
    results["overall"] = {
        m: accuracy([p for f in FAULTS for p in positions[f][m]]) for m in METHODS
    }
    ratios = {
        group: {
            m: {
                k: (round(v / by_method["nsigma"][k], 3) if by_method["nsigma"][k] else None)
                for k, v in by_method[m].items()
            }
            for m in METHODS
            if m != "nsigma"
        }
        for group, by_method in results.items()
    }
    return {
        "suite": "rca_offline",
        "cases": cases,
        "seed": seed,
        "per_fault": {f: len(positions[f]["ours"]) for f in FAULTS},
        "methods": list(METHODS),
        "results": results,
        "ratio_vs_nsigma": ratios,
        "misses_at_1": misses[:20],
        "seconds": round(time.perf_counter() - started, 2),
    }
