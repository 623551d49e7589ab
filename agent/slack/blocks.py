"""Block Kit for answers, reports, approvals and feedback (pure functions, no Slack calls).

Slack renders mrkdwn: untrusted text (answers quote log lines and alert annotations) is
escaped, so `<!channel>` in a log line cannot ping anyone and `<url|label>` cannot fake a link.
"""

from __future__ import annotations

import json
import re
from typing import Any

from opsloop.agent.graph.steps import step_label

SECTION_CHARS = 2900  # Slack refuses a section text over 3000 characters
MAX_EVIDENCE = 8
APPROVE, REJECT = "opsloop.approve", "opsloop.reject"
HELPFUL, NOT_HELPFUL, ROOT_CAUSE = "opsloop.helpful", "opsloop.not_helpful", "opsloop.root_cause"
ROOT_CAUSE_VIEW = "opsloop.root_cause_view"
# Under an alert report: silence its alerts (a write, approved like any other), or draft
# its postmortem. Hours per silence button; Slack wants one action id per button.
SILENCES = {"opsloop.silence_1h": 1, "opsloop.silence_4h": 4}
POSTMORTEM = "opsloop.postmortem"
KINDS = ("model_version", "service", "dependency", "data", "infra", "none")
_HEADING = re.compile(r"^#{1,6}\s+(.*)$")
_BOLD = re.compile(r"\*\*(.+?)\*\*")


def escape(text: str) -> str:
    """Escape the three characters Slack treats as control sequences."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(markdown: str) -> str:
    """Turn the answers' Markdown (headings, **bold**) into escaped Slack mrkdwn."""
    lines = []
    for line in escape(markdown).splitlines():
        heading = _HEADING.match(line)
        line = f"*{heading.group(1)}*" if heading else _BOLD.sub(r"*\1*", line)
        lines.append(line)
    return "\n".join(lines)


def sections(text: str) -> list[dict[str, Any]]:
    """Split mrkdwn into section blocks under Slack's size limit, at line breaks."""
    blocks, chunk = [], ""
    for line in text.splitlines() or [""]:
        while len(line) > SECTION_CHARS:
            blocks.append(line[:SECTION_CHARS])
            line = line[SECTION_CHARS:]
        if len(chunk) + len(line) + 1 > SECTION_CHARS:
            blocks.append(chunk)
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    blocks.append(chunk)
    return [{"type": "section", "text": {"type": "mrkdwn", "text": c or " "}} for c in blocks if c]


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:2900]}]}


