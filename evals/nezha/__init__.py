"""RCA ranking on real faults: Nezha's Online Boutique cases (metrics only), per fault type.

Each case is a wide metrics table, an injection time and the faulty service; a ranker orders
the services and AC@k is the share of faults whose service is among its top k (Avg@5: mean of
AC@1..AC@5). A case a ranker refuses (too short a baseline) counts as a miss.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from opsloop.evals.rca_offline import accuracy
from opsloop.tools.analysis.rca_peers import rank_by_peers
from opsloop.tools.analysis.rca_rank import RankedTarget, load_wide_csv, rank_services

DEFAULT_DATA = Path(
    os.environ.get("OPSLOOP_NEZHA_DATA")
    or Path(__file__).resolve().parents[2].parent / "shared" / "data" / "nezha-ob"
)
Ranker = Callable[[pd.DataFrame, float], list[RankedTarget]]
RANKERS: dict[str, Ranker] = {"peers": rank_by_peers, "robust-z": rank_services}


@dataclass(frozen=True)
class Case:
    """One injected fault: its table, injection time, faulty service and fault type."""

    name: str
    frame: pd.DataFrame
    inject_time: float
    service: str
    fault: str


def load_cases(data_dir: Path = DEFAULT_DATA) -> list[Case]:
    """Read every `cases/<name>/` folder (data.csv, inject_time.txt, truth.json)."""
    cases = []
    for folder in sorted((data_dir / "cases").iterdir()):
        truth = json.loads((folder / "truth.json").read_text())
        frame = load_wide_csv(folder / "data.csv")
        when = float((folder / "inject_time.txt").read_text().strip())
        cases.append(Case(folder.name, frame, when, truth["service"], truth["fault"]))
    return cases


def positions(cases: list[Case], ranker: Ranker) -> list[int]:
    """Return the 0-based rank of each case's faulty service (-1: not ranked or refused)."""
    out: list[int] = []
    for case in cases:
        try:
            names = [r.target for r in ranker(case.frame, case.inject_time)]
        except ValueError:
            names = []
        out.append(names.index(case.service) if case.service in names else -1)
    return out


def scores(found: list[int]) -> dict[str, Any]:
    """AC@1, AC@3, Avg@5 (rounded) and n for a list of positions."""
    return {k: round(v, 3) for k, v in accuracy(found).items()} | {"n": len(found)}


def run(data_dir: Path = DEFAULT_DATA, methods: tuple[str, ...] = tuple(RANKERS)) -> dict[str, Any]:
    """Score each method overall and per fault type; include the runtime."""
    cases = load_cases(data_dir)
    report: dict[str, Any] = {"data": str(data_dir), "cases": len(cases), "methods": {}}
    for method in methods:
        start = time.perf_counter()
        found = positions(cases, RANKERS[method])
        table = {"overall": scores(found)}
        for fault in sorted({c.fault for c in cases}):
            table[fault] = scores(
                [p for p, c in zip(found, cases, strict=True) if c.fault == fault]
            )
        report["methods"][method] = {
            "seconds": round(time.perf_counter() - start, 2),
            "missed": sum(1 for p in found if p < 0),
            "table": table,
        }
    return report
