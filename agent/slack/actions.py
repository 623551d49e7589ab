"""Button clicks and the root-cause modal: approvals checked against roles, feedback stored.

An Approve or Reject click is checked against the approval policy before the graph resumes:
a click by someone without the role is refused, audited, and leaves the request waiting for
someone who has it. The graph's act node checks the policy again before anything runs.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from opsloop.agent.slack import blocks

if TYPE_CHECKING:
    from opsloop.agent.slack.app import SlackOps

log = logging.getLogger("opsloop.agent.slack")


def register_actions(ops: SlackOps) -> None:
    """Attach the button and modal handlers to the Bolt app."""
    app = ops.app

    @app.action(blocks.APPROVE)
    def approve(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        decide(ops, body, action, approved=True)

    @app.action(blocks.REJECT)
    def reject(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        decide(ops, body, action, approved=False)

    @app.action(blocks.HELPFUL)
    def helpful(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        rate(ops, body, action, "helpful")

    @app.action(blocks.NOT_HELPFUL)
    def not_helpful(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        rate(ops, body, action, "not_helpful")

    for action_id, hours in blocks.SILENCES.items():
        app.action(action_id)(_silence_handler(ops, hours))

    @app.action(blocks.POSTMORTEM)
    def postmortem(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        post_postmortem(ops, body, action)

    @app.action(blocks.ROOT_CAUSE)
    def root_cause(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        where = {"channel": _channel(body), "ts": _thread_ts(body)}
        view = blocks.root_cause_view(_thread(action), where)
        ops.client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.view(blocks.ROOT_CAUSE_VIEW)
    def root_cause_submitted(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = view["state"]["values"]
        kind = ((values["kind"]["value"].get("selected_option")) or {}).get("value")
        target = (values["target"]["value"].get("value") or "").strip()
        note = (values.get("note", {}).get("value", {}).get("value") or "").strip()
        errors = {}
        if kind not in blocks.KINDS:
            errors["kind"] = "Pick the kind of root cause."
        if not target:
            errors["target"] = "Name the service, model or dependency that caused it."
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        record_root_cause(ops, body, view, kind, target, note)


def _thread(action: dict[str, Any]) -> str:
    try:
        return str(json.loads(action.get("value") or "{}")["thread"])
    except (ValueError, KeyError, TypeError):
        return ""


def _channel(body: dict[str, Any]) -> str:
    return (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id", ""
    )


def _thread_ts(body: dict[str, Any]) -> str:
    message = body.get("message") or {}
    return message.get("thread_ts") or message.get("ts") or ""


def _tell(ops: SlackOps, body: dict[str, Any], text: str) -> None:
    """Say something only the clicking person sees."""
    try:
        ops.client.chat_postEphemeral(
            channel=_channel(body),
            user=body["user"]["id"],
            thread_ts=_thread_ts(body) or None,
            text=text,
        )
    except SlackApiError as exc:
        log.info("could not tell %s: %s", body["user"]["id"], exc)


def decide(ops: SlackOps, body: dict[str, Any], action: dict[str, Any], approved: bool) -> None:
    """Check the clicking person's role, then resume the paused thread with their decision."""
    user = body["user"]["id"]
    thread = _thread(action)
    deps = ops.assistant.deps
    config = {"configurable": {"thread_id": thread}}
    with ops.lock(thread):
        snapshot = ops.assistant.graph.get_state(config) if thread else None
        if snapshot is None or not snapshot.interrupts:
            _tell(ops, body, "This request was already decided (or has expired); nothing ran.")
            return
        request = snapshot.interrupts[0].value
        tool, args = request["tool"], request.get("args", {})
        # The requester may reject their own request; approving it is the policy's call.
        requester = request.get("requested_by") if approved else None
        verdict = deps.policy.check(user, tool, args.get("model"), requester)
        if not verdict.allowed:
            deps.audit.append(
                thread_id=thread,
                requested_by=request.get("requested_by", "unknown"),
                action=tool,
                args=args,
                preview=request.get("preview", ""),
                evidence=request.get("evidence", []),
                approver=user,
                decision="unauthorized",
                reason=f"slack {'approve' if approved else 'reject'}: {verdict.reason}",
                status="denied",
                result=None,
            )
            _tell(
                ops,
                body,
                f":no_entry: Not allowed: {blocks.escape(verdict.reason)}. Nothing ran; the "
                "request still waits for someone with the role.",
            )
            return
        interrupt_id = snapshot.interrupts[0].id
        if not deps.audit.claim_decision(thread, interrupt_id, user):  # e.g. on another replica
            _tell(ops, body, "This request was already decided (or has expired); nothing ran.")
            return
        word = "Approved" if approved else "Rejected"
        channel, message_ts = _channel(body), (body.get("message") or {}).get("ts", "")
        ops.client.chat_update(
            channel=channel,
            ts=message_ts,
            text=f"{word} by <@{user}>",
            blocks=blocks.working_blocks("", "act" if approved else "respond"),
        )
        try:
            result = ops.assistant.resume(
                thread, {"approved": approved, "by": user, "reason": f"{word.lower()} in Slack"}
            )
        except Exception:
            deps.audit.release_decision(thread, interrupt_id)
            raise
    note = f"{':white_check_mark:' if approved else ':x:'} {word} by <@{user}>"
    render = ops.report_renderer(thread, message_ts)
    ops.client.chat_update(
        channel=channel,
        ts=message_ts,
        text=blocks.fallback_text(result),
        blocks=[*render(result)[:49], blocks.context(note)],
    )
    ops.client.chat_postMessage(
        channel=channel,
        thread_ts=_thread_ts(body) or message_ts,
        text=f"{note}: `{tool}` {_outcome(result, tool)}",
    )


