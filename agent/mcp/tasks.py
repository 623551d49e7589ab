"""`ask`, `investigate` and `approval_status` as MCP tools, answering with the JSON contracts."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import mcp_types as types

from opsloop.agent.mcp.expose import json_result
from opsloop.agent.rca.alerts import AlertError, parse_notification

_WAITS = (
    " A suggested write (rollback, retrain…) is never run from here: the result's `approval` "
    "names it and its thread_id is the approval id to poll with approval_status."
)
TASK_TOOLS = [
    types.Tool(
        name="ask",
        title="ask opsloop",
        description="Answer an on-call question (metrics, logs, anomalies, drift, model registry, "
        "incidents) from live evidence; returns the `opsloop ask --json` contract: answer with "
        "[E1] citations, tool_calls, evidence (with links), evals, usage, thread_id." + _WAITS,
        input_schema={
            "type": "object",
            "properties": {
                "question": {"type": "string", "description": "The question, in plain words."},
                "thread_id": {"type": "string", "description": "Continue this conversation."},
            },
            "required": ["question"],
        },
        annotations=types.ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=False
        ),
    ),
    types.Tool(
        name="investigate",
        title="investigate an alert",
        description="Root-cause analysis of an alert: ranked hypotheses with evidence, what was "
        "ruled out, the suggested action; returns the `opsloop investigate --json` contract. Give "
        "an Alertmanager (webhook v4) or Grafana payload as `alert`, or a `service` and the "
        "`time` it went wrong." + _WAITS,
        input_schema={
            "type": "object",
            "properties": {
                "alert": {"type": "object", "description": "An alert webhook payload."},
                "service": {"type": "string", "description": "The service that misbehaves."},
                "time": {
                    "type": "string",
                    "description": "When it started: ISO 8601 or Unix seconds (default now).",
                },
                "alertname": {"type": "string", "description": "What went wrong, in one word."},
            },
        },
        annotations=types.ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=False
        ),
    ),
    types.Tool(
        name="approval_status",
        title="approval status",
        description="Where a write waiting for a person stands: pending (with its dry run), "
        "or approved/rejected/expired/unauthorized with who decided and the action's result.",
        input_schema={
            "type": "object",
            "properties": {"approval_id": {"type": "string", "description": "The approval id."}},
            "required": ["approval_id"],
        },
        annotations=types.ToolAnnotations(
            read_only_hint=True, destructive_hint=False, idempotent_hint=True
        ),
    ),
]


def run_task(assistant: Any, name: str, args: dict[str, Any], client: str) -> types.CallToolResult:
    """Run `ask` or `investigate` for the MCP client `client`; never raise."""
    user = f"mcp:{client}"
    try:
        if name == "ask":
            question = args.get("question")
            if not isinstance(question, str) or not question.strip():
                return json_result({"error": "question is required"}, "question is required", True)
            result = assistant.ask(question, thread_id=args.get("thread_id") or None, user=user)
        else:
            alerts = [a.public() for a in parse_notification(alert_payload(args)).alerts]
            result = assistant.investigate(alerts, user=user)
    except (AlertError, ValueError) as exc:
        return json_result({"error": str(exc)}, f"{name}: {exc}", True)
    text = result.get("answer", "")
    if result.get("approval"):
        text += f"\n(approval id {result['thread_id']}: poll approval_status)"
    return json_result(json.loads(json.dumps(result, default=str)), text, bool(result.get("error")))


def alert_payload(args: dict[str, Any]) -> dict[str, Any]:
    """Return the alert payload given, or an Alertmanager one for `service` at `time`."""
    if isinstance(args.get("alert"), dict):
        return args["alert"]
    service = args.get("service")
    if not isinstance(service, str) or not service.strip():
        raise ValueError("give an alert payload as `alert`, or a `service` (and `time`)")
    started = _when(args.get("time"))
    name = str(args.get("alertname") or "ReportedProblem")
    labels = {"alertname": name, "service": service.strip(), "severity": "warning"}
    return {
        "version": "4",
        "status": "firing",
        "receiver": "mcp",
        "groupKey": f"mcp:{name}:{service}",
        "groupLabels": {"alertname": name},
        "commonLabels": labels,
        "alerts": [
            {
                "status": "firing",
                "labels": labels,
                "annotations": {"summary": f"{name} on {service}, reported over MCP"},
                "startsAt": started.isoformat(),
                "fingerprint": f"mcp-{service}-{int(started.timestamp())}",
            }
        ],
    }


def _when(value: Any) -> datetime:
    if value in (None, ""):
        return datetime.now(UTC)
    text = str(value).strip()
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"time {text!r} is neither ISO 8601 nor Unix seconds") from None
    if parsed.timestamp() > time.time() + 300:
        raise ValueError(f"time {text!r} is in the future")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
