"""Talk to the chat model: the system prompt, the history it sees, usage accounting, replies.

Every node that asks the LLM something (plan, respond's repair, the alert path's follow-up
reads and narrative) goes through `invoke`, so each call's tokens and timing are counted
the same way.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from opsloop import prompts
from opsloop.agent.llm.budget import MIN_REQUEST_S, TurnClock, estimate_tokens, fit
from opsloop.agent.planner.intents import hits
from opsloop.agent.planner.lexicon import normalise
from opsloop.tools.deadline import PAST_DEADLINE, remaining
from opsloop.tools.errors import OpsError
from opsloop.tools.redact import redact

if TYPE_CHECKING:  # the graph imports this module, never the other way round
    from opsloop.agent.graph.deps import Deps
    from opsloop.agent.graph.state import AgentState

HISTORY_TURNS = 3


class TurnBudgetSpent(TimeoutError):
    """The turn's time budget has no room for another LLM request."""


def invoke(
    llm: BaseChatModel,
    messages: Sequence[BaseMessage],
    usage: dict[str, Any],
    tools: Sequence[Any] | None = None,
    *,
    state: AgentState | None = None,
    deps: Deps | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Send `messages` (offering `tools` when given); return the reply and the new usage.

    With the turn's `state` and `deps`, the messages are fitted to the context budget and
    the request gets what is left of the turn's time budget (TurnBudgetSpent when nothing).
    """
    offered = list(tools) if tools is not None else None
    # "auto" is OpenAI's default when tools are sent, but some servers (llama-cpp-python)
    # read a missing tool_choice as "none" and never call a tool; say it.
    model = llm.bind_tools(offered, tool_choice="auto") if offered else llm
    kwargs: dict[str, Any] = {}
    if state is not None and deps is not None:
        settings = deps.settings
        clock = TurnClock(
            state.get("started_at") or time.time(),
            settings.llm_turn_budget,
            settings.llm_timeout,
        )
        timeout = clock.request_timeout()
        if timeout is None:
            raise TurnBudgetSpent(
                f"the turn's {settings.llm_turn_budget:g}s LLM budget is spent "
                "(OPSLOOP_LLM_TURN_BUDGET)"
            )
        # The turn's deadline (tools, backends and the LLM together) caps the LLM's own budget.
        left = remaining()
        if left is not None and left < MIN_REQUEST_S:
            raise TurnBudgetSpent(f"no LLM request sent: {PAST_DEADLINE}")
        timeout = timeout if left is None else min(timeout, left)
        # Retries share the request's slice, so a turn never outlasts its budget.
        kwargs["timeout"] = timeout / (settings.llm_max_retries + 1)
        messages, trimmed = fit(messages, settings.llm_context_tokens, offered or ())
        if trimmed:
            usage = {**usage, "trimmed_results": usage.get("trimmed_results", 0) + trimmed}
    started = time.time()
    reply = model.invoke(list(messages), **kwargs)
    new_usage = add_usage(usage, reply, started)
    # Kept per call: what the budget counted, beside what the endpoint reported.
    new_usage["chat_calls"][-1]["estimated_input_tokens"] = estimate_tokens(messages, offered or ())
    return reply, new_usage


MAX_NAMES = 30  # names listed in the system prompt; the rest are a tool call away
ACTIONS = ("rollback", "promote", "retrain")


def bounded(names: Sequence[str], tool: str, limit: int = MAX_NAMES) -> str:
    """List up to `limit` names, then say how many more there are and how to see them."""
    if not names:
        return "none found"
    shown = ", ".join(names[:limit])
    more = len(names) - limit
    return shown if more <= 0 else f"{shown}, and {more} more (call {tool} to see them all)"


def offered_tools(state: AgentState, deps: Deps) -> list[Any]:
    """The tools to bind this step: reads always, writes only when the request asks for an
    action (a model cannot call what it was not offered)."""
    asked = normalise(state.get("question", ""))
    wants_action = any(hits(asked, intent) for intent in ACTIONS)
    said = state.get("question", "").lower()
    return [
        t
        for n, t in list(deps.tools.items())  # a copy: a stopped MCP server's tools may leave
        if wants_action or not deps.is_write(n) or _named(t, said)
    ]


def _named(tool: Any, said: str) -> bool:
    """Return True for a tool borrowed from an MCP server that the question names (by the
    server's or the tool's name): opsloop's intents do not know other servers' actions."""
    meta = getattr(tool, "metadata", None) or {}
    names = [meta.get("mcp_server"), meta.get("mcp_tool")]
    return any(n and (n.lower() in said or n.lower().replace("_", " ") in said) for n in names)


def system_prompt(state: AgentState, deps: Deps) -> str:
    """Render the system prompt with discovered names (or say discovery failed)."""
    try:
        services = bounded(deps.catalog.services(), "list_services")
        models = bounded(deps.catalog.models(), "model_status")
    except OpsError as exc:
        services = models = f"unknown ({exc})"
    now = deps.now().astimezone(deps.tz) if deps.tz else deps.now().astimezone()
    return prompts.render(
        "system",
        now=now.strftime("%Y-%m-%d %H:%M"),
        zone=now.tzname() or "UTC",
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


def llm_error(exc: Exception) -> str:
    """Describe an endpoint failure in one short line, safe to show."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    text = json.dumps(text)[1:-1][:160]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def tool_call_message(calls: list[dict[str, Any]]) -> AIMessage:
    """Return the assistant message that asks for `calls` ({"id", "name", "args"})."""
    return AIMessage(
        content="",
        tool_calls=[
            {"id": c["id"], "name": c["name"], "args": c["args"], "type": "tool_call"}
            for c in calls
        ],
    )
