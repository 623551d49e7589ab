"""A postmortem draft from one incident's records: impact, timeline, cause, fix, lessons.

Everything here is derived from what was stored (the incident and its report, the graph
state, the audit log, the change log); a fact that is not there is said to be missing,
never guessed. `postmortem_md` renders the result as Markdown that `memory import` reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from opsloop.agent.rca.evidence import CHANGE_WINDOW_S, severity
from opsloop.agent.rca.lessons import action_items, lessons

MAX_ONSETS = 8  # the strongest anomalies are enough for a timeline; the rest is in the report
DECIDED = ("approved", "rejected", "expired", "unauthorized", "refused")


@dataclass
class Sources:
    """What a postmortem is built from; None marks a source that could not be read."""

    incident: dict[str, Any]  # IncidentStore.get(): alerts, times, report
    state: dict[str, Any] | None = None  # the investigation's graph state (last checkpoint)
    audit: list[dict[str, Any]] | None = None  # the thread's audit entries, oldest first
    changes: list[dict[str, Any]] | None = None  # change log events near the incident
    problems: list[str] = field(default_factory=list)  # why a source is missing


def seconds(value: Any) -> float | None:
    """Return Unix seconds from a number or an ISO-8601 string (None when absent)."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return float(value)
    stamp = datetime.fromisoformat(str(value))
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()


def utc(at: float | None) -> str:
    """Format Unix seconds as `YYYY-MM-DD HH:MM:SS UTC` ("unknown" when absent)."""
    if at is None:
        return "unknown"
    return f"{datetime.fromtimestamp(at, UTC):%Y-%m-%d %H:%M:%S} UTC"


def build(src: Sources) -> dict[str, Any]:
    """Return the postmortem as plain data (the `--json` shape and what Markdown renders)."""
    inc = src.incident
    report = inc.get("report") or {}
    state = src.state or {}
    info = state.get("rca") or {}
    evidence = _evidence(report, state)
    audit = src.audit or []
    alerts = inc.get("alerts") or []
    services = _unique(info.get("services") or [_service(a) for a in alerts])
    models = _unique(info.get("models") or [a["labels"].get("model") for a in alerts])
    opened = seconds(inc.get("opened_at"))
    onsets = _onsets(state, evidence)
    start = min([a["starts_at"] for a in alerts] + [o["at"] for o in onsets] or [opened or 0])
    end = seconds(inc.get("resolved_at")) if inc.get("status") == "resolved" else None
    top = _top(report)
    cause = _cause(top, report, evidence, info)
    missing = list(src.problems)
    if not report:
        missing.append("no investigation report yet: the cause is unknown")
    if src.state is None:
        missing.append("no graph checkpoint: tool timings, onsets and evidence links are missing")
    timeline = _timeline(inc, alerts, onsets, audit, src, state, evidence, services, models)
    pm: dict[str, Any] = {
        "id": inc["id"],
        "title": _title(report, info, alerts, inc),
        "date": _iso(opened or start or 0),  # when opsloop opened it, as `incidents list` shows
        "status": inc.get("status"),
        "services": services,
        "models": models,
        "alerts": _unique([a["name"] for a in alerts]),
        "impact": {
            "start": utc(start) if start else "unknown",
            "start_at": start or None,
            "end": utc(end) if end else "ongoing",
            "end_iso": _iso(end),
            "duration_s": round(end - start) if end and start else None,
            "start_from": "onset" if onsets and onsets[0]["at"] < min_alert(alerts) else "alert",
        },
        "root_cause": cause,
        "timeline": timeline,
        "missing": missing,
    }
    pm["resolution"] = _resolution(inc, report, audit, end)
    pm["went_well"], pm["went_badly"] = lessons(pm, report, state, audit, alerts, opened)
    pm["action_items"] = action_items(pm, report, state, audit, src.changes or [])
    pm["summary"] = _summary(pm, report)
    return pm


def _iso(at: float | None) -> str | None:
    return None if at is None else datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")


def min_alert(alerts: list[dict[str, Any]]) -> float:
    """Return when the first alert started (infinity without alerts)."""
    return min((float(a["starts_at"]) for a in alerts), default=float("inf"))


def _unique(values: list[Any]) -> list[str]:
    return list(dict.fromkeys(str(v) for v in values if v))


def _service(alert: dict[str, Any]) -> str | None:
    labels = alert.get("labels") or {}
    return labels.get("service") or labels.get("job")


