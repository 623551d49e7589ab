"""list_incidents and incident_status: the incident queue, i.e. incidents opened from alerts.

The queue is what `opsloop serve` builds from Alertmanager and Grafana notifications: each
incident with its alerts, status and investigation report. These tools read it for "what
incidents are open?" and "what's the status of inc-…?"; similar *past* incidents are
`search_incidents` (incident memory).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from opsloop.tools.base import Evidence, OpsTool, ToolResult, ToolStatus, ops_tool
from opsloop.tools.toolsets.alerts import SERVICE_LABELS, age_since

ACTIVE = ("investigating", "open")
DATA_KEYS = ("id", "status", "opened_at", "top_hypothesis")
# The report's verdict line, whatever its outcome.
VERDICTS = ("**Most likely", "**Verdict", "**Inconclusive", "Investigation failed")
SCAN = 200  # incidents read to find one by name: the newest are what on-call asks about


class IncidentQueue(Protocol):
    """What the tools read: the server's incident store (`agent.server.incidents`)."""

    def list_incidents(self, limit: int = 50, status: str | None = None) -> list[dict[str, Any]]:
        """Return incidents newest first."""
        ...

    def get(self, incident_id: str) -> dict[str, Any] | None:
        """Return one incident with its alerts and report, or None."""
        ...

    def close(self) -> None:
        """Release its connections."""
        ...


@dataclass
class QueueContext:
    """How to open the queue (None when nothing created one yet), and its audit trail."""

    open: Callable[[], IncidentQueue | None]
    decisions: Callable[[str], list[dict[str, Any]]] = field(default=lambda _id: [])
    now: Callable[[], float] = field(default=time.time)


class ListIncidentsArgs(BaseModel):
    """Arguments of list_incidents."""

    status: Literal["active", "investigating", "open", "resolved", "all"] = Field(
        "active",
        description="active (default): investigating or open; resolved; all; or one status.",
    )
    service: str | None = Field(None, description="Only incidents with an alert about this.")
    limit: int = Field(10, ge=1, le=50, description="How many, newest first.")


class IncidentStatusArgs(BaseModel):
    """Arguments of incident_status."""

    incident: str | None = Field(
        None,
        description="Incident id (inc-…), or a service, model or alert name to take the newest "
        "incident about it; unset: the newest active incident.",
    )


def names_of(incident: dict[str, Any]) -> set[str]:
    """Return what an incident is about: its alerts' names and workload labels, its cause."""
    names = set()
    for alert in incident.get("alerts", []):
        labels = alert.get("labels", {})
        names.add(str(alert.get("name", "")).lower())
        names |= {str(labels[k]).lower() for k in (*SERVICE_LABELS, "model") if labels.get(k)}
    top = incident.get("top_hypothesis") or {}
    if top.get("target"):
        names.add(str(top["target"]).lower())
    return names - {""}


def hypothesis_text(top: dict[str, Any] | None) -> str:
    """Describe a top hypothesis in words, as "model version scorer (score 0.77)"."""
    if not top:
        return "no report yet"
    kind = str(top.get("kind", "")).replace("_", " ")
    score = top.get("score")
    return f"{kind} {top.get('target', '')}".strip() + (
        f" (score {float(score):.2f})" if score is not None else ""
    )


def incident_line(incident: dict[str, Any], now: float) -> str:
    """Describe one incident: id, status, age, alerts, what it is about, top hypothesis."""
    alerts = incident.get("alerts", [])
    firing = sum(1 for a in alerts if a.get("status") == "firing")
    names = sorted({str(a.get("name", "")) for a in alerts} - {""})
    about = sorted(names_of(incident) - {n.lower() for n in names})
    return (
        f"{incident['id']} {incident['status']}, opened {_when(incident['opened_at'])} "
        f"({age_since(incident['opened_at'], now)} ago); {len(alerts)} alert(s), {firing} firing: "
        f"{', '.join(names) or 'none'}"
        + (f"; about {', '.join(about)}" if about else "")
        + f"; top hypothesis: {hypothesis_text(incident.get('top_hypothesis'))}"
    )


def _when(iso: str | None) -> str:
    return (iso or "?")[:16].replace("T", " ") + " UTC" if iso else "?"


def _link(incident: dict[str, Any]) -> str | None:
    """Link the evidence to the first alert's source graph (its rule's expression)."""
    urls = [a["generator_url"] for a in incident.get("alerts", []) if a.get("generator_url")]
    return urls[0] if urls else None


def _no_queue() -> ToolResult:
    return ToolResult(
        status=ToolStatus.NO_DATA,
        summary="No incident queue yet: `opsloop serve` opens incidents from Alertmanager or "
        "Grafana alerts (or set OPSLOOP_DATABASE_URL to read a shared one).",
        evidence=[Evidence(tool="list_incidents", query="incident queue", summary="no queue")],
    )


@contextmanager
def _opened(ctx: QueueContext) -> Iterator[IncidentQueue | None]:
    """Open the queue for one call: the server may be writing it from another process."""
    queue = ctx.open()
    try:
        yield queue
    finally:
        if queue is not None:
            queue.close()