def evidence_block(evidence: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """List the evidence records, each with a link to the page behind it."""
    if not evidence:
        return []
    rows = []
    for ev in evidence[:MAX_EVIDENCE]:
        summary = escape(str(ev.get("summary", "")))[:300]
        link = ev.get("link")
        web = link and str(link).startswith(("http://", "https://"))
        opened = f" <{link}|open ↗>" if web else ""
        rows.append(f"`{ev['id']}` {escape(str(ev.get('tool', '')))}: {summary}{opened}")
    more = len(evidence) - MAX_EVIDENCE
    if more > 0:
        rows.append(f"_…and {more} more evidence records (`opsloop` CLI with `--json` shows all)_")
    return [{"type": "divider"}, *sections("*Evidence*\n" + "\n".join(rows))]


def steps_block(result: dict[str, Any]) -> dict[str, Any]:
    """Say which tools ran, how sure the self-check is, and how long it took."""
    marks = {"ok": "✓", "no_data": "∅", "error": "✗", "denied": "⛔", "approval_required": "⏸"}
    calls = " · ".join(
        f"{c['name']} {marks.get(c.get('status', ''), '?')}" for c in result.get("tool_calls", [])
    )
    evals, usage = result.get("evals", {}), result.get("usage", {})
    checked = "✓ grounded" if evals.get("grounded", True) else "⚠ unverified"
    parts = [
        f"steps: {calls or 'none'}",
        checked,
        f"{float(usage.get('latency_s', 0.0)):.1f} s",
        str(result.get("brain", "deterministic")),
        f"thread `{result.get('thread_id', '')}`",
    ]
    return context(" | ".join(parts))


def approval_block(request: dict[str, Any]) -> list[dict[str, Any]]:
    """Show the pending write's dry run with Approve / Reject buttons."""
    value = json.dumps({"thread": request.get("thread_id")})
    args = escape(json.dumps(request.get("args", {}), default=str))
    preview = escape(str(request.get("preview", "")))[:1500]
    text = (
        f":warning: *Approval needed:* `{escape(str(request['tool']))}` {args}\n{preview}\n"
        f"_requested by {escape(str(request.get('requested_by', 'unknown')))}; "
        "only people with a role for this action in the approval policy can decide_"
    )
    confirm = {
        "title": {"type": "plain_text", "text": "Run this write action?"},
        "text": {"type": "mrkdwn", "text": f"`{escape(str(request['tool']))}` {args}"},
        "confirm": {"type": "plain_text", "text": "Approve"},
        "deny": {"type": "plain_text", "text": "Cancel"},
    }
    buttons = [
        {
            "type": "button",
            "action_id": APPROVE,
            "style": "primary",
            "text": {"type": "plain_text", "text": "Approve"},
            "value": value,
            "confirm": confirm,
        },
        {
            "type": "button",
            "action_id": REJECT,
            "style": "danger",
            "text": {"type": "plain_text", "text": "Reject"},
            "value": value,
        },
    ]
    actions = {"type": "actions", "block_id": "opsloop.approval", "elements": buttons}
    return [*sections(text), actions]


def feedback_block(thread_id: str) -> dict[str, Any]:
    """Offer helpful / not helpful and "the root cause was …" buttons."""
    value = json.dumps({"thread": thread_id})

    def button(action: str, text: str) -> dict[str, Any]:
        return {
            "type": "button",
            "action_id": action,
            "text": {"type": "plain_text", "text": text},
            "value": value,
        }

    return {
        "type": "actions",
        "block_id": "opsloop.feedback",
        "elements": [
            button(HELPFUL, "👍 Helpful"),
            button(NOT_HELPFUL, "👎 Not helpful"),
            button(ROOT_CAUSE, "Root cause was…"),
        ],
    }


def answer_blocks(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Render an answer or report: text, evidence with links, approval, steps, feedback."""
    blocks = sections(mrkdwn(result.get("answer") or "(no answer)"))
    if result.get("error"):
        blocks += sections(f":x: *Could not answer:* {escape(str(result['error']))}")
    blocks += evidence_block(result.get("evidence", []))
    if result.get("approval"):
        blocks += [{"type": "divider"}, *approval_block(result["approval"])]
    blocks.append(steps_block(result))
    blocks.append(feedback_block(str(result.get("thread_id", ""))))
    return blocks[:50]  # Slack's limit per message


def report_blocks(result: dict[str, Any], status: str) -> list[dict[str, Any]]:
    """Render an alert report with its incident status in a header line."""
    marks = {"open": ":rotating_light:", "investigating": ":mag:", "resolved": ":white_check_mark:"}
    head = context(f"{marks.get(status, ':bell:')} incident *{status}*")
    return [head, *answer_blocks(result)[:48], incident_block(str(result.get("thread_id")), status)]


def incident_block(incident_id: str, status: str) -> dict[str, Any]:
    """Offer "Silence 1h / 4h" (while it fires) and "Write postmortem" under a report."""
    value = json.dumps({"thread": incident_id})
    buttons = [
        {"type": "button", "action_id": action, "value": value,
         "text": {"type": "plain_text", "text": f"🔕 Silence {hours}h"}}
        for action, hours in SILENCES.items()
        if status != "resolved"
    ]  # fmt: skip
    buttons.append(
        {
            "type": "button",
            "action_id": POSTMORTEM,
            "value": value,
            "text": {"type": "plain_text", "text": "📝 Write postmortem"},
        }
    )
    return {"type": "actions", "block_id": "opsloop.incident", "elements": buttons}


def working_blocks(question: str, node: str = "", update: dict[str, Any] | None = None) -> list:
    """Render the placeholder shown while the graph works, naming the current step."""
    step = step_label(node, update or {}) if node else "thinking"
    return [
        *sections(f"> {escape(question)[:500]}" if question else "…"),
        context(f":hourglass_flowing_sand: {escape(step)}…"),
    ]


def fallback_text(result: dict[str, Any]) -> str:
    """Return the notification text (push and screen readers) for a message."""
    answer = (result.get("answer") or result.get("error") or "opsloop").strip()
    first = answer.splitlines()[0] if answer else "opsloop"
    return escape(first.lstrip("# "))[:300]


def root_cause_view(thread_id: str, where: dict[str, Any]) -> dict[str, Any]:
    """Return the modal asking what the root cause really was."""
    options = [{"text": {"type": "plain_text", "text": kind}, "value": kind} for kind in KINDS]
    return {
        "type": "modal",
        "callback_id": ROOT_CAUSE_VIEW,
        "private_metadata": json.dumps({"thread": thread_id, **where}),
        "title": {"type": "plain_text", "text": "Root cause"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": "kind",
                "label": {"type": "plain_text", "text": "Kind"},
                "element": {"type": "static_select", "action_id": "value", "options": options},
            },
            {
                "type": "input",
                "block_id": "target",
                "label": {"type": "plain_text", "text": "Target (service, model or dependency)"},
                "element": {"type": "plain_text_input", "action_id": "value"},
            },
            {
                "type": "input",
                "block_id": "note",
                "optional": True,
                "label": {"type": "plain_text", "text": "What happened"},
                "element": {"type": "plain_text_input", "action_id": "value", "multiline": True},
            },
        ],
    }
