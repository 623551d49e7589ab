"""The remember node: store the answer record for recall, review and evals."""

from __future__ import annotations

import logging
import time
from typing import Any

from langchain_core.runnables import RunnableConfig

import prompts
from agent.deps import Deps
from agent.nodes.execute import public_call
from agent.nodes.recall import INCIDENT_INTENTS, INCIDENT_TOOLS
from agent.state import AgentState
from tools.redact import redact

log = logging.getLogger(__name__)
# Writes that resolve an incident when they succeed, and the root-cause kind they imply.
RESOLVING = {"rollback_model": "model_version", "promote_model": "model_version"}


def remember_node(state: AgentState, config: RunnableConfig, deps: Deps) -> dict[str, Any]:
    """Append this turn's answer record to the answer store."""
    start = state.get("turn_evidence_from", 0)
    deps.answers.add(
        {
            "thread_id": config.get("configurable", {}).get("thread_id", ""),
            "user": state.get("user"),
            "question": state.get("question", ""),
            "answer": state.get("answer", ""),
            "brain": state.get("brain", "deterministic"),
            "prompt_hashes": prompts.prompt_hashes(),
            "tool_calls": [public_call(c) for c in state.get("tool_calls", [])],
            "evidence": [
                {k: e.get(k) for k in ("id", "tool", "query", "summary", "link")}
                for e in state.get("evidence", [])[start:]
            ],
            "evals": state.get("evals", {}),
            "usage": state.get("usage", {}),
        }
    )
    _remember_incident(state, config, deps)
    return {}


def _remember_incident(state: AgentState, config: RunnableConfig, deps: Deps) -> None:
    """Write (or extend) this thread's incident record when the turn was about an incident."""
    calls = [c for c in state.get("tool_calls", []) if c["name"] != "search_incidents"]
    related = state.get("mode") == "alert" or state.get("intent") in INCIDENT_INTENTS
    related = related or any(c["name"] in INCIDENT_TOOLS for c in calls)
    if deps.memory is None or not related or state.get("error"):
        return
    from agent.memory import Incident

    thread = config.get("configurable", {}).get("thread_id", "")
    record_id = f"Q-{thread}"
    try:
        incident = deps.memory.get(record_id) or Incident(
            id=record_id, title=state.get("question", "")[:200], text="", outcome="answered"
        )
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
                incident.outcome, incident.resolved_at = "resolved", time.time()
        deps.memory.add(incident)
    except Exception as exc:  # memory is an aid: a failed write must not lose the answer
        log.warning("could not write incident memory: %s", exc)
