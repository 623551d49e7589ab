"""The approval gate and the act node: a write runs only after a person says yes."""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import interrupt

from agent.deps import Deps
from agent.nodes.execute import execute_call, record
from agent.state import AgentState
from tools.base import ToolResult, ToolStatus


def _write_call(state: AgentState, deps: Deps) -> dict[str, Any]:
    return next(c for c in state.get("pending", []) if deps.is_write(c["name"]))


def approval_node(state: AgentState, config: RunnableConfig, deps: Deps) -> dict[str, Any]:
    """Pause the graph with an approval request; resume with the person's decision."""
    call = _write_call(state, deps)
    tool = deps.tools[call["name"]]
    try:
        preview = tool.preview(call["args"]) if tool.preview else "(no dry run available)"
    except Exception as exc:  # a failing dry run is shown to the approver, not hidden
        preview = f"(dry run failed: {type(exc).__name__}: {exc})"
    start = state.get("turn_evidence_from", 0)
    request = {
        "kind": "approval",
        "tool": call["name"],
        "args": call["args"],
        "preview": preview,
        "requested_by": state.get("user", "unknown"),
        "thread_id": config.get("configurable", {}).get("thread_id"),
        "question": state.get("question", ""),
        "evidence": [e["id"] for e in state.get("evidence", [])[start:]],
    }
    decision = interrupt(request)
    return {"decision": {"request": request, "answer": decision}}


def _approved(answer: Any) -> tuple[bool, str, str]:
    """Read a resume value: {"approved": bool, "by": str, "reason": str}; anything else is no."""
    if not isinstance(answer, dict):
        return False, "unknown", "no valid decision was given"
    by = str(answer.get("by") or "").strip()
    reason = str(answer.get("reason") or "")
    if answer.get("approved") is True and by:
        return True, by, reason
    if answer.get("approved") is True:
        return False, "unknown", "approval without an approver name is not accepted"
    return False, by or "unknown", reason or "rejected"


def act_node(state: AgentState, config: RunnableConfig, deps: Deps) -> dict[str, Any]:
    """Run the approved write (or record the refusal) and append it to the audit log."""
    call = _write_call(state, deps)
    decision = state.get("decision") or {}
    request = decision.get("request", {})
    approved, by, reason = _approved(decision.get("answer"))
    if approved:
        result = execute_call(call, deps)
    else:
        result = ToolResult(
            status=ToolStatus.DENIED,
            summary=f"{call['name']} was not run: {reason} (decision by {by}).",
            error=reason,
        )
    evidence = list(state.get("evidence", []))
    rec, new_evidence, message = record(call, result, len(evidence), deps)
    rec["approval"] = {"approved": approved, "by": by, "reason": reason}
    deps.audit.append(
        thread_id=request.get("thread_id") or config.get("configurable", {}).get("thread_id"),
        requested_by=request.get("requested_by", state.get("user", "unknown")),
        action=call["name"],
        args=call["args"],
        preview=request.get("preview", ""),
        evidence=request.get("evidence", []),
        approver=by,
        decision="approved" if approved else "rejected",
        reason=reason,
        status=result.status.value,
        result=result.summary[:2000],
    )
    pending = [
        c for c in state.get("pending", []) if c is not call and c.get("id") != call.get("id")
    ]
    return {
        "tool_calls": [*state.get("tool_calls", []), rec],
        "evidence": evidence + new_evidence,
        "messages": [message],
        "pending": pending,
        "decision": None,
    }
