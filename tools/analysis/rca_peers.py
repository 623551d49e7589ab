"""Root-cause ranking for short baselines: relative level shifts, peer-normalised, role-weighted.

Built for fault windows whose normal period may be a row or two and whose anomalous period
is about ten rows (one per scrape), as in real fault-injection data. Four steps, from metric
names alone (no service names, no fault-type rules):

1. Shift: a metric's baseline is the median of the normal rows; its shift is the largest
   deviation from it *held* for `hold` consecutive anomalous rows (a one-scrape glitch does not
   count), relative to the baseline level and capped at `cap`. The denominator is floored at
   `floor` × the typical level of that metric kind over all services, so a metric idling at
   zero cannot give an infinite ratio. Relative change needs no noise estimate, which two or
   three normal rows cannot give.
2. Peers: each metric kind (`cpu`, `latency-p90`, …) is divided by its largest shift over all
   services: a kind that moved everywhere (a load change) weighs little, and the service that
   moved most on a kind gets 1.
3. Families: kinds differing only by percentile or unit (`latency-p90/p95/p99`,
   `cpu`/`cpu-millicores`, `mem`/`mem-mib`) are one family; a service takes its best kind.
4. Roles: a family describes the service itself (cpu, memory, server-side latency, errors,
   success rate), its traffic (network, syscalls, request volume), or its calls to others
   (client-side latency, measured where the service is the client). A slow callee raises its
   callers' client latency, so that evidence points away from the service:
   score = direct_weight·Σ direct + Σ traffic − caller_penalty·Σ caller.

Measured on Nezha's Online Boutique faults (python -m opsloop.evals.nezha).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from opsloop.tools.analysis.rca_rank import (
    RankedTarget,
    anomaly_split,
    metric_matrix,
    split_column,
)

# Percentile and unit suffixes: variants of one measurement, not separate evidence.
_VARIANT = re.compile(r"[-_.](p\d{1,3}|q\d{1,3}|\d{2}|millicores|cores|mib|mb|bytes|seconds|ms)$")
_CALLER = re.compile(r"client|outbound")
_DIRECT = re.compile(r"cpu|mem|latency|duration|response|error|fail|success|status|5xx|gc|heap")

HOLD = 3
DIRECT_WEIGHT = 4.0
CALLER_PENALTY = 2.0
CAP = 5.0
FLOOR = 0.01
MIN_SHIFT = 0.02  # a 2 % change: below it, a kind's biggest mover is jitter


def metric_family(metric: str) -> str:
    """Drop percentile and unit suffixes: `latency-p99` → `latency`, `mem-mib` → `mem`."""
    key = metric.lower()
    while (stripped := _VARIANT.sub("", key)) != key and stripped:
        key = stripped
    return key


def family_role(family: str) -> str:
    """Classify a family as `caller` (client-side view), `direct` (the service) or `traffic`."""
    if _CALLER.search(family):
        return "caller"
    return "direct" if _DIRECT.search(family) else "traffic"


def held_shift(post_dev: np.ndarray, hold: int) -> tuple[np.ndarray, np.ndarray]:
    """Return, per column, the largest deviation held for `hold` rows and the row it starts."""
    width = max(1, min(hold, post_dev.shape[0]))
    held = np.lib.stride_tricks.sliding_window_view(post_dev, width, axis=0).min(axis=-1)
    return held.max(axis=0), held.argmax(axis=0)


def peer_table(
    cells: pd.DataFrame,
    *,
    cap: float = CAP,
    floor: float = FLOOR,
    min_shift: float = MIN_SHIFT,
) -> pd.DataFrame:
    """Add `rel` (relative shift), `peer` (over the kind's biggest mover) and `family`.

    `cells` has one row per (service, metric kind) with `shift` (how far it moved), `base`
    (its normal level) and `level` (its typical magnitude). This is the scoring core both
    `opsloop rca rank` and the live playbook's signal ranking use.
    """
    cells = cells.copy()
    kind_level = cells.groupby("kind")["level"].transform("median")
    denom = np.maximum(np.maximum(np.abs(cells["base"]), floor * kind_level), 1e-12)
    cells["rel"] = np.minimum(cells["shift"] / denom, cap)
    peak = cells.groupby("kind")["rel"].transform("max")
    # A kind whose best mover barely moved is no evidence: its peers divide by at least
    # `min_shift`, so noise on a kind only one service has does not score as a full move.
    cells["peer"] = cells["rel"] / np.maximum(peak, min_shift)
    cells["family"] = cells["kind"].map(metric_family)
    return cells


def rank_by_peers(
    df: pd.DataFrame,
    anomaly_time: float,
    *,
    hold: int = HOLD,
    direct_weight: float = DIRECT_WEIGHT,
    caller_penalty: float = CALLER_PENALTY,
    cap: float = CAP,
    floor: float = FLOOR,
    min_shift: float = MIN_SHIFT,
) -> list[RankedTarget]:
    """Rank services by role-weighted, peer-normalised relative shifts, best first.

    Scores are each service's total over the top one, floored at 0; `metric` is the column
    that added most to it, `onset` when that column's held shift began, `z` its relative shift.
    """
    times, values, names = metric_matrix(df)
    split = anomaly_split(times, anomaly_time, 1)
    base = np.median(values[:split], axis=0)
    shift, start = held_shift(np.abs(values[split:] - base), hold)
    parts = [split_column(n) for n in names]
    cells = pd.DataFrame(
        {
            "column": range(len(names)),
            "service": [s for s, _ in parts],
            "kind": [m.lower() for _, m in parts],
            "shift": shift,
            "base": base,
            "level": np.median(np.abs(values), axis=0),
        }
    )
    cells = peer_table(cells, cap=cap, floor=floor, min_shift=min_shift)
    weight = {"direct": direct_weight, "traffic": 1.0, "caller": -caller_penalty}
    cells["w"] = cells["family"].map(lambda f: weight[family_role(f)])
    # A family counts once per service: its best kind.
    best = cells.loc[cells.groupby(["service", "family"], sort=False)["peer"].idxmax()]
    best = best.assign(part=best["peer"] * best["w"])
    totals = best.groupby("service", sort=False)["part"].sum()
    lead = best.sort_values("part", ascending=False).drop_duplicates("service")
    lead = lead.set_index("service")
    order = sorted(totals.index, key=lambda s: (-float(totals[s]), s))
    top = max(float(totals.max()), 0.0) or 1.0
    ranked = []
    for service in order:
        col = int(lead.loc[service, "column"])
        moved = shift[col] > 0
        ranked.append(
            RankedTarget(
                target=service,
                score=round(max(float(totals[service]), 0.0) / top, 6),
                metric=names[col],
                onset=float(times[split + int(start[col])]) if moved else None,
                z=float(lead.loc[service, "rel"]),
            )
        )
    return ranked
