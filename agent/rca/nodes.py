"""The alert path's nodes: scope, gather, rank, follow-up, report, remember, propose.

`rca/graph.py` wires them; both brains run the same deterministic playbook, and an LLM only
asks for a few more reads and narrates the report. Nothing here writes: the suggested
action goes through the approval gate like any other write.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig

from opsloop import prompts
from opsloop.agent.graph.deps import Deps
from opsloop.agent.graph.execute import new_call_id, run_reads
from opsloop.agent.graph.nodes.remember import remember_incident, store_answer
from opsloop.agent.graph.state import AgentState
from opsloop.agent.grounding.compose import with_notes
from opsloop.agent.llm.chat import invoke, text_of, tool_call_message
from opsloop.agent.rca.alerts import Alert
from opsloop.agent.rca.assess import Assessment, assess
from opsloop.agent.rca.condition import impact_lines
from opsloop.agent.rca.evidence import Hypothesis
from opsloop.agent.rca.followup import followup_calls
from opsloop.agent.rca.gather import findings, gather_calls, served_map
from opsloop.agent.rca.report import render
from opsloop.agent.rca.scope import Scope, question, scope
from opsloop.agent.stores.memory import Incident
from opsloop.tools.redact import redact


def alerts_of(state: AgentState) -> list[Alert]:
    """Rebuild the Alert objects carried in the state."""
    return [Alert(**a) for a in state.get("alerts", [])]


def scope_node(state: AgentState, deps: Deps) -> dict[str, Any]:
    """Scope the alerts (services, models, t0) and word the question the turn carries."""
    alerts = alerts_of(state)
    if not alerts:
        return {"error": "an alert turn needs at least one alert", "rca": {}}
    now = deps.now().timestamp()  # the injected clock, as every other node uses
    s = scope(
        alerts,
        deps.catalog,
        service_label=deps.settings.service_label,
        now=now,
        quality_metric=deps.settings.model_metrics.quality,
    )
    notes = [
        f"{name} is not a service Prometheus knows; the alert's labels may be wrong."
        for name in s.unknown
    ]
    text = question(s)
    return {
        "question": text,
        "messages": [HumanMessage(content=text)],
        "notes": notes,
        "rca": {
            "t0": s.t0,
            "title": s.title,
            "severity": s.severity,
            "services": s.services,
            "models": s.models,
            "names": s.names,
            "quality": s.quality,
            "alerts": len(alerts),
        },
        "hypotheses": [],
        "ruled_out": [],
        "action": None,
    }


def gather_node(state: AgentState, deps: Deps) -> dict[str, Any]:
    """Run the playbook's reads: signals, changes, logs near the alert, drift of its models."""
    info = dict(state.get("rca") or {})
    s = _scope(state, info, deps)
    served = served_map(deps.catalog, _all_services(deps))
    topology = deps.call_graph.edges()
    planned = gather_calls(s, topology, served, set(deps.tools), deps.now().timestamp())
    calls = [{"id": new_call_id("a"), "name": n, "args": a} for n, a in planned]
    info.update(served=served, topology=topology)
    update = run_reads(state, deps, calls)
    if calls:
        update["messages"] = [tool_call_message(calls), *update["messages"]]
    return {**update, "rca": info, "intent": "investigate", "steps": state.get("steps", 0) + 1}


def rank_node(state: AgentState, deps: Deps) -> dict[str, Any]:
    """Rank root-cause hypotheses over the evidence; record the ranking as evidence too."""
    info = dict(state.get("rca") or {})
    s = _scope(state, info, deps)
    records = state.get("tool_calls", [])
    owners = dict(deps.settings.owners)
    for alert in s.alerts:  # an alert's own team label beats nothing
        team = alert.labels.get("team") or alert.labels.get("owner")
        svc = alert.service(deps.settings.service_label)
        if team and svc:
            owners.setdefault(svc, team)
    f = findings(
        s,
        records,
        topology=info.get("topology") or {},
        served=info.get("served", {}),
        incidents=state.get("incidents", []),
        owners=owners,
        drift_threshold=deps.settings.model_metrics.drift_threshold,
    )
    verdict = assess(f, state.get("incidents", []))
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
    info["impact"] = impact_lines(f)
    info["confidence"] = verdict.confidence
    info["raise"] = verdict.raise_confidence
    info["verdict_evidence"] = eid
    return {
        "rca": info,
        "hypotheses": ranked,
        "ruled_out": verdict.ruled_out,
        "action": verdict.action,
        "evidence": evidence,
        "steps": state.get("steps", 0) + 1,
    }


def followup_node(state: AgentState, deps: Deps) -> dict[str, Any]:
    """Run the few reads the LLM asks for after the first ranking, then rank again."""
    calls, update = followup_calls(state, deps)
    if not calls:
        return update
    reads = run_reads({**state, **update}, deps, calls)
    ranked = rank_node({**state, **update, **reads}, deps)
    return {**update, **reads, **ranked, "messages": [tool_call_message(calls), *reads["messages"]]}


