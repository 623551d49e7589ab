"""Alertmanager's view of now: which alerts fire, which are silenced, and the silences.

Reads Alertmanager's API v2 (`/api/v2/alerts`, `/api/v2/silences`). Alertmanager keeps no
history, so these tools answer "what is firing now"; past alerts live in opsloop's incidents.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

import httpx
from pydantic import BaseModel, Field

from opsloop.tools.base import Evidence, OpsTool, ToolResult, ToolStatus, ops_tool

SHOWN = 20
# Labels that name the workload an alert is about, by convention (OpenTelemetry, Kubernetes,
# Prometheus jobs); a service filter matches any of them.
SERVICE_LABELS = (
    "service_name",
    "service",
    "app",
    "app_kubernetes_io_name",
    "deployment",
    "container",
    "job",
)


@dataclass
class AlertsContext:
    """Where Alertmanager is and how long to wait for it."""

    url: str
    timeout_s: float = 10.0
    now: Callable[[], float] = field(default=time.time)


class AlertsArgs(BaseModel):
    """Arguments of list_alerts."""

    state: Literal["firing", "suppressed", "all"] = Field(
        "firing",
        description="firing: active and not silenced; suppressed: silenced or inhibited; all.",
    )
    service: str | None = Field(None, description="Only alerts about this service.")
    severity: str | None = Field(None, description="Only this severity, e.g. critical.")


class SilencesArgs(BaseModel):
    """Arguments of list_silences."""

    state: Literal["active", "pending", "expired", "all"] = Field(
        "active", description="active (in force now), pending (starts later), expired, or all."
    )


def _get(ctx: AlertsContext, path: str, params: list[tuple[str, str]]) -> Any:
    """GET an Alertmanager API path; raise ValueError with advice when it cannot be read."""
    return am_request(ctx, "GET", path, params=params)


def am_request(
    ctx: AlertsContext,
    method: str,
    path: str,
    *,
    params: list[tuple[str, str]] | None = None,
    body: Any = None,
) -> Any:
    """Call Alertmanager's API v2; raise ValueError with advice when it fails or refuses."""
    url = ctx.url.rstrip("/") + path
    try:
        response = httpx.request(method, url, params=params, json=body, timeout=ctx.timeout_s)
    except httpx.HTTPError as exc:
        raise ValueError(
            f"Alertmanager at {ctx.url} is unreachable ({type(exc).__name__}); check "
            "OPSLOOP_ALERTMANAGER_URL and that Alertmanager runs"
        ) from None
    if response.status_code >= 300:
        raise ValueError(
            f"Alertmanager answered HTTP {response.status_code}: {response.text[:200]}"
        )
    return response.json() if response.content else {}


