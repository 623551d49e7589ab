"""The plan node: pick the next tool calls with the LLM brain or the deterministic one."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, SystemMessage

from opsloop.agent.graph.deps import Deps
from opsloop.agent.graph.execute import new_call_id
from opsloop.agent.graph.nodes.llm_guard import (
    SMALL_TALK_CHARS,
    UNCHECKED_NOTE,
    UNPLANNED,
    call_key,
    mark_repeats,
    unchecked,
)
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
            update = llm_step(state, deps)
        except Exception as exc:  # any endpoint failure: degrade, don't crash
            note = (
                f"The LLM endpoint failed ({llm_error(exc)}); this answer comes from the "
                "deterministic planner."
            )
            return {"steps": steps, **fall_back(state, deps, note)}
        pending = update.get("pending", [])
        if pending and mark_repeats(state, pending) == len(pending):
            note = (
                "The model kept asking for calls it had already made; this answer comes "
                "from the deterministic planner."
            )
            return {"steps": steps, **fall_back(state, deps, note), "usage": update["usage"]}
        if unchecked(state, update):
            rules = rules_step(state, deps)
            if rules.get("pending") or rules.get("intent") not in UNPLANNED:
                note = (
                    "The model answered without looking at any evidence; this answer comes "
                    "from the deterministic planner."
                )
                usage = {"usage": update["usage"]}
                return {"steps": steps, **fall_back(state, deps, note, rules), **usage}
            if len(update.get("draft", "")) > SMALL_TALK_CHARS:
                update["notes"] = [*state.get("notes", []), UNCHECKED_NOTE]
        return {"steps": steps, **update}
    return {"steps": steps, **rules_step(state, deps)}


def fall_back(
    state: AgentState, deps: Deps, note: str, update: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Hand the turn to the deterministic planner, saying why."""
    if update is None:
        # Plan the question itself (the model's calls may not have answered it), skipping
        # calls the model already made.
        update = rules_step({**state, "tool_calls": []}, deps)
        done = {call_key(c["name"], c.get("args")) for c in state.get("tool_calls", [])}
        if done:
            planned = update.get("pending", [])
            fresh = [c for c in planned if call_key(c["name"], c["args"]) not in done]
            update["pending"] = fresh
            update["messages"] = [tool_call_message(fresh)] if fresh else []
    notes = [*update.get("notes", state.get("notes", [])), note]
    return {**update, "brain": "deterministic", "notes": notes}


def rules_step(state: AgentState, deps: Deps) -> dict[str, Any]:
    """Plan once per turn from intents and entities; after the tools ran, answer."""
    if state.get("tool_calls") or state.get("intent"):
        return {"pending": []}
    if named := state.get("call"):
        pending = [{"id": new_call_id("d"), "name": named["name"], "args": named["args"]}]
        return {"intent": "direct", "pending": pending, "messages": [tool_call_message(pending)]}
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
            "id": new_call_id("r"),
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
            "id": tc.get("id") or new_call_id("l"),
            "name": tc["name"],
            "args": tc.get("args"),
        }
        for tc in reply.tool_calls
    ]
    pending += [
        {
            "id": bad.get("id") or new_call_id("l"),
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
