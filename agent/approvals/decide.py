"""Decide a paused write for a named person: checked against the policy, claimed once."""

from __future__ import annotations

from typing import Any


class DecisionError(Exception):
    """A decision that cannot be taken; `status` is its HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def pending_request(assistant: Any, thread_id: str) -> tuple[str, dict[str, Any]]:
    """Return (interrupt id, request) the thread waits on, or raise DecisionError 409."""
    snapshot = assistant.graph.get_state({"configurable": {"thread_id": thread_id}})
    if not snapshot.interrupts:
        raise DecisionError(
            409,
            f"thread {thread_id} is not waiting for an approval (already decided, expired "
            "or unknown)",
        )
    first = snapshot.interrupts[0]
    return first.id, first.value


def decide(
    assistant: Any, thread_id: str, person: str, approved: bool, reason: str, via: str
) -> dict[str, Any]:
    """Approve or reject the write `thread_id` waits for, as `person`; return the result.

    An approval the policy refuses is audited and leaves the request waiting for someone
    with the role (as a Slack click does), instead of ending it.
    """
    deps = assistant.deps
    interrupt_id, request = pending_request(assistant, thread_id)
    tool, args = request.get("tool", ""), request.get("args", {})
    if approved:
        verdict = deps.policy.check(person, tool, args.get("model"), request.get("requested_by"))
        if not verdict.allowed:
            deps.audit.append(
                thread_id=thread_id,
                requested_by=request.get("requested_by", "unknown"),
                action=tool,
                args=args,
                preview=request.get("preview", ""),
                evidence=request.get("evidence", []),
                approver=person,
                decision="unauthorized",
                reason=f"{via} approve: {verdict.reason}",
                status="denied",
                result=None,
            )
            raise DecisionError(
                403, f"not allowed: {verdict.reason}; nothing ran, the request still waits"
            )
    if not deps.audit.claim_decision(thread_id, interrupt_id, person):
        raise DecisionError(409, f"thread {thread_id} is being decided by someone else")
    word = "approved" if approved else "rejected"
    decision = {"approved": approved, "by": person, "reason": reason or f"{word} via {via}"}
    try:
        return assistant.resume(thread_id, decision)
    except BaseException:
        deps.audit.release_decision(thread_id, interrupt_id)
        raise