def age_since(since: str, now: float) -> str:
    """Return how long ago an RFC 3339 time was, as '3h 12m'."""
    try:
        start = datetime.fromisoformat(since.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return "?"
    minutes = max(0, int(now - start) // 60)
    days, hours, mins = minutes // 1440, minutes // 60 % 24, minutes % 60
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{mins}m" if mins else ""]
    return " ".join(p for p in parts if p) if minutes else "<1m"


def _about(labels: dict[str, str]) -> str:
    """Return the workload an alert is about, from the conventional labels."""
    for name in SERVICE_LABELS:
        if labels.get(name):
            return f"{name}={labels[name]}"
    return ""


def alert_line(alert: dict[str, Any], now: float) -> str:
    """Describe one alert in a line: name, severity, subject, age, summary, runbook."""
    labels, notes = alert.get("labels", {}), alert.get("annotations", {})
    state = alert.get("status", {}).get("state", "active")
    head = labels.get("alertname", "(no alertname)")
    if labels.get("severity"):
        head += f" [{labels['severity']}]"
    parts = [head, _about(labels), f"for {age_since(alert.get('startsAt', ''), now)}"]
    if state != "active":
        parts.append("silenced" if alert.get("status", {}).get("silencedBy") else "inhibited")
    text = notes.get("summary") or notes.get("description") or notes.get("message") or ""
    line = ", ".join(p for p in parts if p) + (f": {text.strip()[:160]}" if text else "")
    runbook = notes.get("runbook_url") or notes.get("runbook")
    return line + (f" (runbook: {runbook})" if runbook else "")


def list_alerts(
    ctx: AlertsContext, state: str, service: str | None, severity: str | None
) -> list[dict[str, Any]]:
    """Read the alerts in Alertmanager now, filtered, oldest first."""
    params = [
        ("active", "true"),
        ("silenced", str(state != "firing").lower()),
        ("inhibited", str(state != "firing").lower()),
    ]
    if severity:
        params.append(("filter", f'severity="{severity}"'))
    alerts = _get(ctx, "/api/v2/alerts", params)
    if state == "suppressed":
        alerts = [a for a in alerts if a.get("status", {}).get("state") == "suppressed"]
    if service:
        alerts = [
            a for a in alerts if any(a.get("labels", {}).get(n) == service for n in SERVICE_LABELS)
        ]
    return sorted(alerts, key=lambda a: (a.get("startsAt", ""), a.get("fingerprint", "")))


def alert_tools(ctx: AlertsContext) -> list[OpsTool]:
    """Return list_alerts and list_silences bound to one Alertmanager."""
    ui = ctx.url.rstrip("/") + "/#/"

    def list_alerts_tool(
        state: str = "firing", service: str | None = None, severity: str | None = None
    ) -> ToolResult:
        """List the alerts Alertmanager holds now (not past ones): name, severity, service,
        how long each has fired, its summary and runbook. state=firing (default) leaves out
        silenced and inhibited alerts; suppressed lists only those; all lists both."""
        try:
            alerts = list_alerts(ctx, state, service, severity)
        except ValueError as exc:
            return ToolResult.failure(str(exc))
        now = ctx.now()
        noun = "alert" if len(alerts) == 1 else "alerts"
        scope = " ".join(x for x in (severity, state if state != "all" else "", noun) if x)
        scope += f" about {service}" if service else ""
        if not alerts:
            summary = f"no {scope} in Alertmanager now"
            status = ToolStatus.NO_DATA
        else:
            lines = [alert_line(a, now) for a in alerts[:SHOWN]]
            more = f"\n… and {len(alerts) - SHOWN} more" if len(alerts) > SHOWN else ""
            summary = f"{len(alerts)} {scope}, oldest first:\n- " + "\n- ".join(lines) + more
            status = ToolStatus.OK
        link = ui + "alerts"
        about = _about(alerts[0].get("labels", {})) if service and alerts else ""
        if about:
            name, value = about.split("=", 1)
            link += "?filter=" + quote(f'{{{name}="{value}"}}')
        data = [
            {
                "labels": a.get("labels", {}),
                "annotations": a.get("annotations", {}),
                "starts_at": a.get("startsAt"),
                "state": a.get("status", {}).get("state"),
                "fingerprint": a.get("fingerprint"),
                "generator_url": a.get("generatorURL"),
            }
            for a in alerts
        ]
        evidence = Evidence(
            tool="list_alerts",
            query=f"GET /api/v2/alerts state={state}"
            + (f" service={service}" if service else "")
            + (f" severity={severity}" if severity else ""),
            summary=summary.splitlines()[0],
            link=link,
            values={"alerts": float(len(alerts))},
        )
        return ToolResult(status=status, summary=summary, data=data, evidence=[evidence])

    def list_silences_tool(state: str = "active") -> ToolResult:
        """List Alertmanager's silences: their matchers, who created them, why and until when."""
        try:
            silences = _get(ctx, "/api/v2/silences", [])
        except ValueError as exc:
            return ToolResult.failure(str(exc))
        if state != "all":
            silences = [s for s in silences if s.get("status", {}).get("state") == state]
        silences.sort(key=lambda s: s.get("endsAt", ""))
        noun = "silence" if len(silences) == 1 else "silences"
        kind = f"{state} {noun}" if state != "all" else noun
        if silences:
            lines = [silence_line(s) for s in silences[:SHOWN]]
            summary = f"{len(silences)} {kind}:\n- " + "\n- ".join(lines)
        else:
            summary = f"no {kind} in Alertmanager"
        evidence = Evidence(
            tool="list_silences",
            query=f"GET /api/v2/silences state={state}",
            summary=summary.splitlines()[0],
            link=ui + "silences",
            values={"silences": float(len(silences))},
        )
        status = ToolStatus.OK if silences else ToolStatus.NO_DATA
        return ToolResult(status=status, summary=summary, data=silences, evidence=[evidence])

    return [
        ops_tool(list_alerts_tool, name="list_alerts", args_schema=AlertsArgs),
        ops_tool(list_silences_tool, name="list_silences", args_schema=SilencesArgs),
    ]


def silence_line(silence: dict[str, Any]) -> str:
    """Describe one silence: matchers, until when, by whom and why."""
    matchers = ", ".join(
        f"{m.get('name')}{'=' if m.get('isEqual', True) else '!'}{'~' if m.get('isRegex') else ''}"
        f'"{m.get("value")}"'
        for m in silence.get("matchers", [])
    )
    until = str(silence.get("endsAt", ""))[:16].replace("T", " ")
    who, why = silence.get("createdBy", "?"), (silence.get("comment") or "").strip()[:120]
    return f"{{{matchers}}} until {until} UTC by {who}" + (f": {why}" if why else "")
