"""The remember node: store the answer record for recall, review and evals."""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig

import prompts
from agent.deps import Deps
from agent.nodes.execute import public_call
from agent.state import AgentState


def remember_node(state: AgentState, config: RunnableConfig, deps: Deps) -> dict[str, Any]:
    """Append this turn's answer record to the answer store."""
    start = state.get("turn_evidence_from", 0)
    deps.answers.add(
        {
            "thread_id": config.get("configurable", {}).get("thread_id", ""),
            "user": state.get("user"),
            "question": state.get("question", ""),
            "answer": state.get("answer", ""),
            "brain": state.get("brain", "deterministic"),
            "prompt_hashes": prompts.prompt_hashes(),
            "tool_calls": [public_call(c) for c in state.get("tool_calls", [])],
            "evidence": [
                {k: e.get(k) for k in ("id", "tool", "query", "summary", "link")}
                for e in state.get("evidence", [])[start:]
            ],
            "evals": state.get("evals", {}),
            "usage": state.get("usage", {}),
        }
    )
    return {}
