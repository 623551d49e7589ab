"""Checks on what the model asks for: answers that rest on nothing, calls it already made."""

from __future__ import annotations

import json
from typing import Any

from opsloop.agent.graph.state import AgentState
from opsloop.agent.grounding.claims import cites_of

# Intents the deterministic planner has no answer of its own for (small talk, help).
UNPLANNED = frozenset({"unknown", "help"})
# Neither planner could check this answer; a reply longer than small talk says so.
SMALL_TALK_CHARS = 40
UNCHECKED_NOTE = (
    "No tool ran for this answer, so nothing in it was checked against your systems; "
    'name a service and a signal (e.g. "error rate of checkout last 30m") to get figures.'
)
REPEATED = (
    "this exact call already ran in this turn and its result is above; answer from it or "
    "call something else"
)


def call_key(name: str, args: Any) -> str:
    """Return one string per distinct call, whatever the key order of its arguments."""
    return name + json.dumps(args, sort_keys=True, default=str)


def unchecked(state: AgentState, update: dict[str, Any]) -> bool:
    """Return True for a final answer that rests on nothing: no tool ran this turn and it
    cites no evidence from earlier turns. A model answering a question about the live system
    from what it was trained on is guessing; small models do it constantly."""
    if update.get("pending") or state.get("tool_calls") or state.get("error"):
        return False
    return not cites_of(update.get("draft", ""))


def mark_repeats(state: AgentState, pending: list[dict[str, Any]]) -> int:
    """Mark calls that repeat one made earlier this turn as invalid; return how many.

    A repeat returns what it returned before, and a repeated write would ask the person who
    just refused it again; the model is told instead, as it is told of bad arguments."""
    seen = {call_key(c["name"], c.get("args")) for c in state.get("tool_calls", [])}
    repeats = 0
    for call in pending:
        if not call.get("invalid") and call_key(call["name"], call.get("args")) in seen:
            call["invalid"] = REPEATED
            repeats += 1
    return repeats
