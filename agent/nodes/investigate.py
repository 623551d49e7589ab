"""Alert mode: the RCA playbook's steps inside the graph (scope, gather, assess, propose)."""

from __future__ import annotations

import itertools
from typing import Any

from langchain_core.messages import AIMessage

from agent import rca
from agent.alerts import Alert
from agent.deps import Deps
from agent.hypotheses import Hypothesis
from agent.state import AgentState
from tools.topology import discover

_ids = itertools.count(1)


def alerts_of(state: AgentState) -> list[Alert]:
    """Rebuild the Alert objects carried in the state."""
    return [Alert(**a) for a in state.get("alerts", [])]


def start(state: AgentState, deps: Deps) -> dict[str, Any]:
    """Scope the alerts; return the intake fields of an alert turn."""
    alerts = alerts_of(state)
    if not alerts:
        return {"error": "an alert turn needs at least one alert", "rca": {"stage": "done"}}
    now = deps.now().timestamp()  # the injected clock, as every other node uses
    s = rca.scope(alerts, deps.catalog, service_label=deps.settings.service_label, now=now)
    notes = [
        f"{name} is not a service Prometheus knows; the alert's labels may be wrong."
        for name in s.unknown
    ]
    return {
        "question": rca.question(s),
        "notes": notes,
        "rca": {
            "stage": "gather",
            "t0": s.t0,
            "title": s.title,
            "severity": s.severity,
            "services": s.services,
            "models": s.models,
            "names": s.names,
            "alerts": len(alerts),
        },
        "hypotheses": [],
        "ruled_out": [],
        "action": None,
    }


def step(state: AgentState, deps: Deps) -> dict[str, Any]:
    """Plan the next playbook step: gather evidence, then assess it."""
    info = dict(state.get("rca") or {})
    stage = info.get("stage")
    s = _scope(state, info, deps)
    if stage == "gather":
        served = rca.served_map(deps.catalog, _all_services(deps))
        topology = _topology(deps)
        calls = rca.gather_calls(s, topology, served, set(deps.tools), deps.now().timestamp())
        pending = [
            {"id": f"call_a{next(_ids)}", "name": name, "args": args} for name, args in calls
        ]
        info.update(stage="gathered", served=served, topology=topology)
        return {
            "rca": info,
            "intent": "investigate",
            "pending": pending,
            "messages": [_ai(pending)] if pending else [],
        }
    if stage == "gathered":
        return _assess(state, deps, s, info)
    if stage == "approval":
        info["stage"] = "done"
    return {"rca": info, "pending": []}


def propose_node(state: AgentState, deps: Deps) -> dict[str, Any]:
    """After the report: put the suggested write before the approval gate."""
    action = state.get("action") or {}
    info = {**(state.get("rca") or {}), "stage": "approval"}
    call = {"id": f"call_a{next(_ids)}", "name": action["name"], "args": dict(action["args"])}
    return {"rca": info, "pending": [call], "messages": [_ai([call])]}


def wants_approval(state: AgentState, deps: Deps) -> bool:
    """Return True when the report is out and its suggested action is a write to request."""
    action = state.get("action") or {}
    info = state.get("rca") or {}
    return (
        state.get("mode") == "alert"
        and info.get("stage") == "reported"
        and deps.is_write(action.get("name", ""))
        and not state.get("error")
    )


def _assess(state: AgentState, deps: Deps, s: rca.Scope, info: dict[str, Any]) -> dict[str, Any]:
    records = state.get("tool_calls", [])
    owners = dict(deps.settings.owners)
    for alert in s.alerts:  # an alert's own team label beats nothing
        team = alert.labels.get("team") or alert.labels.get("owner")
        svc = alert.service(deps.settings.service_label)
        if team and svc:
            owners.setdefault(svc, team)
    f = rca.findings(
        s,
        records,
        topology=info.get("topology") or {},
        served=info.get("served", {}),
        incidents=state.get("incidents", []),
        owners=owners,
    )
    verdict = rca.assess(f, state.get("incidents", []))
    evidence = list(state.get("evidence", []))
    eid = f"E{len(evidence) + 1}"
    evidence.append(_verdict_evidence(eid, verdict, owners, info))
    # DESIGN.md's hypothesis kinds are faults; "no fault" is a verdict, reported beside them.
    ranked = [h.public() for h in verdict.hypotheses if h.kind != "none"]
    for h in ranked:
        h["evidence"] = [*h["evidence"], eid]
    top = verdict.hypotheses[0]
    info["false_alarm"] = top.kind == "none"
    info["false_alarm_why"] = top.why if top.kind == "none" else []
    info.update(stage="assessed", confidence=verdict.confidence)
    info["raise"] = verdict.raise_confidence
    info["verdict_evidence"] = eid
    return {
        "rca": info,
        "hypotheses": ranked,
        "ruled_out": verdict.ruled_out,
        "action": verdict.action,
        "evidence": evidence,
        "pending": [],
    }


def _verdict_evidence(
    eid: str, verdict: rca.Assessment, owners: dict[str, str], info: dict[str, Any]
) -> dict[str, Any]:
    """Return the evidence record of the ranking itself, so its scores can be cited."""
    top: Hypothesis = verdict.hypotheses[0]
    ranked = "; ".join(f"{h.kind} {h.target} {h.score:.2f}" for h in verdict.hypotheses)
    owner = owners.get(top.target)
    summary = f"ranked hypotheses: {ranked}; confidence {verdict.confidence:.2f}"
    if owner:
        summary += f"; {top.target} is owned by {owner}"
    values = {f"{h.kind}:{h.target}": round(h.score, 3) for h in verdict.hypotheses}
    values |= {f"ruled:{r['kind']}:{r['target']}": r["score"] for r in verdict.ruled_out}
    values |= {"confidence": verdict.confidence, "alerts": float(info.get("alerts", 0))}
    return {
        "id": eid,
        "tool": "rca",
        "query": "rank root-cause hypotheses over this investigation's evidence",
        "summary": summary,
        "link": None,
        "values": values,
    }


def _scope(state: AgentState, info: dict[str, Any], deps: Deps) -> rca.Scope:
    return rca.Scope(
        t0=float(info.get("t0", deps.now().timestamp())),
        alerts=alerts_of(state),
        services=list(info.get("services", [])),
        models=list(info.get("models", [])),
        names=list(info.get("names", [])),
        title=str(info.get("title", "")),
        severity=str(info.get("severity", "unknown")),
    )


def _topology(deps: Deps) -> dict[str, list[str]]:
    """Return the configured call graph, or the one metric labels show (mesh, traces)."""
    if deps.settings.topology:
        return dict(deps.settings.topology)
    prom = getattr(getattr(deps.catalog, "discovery", None), "prom", None)
    return discover(prom) if prom is not None else {}


def _all_services(deps: Deps) -> list[str]:
    try:
        return deps.catalog.services()
    except Exception:  # discovery down: the scan will say so; scope with what the alert named
        return []


def _ai(pending: list[dict[str, Any]]) -> AIMessage:
    return AIMessage(
        content="",
        tool_calls=[
            {"id": p["id"], "name": p["name"], "args": p["args"], "type": "tool_call"}
            for p in pending
        ],
    )
