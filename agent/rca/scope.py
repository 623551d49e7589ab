"""Scope an investigation: which services, models and alerts it is about, and when (t0)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from opsloop.agent.planner.catalog import Catalog
from opsloop.agent.rca.alerts import Alert
from opsloop.tools.errors import OpsError

LIVE_S = 15 * 60  # an alert younger than this is investigated "now"
REPLAY_SETTLE_S = 5 * 60  # an old alert is judged this long after it started


@dataclass
class Scope:
    """What an investigation is about: services, models, alert names and the time t0."""

    t0: float
    alerts: list[Alert]
    services: list[str]
    models: list[str]
    names: list[str]
    title: str
    severity: str
    unknown: list[str] = field(default_factory=list)  # names no backend knows

    @property
    def when(self) -> str:
        """Return t0 as ISO-8601 UTC."""
        return datetime.fromtimestamp(self.t0, UTC).isoformat(timespec="seconds")


def scope(
    alerts: list[Alert], catalog: Catalog, *, service_label: str = "service", now: float
) -> Scope:
    """Read services, models and t0 from the alerts' labels."""
    firing = [a for a in alerts if a.status == "firing"] or alerts
    try:
        known = set(catalog.services())
    except OpsError:
        known = set()
    services, models, unknown = [], [], []
    for alert in firing:
        svc = alert.service(service_label)
        if svc and svc not in services:
            (services if not known or svc in known else unknown).append(svc)
        if alert.model and alert.model not in models:
            models.append(alert.model)
    latest = max(a.starts_at for a in firing)
    t0 = now if now - latest < LIVE_S else min(now, latest + REPLAY_SETTLE_S)
    names = list(dict.fromkeys(a.name for a in firing))
    where = ", ".join(services + [m for m in models if m not in services]) or "unknown target"
    rank_of = {"page": 0, "critical": 0, "warning": 1, "ticket": 2, "info": 3}
    severity = min((a.severity for a in firing), key=lambda s: rank_of.get(s, 5))
    first = firing[0].annotations.get("summary") or firing[0].name
    title = f"{', '.join(names)} on {where}: {first}"
    return Scope(t0, alerts, services, models, names, title[:200], severity, unknown)


def question(s: Scope) -> str:
    """Return the text an alert turn carries (what memory recall and the answer record see)."""
    lines = [f"Investigate alert {s.title} (t0 {s.when})."]
    for alert in s.alerts[:10]:
        desc = alert.annotations.get("description", "")
        lines.append(f"- {alert.name} {alert.status} {_labels(alert)} {desc}".strip())
    return "\n".join(lines)


def _labels(alert: Alert) -> str:
    keep = {k: v for k, v in alert.labels.items() if k not in ("alertname", "severity")}
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(keep.items())) + "}"
