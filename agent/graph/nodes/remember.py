"""The remember node: store the answer record for recall, review and evals."""

from __future__ import annotations

import logging
import time
from typing import Any

from langchain_core.runnables import RunnableConfig

from opsloop import prompts
from opsloop.agent.graph.deps import Deps
from opsloop.agent.graph.execute import public_call, timing_of
from opsloop.agent.graph.nodes.recall import INCIDENT_INTENTS, INCIDENT_TOOLS
from opsloop.agent.graph.state import AgentState
from opsloop.agent.llm.usage import counters
from opsloop.tools.redact import redact

log = logging.getLogger(__name__)
# Writes that resolve an incident when they succeed, and the root-cause kind they imply.
RESOLVING = {"rollback_model": "model_version", "promote_model": "model_version"}


def remember_node(state: AgentState, config: RunnableConfig, deps: Deps) -> dict[str, Any]:
    """Append this turn's answer record to the answer store, then tell the observers."""
    start = state.get("turn_evidence_from", 0)
    record = {
        "thread_id": config.get("configurable", {}).get("thread_id", ""),
        "user": state.get("user"),
        "question": state.get("question", ""),
        "answer": state.get("answer", ""),
        "brain": state.get("brain", "deterministic"),
        "mode": state.get("mode", "question"),
        "prompt_hashes": prompts.prompt_hashes(),
        "tool_calls": [{**public_call(c), **timing_of(c)} for c in state.get("tool_calls", [])],
        "evidence": [
            {k: e.get(k) for k in ("id", "tool", "query", "summary", "link")}
            for e in state.get("evidence", [])[start:]
        ],
        "evals": state.get("evals", {}),
        "usage": state.get("usage", {}),
        "started_at": state.get("started_at"),
        "ended_at": time.time(),
        # An alert turn records again after its approved action: observers count the rest.
        "previous": state.get("recorded") or {},
    }
    deps.answers.add(record)
    _notify(record, deps)
    _remember_incident(state, config, deps)
    return {"recorded": counters(record)}


def _notify(record: dict[str, Any], deps: Deps) -> None:
    """Hand the record to each observer; a failing one is logged, the answer goes on."""
    for observe in deps.observers:
        try:
            observe(record)
        except Exception:
            log.exception("answer observer %r failed", observe)


def _remember_incident(state: AgentState, config: RunnableConfig, deps: Deps) -> None:
    """Write (or extend) this thread's incident record when the turn was about an incident."""
    calls = [c for c in state.get("tool_calls", []) if c["name"] != "search_incidents"]
    related = state.get("mode") == "alert" or state.get("intent") in INCIDENT_INTENTS
    related = related or any(c["name"] in INCIDENT_TOOLS for c in calls)
    if deps.memory is None or not related or state.get("error"):
        return
    from opsloop.agent.stores.memory import Incident

    thread = config.get("configurable", {}).get("thread_id", "")
    alert = state.get("mode") == "alert"
    record_id = thread if alert else f"Q-{thread}"
    title = (state.get("rca") or {}).get("title") if alert else None
    try:
        incident = deps.memory.get(record_id) or Incident(
            id=record_id,
            title=(title or state.get("question", ""))[:200],
            text="",
            outcome="open" if alert else "answered",
        )
        if alert:  # the report replaces itself: it is rewritten after an approved action
            incident.text = ""
            _from_report(incident, state)
        turn = f"Q: {state.get('question', '')}\nA: {state.get('answer', '')[:1500]}"
        incident.text = redact("\n\n".join(t for t in (incident.text, turn) if t), deps.secrets)
        for call in calls:
            args = call.get("args") or {}
            if args.get("service") and args["service"] not in incident.services:
                incident.services.append(str(args["service"]))
            if args.get("model") and args["model"] not in incident.models:
                incident.models.append(str(args["model"]))
            approved = (call.get("approval") or {}).get("approved")
            if call["name"] in RESOLVING and call["status"] == "ok" and approved:
                incident.resolution = call.get("summary", "")[:300]
                incident.cause_kind = incident.cause_kind or RESOLVING[call["name"]]
                incident.cause_target = incident.cause_target or str(args.get("model", ""))
            if call["name"] == "retrain_model" and call["status"] == "ok" and approved:
                incident.resolution = call.get("summary", "")[:300]
                incident.outcome, incident.resolved_at = "resolved", time.time()
        deps.memory.add(incident)
    except Exception as exc:  # memory is an aid: a failed write must not lose the answer
        log.warning("could not write incident memory: %s", exc)


def _from_report(incident: Any, state: AgentState) -> None:
    """Fill an alert incident's cause and scope from the playbook's verdict."""
    info = state.get("rca") or {}
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
