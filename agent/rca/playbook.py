"""The RCA playbook: scope an alert, gather evidence with read tools, rank hypotheses.

Both brains run the same deterministic playbook; an LLM only narrates the result (and may
ask for more read tools). Nothing here writes: the suggested action goes through the
approval gate like any other write.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from opsloop.agent.planner.catalog import Catalog
from opsloop.agent.rca.alerts import Alert
from opsloop.agent.rca.hypotheses import Findings, Hypothesis, downstream, rank
from opsloop.tools.errors import OpsError

SCAN_RANGE = "15m"
LOG_RANGE = "15m"
DRIFT_RANGE = "5m"
CHANGE_LOOKBACK_S = 6 * 3600
LIVE_S = 15 * 60  # an alert younger than this is investigated "now"
REPLAY_SETTLE_S = 5 * 60  # an old alert is judged this long after it started
MAX_LOG_SERVICES = 4
PSI_DRIFTED = 0.25  # the usual PSI bar for a shifted distribution
MIN_ACTIONABLE = 0.15  # below this score no hypothesis earns a remediation
TOP = 5
# Which remediation each kind of root cause calls for.
WRITE_FOR = {"model_version": "rollback_model", "data": "retrain_model"}


@dataclass
class Scope:
    """What an investigation is about: services, models, alert names and the time t0."""

    t0: float
    alerts: list[Alert]
    services: list[str]
    models: list[str]
    names: list[str]
    title: str
    severity: str
    unknown: list[str] = field(default_factory=list)  # names no backend knows

    @property
    def when(self) -> str:
        """Return t0 as ISO-8601 UTC."""
        return datetime.fromtimestamp(self.t0, UTC).isoformat(timespec="seconds")


def scope(
    alerts: list[Alert], catalog: Catalog, *, service_label: str = "service", now: float
) -> Scope:
    """Read services, models and t0 from the alerts' labels."""
    firing = [a for a in alerts if a.status == "firing"] or alerts
    try:
        known = set(catalog.services())
    except OpsError:
        known = set()
    services, models, unknown = [], [], []
    for alert in firing:
        svc = alert.service(service_label)
        if svc and svc not in services:
            (services if not known or svc in known else unknown).append(svc)
        if alert.model and alert.model not in models:
            models.append(alert.model)
    latest = max(a.starts_at for a in firing)
    t0 = now if now - latest < LIVE_S else min(now, latest + REPLAY_SETTLE_S)
    names = list(dict.fromkeys(a.name for a in firing))
    where = ", ".join(services + [m for m in models if m not in services]) or "unknown target"
    rank_of = {"page": 0, "critical": 0, "warning": 1, "ticket": 2, "info": 3}
    severity = min((a.severity for a in firing), key=lambda s: rank_of.get(s, 5))
    first = firing[0].annotations.get("summary") or firing[0].name
    title = f"{', '.join(names)} on {where}: {first}"
    return Scope(t0, alerts, services, models, names, title[:200], severity, unknown)


def question(s: Scope) -> str:
    """Return the text an alert turn carries (what memory recall and the answer record see)."""
    lines = [f"Investigate alert {s.title} (t0 {s.when})."]
    for alert in s.alerts[:10]:
        desc = alert.annotations.get("description", "")
        lines.append(f"- {alert.name} {alert.status} {_labels(alert)} {desc}".strip())
    return "\n".join(lines)


def served_map(catalog: Catalog, services: list[str]) -> dict[str, list[str]]:
    """Return which models each service serves (empty when discovery fails)."""
    out: dict[str, list[str]] = {}
    for svc in services:
        try:
            out[svc] = list(catalog.models_of(svc))
        except OpsError:
            out[svc] = []
    return out


