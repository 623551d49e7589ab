"""The tools node: run every pending read call, record evidence, hand back to plan."""

from __future__ import annotations

import contextvars
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from opsloop.agent.graph.deps import Deps
from opsloop.agent.graph.execute import record, timed_call
from opsloop.agent.graph.state import AgentState

# Read calls of one step run side by side (an investigation makes a dozen); results are
# recorded in the planned order, so evidence ids do not depend on which finished first.
_CALLS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="opsloop-call")


def tools_node(state: AgentState, deps: Deps) -> dict[str, Any]:
    """Execute pending read calls; leave write calls for the approval gate."""
    evidence = list(state.get("evidence", []))
    calls = list(state.get("tool_calls", []))
    messages = []
    remaining = []
    reads = []
    for call in state.get("pending", []):
        if deps.is_write(call["name"]) and not call.get("invalid"):
            remaining.append(call)
        else:
            reads.append(call)
    futures = [
        _CALLS.submit(contextvars.copy_context().run, timed_call, call, deps) for call in reads
    ]
    for call, future in zip(reads, futures, strict=True):
        result, timing = future.result()
        rec, new_evidence, message = record(call, result, len(evidence), deps, timing)
        calls.append(rec)
        evidence.extend(new_evidence)
        messages.append(message)
    return {"tool_calls": calls, "evidence": evidence, "messages": messages, "pending": remaining}