def queue_tools(ctx: QueueContext) -> list[OpsTool]:
    """Build list_incidents and incident_status over the incident queue."""

    def list_incidents(
        status: str = "active", service: str | None = None, limit: int = 10
    ) -> ToolResult:
        """List incidents opened from alerts, newest first: status, age, alerts, what they are
        about and the investigation's top hypothesis. Use it for "what incidents are open?"
        (not for similar past incidents: that is search_incidents)."""
        with _opened(ctx) as queue:
            if queue is None:
                return _no_queue()
            rows = _rows(queue, status, SCAN if service else limit)
            full = [queue.get(r["id"]) or {**r, "alerts": []} for r in rows]
        if service:
            full = [i for i in full if service.lower() in names_of(i)][:limit]
        scope = ("" if status == "all" else f"{status} ") + "incident(s)"
        scope += f" about {service}" if service else ""
        now = ctx.now()
        query = f"incident queue: status={status}" + (f" service={service}" if service else "")
        if not full:
            return ToolResult(
                status=ToolStatus.NO_DATA,
                summary=f"no {scope} in the incident queue",
                evidence=[Evidence(tool="list_incidents", query=query, summary=f"no {scope}")],
            )
        lines = [incident_line(i, now) for i in full]
        evidence = [
            Evidence(tool="list_incidents", query=query, summary=line, link=_link(i))
            for i, line in zip(full, lines, strict=True)
        ]
        return ToolResult(
            status=ToolStatus.OK,
            summary=f"{len(full)} {scope}, newest first:\n- " + "\n- ".join(lines),
            data=[{k: i.get(k) for k in DATA_KEYS} for i in full],
            evidence=evidence,
        )

    def incident_status(incident: str | None = None) -> ToolResult:
        """Show one incident from the queue: status, alerts (firing or resolved, summary,
        runbook), the investigation's verdict and hypotheses, and the actions requested,
        approved or rejected. Name it by id (inc-…) or by a service, model or alert name."""
        with _opened(ctx) as queue:
            if queue is None:
                return _no_queue()
            found = _find(queue, incident)
        if found is None:
            what = f"about {incident!r}" if incident else "active"
            return ToolResult(
                status=ToolStatus.NO_DATA,
                summary=f"no {what} incident in the queue; list_incidents shows the open ones",
                evidence=[
                    Evidence(tool="incident_status", query=f"incident {incident}", summary="none")
                ],
            )
        return _status(found, ctx.decisions(found["id"]), ctx.now())

    return [
        ops_tool(list_incidents, name="list_incidents", args_schema=ListIncidentsArgs),
        ops_tool(incident_status, name="incident_status", args_schema=IncidentStatusArgs),
    ]


def _rows(queue: IncidentQueue, status: str, limit: int) -> list[dict[str, Any]]:
    if status == "active":
        rows = [r for s in ACTIVE for r in queue.list_incidents(limit, s)]
        return sorted(rows, key=lambda r: r["opened_at"] or "", reverse=True)[:limit]
    return queue.list_incidents(limit, None if status == "all" else status)


def _find(queue: IncidentQueue, wanted: str | None) -> dict[str, Any] | None:
    """Return the incident with this id, else the newest (active first) about this name."""
    key = (wanted or "").strip().lower()
    if key.startswith("inc-"):
        return queue.get(key)
    for status in ("active", "all"):
        for row in _rows(queue, status, SCAN):
            item = queue.get(row["id"])
            if item and (not key or key in names_of(item)):
                return item
    return None


def _status(incident: dict[str, Any], decisions: list[dict[str, Any]], now: float) -> ToolResult:
    """Describe one incident and cite it as one evidence record per part."""
    report = incident.get("report") or {}
    head = incident_line(incident, now)
    lines = [head, "alerts:"]
    for a in incident.get("alerts", []):
        notes = a.get("annotations", {})
        text = notes.get("summary") or notes.get("description") or ""
        runbook = notes.get("runbook_url") or notes.get("runbook")
        lines.append(
            f"- {a.get('status')} {a.get('name')}"
            + (f": {text.strip()[:160]}" if text else "")
            + (f" (runbook: {runbook})" if runbook else "")
        )
    answer = str(report.get("answer", "")).splitlines()
    verdict = next((ln.strip("*# ") for ln in answer if ln.startswith(VERDICTS)), "")
    if verdict:
        lines.append("report: " + verdict.replace("**", "").split(" [E")[0])
    hyps = report.get("hypotheses") or []
    if hyps:
        lines.append("hypotheses: " + "; ".join(hypothesis_text(h) for h in hyps[:4]))
    lines += _actions(report, decisions)
    if incident.get("last_error"):
        lines.append(f"last error: {incident['last_error']}")
    summary = "\n".join(lines)
    return ToolResult(
        status=ToolStatus.OK,
        summary=summary,
        data={k: incident.get(k) for k in ("id", "status", "opened_at", "resolved_at")},
        evidence=[
            Evidence(
                tool="incident_status",
                query=f"incident {incident['id']}",
                summary=summary[:600],
                link=_link(incident),
            )
        ],
    )


def _actions(report: dict[str, Any], decisions: list[dict[str, Any]]) -> list[str]:
    """Return the actions: the audit log's decisions, else what the report suggested."""
    if decisions:
        out = ["actions (audit log, oldest first):"]
        for d in sorted(decisions, key=lambda d: d.get("id") or 0):
            args = ", ".join(f"{k}={v}" for k, v in (d.get("args") or {}).items())
            who = d.get("approver") or d.get("requested_by") or "?"
            at = _when(d.get("at"))
            out.append(f"- {at} {d.get('action')}({args}): {d.get('decision')} by {who}")
        return out
    actions = report.get("actions") or []
    if not actions:
        return ["actions: none requested"]
    return ["actions (from the report):"] + [
        f"- {a.get('name')}({', '.join(f'{k}={v}' for k, v in (a.get('args') or {}).items())}): "
        f"{a.get('status')}"
        for a in actions
    ]
