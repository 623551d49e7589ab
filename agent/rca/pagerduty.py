"""PagerDuty V3 webhooks: read an incident event into the alert path's `Notification`.

One PagerDuty incident is one alert in its own group (`pagerduty:<incident id>`), so its
triggered, acknowledged and resolved events all land on the same opsloop incident, and the
report can be added back to it as a note.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from opsloop.agent.rca.alerts import Alert, AlertError, Notification, _labels, _object, _time

SOURCE = "pagerduty"
GROUP_PREFIX = "pagerduty:"
INCIDENT_LABEL = "pagerduty_incident"  # the PagerDuty incident id, where notes go
# What each handled event type means for the alert; every other event type is ignored.
STATUS_OF = {
    "incident.triggered": "firing",
    "incident.acknowledged": "firing",  # someone is on it; the alert still fires
    "incident.resolved": "resolved",
}
MAX_NAME = 200
# Alertmanager's PagerDuty integration titles incidents "[FIRING:2] AlertName label …".
_AM_TITLE = re.compile(r"^\[(?:FIRING|RESOLVED)(?::\d+)?\]\s+(\S+)")


@dataclass
class PagerDutyNotification(Notification):
    """A notification read from one PagerDuty event, deduplicated per incident and event type."""

    event_type: str = ""
    event_id: str = ""

    def dedup_key(self) -> str:
        """Return one key per (incident, event type): redeliveries of an event drop out.

        PagerDuty delivers at least once and redelivers the same event; the same event type
        for the same incident changes nothing here (an acknowledge after an unacknowledge).
        """
        text = json.dumps([self.source, self.group_key, self.event_type])
        return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class PagerDutyEvent:
    """An event read from a webhook; `notification` is None for an event type not handled."""

    event_id: str
    event_type: str
    notification: PagerDutyNotification | None


def parse_pagerduty(payload: Any, service_label: str = "service") -> PagerDutyEvent:
    """Read a V3 webhook payload (`{"event": {...}}`); raise AlertError on bad input."""
    body = _object(payload, "payload")
    event = _object(body.get("event"), "event")
    event_type = event.get("event_type")
    if not isinstance(event_type, str) or not event_type:
        raise AlertError("event.event_type is missing: is this a PagerDuty V3 webhook payload?")
    event_id = str(event.get("id") or "")
    status = STATUS_OF.get(event_type)
    if status is None:
        return PagerDutyEvent(event_id, event_type, None)
    if event.get("resource_type", "incident") != "incident":
        raise AlertError(f"event.resource_type must be 'incident' for {event_type}")
    data = _object(event.get("data"), "event.data")
    incident_id = data.get("id")
    if not isinstance(incident_id, str) or not incident_id:
        raise AlertError("event.data.id (the PagerDuty incident id) is missing")
    occurred = _time(event.get("occurred_at"), "event.occurred_at")
    started = _time(data.get("created_at"), "event.data.created_at") or occurred
    if started is None:
        raise AlertError("event.data.created_at and event.occurred_at are both missing")
    labels = _incident_labels(data, incident_id, service_label)
    link = data.get("html_url") if isinstance(data.get("html_url"), str) else None
    alert = Alert(
        name=labels["alertname"],
        status=status,
        labels=labels,
        annotations=_annotations(data),
        starts_at=started,
        ends_at=(occurred or started) if status == "resolved" else None,
        fingerprint=f"pd-{incident_id}",
        generator_url=link,
    )
    notification = PagerDutyNotification(
        source=SOURCE,
        status=status,
        group_key=GROUP_PREFIX + incident_id,
        receiver=SOURCE,
        group_labels={INCIDENT_LABEL: incident_id},
        common_labels=dict(labels),
        alerts=[alert],
        external_url=link,
        event_type=event_type,
        event_id=event_id,
    )
    return PagerDutyEvent(event_id, event_type, notification)


def incident_ids(incident: dict[str, Any]) -> list[str]:
    """Return the PagerDuty incident ids behind an opsloop incident (group keys, labels)."""
    found = [k[len(GROUP_PREFIX) :] for k in incident.get("group_keys") or [] if isinstance(k, str)
             and k.startswith(GROUP_PREFIX)]  # fmt: skip
    for alert in incident.get("alerts") or []:
        labels = alert.get("labels") or {}
        if labels.get(INCIDENT_LABEL):
            found.append(str(labels[INCIDENT_LABEL]))
    return list(dict.fromkeys(found))


def _incident_labels(data: dict[str, Any], incident_id: str, service_label: str) -> dict[str, str]:
    title = _text(data.get("title")) or _text(data.get("summary")) or f"PagerDuty {incident_id}"
    matched = _AM_TITLE.match(title)
    labels = {
        "alertname": (matched.group(1) if matched else title)[:MAX_NAME],
        INCIDENT_LABEL: incident_id,
        "severity": "critical" if data.get("urgency") == "high" else "warning",
    }
    service = _ref(data.get("service"), "event.data.service")
    if service.get("summary"):
        # Both spellings: RCA reads the configured label, correlation the same one.
        labels["service"] = labels[service_label] = str(service["summary"])
    if service.get("id"):
        labels["pagerduty_service_id"] = str(service["id"])
    for key, field in (("pagerduty_number", "number"), ("urgency", "urgency")):
        if data.get(field) not in (None, ""):
            labels[key] = str(data[field])
    priority = _ref(data.get("priority"), "event.data.priority")
    if priority.get("summary"):
        labels["priority"] = str(priority["summary"])
    if _text(data.get("incident_key")):
        labels["incident_key"] = str(data["incident_key"])
    return labels


def _annotations(data: dict[str, Any]) -> dict[str, str]:
    out = {"summary": _text(data.get("title"))}
    names = {
        "assignees": [a.get("summary") for a in _refs(data.get("assignees"), "assignees")],
        "teams": [t.get("summary") for t in _refs(data.get("teams"), "teams")],
    }
    for key, values in names.items():
        out[key] = ", ".join(str(v) for v in values if v)
    policy = _ref(data.get("escalation_policy"), "event.data.escalation_policy")
    out["escalation_policy"] = _text(policy.get("summary"))
    out["resolve_reason"] = _text(data.get("resolve_reason"))
    return _labels({k: v for k, v in out.items() if v}, "annotations")


def _ref(value: Any, where: str) -> dict[str, Any]:
    """Return a PagerDuty reference object (`{"id", "summary", …}`), {} when absent."""
    if value is None:
        return {}
    return _object(value, where)


def _refs(value: Any, where: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise AlertError(f"event.data.{where} must be a list")
    return [_ref(v, f"event.data.{where}[{i}]") for i, v in enumerate(value)]


def _text(value: Any) -> str:
    if isinstance(value, dict):  # resolve_reason is an object in some payloads
        value = value.get("summary") or value.get("type") or ""
    return value.strip() if isinstance(value, str) else ""
