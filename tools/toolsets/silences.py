"""silence_alert and expire_silence: Alertmanager silences, behind the approval gate.

A silence hides alerts from everyone on call, so it is a write like a rollback: a person the
policy allows approves its dry run (the matchers and every alert they would silence now),
the duration is capped by policy, and matchers that would silence everything are refused.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from opsloop.tools.actor import current_actor, current_requester, current_thread
from opsloop.tools.base import Evidence, OpsTool, ToolResult, ToolStatus, ops_tool
from opsloop.tools.errors import OpsError
from opsloop.tools.toolsets.alerts import (
    SERVICE_LABELS,
    AlertsContext,
    alert_line,
    am_request,
    list_alerts,
    silence_line,
)

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_:]*$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|mins|minutes?|h|hrs?|hours?|d|days?)\s*$")
# Labels that name what an alert is about: a silence must name at least one of them.
_SUBJECT_LABELS = ("alertname", "model", "instance", "pod", *SERVICE_LABELS)


class Refused(OpsError):
    """A silence that would hide too much or last too long; the message says why."""


class SilenceArgs(BaseModel):
    """Arguments of silence_alert."""

    alertname: str | None = Field(None, description="The alert to silence, e.g. HighLatency.")
    service: str | None = Field(None, description="Only this service's alerts.")
    matchers: dict[str, str] | None = Field(
        None, description='Further exact label matchers, e.g. {"severity": "warning"}.'
    )
    duration: str = Field("1h", description="How long: 30m, 1h, 4h… (capped by policy).")
    comment: str | None = Field(None, description="Why; the requester and incident are added.")


class ExpireArgs(BaseModel):
    """Arguments of expire_silence."""

    silence_id: str = Field(description="The silence's id (list_silences shows them).")


def parse_duration(text: str, cap_h: float) -> timedelta:
    """Read "30m", "4h", "1d"; raise Refused past the policy's cap or when unreadable."""
    m = _DURATION.match(str(text).lower())
    if not m:
        raise Refused(f"cannot read the duration {text!r}; say 30m, 1h or 4h")
    value, unit = float(m.group(1)), m.group(2)[0]
    hours = value / 60 if unit == "m" else value * (24 if unit == "d" else 1)
    span = timedelta(hours=hours)
    if span <= timedelta(0):
        raise Refused("a silence needs a positive duration")
    if span > timedelta(hours=cap_h):
        raise Refused(f"the policy allows silences of at most {cap_h:g}h, not {text}")
    return span


