"""Score root-cause hypotheses from an investigation's findings (pure: data in, ranking out).

The method, in the order an SRE reasons:
1. What is broken, and how badly: each service's worst bad-direction signal (errors up,
   latency up, saturation, restarts, model quality down); traffic moves count little.
2. Where it starts: errors and latency travel up the call graph, so a service whose
   anomaly a callee shares (same family, at least half as strong) is a symptom, not a cause.
   A service that got slow without using more CPU is waiting on a callee; if that callee's
   latency is not measured, it becomes a suspect in its own right.
3. What changed: a deploy, config push or model alias move on a suspect shortly before the
   onset is the strongest single clue; routine changes hours earlier barely count.
4. For models: quality down plus a fresh alias move is the release; drifted input features
   without one is the data; the same drift in several models points at what feeds them all.
5. Nothing bad moved and the alerting signal matches yesterday: a false alarm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from opsloop.tools.callgraph import below, downstream

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
    alerted_quality: list[str] = field(default_factory=list)  # models an alert says are bad
    drift_threshold: float = 0.25  # drift above this is a shifted input (the model monitor's)


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
    return weight * min(1.0, abs(float(row.get("z", 0.0))) / Z_FULL) * headroom(row)


def headroom(row: dict[str, Any]) -> float:
    """Return how much a saturation rise counts given how near the limit it got (0.05..1).

    Traffic that grows raises CPU and memory too; far from the limit that is load, not a
    fault. A row without a level (a plain z) counts fully.
    """
    levels = [float(v) for v in (row.get("current"), row.get("peak")) if v is not None]
    if row["signal"] not in SATURATION or row.get("direction") != "up" or not levels:
        return 1.0
    none, full = SATURATION[row["signal"]]
    share = (max(levels) - none) / (full - none)
    return min(1.0, max(0.05, share))


def rank(f: Findings) -> list[Hypothesis]:
    """Return every hypothesis with a score, best first."""
    reach = downstream(f.topology)
    services = _services(f, reach)
    worst = _worst_rows(f)
    out: list[Hypothesis] = []
    out += _service_hypotheses(f, services, worst, reach)
    out += _model_hypotheses(f, reach)
    out.append(_false_alarm(f, worst))
    out.sort(key=lambda h: -h.score)
    return out


def _services(f: Findings, reach: dict[str, set[str]]) -> list[str]:
    names = set(f.alerted) | {r["service"] for r in f.rows if r.get("service")}
    names |= {c for s in f.alerted for c in reach.get(s, set())}
    names |= {s for s, models in f.served.items() if set(models) & set(f.alerted_models)}
    return sorted(n for n in names if n)


def _worst_rows(f: Findings) -> dict[str, dict[str, Any]]:
    """Return per service its most severe non-model row, and per (service, family) too."""
    worst: dict[str, dict[str, Any]] = {}
    for row in f.rows:
        if row["signal"] in MODEL_SIGNALS:
            continue
        sev = severity(row)
        for key in (row["service"], f"{row['service']}/{FAMILY.get(row['signal'], '')}"):
            if sev > worst.get(key, {}).get("sev", 0.0):
                worst[key] = {**row, "sev": sev}
    return worst


def change_weight(change: dict[str, Any], onset: float) -> float:
    """Return how strongly a change event implicates its target for an onset, 0..1."""
    gap = onset - float(change["at"])
    if gap < -120.0 or gap > CHANGE_WINDOW_S:  # after the onset, or long before
        return 0.0
    if gap <= CHANGE_FRESH_S:
        return 1.0
    return math.exp(-(gap - CHANGE_FRESH_S) / CHANGE_DECAY_S)


def _onset(f: Findings, rows: list[dict[str, Any]]) -> float:
    stamps = [r["onset"] for r in rows if r.get("onset") and severity(r) > 0.1]
    return min(stamps) if stamps else f.t0


def _best_change(f: Findings, target: str, onset: float, kinds: tuple[str, ...]) -> tuple:
    best: tuple[float, dict[str, Any] | None] = (0.0, None)
    for change in f.changes:
        if change.get("target") == target and change.get("kind") in kinds:
            w = change_weight(change, onset)
            if w > best[0]:
                best = (w, change)
    return best


def _service_hypotheses(
    f: Findings,
    services: list[str],
    worst: dict[str, dict[str, Any]],
    reach: dict[str, set[str]],
) -> list[Hypothesis]:
    measured = {r["service"] for r in f.rows if r["signal"] == "latency_p99"}
    own = {s: worst.get(s, {}).get("sev", 0.0) for s in services}
    score = dict(own)
    why: dict[str, list[str]] = {s: [] for s in services}
    evidence: dict[str, list[str]] = {s: [] for s in services}
    for s in services:
        top = worst.get(s)
        if top and top.get("eid"):
            evidence[s].append(top["eid"])
        if top and top["sev"] > 0:
            why[s].append(_row_text(top))
        for row in _also_bad(f, s, top):  # throttling beside latency, OOM kills beside memory
            why[s].append(_row_text(row))
            if row.get("eid"):
                evidence[s].append(row["eid"])
    # Propagation: a symptom's anomaly is shared by something it calls.
    for s in services:
        top = worst.get(s)
        family = FAMILY.get(top["signal"]) if top else None
        if not top or not family or top["sev"] < MIN_SUSPECT:
            continue
        sharers = [
            c
            for c in below(reach, s)
            if worst.get(f"{c}/{family}", {}).get("sev", 0.0) >= 0.5 * top["sev"]
        ]
        if sharers:
            score[s] *= 0.25
            verb = "follow" if family == "errors" else "follows"
            why[s].append(f"its {family} {verb} {', '.join(sorted(sharers))}, which it calls")
        elif family == "latency":
            blind = [c for c in f.topology.get(s, []) if c not in measured]
            if blind and not _saturated(f, s):
                for c in blind:
                    score[c] = max(score.get(c, 0.0), 0.8 * top["sev"])
                    why.setdefault(c, []).append(
                        f"{s} got slow without using more CPU: it waits on {c}, whose "
                        "latency is not measured"
                    )
                    evidence.setdefault(c, []).extend(evidence[s])
                score[s] *= 0.6
    # Changes: a fresh deploy or config push on the suspect.
    onset = _onset(f, f.rows)
    for s in list(score):
        w, change = _best_change(f, s, onset, ("deploy", "config"))
        if change is None:
            continue
        involved = score[s] >= MIN_SUSPECT or any(s in reach.get(a, set()) for a in f.alerted)
        bonus = (0.45 if involved else 0.15) * w
        score[s] = min(1.0, score[s] * 0.7 + bonus + (0.1 if involved else 0.0))
        text = f"{change['kind']} {change['when']}: {change['summary']}"
        why.setdefault(s, []).append(_cite(text, change.get("eid")))
        if change.get("eid"):
            evidence.setdefault(s, []).append(change["eid"])
    # Logs: error templates that are new in the window.
    for s, logs in f.logs.items():
        if s in score and logs.get("new", 0) > 0 and score[s] >= MIN_SUSPECT:
            score[s] = min(1.0, score[s] + 0.1)
            why[s].append(
                _cite(f"{logs['new']} log template(s) new in the window", logs.get("eid"))
            )
            if logs.get("eid"):
                evidence[s].append(logs["eid"])
    out = []
    for s, value in score.items():
        top = worst.get(s)
        kind = _service_kind(f, s, reach)
        out.append(Hypothesis(kind, s, value, evidence.get(s, []), why.get(s, [])))
    return out


def _also_bad(f: Findings, service: str, top: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Return the service's other marked bad moves, strongest first: the evidence a person
    looks at beside the worst one."""
    taken = top["signal"] if top else None
    rows = [
        r
        for r in f.rows
        if r["service"] == service
        and r["signal"] not in (taken, *MODEL_SIGNALS)
        and (r["signal"], r.get("direction")) in WEIGHT
        and WEIGHT[(r["signal"], r["direction"])] >= 0.5
        and severity(r) >= MIN_SUSPECT
    ]
    best: dict[str, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: -severity(r)):
        best.setdefault(row["signal"], row)
    return list(best.values())[:2]


