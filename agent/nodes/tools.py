"""The tools node: run every pending read call, record evidence, hand back to plan."""

from __future__ import annotations

from typing import Any

from agent.deps import Deps
from agent.nodes.execute import execute_call, record
from agent.state import AgentState


def tools_node(state: AgentState, deps: Deps) -> dict[str, Any]:
    """Execute pending read calls; leave write calls for the approval gate."""
    evidence = list(state.get("evidence", []))
    calls = list(state.get("tool_calls", []))
    messages = []
    remaining = []
    for call in state.get("pending", []):
        if deps.is_write(call["name"]) and not call.get("invalid"):
            remaining.append(call)
            continue
        rec, new_evidence, message = record(call, execute_call(call, deps), len(evidence), deps)
        calls.append(rec)
        evidence.extend(new_evidence)
        messages.append(message)
    return {"tool_calls": calls, "evidence": evidence, "messages": messages, "pending": remaining}
