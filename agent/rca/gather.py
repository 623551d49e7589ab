"""Gather evidence: the playbook's read calls, and their records turned into Findings."""

from __future__ import annotations

import math
from typing import Any

from opsloop.agent.planner.catalog import Catalog
from opsloop.agent.rca.evidence import Findings
from opsloop.agent.rca.peers import add_peer_shares
from opsloop.agent.rca.scope import Scope, rule_expression
from opsloop.tools.callgraph import downstream
from opsloop.tools.errors import OpsError

SCAN_RANGE = "15m"
LOG_RANGE = "15m"
DRIFT_RANGE = "5m"
CHANGE_LOOKBACK_S = 6 * 3600
MAX_LOG_SERVICES = 4
MAX_CONDITIONS = 4  # alerts whose own rule is read back


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
    calls += condition_calls(s)
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


def condition_calls(s: Scope) -> list[tuple[str, dict[str, Any]]]:
    """Return a check of each firing alert's own rule: what it asserts is evidence too."""
    out: list[tuple[str, dict[str, Any]]] = []
    seen: set[tuple[str, ...]] = set()
    for alert in s.alerts:
        key = (alert.name, *sorted(f"{k}={v}" for k, v in alert.labels.items()))
        if alert.status != "firing" or key in seen or len(out) >= MAX_CONDITIONS:
            continue
        seen.add(key)
        args: dict[str, Any] = {"alertname": alert.name, "labels": dict(alert.labels)}
        if expr := rule_expression(alert):
            args["expr"] = expr
        out.append(("check_alert_condition", {**args, "end": s.when}))
    return out


def findings(
    s: Scope,
    records: list[dict[str, Any]],
    *,
    topology: dict[str, list[str]],
    served: dict[str, list[str]],
    incidents: list[dict[str, Any]],
    owners: dict[str, str],
    drift_threshold: float = 0.25,
) -> Findings:
    """Turn the gathering step's tool records into Findings with evidence ids."""
    f = Findings(
        t0=s.t0,
        alerted=list(s.services),
        alerted_models=list(s.models),
        alert_names=list(s.names),
        alerted_quality=list(s.quality),
        topology=topology,
        served={k: v for k, v in served.items() if v},
        incidents=incidents,
        owners=owners,
        drift_threshold=drift_threshold,
    )
    for rec in records:
        data = rec.get("data") if isinstance(rec.get("data"), dict) else {}
        ids = rec.get("evidence", [])
        if rec["status"] == "error":
            f.failed.append(rec["name"])
        if rec["status"] != "ok":
            continue
        if rec["name"] == "scan_signals":
            f.unread += [s for s in data.get("unread", []) if s not in f.unread]
            for row in data.get("series", []):
                idx = row.get("evidence")
                eid = ids[idx] if isinstance(idx, int) and idx < len(ids) else None
                f.rows.append({**row, "eid": eid})
        elif rec["name"] == "check_alert_condition":
            f.conditions.append({**data, "eid": ids[0] if ids else None})
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
    add_peer_shares(f.rows)
    _monitor_drift(f)
    return f


def _monitor_drift(f: Findings) -> None:
    """Add the drift a model monitor reports (per-feature drift series) to the drift checks."""
    for row in f.rows:
        if row["signal"] != "feature_drift" or not row.get("model") or not row.get("feature"):
            continue
        level = max(float(row.get("current", 0.0)), float(row.get("peak") or 0.0))
        if row["direction"] != "up" or level <= f.drift_threshold:
            continue
        drift = f.drift.setdefault(row["model"], {"features": [], "psi": {}, "eid": None})
        if row["feature"] not in drift["features"]:
            drift["features"].append(row["feature"])
        drift["psi"][row["feature"]] = max(level, float(drift["psi"].get(row["feature"], 0.0)))
        drift["eid"] = drift.get("eid") or row.get("eid")
