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
5. An alert whose own rule still holds is an impact: a false alarm has to explain it away
   (it held at this time yesterday too, or it keeps flapping) or find it no longer holds.
"""

from __future__ import annotations

from typing import Any

from opsloop.agent.rca.condition import (
    SERVICE_FLOOR,
    cleared_lines,
    condition_service,
    standing,
)
from opsloop.agent.rca.condition import impact as condition_impact
from opsloop.agent.rca.evidence import (
    FAMILY,
    MIN_SUSPECT,
    MODEL_SIGNALS,
    WEIGHT,
    Findings,
    Hypothesis,
    best_change,
    cite,
    onset_of,
    row_text,
    severity,
)
from opsloop.agent.rca.models import (
    ALERTED_QUALITY,
    MODEL_RELEASES,
    drift_strength,
    model_hypotheses,
)
from opsloop.tools.callgraph import below, downstream


def rank(f: Findings) -> list[Hypothesis]:
    """Return every hypothesis with a score, best first."""
    reach = downstream(f.topology)
    services = _services(f, reach)
    worst = _worst_rows(f)
    out: list[Hypothesis] = []
    out += _service_hypotheses(f, services, worst, reach)
    out += model_hypotheses(f, reach)
    out.append(_false_alarm(f, worst))
    out.sort(key=lambda h: -h.score)
    return _merged(out)


def _merged(ranked: list[Hypothesis]) -> list[Hypothesis]:
    """Return one hypothesis per (kind, target): the best-scored, with every reason and piece
    of evidence of the others (a feeder of drifting models is also a slow dependency)."""
    out: dict[tuple[str, str], Hypothesis] = {}
    for h in ranked:
        kept = out.setdefault((h.kind, h.target), h)
        if kept is not h:
            kept.evidence += [e for e in h.evidence if e not in kept.evidence]
            kept.why += [w for w in h.why if w not in kept.why]
    return list(out.values())


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
            why[s].append(row_text(top))
        for row in _also_bad(f, s, top):  # throttling beside latency, OOM kills beside memory
            why[s].append(row_text(row))
            if row.get("eid"):
                evidence[s].append(row["eid"])
    # Propagation: a symptom's anomaly is shared by something it calls. In a call cycle
    # neither side is below the other, unless one side changed at the onset and the other
    # did not: then the change explains both.
    onset = onset_of(f, f.rows)
    changed = {s: best_change(f, s, onset, ("deploy", "config"))[0] for s in services}
    for s in services:
        top = worst.get(s)
        family = FAMILY.get(top["signal"]) if top else None
        if not top or not family or top["sev"] < MIN_SUSPECT:
            continue
        cycle = {
            c
            for c in reach.get(s, set())
            if s in reach.get(c, set()) and changed.get(c, 0.0) >= 0.5 > changed.get(s, 0.0)
        }
        sharers = [
            c
            for c in below(reach, s) | cycle
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
    for s in list(score):
        w, change = best_change(f, s, onset, ("deploy", "config"))
        if change is None:
            continue
        involved = score[s] >= MIN_SUSPECT or any(s in reach.get(a, set()) for a in f.alerted)
        bonus = (0.45 if involved else 0.15) * w
        shipped = _shipped_model(f, s, onset)
        if shipped and own.get(s, 0.0) < 0.5:
            # The deploy released a model version: with the service itself healthy, the
            # release is the suspect (the model hypothesis), not the service's code.
            bonus *= 0.3
            why.setdefault(s, []).append(f"its deploy shipped {shipped}")
        score[s] = min(1.0, score[s] * 0.7 + bonus + (0.1 if involved else 0.0))
        text = f"{change['kind']} {change['when']}: {change['summary']}"
        why.setdefault(s, []).append(cite(text, change.get("eid")))
        if change.get("eid"):
            evidence.setdefault(s, []).append(change["eid"])
    # Logs: error templates that are new in the window.
    for s, logs in f.logs.items():
        if s in score and logs.get("new", 0) > 0 and score[s] >= MIN_SUSPECT:
            score[s] = min(1.0, score[s] + 0.1)
            why[s].append(cite(f"{logs['new']} log template(s) new in the window", logs.get("eid")))
            if logs.get("eid"):
                evidence[s].append(logs["eid"])
    # The alert's condition still holds and nothing explains it: the service it names is
    # impacted, whatever the scan's baseline made of it (a slow burn looks flat).
    for c in standing(f):
        s = condition_service(c, f.alerted)
        if s in score and score[s] < SERVICE_FLOOR:
            score[s] = SERVICE_FLOOR
            why.setdefault(s, []).append(cite(f"its alert {c['alert']} still holds", c.get("eid")))
            if c.get("eid"):
                evidence.setdefault(s, []).append(c["eid"])
    out = []
    for s, value in score.items():
        kind = _service_kind(f, s, reach)
        out.append(Hypothesis(kind, s, value, evidence.get(s, []), why.get(s, [])))
    return out


def _shipped_model(f: Findings, service: str, onset: float) -> str | None:
    """Return the model version a service's fresh deploy released (a switch or alias move of
    a model it serves, at about the same time), if any."""
    for model in f.served.get(service, []):
        w, release = best_change(f, model, onset, MODEL_RELEASES)
        if release is not None and w >= 0.5:
            version = (release.get("detail") or {}).get("to")
            return f"{model} v{version}" if version else model
    return None


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


def _false_alarm(f: Findings, worst: dict[str, dict[str, Any]]) -> Hypothesis:
    bad = max((r["sev"] for k, r in worst.items() if "/" not in k), default=0.0)
    quality = max((severity(r) for r in f.rows if r["signal"] == "model_quality"), default=0.0)
    drift = max((drift_strength(d, f.drift_threshold) for d in f.drift.values()), default=0.0)
    # What the alert asserts is an observed impact. Its rule, read back, decides; without it
    # (no rule found, a Grafana alert) an alert that says its model performs badly counts.
    asserted = ALERTED_QUALITY if f.alerted_quality else 0.0
    read_back = condition_impact(f)
    if read_back is not None:
        asserted = read_back
    impact = max(bad if worst else 0.0, quality, drift, asserted)
    seasonal = any(r.get("seasonal") for r in f.rows if r["signal"] == "request_rate")
    target = f.alerted[0] if f.alerted else (f.alerted_models or ["the alert"])[0]
    if "scan_signals" in f.failed:  # unread signals are not healthy signals
        return Hypothesis("none", target, 0.0, [], ["the signals could not be read"])
    why = [*cleared_lines(f), "no error, latency, saturation or model quality impact"]
    if seasonal:
        why.append("traffic matches the same time yesterday")
    return Hypothesis("none", target, max(0.0, 0.8 - 1.5 * impact), [], why)
