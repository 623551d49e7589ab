"""The plan node: pick the next tool calls with the LLM brain or the deterministic one."""

from __future__ import annotations

import itertools
from typing import Any

from langchain_core.messages import AIMessage, SystemMessage

from opsloop.agent.graph.deps import Deps
from opsloop.agent.graph.state import AgentState
from opsloop.agent.llm.chat import (
    history,
    invoke,
    llm_error,
    offered_tools,
    system_prompt,
    text_of,
    tool_call_message,
)
from opsloop.agent.planner.deterministic import plan_question
from opsloop.tools.errors import OpsError
from opsloop.tools.redact import redact

_ids = itertools.count(1)


def plan_node(state: AgentState, deps: Deps) -> dict[str, Any]:
    """Decide the next step; fall back to the deterministic brain if the LLM fails."""
    steps = state.get("steps", 0) + 1
    if state.get("error"):
        return {"steps": steps, "pending": []}
    if steps > deps.settings.max_steps:
        note = (
            f"I stopped after {deps.settings.max_steps} planning steps; the answer below "
            "uses what was gathered so far."
        )
        return {"steps": steps, "pending": [], "notes": [*state.get("notes", []), note]}
    if state.get("brain") == "llm" and deps.llm is not None:
        try:
            return {"steps": steps, **llm_step(state, deps)}
        except Exception as exc:  # any endpoint failure: degrade, don't crash
            update = rules_step(state, deps)
            note = (
                f"The LLM endpoint failed ({llm_error(exc)}); this answer comes from the "
                "deterministic planner."
            )
            notes = [*update.get("notes", state.get("notes", [])), note]
            return {"steps": steps, **update, "brain": "deterministic", "notes": notes}
    return {"steps": steps, **rules_step(state, deps)}


def rules_step(state: AgentState, deps: Deps) -> dict[str, Any]:
    """Plan once per turn from intents and entities; after the tools ran, answer."""
    if state.get("tool_calls") or state.get("intent"):
        return {"pending": []}
    try:
        plan = plan_question(
            state.get("question", ""),
            deps.catalog,
            deps.now(),
            tz=deps.tz,
            available=set(deps.tools),
        )
    except OpsError as exc:
        return {"error": str(exc), "pending": [], "intent": "error"}
    pending = [
        {
            "id": f"call_r{next(_ids)}",
            "name": c.name,
            "args": {k: v for k, v in c.args.items() if v is not None},
        }
        for c in plan.calls
    ]
    update: dict[str, Any] = {
        "intent": plan.intent,
        "pending": pending,
        "notes": [*state.get("notes", []), *plan.notes],
    }
    if pending:
        update["messages"] = [tool_call_message(pending)]
    return update


def llm_step(state: AgentState, deps: Deps) -> dict[str, Any]:
    """Ask the model for tool calls or a final answer."""
    assert deps.llm is not None
    messages = [
        SystemMessage(content=redact(system_prompt(state, deps), deps.secrets)),
        *history(state.get("messages", []), deps),
    ]
    reply, usage = invoke(
        deps.llm,
        messages,
        state.get("usage", {}),
        offered_tools(state, deps),
        state=state,
        deps=deps,
    )
    if not isinstance(reply, AIMessage):
        raise TypeError(f"the model returned {type(reply).__name__}")
    pending = [
        {
            "id": tc.get("id") or f"call_l{next(_ids)}",
            "name": tc["name"],
            "args": tc.get("args"),
        }
        for tc in reply.tool_calls
    ]
    pending += [
        {
            "id": bad.get("id") or f"call_l{next(_ids)}",
            "name": bad.get("name") or "unknown",
            "args": {},
            "invalid": (bad.get("error") or f"arguments {bad.get('args')!r}")[:300],
        }
        for bad in getattr(reply, "invalid_tool_calls", []) or []
    ]
    update: dict[str, Any] = {"messages": [reply], "usage": usage, "pending": pending}
    if not pending:
        update["draft"] = text_of(reply)
    return update