def _saturated(f: Findings, service: str) -> bool:
    """Return True when the service's CPU use (or its throttling) rose to a marked degree."""
    cpu = ("cpu_util", "cpu_throttling")
    return any(
        r["service"] == service and r["signal"] in cpu and severity(r) >= 0.4 for r in f.rows
    )


def _service_kind(f: Findings, s: str, reach: dict[str, set[str]]) -> str:
    """Return dependency (below what alerted), infra (CPU-bound) or service (its own fault)."""
    if s not in f.alerted and any(s in reach.get(a, set()) for a in f.alerted):
        return "dependency"
    if _saturated(f, s):
        return "infra"
    return "service"


def _model_hypotheses(f: Findings, reach: dict[str, set[str]]) -> list[Hypothesis]:
    models = sorted({m for ms in f.served.values() for m in ms} | set(f.alerted_models))
    quality = {m: 0.0 for m in models}
    q_eid: dict[str, str] = {}
    for row in f.rows:
        if row["signal"] == "model_quality" and row.get("model") in quality:
            sev = severity(row)
            if sev > quality[row["model"]]:
                quality[row["model"]] = sev
                if row.get("eid"):
                    q_eid[row["model"]] = row["eid"]
    for m in f.alerted_quality:  # the alert itself says this model performs badly
        quality[m] = max(quality.get(m, 0.0), 0.6)
    drifted = {m: _drift_strength(f.drift.get(m), f.drift_threshold) for m in models}
    # Drift in several models at once: look for what feeds them all.
    feeders = _feeder_scores(f, drifted, reach)
    shared = {m: feeder for feeder, (_, hit, _) in feeders.items() for m in hit}
    out = []
    for m in models:
        d, q = drifted[m], quality[m]
        onset = _onset(f, [r for r in f.rows if r.get("model") == m])
        w, move = _best_change(f, m, onset, ("alias_move",))
        ev = [e for e in (q_eid.get(m), (f.drift.get(m) or {}).get("eid")) if e]
        why_q = [_cite("online quality fell", q_eid.get(m))] if q > 0 else []
        mv = Hypothesis("model_version", m, 0.0, list(ev), list(why_q))
        if move is not None:
            mv.score = 0.45 * max(q, 0.2) + 0.5 * w - 0.35 * d
            mv.why.append(_cite(f"alias move {move['when']}: {move['summary']}", move.get("eid")))
            if move.get("eid"):
                mv.evidence.append(move["eid"])
        else:
            mv.score = 0.15 * q
            mv.why.append("no alias move before the onset")
        data = Hypothesis("data", m, 0.0, list(ev), list(why_q))
        feeder = shared.get(m)
        data.score = 0.35 * q + 0.55 * d - 0.4 * w - (0.45 * d if feeder else 0.0)
        if d > 0:
            names = ", ".join((f.drift.get(m) or {}).get("features", [])[:4])
            data.why.append(_cite(f"input features drifted: {names}", f.drift[m].get("eid")))
        if feeder:
            data.why.append(f"the same drift shows in other models fed by {feeder}")
        out += [mv, data]
    for feeder, (strength, models_hit, eids) in feeders.items():
        w, change = _best_change(f, feeder, _onset(f, f.rows), ("deploy", "config"))
        h = Hypothesis(
            "dependency",
            feeder,
            min(1.0, 0.35 + 0.35 * strength + 0.3 * w) if len(models_hit) > 1 or w else 0.0,
            eids,
            [f"feeds {', '.join(models_hit)}, whose input features drifted together"],
        )
        if change is not None:
            h.why.append(
                _cite(f"{change['kind']} {change['when']}: {change['summary']}", change.get("eid"))
            )
            if change.get("eid"):
                h.evidence.append(change["eid"])
        if h.score > 0:
            out.append(h)
    for h in out:
        h.score = max(0.0, min(1.0, h.score))
    return out


