"""The respond node: the model's draft, or a template answer, repaired once if it failed."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from opsloop import prompts
from opsloop.agent.graph.deps import Deps
from opsloop.agent.graph.nodes.recall import incident_note
from opsloop.agent.graph.state import AgentState
from opsloop.agent.grounding.compose import compose, with_notes
from opsloop.agent.grounding.selfcheck import check_answer, remove_claims
from opsloop.agent.llm.chat import history, invoke, system_prompt, text_of
from opsloop.tools.redact import redact


def respond_node(state: AgentState, deps: Deps) -> dict[str, Any]:
    """Write the answer for this turn."""
    notes = list(state.get("notes", []))
    if (note := incident_note(state)) is not None:
        notes.append(note)
    if state.get("error"):
        return {"answer": state["error"], "messages": [AIMessage(content=state["error"])]}
    repair = state.get("repair")
    if state.get("brain") == "llm" and state.get("draft"):
        if not repair:
            return {"answer": with_notes(state["draft"], notes)}
        try:
            fixed, usage = _llm_repair(state, deps, repair)
            return {"answer": with_notes(fixed, notes), "usage": usage}
        except Exception:  # the repair is best effort; the check will mark the draft
            return {"answer": with_notes(state["draft"], notes)}
    answer = compose(state.get("tool_calls", []), notes)
    if repair:
        answer = _drop_unverified(answer, state, deps)
    return {"answer": answer, "messages": [AIMessage(content=answer)]}


def _llm_repair(state: AgentState, deps: Deps, problems: list[str]) -> tuple[str, dict]:
    assert deps.llm is not None
    messages = [
        SystemMessage(content=redact(system_prompt(state, deps), deps.secrets)),
        *history(state.get("messages", []), deps),
        HumanMessage(content=prompts.render("repair", problems=problems)),
    ]
    reply, usage = invoke(deps.llm, messages, state.get("usage", {}), state=state, deps=deps)
    return text_of(reply), usage


def _drop_unverified(answer: str, state: AgentState, deps: Deps) -> str:
    """Remove template lines holding figures the evidence does not support."""
    result = check_answer(
        answer,
        state.get("evidence", []),
        known_names=list(deps.tools),
        user_texts=[state.get("question", "")],
        calls=state.get("tool_calls", []),
    )
    failing = [c for c in result.claims if c.status != "supported"]
    if not failing:
        return answer
    kept, _ = remove_claims(answer, failing)
    return kept + "\n(Some lines were removed: their figures could not be traced to evidence.)"
