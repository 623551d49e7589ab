"""The recall node: bring back past answers to similar questions as context."""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig

from agent.deps import Deps
from agent.state import AgentState


def recall_node(state: AgentState, config: RunnableConfig, deps: Deps) -> dict[str, Any]:
    """Find up to three similar past answers from other threads."""
    if state.get("error"):
        return {"recalled": []}
    thread = config.get("configurable", {}).get("thread_id")
    return {"recalled": deps.answers.similar(state.get("question", ""), k=3, exclude_thread=thread)}
