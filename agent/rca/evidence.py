"""What the ranking works on: Findings, Hypothesis, and how much one piece of evidence says.

How strongly a scanned series says something is broken (its weight, how anomalous it is,
how near its limit it got) and how strongly a change event implicates its target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

# How much a move says about a fault: (signal, direction) → weight.
WEIGHT = {
    ("error_ratio", "up"): 1.0,
    ("latency_p99", "up"): 1.0,
    ("model_quality", "down"): 1.0,
    ("cpu_util", "up"): 0.9,
    ("cpu_throttling", "up"): 0.9,
    ("memory_util", "up"): 0.9,
    ("oom_kills", "up"): 0.9,
    ("restarts", "up"): 0.8,
    ("unavailable", "up"): 0.7,
    ("not_ready", "up"): 0.6,
    ("request_rate", "up"): 0.25,
    ("request_rate", "down"): 0.25,
}
# Saturation matters near the limit: a rise to 16 % of a CPU limit is load, not a fault.
# Per signal, the level where a rise starts to count and where it counts fully.
SATURATION = {"cpu_util": (0.3, 0.7), "memory_util": (0.3, 0.7), "cpu_throttling": (0.05, 0.25)}
FAMILY = {"error_ratio": "errors", "latency_p99": "latency"}
MODEL_SIGNALS = ("model_quality", "feature_drift")  # about a model, not its server
Z_FULL = 10.0  # a robust z this large counts as fully anomalous
CHANGE_WINDOW_S = 6 * 3600.0
CHANGE_FRESH_S = 15 * 60.0  # a change this close before the onset counts fully
CHANGE_DECAY_S = 30 * 60.0
MIN_SUSPECT = 0.15
PEER_FLOOR = 0.5  # what a move counts, against its signal's biggest mover, at the least
ERRORS_NOTED = (0.001, 0.01)  # an added error ratio that barely counts, and one that fully does
SLOWDOWN_NOTED = (1.1, 2.0)  # a latency ratio to baseline that barely counts, and one that does


@dataclass
class Findings:
    """Everything the playbook gathered, as plain data with evidence ids."""

    t0: float
    alerted: list[str]  # services named by the alerts
    alerted_models: list[str]
    alert_names: list[str]
    topology: dict[str, list[str]]  # caller → callees
    served: dict[str, list[str]]  # service → models it serves
    rows: list[dict[str, Any]] = field(default_factory=list)  # scan_signals rows (+ "eid")
    changes: list[dict[str, Any]] = field(default_factory=list)  # with "eid"
    drift: dict[str, dict[str, Any]] = field(default_factory=dict)  # model → {features, ...}
    logs: dict[str, dict[str, Any]] = field(default_factory=dict)  # service → {new, eid}
    incidents: list[dict[str, Any]] = field(default_factory=list)
    owners: dict[str, str] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)  # tools that could not be run
    unread: list[str] = field(default_factory=list)  # signal sources the scan found none of
    alerted_quality: list[str] = field(default_factory=list)  # models an alert says are bad
    drift_threshold: float = 0.25  # drift above this is a shifted input (the model monitor's)
    conditions: list[dict[str, Any]] = field(default_factory=list)  # alerts' rules, read back


@dataclass
class Hypothesis:
    """One ranked explanation: what kind of fault, where, how sure, and why."""

    kind: str  # model_version | service | dependency | data | infra | none
    target: str
    score: float
    evidence: list[str] = field(default_factory=list)
    why: list[str] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        """Return the DESIGN.md hypothesis shape (plus the reasons)."""
        return {
            "kind": self.kind,
            "target": self.target,
            "score": round(self.score, 3),
            "evidence": list(dict.fromkeys(self.evidence)),
            "why": self.why,
        }


def severity(row: dict[str, Any]) -> float:
    """Return how much one scanned series says something is broken, 0..1."""
    if row.get("direction") in (None, "flat"):
        return 0.0
    weight = WEIGHT.get((row["signal"], row["direction"]), 0.05)
    # Against its peers (agent/rca/peers.py): the biggest relative mover of a signal counts
    # fully, one that moved a fraction of that counts down to PEER_FLOOR.
    peer = PEER_FLOOR + (1.0 - PEER_FLOOR) * min(1.0, float(row.get("peer", 1.0)))
    return weight * min(1.0, abs(float(row.get("z", 0.0))) / Z_FULL) * headroom(row) * peer


def headroom(row: dict[str, Any]) -> float:
    """Return how much a saturation rise counts given how near the limit it got (0.05..1).

    Traffic that grows raises CPU and memory too; far from the limit that is load, not a
    fault. A row without a level (a plain z) counts fully.
    """
    levels = [float(v) for v in (row.get("current"), row.get("peak")) if v is not None]
    if row["signal"] == "error_ratio" and row.get("direction") == "up" and levels:
        return _error_weight(max(levels) - float(row.get("baseline") or 0.0))
    if row["signal"] == "latency_p99" and row.get("direction") == "up" and levels:
        return _slowdown_weight(max(levels), float(row.get("baseline") or 0.0))
    if row["signal"] not in SATURATION or row.get("direction") != "up" or not levels:
        return 1.0
    none, full = SATURATION[row["signal"]]
    share = (max(levels) - none) / (full - none)
    return min(1.0, max(0.05, share))


def _error_weight(added: float) -> float:
    """Return how much a rise in the error ratio counts by the errors it added (0.05..1).

    One failed request in a thousand is within a 99.9 % objective; ten in a thousand burn it
    ten times over. Between the two the weight grows with the logarithm of the rise, so a
    service that went from no errors to a handful is not ranked with one failing a third.
    """
    low, high = ERRORS_NOTED
    if added <= low:
        return 0.05
    return min(1.0, max(0.05, math.log(added / low) / math.log(high / low)))


def _slowdown_weight(level: float, baseline: float) -> float:
    """Return how much a latency rise counts by its ratio to the baseline (0.05..1): a few
    per cent is noise however steady, a doubling counts fully."""
    if baseline <= 0:
        return 1.0
    low, high = SLOWDOWN_NOTED
    ratio = level / baseline
    if ratio <= low:
        return 0.05
    return min(1.0, max(0.05, math.log(ratio / low) / math.log(high / low)))


def change_weight(change: dict[str, Any], onset: float) -> float:
    """Return how strongly a change event implicates its target for an onset, 0..1."""
    gap = onset - float(change["at"])
    if gap < -120.0 or gap > CHANGE_WINDOW_S:  # after the onset, or long before
        return 0.0
    if gap <= CHANGE_FRESH_S:
        return 1.0
    return math.exp(-(gap - CHANGE_FRESH_S) / CHANGE_DECAY_S)


def onset_of(f: Findings, rows: list[dict[str, Any]]) -> float:
    stamps = [r["onset"] for r in rows if r.get("onset") and severity(r) > 0.1]
    return min(stamps) if stamps else f.t0


def best_change(f: Findings, target: str, onset: float, kinds: tuple[str, ...]) -> tuple:
    best: tuple[float, dict[str, Any] | None] = (0.0, None)
    for change in f.changes:
        if change.get("target") == target and change.get("kind") in kinds:
            w = change_weight(change, onset)
            if w > best[0]:
                best = (w, change)
    return best


def row_text(row: dict[str, Any]) -> str:
    """Return a row's description, with figures only when evidence backs them."""
    if row.get("eid"):
        return cite(row["text"], row["eid"])
    return f"{row['service']} {row['signal'].replace('_', ' ')} moved {row['direction']}"


def cite(text: str, eid: str | None) -> str:
    return f"{text} [{eid}]" if eid else text