def gather_calls(
    s: Scope,
    topology: dict[str, list[str]],
    served: dict[str, list[str]],
    available: set[str],
    now: float,
) -> list[tuple[str, dict[str, Any]]]:
    """Return the read calls of the playbook's gathering step, as (tool, args)."""
    end = s.when
    reach = downstream(topology)
    calls: list[tuple[str, dict[str, Any]]] = [("scan_signals", {"end": end, "range": SCAN_RANGE})]
    lookback = math.ceil((now - s.t0 + CHANGE_LOOKBACK_S) / 60)
    calls.append(("recent_changes", {"range": f"{lookback}m"}))
    near = list(s.services)
    for svc in s.services:
        near += [c for c in topology.get(svc, []) if c not in near]
    for svc in near[:MAX_LOG_SERVICES]:
        calls.append(
            ("search_logs", {"service": svc, "level": "warn", "range": LOG_RANGE, "end": end})
        )
    scope_services = set(s.services) | {c for a in s.services for c in reach.get(a, set())}
    models = list(s.models)
    for svc in sorted(scope_services):
        models += [m for m in served.get(svc, []) if m not in models]
    # Drift in a model fed by the same service shows a shared cause: check its siblings too.
    for svc, hosted in served.items():
        if reach.get(svc, set()) & scope_services or svc in scope_services:
            models += [m for m in hosted if m not in models]
    for model in models:
        calls.append(("check_drift", {"model": model, "range": DRIFT_RANGE, "end": end}))
    return [(name, args) for name, args in calls if name in available]


def findings(
    s: Scope,
    records: list[dict[str, Any]],
    *,
    topology: dict[str, list[str]],
    served: dict[str, list[str]],
    incidents: list[dict[str, Any]],
    owners: dict[str, str],
) -> Findings:
    """Turn the gathering step's tool records into Findings with evidence ids."""
    f = Findings(
        t0=s.t0,
        alerted=list(s.services),
        alerted_models=list(s.models),
        alert_names=list(s.names),
        topology=topology,
        served={k: v for k, v in served.items() if v},
        incidents=incidents,
        owners=owners,
    )
    for rec in records:
        data = rec.get("data") if isinstance(rec.get("data"), dict) else {}
        ids = rec.get("evidence", [])
        if rec["status"] == "error":
            f.failed.append(rec["name"])
        if rec["status"] != "ok":
            continue
        if rec["name"] == "scan_signals":
            for row in data.get("series", []):
                idx = row.get("evidence")
                eid = ids[idx] if isinstance(idx, int) and idx < len(ids) else None
                f.rows.append({**row, "eid": eid})
        elif rec["name"] == "recent_changes":
            f.changes += [{**c, "eid": ids[0] if ids else None} for c in data.get("changes", [])]
        elif rec["name"] == "check_drift":
            drifted = [
                d
                for d in data.get("drift", [])
                if d.get("verdict") == "drifted" and d.get("name") != "prediction_score"
            ]
            f.drift[data.get("model", rec["args"].get("model", ""))] = {
                "features": [d["name"] for d in drifted],
                "psi": {d["name"]: d.get("psi", 0.0) for d in drifted},
                "score_drift": any(
                    d.get("name") == "prediction_score" and d.get("verdict") == "drifted"
                    for d in data.get("drift", [])
                ),
                "eid": ids[0] if ids else None,
            }
        elif rec["name"] == "search_logs":
            new = [t for t in data.get("templates", []) if t.get("new")]
            f.logs[rec["args"].get("service", "")] = {
                "new": len(new),
                "templates": [t["text"] for t in new[:3]],
                "eid": ids[0] if ids else None,
            }
    _monitor_drift(f)
    return f


def _monitor_drift(f: Findings) -> None:
    """Add the drift a model monitor reports (feature PSI series) to the drift checks."""
    for row in f.rows:
        if row["signal"] != "feature_psi" or not row.get("model") or not row.get("feature"):
            continue
        level = max(float(row.get("current", 0.0)), float(row.get("peak") or 0.0))
        if row["direction"] != "up" or level <= PSI_DRIFTED:
            continue
        drift = f.drift.setdefault(row["model"], {"features": [], "psi": {}, "eid": None})
        if row["feature"] not in drift["features"]:
            drift["features"].append(row["feature"])
        drift["psi"][row["feature"]] = max(level, float(drift["psi"].get(row["feature"], 0.0)))
        drift["eid"] = drift.get("eid") or row.get("eid")


