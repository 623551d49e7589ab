"""The recall node: bring back similar past answers and similar past incidents."""

from __future__ import annotations

import logging
from typing import Any

from langchain_core.runnables import RunnableConfig

from opsloop.agent.graph.deps import Deps
from opsloop.agent.graph.state import AgentState

log = logging.getLogger(__name__)
# Tools whose use makes a turn part of an incident: such turns show and feed incident memory.
INCIDENT_TOOLS = frozenset(
    {
        "search_logs",
        "log_patterns",
        "detect_anomalies",
        "check_drift",
        "forecast",
        "rollback_model",
        "promote_model",
        "retrain_model",
        "recent_changes",
        "search_incidents",
    }
)
INCIDENT_INTENTS = frozenset({"incidents", "anomaly", "logs", "patterns", "drift", "rollback"})


def recall_node(state: AgentState, config: RunnableConfig, deps: Deps) -> dict[str, Any]:
    """Find up to three similar past answers from other threads and similar incidents."""
    if state.get("error"):
        return {"recalled": [], "incidents": []}
    thread = config.get("configurable", {}).get("thread_id")
    question = state.get("question", "")
    return {
        "recalled": deps.answers.similar(question, k=3, exclude_thread=thread),
        "incidents": similar_incidents(deps, question, exclude={f"Q-{thread}", str(thread)}),
    }


def similar_incidents(deps: Deps, text: str, exclude: set[str] | None = None) -> list[dict]:
    """Return the top similar incidents above the memory's threshold, as plain dicts."""
    if deps.memory is None:
        return []
    try:
        matches = deps.memory.search(text, k=3, exclude=exclude)
    except Exception as exc:  # memory is an aid: an unreachable store must not end the turn
        log.warning("incident memory unavailable: %s", exc)
        return []
    return [
        {
            "id": m.incident.id,
            "title": m.incident.title,
            "when": m.incident.when,
            "resolution": m.incident.resolution,
            "cause_kind": m.incident.cause_kind,
            "cause_target": m.incident.cause_target,
            "score": m.score,
            "line": m.incident.line(),
        }
        for m in matches
    ]


def incident_note(state: AgentState) -> str | None:
    """Return the "similar past incidents" line for an incident-related turn, if any."""
    incidents = state.get("incidents") or []
    calls = {c["name"] for c in state.get("tool_calls", [])}
    related = (
        state.get("mode") == "alert"
        or state.get("intent") in INCIDENT_INTENTS
        or bool(calls & INCIDENT_TOOLS)
    )
    if not incidents or not related or "search_incidents" in calls:
        return None
    shown = "; ".join(f"{i['line']} (similarity {i['score']:.2f})" for i in incidents)
    return f"Similar past incidents: {shown}."
