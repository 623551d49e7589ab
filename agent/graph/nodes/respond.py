"""The respond node: the model's draft, or a template answer, repaired once if it failed."""

from __future__ import annotations

import time
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig

from opsloop import prompts
from opsloop.agent.graph.deps import Deps
from opsloop.agent.graph.nodes.plan import add_usage, history, system_prompt, text_of
from opsloop.agent.graph.nodes.recall import incident_note
from opsloop.agent.graph.state import AgentState
from opsloop.agent.grounding.compose import compose
from opsloop.agent.grounding.selfcheck import figures, source_values, verify_figure
from opsloop.agent.rca import report
from opsloop.tools.redact import redact


def respond_node(state: AgentState, config: RunnableConfig, deps: Deps) -> dict[str, Any]:
    """Write the answer for this turn."""
    if state.get("mode") == "alert" and not state.get("error"):
        return _report(state, config, deps)
    notes = list(state.get("notes", []))
    if (note := incident_note(state)) is not None:
        notes.append(note)
    if state.get("error"):
        return {"answer": state["error"], "messages": [AIMessage(content=state["error"])]}
    repair = state.get("repair")
    if state.get("brain") == "llm" and state.get("draft"):
        if not repair:
            return {"answer": _with_notes(state["draft"], notes)}
        try:
            fixed, usage = _llm_repair(state, deps, repair)
            return {"answer": _with_notes(fixed, notes), "usage": usage}
        except Exception:  # the repair is best effort; the check will mark the draft
            return {"answer": _with_notes(state["draft"], notes)}
    answer = compose(state.get("tool_calls", []), notes)
    if repair:
        answer = _drop_unverified(answer, state)
    return {"answer": answer, "messages": [AIMessage(content=answer)]}


def _report(state: AgentState, config: RunnableConfig, deps: Deps) -> dict[str, Any]:
    """Render the incident report; an LLM, when configured, adds a short narrative."""
    thread = config.get("configurable", {}).get("thread_id")
    text = report.render(state, thread)
    notes = list(state.get("notes", []))
    update: dict[str, Any] = {}
    if state.get("brain") == "llm" and deps.llm is not None:
        try:
            # One narrative per report version: a repair pass re-renders, it does not re-ask.
            summary = state.get("draft") if state.get("repair") else None
            if not summary:
                summary, update["usage"] = _narrate(state, deps, text)
                update["draft"] = summary
            text = f"{summary}\n\n{text}"
        except Exception as exc:  # the report stands on its own; say why it has no narrative
            notes.append(f"The LLM could not narrate this report ({type(exc).__name__}).")
    info = dict(state.get("rca") or {})
    if info.get("stage") == "assessed":
        info["stage"] = "reported"
    answer = _with_notes(text, notes)
    return {**update, "answer": answer, "rca": info, "messages": [AIMessage(content=answer)]}


def _narrate(state: AgentState, deps: Deps, text: str) -> tuple[str, dict]:
    assert deps.llm is not None
    messages = [
        SystemMessage(content=prompts.render("narrate")),
        HumanMessage(content=redact(text, deps.secrets)),
    ]
    started = time.time()
    reply = deps.llm.invoke(messages)
    return text_of(reply), add_usage(state.get("usage", {}), reply, started)


def _with_notes(text: str, notes: list[str]) -> str:
    return "\n\n".join([text, *notes]) if notes else text


def _llm_repair(state: AgentState, deps: Deps, problems: list[str]) -> tuple[str, dict]:
    assert deps.llm is not None
    messages = [
        SystemMessage(content=redact(system_prompt(state, deps), deps.secrets)),
        *history(state.get("messages", []), deps),
        HumanMessage(content=prompts.render("repair", problems=problems)),
    ]
    started = time.time()
    reply = deps.llm.invoke(messages)
    return text_of(reply), add_usage(state.get("usage", {}), reply, started)


def _drop_unverified(answer: str, state: AgentState) -> str:
    """Remove template lines holding figures that the evidence does not support."""
    sources = source_values(state.get("evidence", []), [state.get("question", "")])
    kept, dropped = [], 0
    for line in answer.split("\n"):
        if all(verify_figure(f, sources) for f in figures(line)):
            kept.append(line)
        else:
            dropped += 1
    if dropped:
        kept.append("(Some lines were removed: their figures could not be traced to evidence.)")
    return "\n".join(kept)
