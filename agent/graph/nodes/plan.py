"""The plan node: pick the next tool calls with the LLM brain or the deterministic one."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from opsloop import prompts
from opsloop.agent.graph.deps import Deps
from opsloop.agent.graph.state import AgentState
from opsloop.agent.planner.deterministic import plan_question
from opsloop.agent.rca import nodes as investigate
from opsloop.tools.errors import OpsError
from opsloop.tools.redact import redact

_ids = itertools.count(1)
HISTORY_TURNS = 3


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
    if state.get("mode") == "alert":  # both brains follow the RCA playbook
        return {"steps": steps, **investigate.step(state, deps)}
    if state.get("brain") == "llm" and deps.llm is not None:
        try:
            return {"steps": steps, **llm_step(state, deps)}
        except Exception as exc:  # any endpoint failure: degrade, don't crash
            update = rules_step(state, deps)
            note = (
                f"The LLM endpoint failed ({_llm_error(exc)}); this answer comes from the "
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
        update["messages"] = [
            AIMessage(
                content="",
                tool_calls=[
                    {"id": p["id"], "name": p["name"], "args": p["args"], "type": "tool_call"}
                    for p in pending
                ],
            )
        ]
    return update


def llm_step(state: AgentState, deps: Deps) -> dict[str, Any]:
    """Ask the model for tool calls or a final answer."""
    assert deps.llm is not None
    model = deps.llm.bind_tools(list(deps.tools.values()))
    messages = [
        SystemMessage(content=redact(system_prompt(state, deps), deps.secrets)),
        *history(state.get("messages", []), deps),
    ]
    started = time.time()
    reply = model.invoke(messages)
    usage = add_usage(state.get("usage", {}), reply, started)
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


def system_prompt(state: AgentState, deps: Deps) -> str:
    """Render the system prompt with discovered names (or say discovery failed)."""
    try:
        services = ", ".join(deps.catalog.services()) or "none found"
        models = ", ".join(deps.catalog.models()) or "none found"
    except OpsError as exc:
        services = models = f"unknown ({exc})"
    return prompts.render(
        "system",
        now=deps.now().strftime("%Y-%m-%d %H:%M"),
        services=services,
        models=models,
        rate_window=deps.settings.rate_window,
        recalled=state.get("recalled", []),
        incidents=state.get("incidents", []),
    )


def history(messages: list[BaseMessage], deps: Deps) -> list[BaseMessage]:
    """Return the last few turns, redacted, with every tool call paired with its result."""
    humans = [i for i, m in enumerate(messages) if isinstance(m, HumanMessage)]
    start = humans[-HISTORY_TURNS] if len(humans) >= HISTORY_TURNS else 0
    answered = {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
    out: list[BaseMessage] = []
    for message in messages[start:]:
        if isinstance(message, HumanMessage | ToolMessage) and isinstance(message.content, str):
            message = message.model_copy(update={"content": redact(message.content, deps.secrets)})
        elif isinstance(message, AIMessage) and message.tool_calls:
            # A call left unanswered (an approval never given) would make the API reject
            # the whole conversation, so drop it from what the model sees.
            calls = [c for c in message.tool_calls if c.get("id") in answered]
            if not calls and not message.content:
                continue
            message = message.model_copy(update={"tool_calls": calls})
        out.append(message)
    return out


def add_usage(usage: dict[str, Any], reply: Any, started: float) -> dict[str, Any]:
    """Add one reply's token usage to the turn's totals; `started` is when it was asked for.

    Each call is also listed (start, duration, tokens), for the trace exporter's chat spans.
    """
    meta = getattr(reply, "usage_metadata", None) or {}
    call = {
        "started_at": started,
        "duration_s": round(max(0.0, time.time() - started), 6),
        "input_tokens": int(meta.get("input_tokens", 0)),
        "output_tokens": int(meta.get("output_tokens", 0)),
    }
    return {
        **usage,
        "input_tokens": usage.get("input_tokens", 0) + call["input_tokens"],
        "output_tokens": usage.get("output_tokens", 0) + call["output_tokens"],
        "llm_calls": usage.get("llm_calls", 0) + 1,
        "chat_calls": [*usage.get("chat_calls", []), call],
    }


def text_of(message: AIMessage) -> str:
    """Return the text of a reply whose content may be a list of parts."""
    if isinstance(message.content, str):
        return message.content.strip()
    parts = [p.get("text", "") if isinstance(p, dict) else str(p) for p in message.content]
    return "".join(parts).strip()


def _llm_error(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    text = json.dumps(text)[1:-1][:160]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
