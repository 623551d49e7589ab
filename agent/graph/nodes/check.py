"""The self-check node: verify the answer against evidence; ask for one repair, then mark."""

from __future__ import annotations

import time
from contextlib import suppress
from typing import Any

from langchain_core.runnables import RunnableConfig

from opsloop.agent.graph.deps import Deps
from opsloop.agent.graph.nodes.recall import incident_note
from opsloop.agent.graph.state import AgentState
from opsloop.agent.grounding.selfcheck import check_answer, remove_claims
from opsloop.agent.llm.usage import priced
from opsloop.tools.errors import OpsError

UNVERIFIED = "⚠ Unverified"


def check_node(state: AgentState, config: RunnableConfig, deps: Deps) -> dict[str, Any]:
    """Score the answer; route back to respond once if it is not grounded."""
    answer = state.get("answer", "")
    evidence = state.get("evidence", [])
    calls = state.get("tool_calls", [])
    # A figure may restate the question; tool arguments (query text, ranges) are never
    # support: a "5" in rate(…[5m]) is not a measurement.
    user_texts = [state.get("question", "")]
    # Notes are opsloop's own words (unknown names, missing capabilities), not claims to check.
    claims = "" if state.get("error") else answer
    for note in [*state.get("notes", []), incident_note(state) or ""]:
        claims = claims.replace(note, "") if note else claims
    # A past incident is quoted from memory as it was recorded (an alert report lists them):
    # its figures describe that incident, not this one's evidence.
    for past in state.get("incidents") or []:
        claims = claims.replace(str(past.get("line") or "\0"), "")
    # Context the answer may name: past incidents and this thread (in "opsloop approve ID").
    known = _known(deps) + [str(i.get("id")) for i in state.get("incidents") or []]
    known.append(str(config.get("configurable", {}).get("thread_id", "")))
    result = check_answer(claims, evidence, known_names=known, user_texts=user_texts, calls=calls)
    errors = sum(1 for c in calls if c["status"] == "error")
    evals = {
        **result.as_dict(),
        "repaired": bool(state.get("repaired")),
        "tool_calls": len(calls),
        "tool_error_rate": round(errors / len(calls), 4) if calls else 0.0,
        "steps": state.get("steps", 0),
        "brain": state.get("brain", "deterministic"),
        "writes_without_approval": sum(
            1
            for c in calls
            if deps.is_write(c["name"])
            and c["status"] == "ok"
            and not (c.get("approval") or {}).get("approved")
        ),
    }
    if not result.grounded and not state.get("repaired") and not state.get("error"):
        return {"repair": result.problems(), "repaired": True, "evals": evals}
    usage = dict(state.get("usage", {}))
    usage["latency_s"] = round(time.time() - state.get("started_at", time.time()), 3)
    usage |= priced(usage, deps)
    if result.contradicted:
        # Never ship a statement the evidence contradicts: cut it, and say so.
        answer, removed = remove_claims(answer, result.contradicted)
        answer += "\n\nRemoved, because the evidence contradicts them: " + "; ".join(
            f'"{v.text[:160]}" ({v.reason})' for v in removed
        )
        evals["removed_claims"] = len(removed)
    if (
        any(c.status == "unsupported" for c in result.claims)
        or result.unknown_entities
        or result.invalid_citations
    ):
        answer += (
            f"\n\n{UNVERIFIED}: "
            + "; ".join(p for p in result.problems() if " is contradicted — " not in p)
            + ". Check the evidence links before acting on these."
        )
    return {"evals": evals, "repair": None, "answer": answer, "usage": usage}


def _known(deps: Deps) -> list[str]:
    """Names the answer may use: discovered services and models, plus tool names."""
    names = list(deps.tools)
    # When discovery is down, names found in the evidence text still count.
    with suppress(OpsError):
        names += deps.catalog.services() + deps.catalog.models()
    return names