def build_matchers(args: dict[str, Any], alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return exact matchers from the arguments; the service label is the one `alerts` use."""
    labels: dict[str, str] = {}
    names = [n.strip() for n in str(args.get("alertname") or "").split("|") if n.strip()]
    if any(not _NAME.match(n) for n in names):
        raise Refused(f"{args['alertname']!r} is not an alert name (or names joined by |)")
    if args.get("service"):
        labels[_service_label(alerts, str(args["service"]))] = str(args["service"])
    labels |= {str(k): str(v) for k, v in (args.get("matchers") or {}).items()}
    found = [{"name": k, "value": v, "isRegex": False, "isEqual": True} for k, v in labels.items()]
    if names:  # several alerts: one anchored alternation of exact names, nothing wider
        alert = {"name": "alertname", "value": "|".join(names), "isRegex": len(names) > 1}
        found.insert(0, {**alert, "isEqual": True})
    return found


def _service_label(alerts: list[dict[str, Any]], service: str) -> str:
    """Return the label the alerts carry this service in, by convention's order."""
    for alert in alerts:
        for name in SERVICE_LABELS:
            if alert.get("labels", {}).get(name) == service:
                return name
    return "service"


def matching(alerts: list[dict[str, Any]], matchers: list[dict[str, Any]]) -> list[dict]:
    """Return the alerts every (exact) matcher selects."""

    def fits(value: str, m: dict[str, Any]) -> bool:
        return bool(re.fullmatch(m["value"], value)) if m.get("isRegex") else value == m["value"]

    return [
        a for a in alerts if all(fits(a.get("labels", {}).get(m["name"], ""), m) for m in matchers)
    ]


def check_scope(matchers: list[dict[str, Any]], firing: list[dict[str, Any]]) -> list[dict]:
    """Refuse matchers that would silence everything; return the alerts they silence now."""
    if not matchers:
        raise Refused("a silence needs matchers: name the alert or the service")
    if empty := [m["name"] for m in matchers if not str(m["value"]).strip()]:
        # Alertmanager reads label="" as "label absent": it would match every alert without it.
        raise Refused(f"empty matcher values ({', '.join(empty)}) would match alerts broadly")
    if not any(m["name"] in _SUBJECT_LABELS for m in matchers):
        raise Refused(
            "matchers on " + ", ".join(m["name"] for m in matchers) + " alone would silence "
            "whole classes of alerts; name the alert (alertname) or the service too"
        )
    hit = matching(firing, matchers)
    names = {a.get("labels", {}).get("alertname") for a in firing}
    if len(firing) >= 3 and len(names) >= 2 and len(hit) == len(firing):
        raise Refused(
            f"these matchers would silence every one of the {len(firing)} alerts firing now; "
            "narrow them to the alert or service you mean"
        )
    return hit


def silence_tools(ctx: AlertsContext, max_hours: float = 24.0) -> list[OpsTool]:
    """Return silence_alert and expire_silence bound to one Alertmanager."""
    ui = ctx.url.rstrip("/") + "/#/silences"

    def plan(args: dict[str, Any]) -> tuple[list[dict], timedelta, list[dict]]:
        span = parse_duration(args.get("duration") or "1h", max_hours)
        alerts = _firing(ctx)  # one read: the service's label and what would be hidden
        matchers = build_matchers(args, alerts)
        return matchers, span, check_scope(matchers, alerts)

    def preview(args: dict[str, Any]) -> str:
        matchers, span, hit = plan(args)
        head = f"create a silence {_shown(matchers)} for {_span(span)}"
        if not hit:
            return head + "; it matches no alert firing now (it will hide any that start)"
        now = ctx.now()
        lines = "\n".join(f"- {alert_line(a, now)}" for a in hit[:20])
        return f"{head}; it would silence {len(hit)} alert(s) firing now:\n{lines}"

    def silence_alert(
        alertname: str | None = None,
        service: str | None = None,
        matchers: dict[str, str] | None = None,
        duration: str = "1h",
        comment: str | None = None,
    ) -> ToolResult:
        """Silence alerts in Alertmanager for a while (default 1h, capped by policy): by alert
        name and/or service, plus exact label matchers. Refuses matchers that would silence
        everything. Needs a person's approval; runs only after it."""
        args = {
            "alertname": alertname,
            "service": service,
            "matchers": matchers,
            "duration": duration,
        }
        try:
            found, span, hit = plan(args)
        except (Refused, ValueError) as exc:
            return ToolResult.failure(f"Silence refused: {exc}.")
        # Alertmanager keeps wall-clock time, whatever clock the metrics tools read.
        who, start = current_actor(), datetime.now(UTC)
        why = [comment or "silenced during an incident"]
        if current_requester():
            why.append(f"requested by {current_requester()}")
        why.append(f"approved by {who}")
        if current_thread():
            why.append(f"incident {current_thread()}")
        body = {
            "matchers": found,
            "startsAt": start.isoformat(),
            "endsAt": (start + span).isoformat(),
            "createdBy": who,
            "comment": "; ".join(why),
        }
        try:
            made = am_request(ctx, "POST", "/api/v2/silences", body=body)
        except ValueError as exc:
            return ToolResult.failure(str(exc))
        sid = str(made.get("silenceID", ""))
        summary = (
            f"Silenced {_shown(found)} until {(start + span):%Y-%m-%d %H:%M} UTC "
            f"(silence {sid}, approved by {who}); {len(hit)} alert(s) firing now are hidden."
        )
        evidence = Evidence(
            tool="silence_alert",
            query=f"POST /api/v2/silences {_shown(found)}",
            summary=summary,
            link=f"{ui}/{sid}",
        )
        return ToolResult(
            status=ToolStatus.OK,
            summary=summary,
            evidence=[evidence],
            data={"silence_id": sid, "matchers": found},
        )

    def expire_preview(args: dict[str, Any]) -> str:
        return "expire the silence " + silence_line(_active(ctx, args["silence_id"]))

    def expire_silence(silence_id: str) -> ToolResult:
        """Expire (end now) an Alertmanager silence, so its alerts notify again. Needs a
        person's approval; runs only after it."""
        try:
            silence = _active(ctx, silence_id)
            am_request(ctx, "DELETE", f"/api/v2/silence/{silence['id']}")
        except (Refused, ValueError) as exc:
            return ToolResult.failure(f"Expiring the silence failed: {exc}.")
        summary = f"Expired the silence {silence_line(silence)} (by {current_actor()})."
        evidence = Evidence(
            tool="expire_silence",
            query=f"DELETE /api/v2/silence/{silence_id}",
            summary=summary,
            link=f"{ui}/{silence['id']}",
        )
        return ToolResult(status=ToolStatus.OK, summary=summary, evidence=[evidence])

    return [
        ops_tool(
            silence_alert,
            name="silence_alert",
            args_schema=SilenceArgs,
            risk="write",
            preview=preview,
        ),
        ops_tool(
            expire_silence,
            name="expire_silence",
            args_schema=ExpireArgs,
            risk="write",
            preview=expire_preview,
        ),
    ]


def _firing(ctx: AlertsContext) -> list[dict[str, Any]]:
    try:
        return list_alerts(ctx, "all", None, None)
    except ValueError as exc:
        raise Refused(str(exc)) from None


def _active(ctx: AlertsContext, silence_id: str) -> dict[str, Any]:
    """Return an active or pending silence by id; raise Refused otherwise."""
    try:
        silence = am_request(ctx, "GET", f"/api/v2/silence/{silence_id.strip()}")
    except ValueError as exc:
        raise Refused(f"no silence {silence_id!r} ({exc}); list_silences shows them") from None
    if silence.get("status", {}).get("state") == "expired":
        raise Refused(f"the silence {silence_id} has already expired")
    return silence


def _shown(matchers: list[dict[str, Any]]) -> str:
    ops = {m["name"]: "=~" if m.get("isRegex") else "=" for m in matchers}
    return "{" + ", ".join(f'{m["name"]}{ops[m["name"]]}"{m["value"]}"' for m in matchers) + "}"


def _span(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    if minutes < 60 or minutes % 60:
        return f"{minutes // 60}h{minutes % 60:02d}m" if minutes > 60 else f"{minutes}m"
    return f"{minutes // 60}h"
