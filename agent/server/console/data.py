"""What an incident page shows beyond the report: evidence charts and one timeline."""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from opsloop.agent.server.console.charts import Chart

log = logging.getLogger(__name__)
BEFORE_S, AFTER_S = 45 * 60, 30 * 60  # chart window around the onset
MAX_CHARTS, MAX_POINTS = 3, 240


def seconds(value: Any) -> float | None:
    """Read Unix seconds from a number or an ISO-8601 string."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return float(value) if value > 0 else None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def onset(incident: dict[str, Any]) -> float | None:
    """Return the report's onset, else the first alert's start, else when it opened."""
    report = incident.get("report") or {}
    starts = [seconds(a.get("starts_at")) for a in incident.get("alerts", [])]
    for candidate in (report.get("t0"), min((s for s in starts if s), default=None)):
        if (at := seconds(candidate)) is not None:
            return at
    return seconds(incident.get("opened_at"))


def promql_of(evidence: dict[str, Any]) -> str | None:
    """Return the PromQL behind an evidence record: its graph link's expression, else None."""
    link = evidence.get("link") or ""
    exprs = parse_qs(urlsplit(link).query).get("g0.expr")
    return exprs[0] if exprs else None


def decisive(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the evidence records with PromQL: the top hypothesis's, its target's, the rest."""
    evidence = {e["id"]: e for e in report.get("evidence", []) if e.get("id")}
    hypotheses = report.get("hypotheses") or []
    order = [i for h in hypotheses[:1] for i in h.get("evidence", [])]
    # Then what names the top suspect (its own signals), then the rest in report order.
    target = str(hypotheses[0].get("target") or "") if hypotheses else ""
    order += [i for i, e in evidence.items() if target and target in str(e.get("summary"))]
    order += list(evidence)
    order = list(dict.fromkeys(order))
    return [evidence[i] for i in order if i in evidence and promql_of(evidence[i])]


def charts(
    incident: dict[str, Any], prom: Any, changes: list[tuple[float, str]], now: float
) -> list[Chart]:
    """Return charts of the decisive evidence series around the onset (errors skipped)."""
    report = incident.get("report") or {}
    t0 = onset(incident)
    if t0 is None or prom is None:
        return []
    # At least a few minutes past the onset, so it never sits on the axis's edge.
    start, end = t0 - BEFORE_S, max(min(now, t0 + AFTER_S), t0 + 300)
    step = max((end - start) / MAX_POINTS, 1.0)
    out: list[Chart] = []
    for record in decisive(report):
        if len(out) >= MAX_CHARTS:
            break
        expr = promql_of(record) or ""
        try:
            result = prom.range(
                expr, datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC), step
            )
        except Exception as exc:  # one unreadable series must not cost the page
            log.info("console: cannot chart %s (%s)", expr, exc)
            continue
        series = _most_moved(result, t0)
        if series is None:
            continue
        title = f"[{record['id']}] {record.get('summary', '')[:90]}"
        out.append(Chart(title, series, onset=t0, changes=changes, start=start, end=end))
    return out


def _most_moved(result: list[dict[str, Any]], t0: float) -> list[tuple[float, float]] | None:
    """Return the series whose level after the onset moved most against its own before."""
    best: tuple[float, list[tuple[float, float]]] | None = None
    for item in result or []:
        points = [(float(t), float(v)) for t, v in item.get("values", [])]
        points = [(t, v) for t, v in points if math.isfinite(v)]
        if len(points) < 2:
            continue
        before = [v for t, v in points if t < t0] or [points[0][1]]
        after = [v for t, v in points if t >= t0] or [points[-1][1]]
        base = sum(before) / len(before)
        moved = abs(sum(after) / len(after) - base) / (abs(base) + 1e-9)
        if best is None or moved > best[0]:
            best = (moved, points)
    return best[1] if best else None


def timeline(
    incident: dict[str, Any], audit: list[dict[str, Any]], changes: list[tuple[float, str]]
) -> list[dict[str, Any]]:
    """Return alerts, changes, the onset, actions and decisions on one time axis."""
    events: list[dict[str, Any]] = []

    def add(at: Any, kind: str, text: str) -> None:
        if (when := seconds(at)) is not None:
            events.append({"at": when, "kind": kind, "text": text})

    for at, what in changes:
        add(at, "change", what)
    add(onset(incident), "onset", "onset: the signals start to move")
    for alert in incident.get("alerts", []):
        add(alert.get("starts_at"), "alert", f"{alert.get('name')} fired")
        if alert.get("status") == "resolved":
            add(alert.get("ends_at"), "resolved", f"{alert.get('name')} resolved")
    add(incident.get("opened_at"), "incident", "incident opened")
    add(incident.get("report_delivered_at"), "report", "report delivered")
    for entry in audit:
        who = entry.get("approver") or entry.get("requested_by") or "?"
        text = f"{entry.get('action')}: {entry.get('decision')} ({who})"
        if entry.get("result"):
            text += f": {str(entry['result'])[:160]}"
        add(entry.get("at"), "action" if entry.get("decision") == "requested" else "decision", text)
    add(incident.get("resolved_at"), "resolved", "incident resolved")
    return sorted(events, key=lambda e: e["at"])


def change_marks(
    changelog: Any, incident: dict[str, Any], services: set[str]
) -> list[tuple[float, str]]:
    """Return (time, text) for changes in the chart window on its services and suspects."""
    t0 = onset(incident)
    if changelog is None or t0 is None:
        return []
    report = incident.get("report") or {}
    targets = {h.get("target") for h in report.get("hypotheses", [])[:3]} | services
    try:
        events = changelog.events(since=t0 - BEFORE_S, until=t0 + AFTER_S)
    except Exception as exc:
        log.info("console: cannot read the change log (%s)", exc)
        return []
    return [(e.at, f"{e.kind} {e.target}: {e.summary}") for e in events if e.target in targets]


def age(opened_at: Any, now: float) -> str:
    """Return a short age like 5m, 3h or 2d."""
    at = seconds(opened_at)
    if at is None:
        return "?"
    delta = timedelta(seconds=max(now - at, 0))
    if delta < timedelta(hours=1):
        return f"{int(delta.total_seconds() // 60)}m"
    if delta < timedelta(days=2):
        return f"{int(delta.total_seconds() // 3600)}h"
    return f"{delta.days}d"