def report_node(state: AgentState, config: RunnableConfig, deps: Deps) -> dict[str, Any]:
    """Render the incident report; an LLM, when configured, adds a short narrative on top."""
    if state.get("error"):
        return {"answer": state["error"], "messages": [AIMessage(content=state["error"])]}
    text = render(state, config.get("configurable", {}).get("thread_id"))
    notes = list(state.get("notes", []))
    update: dict[str, Any] = {}
    if state.get("brain") == "llm" and deps.llm is not None:
        try:
            # One narrative per report version: a repair pass re-renders, it does not re-ask.
            summary = state.get("draft") if state.get("repair") else None
            if not summary:
                summary, update["usage"] = _narrate(state, deps, text)
                update["draft"] = summary
            text = f"{summary}\n\n{text}"
        except Exception as exc:  # the report stands on its own; say why it has no narrative
            notes.append(f"The LLM could not narrate this report ({type(exc).__name__}).")
    answer = with_notes(text, notes)
    return {**update, "answer": answer, "messages": [AIMessage(content=answer)]}


def remember_node(state: AgentState, config: RunnableConfig, deps: Deps) -> dict[str, Any]:
    """Store the answer record, and the report as the thread's incident in memory."""
    update = store_answer(state, config, deps)
    thread = str(config.get("configurable", {}).get("thread_id", ""))
    title = (state.get("rca") or {}).get("title") or state.get("question", "")
    remember_incident(state, deps, record_id=thread, title=title, outcome="open", fill=_from_report)
    return update


def propose_node(state: AgentState, deps: Deps) -> dict[str, Any]:
    """After the report: put the suggested write before the approval gate."""
    action = state.get("action") or {}
    call = {"id": new_call_id("a"), "name": action["name"], "args": dict(action["args"])}
    return {"pending": [call], "messages": [tool_call_message([call])]}


def wants_approval(state: AgentState, deps: Deps) -> bool:
    """Return True when the report suggests a write this turn has not put to a person yet."""
    name = (state.get("action") or {}).get("name", "")
    asked = any(c["name"] == name for c in state.get("tool_calls", []))
    return deps.is_write(name) and not asked and not state.get("error")


def _narrate(state: AgentState, deps: Deps, text: str) -> tuple[str, dict[str, Any]]:
    assert deps.llm is not None
    messages = [
        SystemMessage(content=prompts.render("narrate")),
        HumanMessage(content=redact(text, deps.secrets)),
    ]
    reply, usage = invoke(deps.llm, messages, state.get("usage", {}), state=state, deps=deps)
    return text_of(reply), usage


def _from_report(incident: Incident, state: AgentState) -> None:
    """Rewrite an alert incident from the report: cause, scope, alerts (the text is redone)."""
    info = state.get("rca") or {}
    incident.text = ""
    for name in info.get("services", []):
        if name not in incident.services:
            incident.services.append(name)
    for name in info.get("models", []):
        if name not in incident.models:
            incident.models.append(name)
    incident.alerts = list(dict.fromkeys([*incident.alerts, *info.get("names", [])]))
    incident.source = "alert"
    incident.opened_at = incident.opened_at or float(info.get("t0", 0.0))
    hyps = state.get("hypotheses") or []
    if info.get("false_alarm"):
        incident.outcome, incident.cause_kind = "false_alarm", ""
    elif hyps:
        incident.cause_kind, incident.cause_target = hyps[0]["kind"], hyps[0]["target"]


def _verdict_evidence(
    eid: str, verdict: Assessment, owners: dict[str, str], info: dict[str, Any]
) -> dict[str, Any]:
    """Return the evidence record of the ranking itself, so its scores can be cited."""
    top: Hypothesis = verdict.hypotheses[0]
    ranked = "; ".join(f"{h.kind} {h.target} {h.score:.2f}" for h in verdict.hypotheses)
    owner = owners.get(top.target)
    # Confidence first: after the list it would read as the last hypothesis's figure.
    summary = f"confidence {verdict.confidence:.2f}; ranked hypotheses, by score: {ranked}"
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


def _scope(state: AgentState, info: dict[str, Any], deps: Deps) -> Scope:
    return Scope(
        t0=float(info.get("t0", deps.now().timestamp())),
        alerts=alerts_of(state),
        services=list(info.get("services", [])),
        models=list(info.get("models", [])),
        names=list(info.get("names", [])),
        title=str(info.get("title", "")),
        severity=str(info.get("severity", "unknown")),
        quality=list(info.get("quality", [])),
    )


def _all_services(deps: Deps) -> list[str]:
    try:
        return deps.catalog.services()
    except Exception:  # discovery down: the scan will say so; scope with what the alert named
        return []