@dataclass
class Assessment:
    """The playbook's verdict: ranked hypotheses, what was ruled out, the suggested action."""

    hypotheses: list[Hypothesis]
    ruled_out: list[dict[str, Any]]
    action: dict[str, Any] | None  # {"name", "args", "why"} or None (no action needed)
    confidence: float
    raise_confidence: list[str]


def assess(f: Findings, incidents: list[dict[str, Any]] | None = None) -> Assessment:
    """Rank hypotheses (nudged by similar past incidents) and pick the remediation."""
    ranked = rank(f)
    for h in ranked:  # memory as a prior: a cause seen before for this alert counts a little
        for past in incidents or []:
            # The target, not the kind: the same cause reads as "service" or "dependency"
            # depending on which alert opened the incident.
            if past.get("cause_target") == h.target and h.kind != "none":
                h.score = min(1.0, h.score + 0.1 * float(past.get("score", 0.0)))
                h.why.append(f"a similar past incident had this cause ({past.get('id')})")
    ranked.sort(key=lambda h: -h.score)
    top = ranked[0]
    second = ranked[1].score if len(ranked) > 1 else 0.0
    confidence = round(
        max(0.0, min(1.0, top.score * (1.0 - 0.5 * second / max(top.score, 1e-9)))), 2
    )
    kept = [h for h in ranked[:TOP] if h.score > 0.05 or h is top]
    if top.kind == "none":  # show what was considered, weak as it is
        kept += [h for h in ranked if h.kind != "none" and h not in kept][
            : max(0, 3 - len(kept) + 1)
        ]
    ruled = [
        {"kind": h.kind, "target": h.target, "score": round(h.score, 3), "why": _ruled_why(h)}
        for h in ranked[len(kept) :]
        if h.kind != "none" or top.kind != "none"
    ][:8]
    # Too little evidence for any cause (backends down, or nothing moved yet): suggest no action.
    action = remediation(top, f) if top.score >= MIN_ACTIONABLE else None
    return Assessment(kept, ruled, action, confidence, _raise(top, f))


def remediation(top: Hypothesis, f: Findings) -> dict[str, Any] | None:
    """Return the action the top hypothesis calls for: rollback, retrain, escalate or none."""
    if top.kind == "none":
        return None
    if top.kind in WRITE_FOR:
        args: dict[str, Any] = {"model": top.target}
        if top.kind == "data":
            args["window"] = "7d"
        why = (
            "roll back to the champion before the release"
            if top.kind == "model_version"
            else "retrain on recent data so the model learns the new distribution"
        )
        return {"name": WRITE_FOR[top.kind], "args": args, "why": why}
    team = f.owners.get(top.target)
    args = {"team": team or f"the owners of {top.target}", "service": top.target}
    why = {
        "dependency": f"{top.target} is where the fault starts, below what alerted",
        "infra": f"{top.target} is CPU-bound at its limit: scale out or revert the change",
        "service": f"the fault is in {top.target} itself",
    }[top.kind]
    return {"name": "escalate", "args": args, "why": why}


def _ruled_why(h: Hypothesis) -> str:
    reasons = [w for w in h.why if w.startswith(("no ", "its ", "the same"))]
    return "; ".join(reasons) or "no signal, change or log evidence points at it"


def _raise(top: Hypothesis, f: Findings) -> list[str]:
    out = [f"a working {name} (it failed)" for name in dict.fromkeys(f.failed)]
    if not f.changes:
        out.append("a change log (deploys, config pushes, model alias moves)")
    if not f.topology:
        out.append("the service call graph (OPSLOOP_TOPOLOGY), to tell causes from symptoms")
    if top.kind != "none" and top.target not in f.logs and top.kind not in WRITE_FOR:
        out.append(f"logs from {top.target}")
    if top.kind in WRITE_FOR and top.target not in f.drift:
        out.append(f"feature logs for {top.target} (OPSLOOP_FEATURE_LOG_DIR), for drift checks")
    if not out:
        out.append("a confirming signal after the action (the alert resolving)")
    return out


def _labels(alert: Alert) -> str:
    keep = {k: v for k, v in alert.labels.items() if k not in ("alertname", "severity")}
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(keep.items())) + "}"
