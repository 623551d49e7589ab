"""The intake node: start a turn, resetting per-turn fields and validating the question."""

from __future__ import annotations

import time
from typing import Any

from langchain_core.messages import HumanMessage

from opsloop.agent.graph.deps import Deps
from opsloop.agent.graph.state import AgentState

MAX_QUESTION_CHARS = 4000


def intake_node(state: AgentState, deps: Deps) -> dict[str, Any]:
    """Begin a turn: record the question and clear what the previous turn left."""
    question = (state.get("question") or "").strip()
    update: dict[str, Any] = {
        "question": question[:MAX_QUESTION_CHARS],
        "user": state.get("user") or deps.settings.user,
        "mode": state.get("mode") or "question",
        # A named call needs no planning: the deterministic brain only reports its outcome.
        "brain": "llm" if deps.llm is not None and not state.get("call") else "deterministic",
        "intent": "",
        "pending": [],
        "tool_calls": [],
        "notes": [],
        "error": None,
        "draft": "",
        "answer": "",
        "repair": None,
        "repaired": False,
        "decision": None,
        "evals": {},
        "usage": {"input_tokens": 0, "output_tokens": 0, "llm_calls": 0},
        "steps": 0,
        "started_at": time.time(),
        "recorded": {},
        "turn_evidence_from": len(state.get("evidence", [])),
    }
    # An alert turn has no question yet: the alert path words one from the alerts (rca scope).
    if update["mode"] != "alert" and not question:
        update["error"] = 'empty question: ask something like "p99 latency of checkout last 1h"'
    elif len(question) > MAX_QUESTION_CHARS:
        update["notes"] = [f"Your question was cut to its first {MAX_QUESTION_CHARS} characters."]
    update["messages"] = [HumanMessage(content=question)] if question else []
    return update
