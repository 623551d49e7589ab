"""Writes asked for over MCP: a paused thread and its approval id, never an action.

The MCP client is the requester (`mcp:<client name>`); a person decides through the CLI,
Slack or `POST /approvals/{thread}`, checked by the same policy and audited the same way.
"""

from __future__ import annotations

from typing import Any

from opsloop.agent.approvals.decide import DecisionError, pending_request

WAYS = (
    "opsloop approve {id} (or --reject), the Slack buttons, or POST /approvals/{id} with a "
    "personal token"
)


def request_write(assistant: Any, tool: str, args: dict[str, Any], client: str) -> dict[str, Any]:
    """Pause a write for approval as `mcp:<client>`; return the dry run and approval id."""
    result = assistant.request_write(tool, args, user=f"mcp:{client}")
    pending = result.get("approval")
    if pending is None:  # refused up front (nonsense arguments): nothing waits
        calls = result.get("tool_calls") or [{}]
        return {
            "status": "refused",
            "tool": tool,
            "args": args,
            "approval_id": None,
            "answer": result.get("answer", ""),
            "detail": calls[-1].get("status"),
        }
    thread = result["thread_id"]
    return {
        "status": "approval_required",
        "tool": tool,
        "args": pending["args"],
        "dry_run": pending["preview"],
        "approval_id": thread,
        "requested_by": pending["requested_by"],
        "expires_at": pending["expires_at"],
        "approve_with": WAYS.format(id=thread),
    }


def approval_status(assistant: Any, approval_id: str) -> dict[str, Any]:
    """Return where an approval stands: pending, or its decision and the action's result."""
    try:
        _id, request = pending_request(assistant, approval_id)
    except DecisionError:
        request = None
    trail = assistant.deps.audit.for_thread(approval_id)
    if request is not None:
        tried = [e for e in trail if e.get("decision") == "unauthorized"]
        return {
            "approval_id": approval_id,
            "status": "pending",
            "tool": request.get("tool"),
            "args": request.get("args"),
            "dry_run": request.get("preview"),
            "refused_approvers": [e.get("approver") for e in tried],
            "approve_with": WAYS.format(id=approval_id),
        }
    decided = [e for e in trail if e.get("decision") not in ("requested", "unauthorized")]
    outcome = assistant.outcome(approval_id)
    if not decided or outcome is None:
        return {
            "approval_id": approval_id,
            "status": "unknown",
            "error": f"no approval request {approval_id!r} (wrong id, or another opsloop's)",
        }
    last = decided[-1]
    return {
        "approval_id": approval_id,
        "status": last["decision"],  # approved, rejected, expired, refused
        "tool": last.get("action"),
        "args": last.get("args"),
        "approver": last.get("approver"),
        "reason": last.get("reason"),
        "requested_by": last.get("requested_by"),
        "result_status": last.get("status"),
        "result": last.get("result"),
        "answer": outcome.get("answer", ""),
        "evidence": outcome.get("evidence", []),
    }