def _outcome(result: dict[str, Any], tool: str) -> str:
    """Say what the decided write did, from its evidence record."""
    calls = [c for c in result.get("tool_calls", []) if c["name"] == tool]
    status = calls[-1]["status"] if calls else "unknown"
    summaries = [e["summary"] for e in result.get("evidence", []) if e.get("tool") == tool]
    detail = blocks.escape(summaries[-1])[:600] if summaries else ""
    return f"{status}: {detail}" if detail else status


def _memory_id(ops: SlackOps, thread: str) -> str | None:
    """Return the incident-memory record of a thread (alert thread or question thread)."""
    memory = ops.assistant.deps.memory
    if memory is None:
        return None
    for record in (thread, f"Q-{thread}"):
        try:
            if memory.get(record) is not None:
                return record
        except Exception as exc:  # memory is an aid: feedback still reaches the answer store
            log.warning("incident memory unavailable: %s", exc)
            return None
    return None


def rate(ops: SlackOps, body: dict[str, Any], action: dict[str, Any], rating: str) -> None:
    """Store helpful / not helpful in the answer records and the incident's memory."""
    user, thread = body["user"]["id"], _thread(action)
    ops.assistant.deps.answers.add_feedback(thread, user, rating=rating)
    record = _memory_id(ops, thread)
    try:
        if record:
            said = f"{rating.replace('_', ' ')} ({user})"
            ops.assistant.deps.memory.update(record, feedback=said)
    except Exception as exc:  # the answer store has it; memory is an aid
        log.warning("could not write feedback to incident memory: %s", exc)
    _tell(ops, body, "Thanks, your feedback is recorded.")


def record_root_cause(
    ops: SlackOps, body: dict[str, Any], view: dict[str, Any], kind: str, target: str, note: str
) -> None:
    """Store what a person says the root cause was, and say so in the thread."""
    from opsloop.agent.stores.memory import Incident

    meta = json.loads(view.get("private_metadata") or "{}")
    thread, user = str(meta.get("thread", "")), body["user"]["id"]
    deps = ops.assistant.deps
    deps.answers.add_feedback(thread, user, root_cause=(kind, target), note=note)
    said = f"root cause was {kind} {target} ({user})" + (f": {note}" if note else "")
    record = _memory_id(ops, thread)
    try:
        if record:
            deps.memory.update(record, cause_kind=kind, cause_target=target, feedback=said)
        elif deps.memory is not None:
            deps.memory.add(
                Incident(
                    id=f"Q-{thread}",
                    title=f"Slack thread {thread}: root cause {kind} {target}",
                    text=note,
                    cause_kind=kind,
                    cause_target=target,
                    feedback=said,
                    source="slack",
                    outcome="answered",
                )
            )
    except Exception as exc:  # the answer store has it; memory is an aid
        log.warning("could not write the root cause to incident memory: %s", exc)
    if meta.get("channel") and meta.get("ts"):
        ops.client.chat_postMessage(
            channel=meta["channel"],
            thread_ts=meta["ts"],
            text=f":memo: <@{user}> recorded the root cause: *{blocks.escape(kind)}* "
            f"`{blocks.escape(target)}`" + (f" — {blocks.escape(note)[:500]}" if note else ""),
        )


def _silence_handler(ops: SlackOps, hours: int) -> Any:
    def silence(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        silence_incident(ops, body, action, hours)

    return silence


def _incident(ops: SlackOps, body: dict[str, Any], action: dict[str, Any]) -> dict | None:
    """Return the incident a report button is about, or tell the clicker why not."""
    incident_id = _thread(action)
    found = ops.incidents.get(incident_id) if ops.incidents is not None else None
    if found is None:
        _tell(ops, body, f"No incident {incident_id} in this server's incident queue.")
    return found


def silence_incident(
    ops: SlackOps, body: dict[str, Any], action: dict[str, Any], hours: int
) -> None:
    """Ask, in the report's thread and as the clicker, to silence the incident's alerts."""
    incident = _incident(ops, body, action)
    if incident is None:
        return
    alerts = incident.get("alerts", [])
    names = sorted({a["name"] for a in alerts if a.get("status") == "firing"})
    names = names or sorted({a["name"] for a in alerts})
    # The request is a question like any other: dry run, Approve / Reject, policy, audit.
    question = f"silence {'|'.join(names)} for {hours}h"
    thread_ts = (body.get("message") or {}).get("ts", "")
    ops.converse(_channel(body), thread_ts, body["user"]["id"], question)


def post_postmortem(ops: SlackOps, body: dict[str, Any], action: dict[str, Any]) -> None:
    """Draft the incident's postmortem and post it in the report's thread."""
    from opsloop.agent.server.postmortem import postmortem

    incident_id = _thread(action)
    pm = postmortem(ops.settings, ops.incidents, incident_id) if ops.incidents else None
    if pm is None:
        _tell(ops, body, f"No incident {incident_id} in this server's incident queue.")
        return
    ops.client.chat_postMessage(
        channel=_channel(body),
        thread_ts=(body.get("message") or {}).get("ts", ""),
        text=f"Postmortem draft of {incident_id} (`opsloop incidents postmortem {incident_id}`)",
        blocks=blocks.sections(blocks.mrkdwn(pm["markdown"]))[:50],
    )
