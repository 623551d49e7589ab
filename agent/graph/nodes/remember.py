"""The remember node: store the answer record for recall, review and evals, and the incident."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any

from langchain_core.runnables import RunnableConfig

from opsloop import prompts
from opsloop.agent.graph.deps import Deps
from opsloop.agent.graph.execute import public_call, timing_of
from opsloop.agent.graph.nodes.recall import INCIDENT_TOOLS
from opsloop.agent.graph.state import AgentState
from opsloop.agent.llm.usage import counters
from opsloop.agent.stores.memory import Incident
from opsloop.tools.redact import redact

log = logging.getLogger(__name__)
# Writes that resolve an incident when they succeed, and the root-cause kind they imply.
RESOLVING = {"rollback_model": "model_version", "promote_model": "model_version"}
# A question that asks for a cause: with a diagnostic tool behind it, the thread is an incident.
DIAGNOSIS = re.compile(
    r"\b(?:why|cause[sd]?|causing|root[- ]cause|diagnos\w*|investigat\w*|troubleshoot\w*|"
    r"what(?:'s| is| went) wrong|what broke|broken|outage|incident)\b",
    re.IGNORECASE,
)
# A write that was asked for, whatever the decision, means someone acted on a problem.
ACTED = frozenset({"ok", "approval_required", "denied"})


def is_incident(state: AgentState, deps: Deps) -> bool:
    """Tell whether a conversation belongs in incident memory.

    Only incidents are remembered, so recall never lists plain questions: a thread counts
    when it acted (a write was requested, approved or not) or diagnosed (it asked for a
    cause and a diagnostic tool answered). "p99 of payments?" or "what changed?" alone do not.
    """
    calls = state.get("tool_calls", [])
    for c in calls:
        tool = deps.tools.get(c["name"])
        if tool is not None and tool.risk == "write" and c["status"] in ACTED:
            return True
    asked = bool(DIAGNOSIS.search(state.get("question") or ""))
    diagnosed = any(
        c["name"] in INCIDENT_TOOLS
        and c["name"] != "search_incidents"
        and c["status"] in ("ok", "no_data")  # "nothing in the logs" is a finding too
        for c in calls
    )
    return asked and diagnosed


def remember_node(state: AgentState, config: RunnableConfig, deps: Deps) -> dict[str, Any]:
    """Store this turn's answer record; extend the thread's incident when it was about one."""
    update = store_answer(state, config, deps)
    record_id = f"Q-{config.get('configurable', {}).get('thread_id', '')}"
    if is_incident(state, deps) or _known(deps, record_id):  # later turns extend it
        title = state.get("question", "")
        remember_incident(state, deps, record_id=record_id, title=title, outcome="answered")
    return update


def _known(deps: Deps, record_id: str) -> bool:
    try:
        return deps.memory is not None and deps.memory.get(record_id) is not None
    except Exception:  # memory is an aid: an unreadable store must not lose the answer
        log.warning("could not read incident memory", exc_info=True)
        return False


def store_answer(state: AgentState, config: RunnableConfig, deps: Deps) -> dict[str, Any]:
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
    return {"recorded": counters(record)}


def _notify(record: dict[str, Any], deps: Deps) -> None:
    """Hand the record to each observer; a failing one is logged, the answer goes on."""
    for observe in deps.observers:
        try:
            observe(record)
        except Exception:
            log.exception("answer observer %r failed", observe)


def remember_incident(
    state: AgentState,
    deps: Deps,
    *,
    record_id: str,
    title: str,
    outcome: str,
    fill: Callable[[Incident, AgentState], None] | None = None,
) -> None:
    """Write (or extend) incident `record_id` in memory with this turn.

    `fill` rewrites the record from the turn first (an alert report replaces itself); a
    failing memory is logged: memory is an aid and must not lose the answer.
    """
    if deps.memory is None or state.get("error"):
        return
    calls = [c for c in state.get("tool_calls", []) if c["name"] != "search_incidents"]
    try:
        incident = deps.memory.get(record_id) or Incident(
            id=record_id, title=title[:200], text="", outcome=outcome
        )
        if fill is not None:
            fill(incident, state)
        turn = f"Q: {state.get('question', '')}\nA: {state.get('answer', '')[:1500]}"
        incident.text = redact("\n\n".join(t for t in (incident.text, turn) if t), deps.secrets)
        for call in calls:
            _add_call(incident, call)
        deps.memory.add(incident)
    except Exception as exc:
        log.warning("could not write incident memory: %s", exc)


def _add_call(incident: Incident, call: dict[str, Any]) -> None:
    """Add a call's services and models, and what an approved fix resolved, to the record."""
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