def _drift_strength(drift: dict[str, Any] | None, threshold: float) -> float:
    """Return 0..1 from the drifted input features (the prediction score does not count):
    full strength at twice the drift threshold."""
    if not drift:
        return 0.0
    psi = [float(p) for p in drift.get("psi", {}).values()]
    if not drift.get("features") or not psi:
        return 0.0
    return min(1.0, max(psi) / (2 * threshold))


def _feeders(f: Findings, model: str, reach: dict[str, set[str]]) -> set[str]:
    hosts = [s for s, ms in f.served.items() if model in ms]
    return {c for h in hosts for c in reach.get(h, set())}


def _feeder_scores(
    f: Findings, drifted: dict[str, float], reach: dict[str, set[str]]
) -> dict[str, tuple[float, list[str], list[str]]]:
    hit = [m for m, d in drifted.items() if d > 0]
    out: dict[str, tuple[float, list[str], list[str]]] = {}
    for m in hit:
        for feeder in _feeders(f, m, reach):
            strength, models, eids = out.get(feeder, (0.0, [], []))
            eid = (f.drift.get(m) or {}).get("eid")
            out[feeder] = (
                max(strength, drifted[m]),
                [*models, m],
                [*eids, *([eid] if eid else [])],
            )
    # The nearest common feeder explains the drift; its own callees add nothing new.
    nearest = {k: v for k, v in out.items() if not any(k in reach.get(o, set()) for o in out)}
    return nearest if len(hit) > 1 else {k: v for k, v in out.items() if _fresh_change(f, k)}


def _fresh_change(f: Findings, target: str) -> bool:
    return _best_change(f, target, _onset(f, f.rows), ("deploy", "config"))[0] > 0.5


def _false_alarm(f: Findings, worst: dict[str, dict[str, Any]]) -> Hypothesis:
    bad = max((r["sev"] for k, r in worst.items() if "/" not in k), default=0.0)
    quality = max((severity(r) for r in f.rows if r["signal"] == "model_quality"), default=0.0)
    drift = max((_drift_strength(d, f.drift_threshold) for d in f.drift.values()), default=0.0)
    impact = max(bad if worst else 0.0, quality, drift)
    seasonal = any(r.get("seasonal") for r in f.rows if r["signal"] == "request_rate")
    target = f.alerted[0] if f.alerted else (f.alerted_models or ["the alert"])[0]
    if "scan_signals" in f.failed:  # unread signals are not healthy signals
        return Hypothesis("none", target, 0.0, [], ["the signals could not be read"])
    why = ["no error, latency, saturation or model quality impact"]
    if seasonal:
        why.append("traffic matches the same time yesterday")
    return Hypothesis("none", target, max(0.0, 0.8 - 1.5 * impact), [], why)


def _row_text(row: dict[str, Any]) -> str:
    """Return a row's description, with figures only when evidence backs them."""
    if row.get("eid"):
        return _cite(row["text"], row["eid"])
    return f"{row['service']} {row['signal'].replace('_', ' ')} moved {row['direction']}"


def _cite(text: str, eid: str | None) -> str:
    return f"{text} [{eid}]" if eid else text
