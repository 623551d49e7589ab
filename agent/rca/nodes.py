"""Alert mode: the RCA playbook's steps inside the graph (scope, gather, assess, propose)."""

from __future__ import annotations

import itertools
import json
import logging
import time
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from opsloop import prompts
from opsloop.agent.graph.deps import Deps
from opsloop.agent.graph.state import AgentState
from opsloop.agent.rca import playbook as rca
from opsloop.agent.rca.alerts import Alert
from opsloop.agent.rca.hypotheses import Hypothesis
from opsloop.tools.callgraph import discover
from opsloop.tools.redact import redact

_ids = itertools.count(1)
log = logging.getLogger(__name__)
MAX_FOLLOWUPS = 3  # read calls the LLM may add to the playbook's evidence


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
        update = _assess(state, deps, s, info)
        if state.get("brain") == "llm" and deps.llm is not None:
            update |= _followups(state, deps, update)
        return update
    if stage == "followup":  # the LLM's extra evidence is in: rank again with it
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


def _followups(state: AgentState, deps: Deps, update: dict[str, Any]) -> dict[str, Any]:
    """Let the LLM ask for up to MAX_FOLLOWUPS more read calls before the report.

    Only read tools are offered and accepted; repeats and unknown names are dropped. A
    failing endpoint changes nothing: the report goes out on the playbook's evidence.
    """
    from opsloop.agent.graph.nodes.plan import add_usage  # plan imports this module

    reads = {n: t for n, t in deps.tools.items() if not deps.is_write(n)}
    ran = [{"name": c["name"], "args": c.get("args", {})} for c in state.get("tool_calls", [])]
    brief = {
        "alert": update["rca"].get("title"),
        "hypotheses": [
            {k: h[k] for k in ("kind", "target", "score")} for h in update["hypotheses"][:5]
        ],
        "ruled_out": update.get("ruled_out", [])[:5],
        "already_ran": ran,
    }
    messages = [
        SystemMessage(content=prompts.render("followup", max_calls=MAX_FOLLOWUPS)),
        HumanMessage(content=redact(json.dumps(brief, default=str), deps.secrets)),
    ]
    started = time.time()
    try:
        assert deps.llm is not None
        reply = deps.llm.bind_tools(list(reads.values())).invoke(messages)
    except Exception as exc:  # the playbook's evidence stands on its own
        log.info("follow-up tools not asked: the LLM failed (%s)", type(exc).__name__)
        return {}
    usage = add_usage(state.get("usage", {}), reply, started)
    seen = {(c["name"], json.dumps(c["args"], sort_keys=True, default=str)) for c in ran}
    calls, notes = [], []
    for tc in getattr(reply, "tool_calls", None) or []:
        key = (tc["name"], json.dumps(tc.get("args") or {}, sort_keys=True, default=str))
        if tc["name"] not in reads:
            notes.append(f"The LLM asked for {tc['name']}, which is not a read tool; ignored.")
        elif key not in seen and len(calls) < MAX_FOLLOWUPS:
            seen.add(key)
            calls.append({"id": f"call_f{next(_ids)}", "name": tc["name"],
                          "args": dict(tc.get("args") or {})})  # fmt: skip
    out: dict[str, Any] = {"usage": usage}
    if notes:
        out["notes"] = [*state.get("notes", []), *notes]
    if calls:
        out |= {
            "rca": {**update["rca"], "stage": "followup"},
            "pending": calls,
            "messages": [_ai(calls)],
        }
    return out


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
