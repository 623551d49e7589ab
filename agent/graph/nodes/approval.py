"""The approval gate: request (dry run, audit) → approval (interrupt) → act (policy, run, audit).

A write runs only when a person the policy allows approves it before the request expires.
The request node is separate from the interrupting node because LangGraph re-runs an
interrupted node from its start on resume: its audit entry must be written exactly once.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.types import interrupt

from opsloop.agent.graph.deps import Deps
from opsloop.agent.graph.execute import record, timed_call
from opsloop.agent.graph.state import AgentState
from opsloop.tools.actor import acting_as
from opsloop.tools.base import ToolResult, ToolStatus
from opsloop.tools.errors import OpsError


def _write_call(state: AgentState, deps: Deps) -> dict[str, Any]:
    return next(c for c in state.get("pending", []) if deps.is_write(c["name"]))


def request_node(state: AgentState, config: RunnableConfig, deps: Deps) -> dict[str, Any]:
    """Pin the write's arguments, build its dry run and audit the request."""
    call = _write_call(state, deps)
    tool = deps.tools[call["name"]]
    refused = None
    args = dict(call["args"])
    try:
        if tool.pin:
            args = tool.pin(args)
        preview = tool.preview(args) if tool.preview else "(no dry run available)"
    except OpsError as exc:  # nonsense (unknown version, already champion) is refused up front
        refused, preview = str(exc), f"(refused: {exc})"
    except Exception as exc:  # a failing dry run is shown to the approver, not hidden
        preview = f"(dry run failed: {type(exc).__name__}: {exc})"
    now = time.time()
    start = state.get("turn_evidence_from", 0)
    thread_id = config.get("configurable", {}).get("thread_id")
    request = {
        "kind": "approval",
        "tool": call["name"],
        "args": args,
        "preview": preview,
        "requested_by": state.get("user", "unknown"),
        "thread_id": thread_id,
        "question": state.get("question", ""),
        "evidence": [e["id"] for e in state.get("evidence", [])[start:]],
        "requested_at": now,
        "expires_at": now + deps.settings.approval_ttl,
    }
    deps.audit.append(
        thread_id=thread_id,
        requested_by=request["requested_by"],
        action=call["name"],
        args=args,
        preview=preview,
        evidence=request["evidence"],
        decision="refused" if refused else "requested",
        reason=refused,
        status="error" if refused else "pending",
        result=None,
    )
    pinned = {**call, "args": args}
    pending = [pinned if c is call else c for c in state.get("pending", [])]
    return {
        "pending": pending,
        "decision": {"request": request, "refused": refused} if refused else None,
        "approval_request": None if refused else request,
    }


def after_request(state: AgentState) -> Literal["approval", "act"]:
    """Route a request: to a person, or (refused up front) straight to act, which records why."""
    return "approval" if state.get("approval_request") else "act"


def approval_node(state: AgentState, deps: Deps) -> dict[str, Any]:
    """Pause the graph with the approval request; resume with the person's decision."""
    request = state["approval_request"]
    answer = interrupt(request)
    return {"decision": {"request": request, "answer": answer}, "approval_request": None}


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


def _decide(state: AgentState, deps: Deps, call: dict[str, Any]) -> tuple[str, str, str]:
    """Return (decision, approver, reason): approved, rejected, expired, unauthorized, refused."""
    decision = state.get("decision") or {}
    request = decision.get("request", {})
    if decision.get("refused"):
        return "refused", "opsloop", decision["refused"]
    approved, by, reason = _approved(decision.get("answer"))
    if not approved:
        return "rejected", by, reason
    if time.time() > float(request.get("expires_at") or 0):
        return "expired", by, "the approval request expired; ask again for a fresh one"
    verdict = deps.policy.check(
        by, call["name"], call["args"].get("model"), request.get("requested_by")
    )
    if not verdict.allowed:
        return "unauthorized", by, verdict.reason
    return "approved", by, reason or verdict.reason


def act_node(state: AgentState, config: RunnableConfig, deps: Deps) -> dict[str, Any]:
    """Run the approved write (or record why not) and append the outcome to the audit log."""
    call = _write_call(state, deps)
    request = (state.get("decision") or {}).get("request", {})
    decision, by, reason = _decide(state, deps, call)
    timing = None
    thread = request.get("thread_id") or config.get("configurable", {}).get("thread_id")
    if decision == "approved":
        with acting_as(by, thread, request.get("requested_by")):
            result, timing = timed_call(call, deps)
    elif decision == "refused":
        result = ToolResult.failure(f"{call['name']} refused: {reason}.")
    else:
        result = ToolResult(
            status=ToolStatus.DENIED,
            summary=f"{call['name']} was not run: {reason} (decision by {by}).",
            error=reason,
        )
    evidence = list(state.get("evidence", []))
    rec, new_evidence, message = record(call, result, len(evidence), deps, timing)
    rec["approval"] = {"approved": decision == "approved", "by": by, "reason": reason}
    if decision != "refused":  # the request node already audited a refusal
        deps.audit.append(
            thread_id=thread,
            requested_by=request.get("requested_by", state.get("user", "unknown")),
            action=call["name"],
            args=call["args"],
            preview=request.get("preview", ""),
            evidence=request.get("evidence", []),
            approver=by,
            decision=decision,
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
        "usage": _with_wait(state, request, decision),
    }


def _with_wait(state: AgentState, request: dict[str, Any], decision: str) -> dict[str, Any]:
    """Add the time the request waited for a person to the turn's usage.

    Latency counts that wait; the self-monitoring duration leaves it out
    (`opsloop.agent.llm.usage`).
    """
    usage = dict(state.get("usage", {}))
    asked = request.get("requested_at")
    if decision != "refused" and isinstance(asked, int | float):
        waited = max(0.0, time.time() - float(asked))
        usage["approval_wait_s"] = round(float(usage.get("approval_wait_s", 0.0)) + waited, 3)
    return usage