def _title(
    report: dict[str, Any], info: dict[str, Any], alerts: list[dict[str, Any]], inc: dict
) -> str:
    head = report.get("title") or info.get("title")
    if head:
        return f"Postmortem: {head}"
    names = ", ".join(_unique([a["name"] for a in alerts])) or "no alerts"
    return f"Postmortem: {inc['id']} ({names})"


def _evidence(report: dict[str, Any], state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return evidence records by id: the graph state's (complete), else the report's."""
    records = state.get("evidence") or report.get("evidence") or []
    return {e["id"]: e for e in records if isinstance(e, dict) and e.get("id")}


def _onsets(state: dict[str, Any], evidence: dict[str, dict]) -> list[dict[str, Any]]:
    """Return the strongest anomalies the scans found, each with its onset, earliest first."""
    rows = []
    for call in state.get("tool_calls") or []:
        data = call.get("data") if isinstance(call.get("data"), dict) else {}
        if call.get("name") != "scan_signals" or call.get("status") != "ok":
            continue
        ids = call.get("evidence") or []
        for row in data.get("series") or []:
            if not row.get("onset") or severity(row) <= 0.1:
                continue
            idx = row.get("evidence")
            eid = ids[idx] if isinstance(idx, int) and idx < len(ids) else None
            rows.append((severity(row), row, eid))
    rows.sort(key=lambda r: -r[0])
    out = [
        {
            "at": float(row["onset"]),
            "text": row.get("text") or f"{row.get('signal')} {row.get('direction')}",
            "evidence": eid,
            "link": (evidence.get(eid) or {}).get("link") if eid else None,
        }
        for _, row, eid in rows[:MAX_ONSETS]
    ]
    return sorted(out, key=lambda o: o["at"])


def _top(report: dict[str, Any]) -> dict[str, Any] | None:
    hyps = report.get("hypotheses") or []
    return None if report.get("false_alarm") or not hyps else hyps[0]


def _cause(
    top: dict[str, Any] | None, report: dict, evidence: dict[str, dict], info: dict
) -> dict[str, Any]:
    if report.get("false_alarm"):
        return {"kind": "", "target": "", "false_alarm": True, "score": None, "evidence": [],
                "why": list(info.get("false_alarm_why") or [])}  # fmt: skip
    if top is None:
        return {"kind": "", "target": "", "false_alarm": False, "score": None, "evidence": [],
                "why": []}  # fmt: skip
    key = f"{top['kind']}:{top['target']}"
    return {
        "kind": top["kind"],
        "target": top["target"],
        "false_alarm": False,
        "score": top.get("score"),
        "confidence": report.get("confidence"),
        "why": list((report.get("why") or {}).get(key) or []),
        "evidence": [
            {
                "id": eid,
                "summary": (evidence.get(eid) or {}).get("summary", "(record not stored)"),
                "link": (evidence.get(eid) or {}).get("link"),
            }
            for eid in top.get("evidence") or []
        ],
    }


def _timeline(
    inc: dict[str, Any],
    alerts: list[dict[str, Any]],
    onsets: list[dict[str, Any]],
    audit: list[dict[str, Any]],
    src: Sources,
    state: dict[str, Any],
    evidence: dict[str, dict],
    services: list[str],
    models: list[str],
) -> list[dict[str, Any]]:
    """Return the dated events, oldest first: alerts, changes, onsets, decisions, actions."""
    out: list[dict[str, Any]] = []

    def add(at: float | None, kind: str, text: str, link: str | None = None) -> None:
        if at is not None:
            out.append({"at": at, "time": utc(at), "kind": kind, "text": text, "link": link})

    for a in alerts:
        where = f" ({_service(a)})" if _service(a) else ""
        add(a["starts_at"], "alert", f"alert {a['name']}{where} fired", a.get("generator_url"))
        if a.get("status") == "resolved" and a.get("ends_at"):
            add(a["ends_at"], "alert", f"alert {a['name']}{where} resolved")
    start = min([o["at"] for o in onsets] + [min_alert(alerts)])
    for c in _changes(src, state, services, models, start):
        add(c["at"], "change", f"{c['kind']} of {c['target']} by {c['who']}: {c['summary']}")
    for o in onsets:
        cite = f" [{o['evidence']}]" if o["evidence"] else ""
        add(o["at"], "evidence", f"onset: {o['text']}{cite}", o["link"])
    add(seconds(inc.get("opened_at")), "incident", f"opsloop opened incident {inc['id']}")
    for call in state.get("tool_calls") or []:
        if call.get("status") == "error" and call.get("started_at") and not call.get("approval"):
            add(call["started_at"], "tool", f"tool {call['name']} failed: {call.get('error')}")
    delivered = seconds(inc.get("report_delivered_at"))
    add(delivered, "report", "report delivered: " + _report_line(inc.get("report") or {}))
    for e in audit:
        add(seconds(e["at"]), *_audit_line(e))
    if inc.get("status") == "resolved":
        add(seconds(inc.get("resolved_at")), "incident", "incident resolved (all alerts resolved)")
    return sorted(out, key=lambda x: x["at"])


def _changes(
    src: Sources, state: dict[str, Any], services: list[str], models: list[str], start: float
) -> list[dict[str, Any]]:
    """Return change events on the incident's services and models before and during it."""
    found = list(src.changes or [])
    for call in state.get("tool_calls") or []:  # what the investigation itself saw
        if call.get("name") == "recent_changes" and isinstance(call.get("data"), dict):
            found += call["data"].get("changes") or []
    targets = set(services) | set(models)
    seen, out = set(), []
    for c in sorted(found, key=lambda c: float(c.get("at") or 0)):
        key = (round(float(c.get("at") or 0)), c.get("kind"), c.get("target"))
        if key in seen or c.get("target") not in targets or not c.get("at"):
            continue
        if float(c["at"]) < start - CHANGE_WINDOW_S:
            continue
        seen.add(key)
        out.append({**c, "at": float(c["at"]), "who": c.get("who") or "unknown"})
    return out


def _report_line(report: dict[str, Any]) -> str:
    if report.get("false_alarm"):
        return "false alarm, no fault found"
    top = _top(report)
    if top is None:
        return report.get("error") or "no hypothesis"
    return f"most likely {top['kind']} {top['target']} (score {top.get('score', 0):.2f})"


def _audit_line(e: dict[str, Any]) -> tuple[str, str]:
    call = f"{e['action']}({', '.join(f'{k}={v}' for k, v in (e.get('args') or {}).items())})"
    if e["decision"] == "requested":
        return "decision", f"{call} requested by {e['requested_by']}; awaiting approval"
    if e["decision"] == "approved":
        outcome = (e.get("result") or e.get("status") or "").splitlines()[0:1]
        return "action", f"{call} approved by {e['approver']}, ran: {e['status']}" + (
            f" ({outcome[0][:200]})" if outcome else ""
        )
    why = f": {e['reason']}" if e.get("reason") else ""
    return "decision", f"{call} {e['decision']} by {e.get('approver') or 'unknown'}{why}"


def _resolution(
    inc: dict[str, Any], report: dict[str, Any], audit: list[dict[str, Any]], end: float | None
) -> str:
    """Return one line: what resolved it, as far as the records show."""
    ran = [e for e in audit if e["decision"] == "approved" and e["status"] == "ok"]
    if ran:
        e = ran[-1]
        args = ", ".join(f"{k}={v}" for k, v in (e.get("args") or {}).items())
        after = "; the alerts then resolved" if end else "; the alerts have not resolved yet"
        return f"{e['action']}({args}) approved by {e['approver']}{after}"[:300]
    if report.get("false_alarm"):
        return "no fix needed: false alarm (no fault found)"
    if end:
        return "the alerts resolved with no action recorded by opsloop (fix not recorded)"
    return "unresolved: the incident is ongoing"


def _summary(pm: dict[str, Any], report: dict[str, Any]) -> str:
    names = ", ".join(pm["alerts"]) or "no alerts"
    where = ", ".join(pm["services"] + pm["models"]) or "unknown services"
    cause = pm["root_cause"]
    if cause.get("false_alarm"):
        found = "the investigation found no fault (false alarm)"
    elif cause["kind"]:
        found = f"the most likely cause was {cause['kind']} {cause['target']}"
        found += f" (score {cause['score']:.2f})" if cause.get("score") is not None else ""
    elif report.get("error"):
        found = f"the investigation failed: {report['error']}"
    else:
        found = "no cause was established"
    impact = pm["impact"]
    span = f"from {impact['start']} to {impact['end']}"
    return f"{names} on {where}, {span}; {found}. Resolution: {pm['resolution']}."
