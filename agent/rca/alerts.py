"""Alert notifications: parse Alertmanager (webhook v4) and Grafana payloads into one shape."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from opsloop.tools.backends.prometheus.kube import service_candidates

# Alertmanager sends this for an alert that has not ended yet.
ZERO_TIME = "0001-01-01T00:00:00Z"
MAX_ALERTS = 1000


class AlertError(ValueError):
    """A notification that cannot be read; the message says which field is wrong."""


@dataclass
class Alert:
    """One alert inside a notification."""

    name: str
    status: str  # "firing" | "resolved"
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: float  # Unix seconds
    ends_at: float | None
    fingerprint: str
    generator_url: str | None = None

    def service(self, label: str = "service") -> str | None:
        """Return the service the alert's labels name first (docs/conventions.md order)."""
        return next(iter(self.candidates(label)), None)

    def candidates(self, label: str = "service") -> list[str]:
        """Return every name the alert's labels may give its service, in the order tried."""
        return service_candidates(self.labels, label)

    @property
    def model(self) -> str | None:
        """Return the model the alert is about, if it names one."""
        return self.labels.get("model") or None

    @property
    def severity(self) -> str:
        """Return the alert's severity label (or "unknown")."""
        return self.labels.get("severity", "unknown")

    def public(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return asdict(self)


@dataclass
class Notification:
    """One webhook delivery: a group of alerts sharing a group key."""

    source: str  # "alertmanager" | "grafana"
    status: str  # "firing" | "resolved"
    group_key: str
    receiver: str
    group_labels: dict[str, str]
    common_labels: dict[str, str]
    alerts: list[Alert] = field(default_factory=list)
    external_url: str | None = None

    @property
    def firing(self) -> list[Alert]:
        """Return the alerts still firing."""
        return [a for a in self.alerts if a.status == "firing"]

    def dedup_key(self) -> str:
        """Return what identifies a repeat: group, status and the set of alerts with states.

        Alertmanager re-sends the same group on retries and at repeat_interval; those carry
        the same alerts in the same states, so they hash alike and are dropped.
        """
        states = sorted(f"{a.fingerprint}:{a.status}:{a.starts_at:.0f}" for a in self.alerts)
        text = json.dumps([self.source, self.group_key, self.status, states])
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def public(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {**asdict(self), "alerts": [a.public() for a in self.alerts]}


def parse_alertmanager(payload: Any) -> Notification:
    """Read an Alertmanager webhook payload (version 4); raise AlertError on bad input."""
    body = _object(payload, "payload")
    version = str(body.get("version", ""))
    if version != "4":
        raise AlertError(
            f'unsupported Alertmanager webhook version {version or "(missing)"!r}: expected "4"'
        )
    alerts = _alerts(body.get("alerts"))
    status = _status(body.get("status"), "status")
    group_key = body.get("groupKey")
    if not isinstance(group_key, str) or not group_key:
        raise AlertError("groupKey is missing: is this an Alertmanager webhook payload?")
    return Notification(
        source="alertmanager",
        status=status,
        group_key=group_key,
        receiver=str(body.get("receiver", "")),
        group_labels=_labels(body.get("groupLabels"), "groupLabels"),
        common_labels=_labels(body.get("commonLabels"), "commonLabels"),
        alerts=alerts,
        external_url=body.get("externalURL") or None,
    )


def parse_grafana(payload: Any) -> Notification:
    """Read a Grafana unified-alerting webhook payload; raise AlertError on bad input.

    Grafana's contact point sends Alertmanager's fields plus its own (`orgId`, `title`,
    `state`); its groupKey is optional in older versions, so the labels stand in for it.
    """
    body = _object(payload, "payload")
    alerts = _alerts(body.get("alerts"))
    status = _status(body.get("status"), "status")
    group_labels = _labels(body.get("groupLabels"), "groupLabels")
    group_key = body.get("groupKey")
    if not isinstance(group_key, str) or not group_key:
        seed = group_labels or {"alerts": ",".join(sorted(a.fingerprint for a in alerts))}
        group_key = "grafana:" + json.dumps(seed, sort_keys=True)
    return Notification(
        source="grafana",
        status=status,
        group_key=group_key,
        receiver=str(body.get("receiver", "")),
        group_labels=group_labels,
        common_labels=_labels(body.get("commonLabels"), "commonLabels"),
        alerts=alerts,
        external_url=body.get("externalURL") or None,
    )


def parse_notification(payload: Any) -> Notification:
    """Read either kind of payload, telling them apart by Grafana's own fields."""
    body = _object(payload, "payload")
    if "orgId" in body or ("state" in body and "version" not in body):
        return parse_grafana(body)
    return parse_alertmanager(body)


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise AlertError(f"{where} must be a JSON object, got {type(value).__name__}")
    return value


def _status(value: Any, where: str) -> str:
    if value not in ("firing", "resolved"):
        raise AlertError(f'{where} must be "firing" or "resolved", got {value!r}')
    return value


def _labels(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise AlertError(f"{where} must be an object of strings")
    return {str(k): str(v) for k, v in value.items()}


def _alerts(value: Any) -> list[Alert]:
    if not isinstance(value, list) or not value:
        raise AlertError("alerts must be a non-empty list")
    if len(value) > MAX_ALERTS:
        raise AlertError(f"too many alerts in one notification ({len(value)} > {MAX_ALERTS})")
    return [_alert(item, i) for i, item in enumerate(value)]


def _alert(item: Any, i: int) -> Alert:
    where = f"alerts[{i}]"
    body = _object(item, where)
    labels = _labels(body.get("labels"), f"{where}.labels")
    name = labels.get("alertname")
    if not name:
        raise AlertError(f"{where}.labels.alertname is missing")
    starts = _time(body.get("startsAt"), f"{where}.startsAt")
    if starts is None:
        raise AlertError(f"{where}.startsAt is missing")
    fingerprint = body.get("fingerprint")
    if not isinstance(fingerprint, str) or not fingerprint:
        text = json.dumps(labels, sort_keys=True)
        fingerprint = hashlib.sha256(text.encode()).hexdigest()[:16]
    return Alert(
        name=name,
        status=_status(body.get("status"), f"{where}.status"),
        labels=labels,
        annotations=_labels(body.get("annotations"), f"{where}.annotations"),
        starts_at=starts,
        ends_at=_time(body.get("endsAt"), f"{where}.endsAt"),
        fingerprint=fingerprint,
        generator_url=body.get("generatorURL") or None,
    )


def _time(value: Any, where: str) -> float | None:
    if value in (None, "", ZERO_TIME):
        return None
    if not isinstance(value, str):
        raise AlertError(f"{where} must be an RFC 3339 time string")
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise AlertError(f"{where} is not an RFC 3339 time: {value!r}") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    seconds = stamp.timestamp()
    return None if seconds <= 0 else seconds
