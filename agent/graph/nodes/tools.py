"""The tools node: run every pending read call, record evidence, hand back to plan."""

from __future__ import annotations

from typing import Any

from opsloop.agent.graph.deps import Deps
from opsloop.agent.graph.execute import run_reads
from opsloop.agent.graph.state import AgentState


def tools_node(state: AgentState, deps: Deps) -> dict[str, Any]:
    """Execute pending read calls; leave write calls for the approval gate."""
    writes, reads = [], []
    for call in state.get("pending", []):
        is_write = deps.is_write(call["name"]) and not call.get("invalid")
        (writes if is_write else reads).append(call)
    return {**run_reads(state, deps, reads), "pending": writes}
