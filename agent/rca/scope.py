"""Scope an investigation: which services, models and alerts it is about, and when (t0)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from opsloop.agent.planner.catalog import Catalog
from opsloop.agent.rca.alerts import Alert
from opsloop.tools.errors import OpsError

LIVE_S = 15 * 60  # an alert younger than this is investigated "now"
REPLAY_SETTLE_S = 5 * 60  # an old alert is judged this long after it started
# Words that say an alert is about a model's quality, in its name or annotations.
QUALITY_WORDS = re.compile(
    r"quality|\bauc\b|accuracy|precision|recall|\bf1\b|ndcg|\bmrr\b|calibration|\broc\b",
    re.IGNORECASE,
)


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
    quality: list[str] = field(default_factory=list)  # models an alert says perform badly

    @property
    def when(self) -> str:
        """Return t0 as ISO-8601 UTC."""
        return datetime.fromtimestamp(self.t0, UTC).isoformat(timespec="seconds")


def scope(
    alerts: list[Alert],
    catalog: Catalog,
    *,
    service_label: str = "service",
    now: float,
    quality_metric: str = "model_quality",
) -> Scope:
    """Read services, models and t0 from the alerts' labels."""
    firing = [a for a in alerts if a.status == "firing"] or alerts
    try:
        known = set(catalog.services())
    except OpsError:
        known = set()
    services, models, unknown, quality = [], [], [], []
    for alert in firing:
        svc = subject(alert, catalog, known, service_label, now)
        if svc and svc not in services:
            (services if not known or svc in known else unknown).append(svc)
        if alert.model and alert.model not in models:
            models.append(alert.model)
        if alert.model and asserts_quality(alert, quality_metric) and alert.model not in quality:
            quality.append(alert.model)
    latest = max(a.starts_at for a in firing)
    t0 = now if now - latest < LIVE_S else min(now, latest + REPLAY_SETTLE_S)
    names = list(dict.fromkeys(a.name for a in firing))
    where = ", ".join(services + [m for m in models if m not in services]) or "unknown target"
    rank_of = {"page": 0, "critical": 0, "warning": 1, "ticket": 2, "info": 3}
    severity = min((a.severity for a in firing), key=lambda s: rank_of.get(s, 5))
    first = firing[0].annotations.get("summary") or firing[0].name
    title = f"{', '.join(names)} on {where}: {first}"
    return Scope(t0, alerts, services, models, names, title[:200], severity, unknown, quality)


def subject(
    alert: Alert, catalog: Catalog, known: set[str], service_label: str, now: float
) -> str | None:
    """Return the service an alert is about: the service its pod belongs to (what Prometheus
    knows of the pod), else the first name its labels give that is a known service, else
    the first name (reported as unknown)."""
    names = alert.candidates(service_label)
    found = None
    if known and alert.labels.get("pod"):
        try:
            found = catalog.pod_service(alert.labels, now)
        except OpsError:
            found = None
    found = found if found in known else next((n for n in names if n in known), None)
    return found or next(iter(names), None)


def rule_expression(alert: Alert) -> str:
    """Return the alerting rule's PromQL, from the generator URL Prometheus attaches."""
    if not alert.generator_url:
        return ""
    query = parse_qs(urlsplit(alert.generator_url).query)
    return (query.get("g0.expr") or [""])[0]


def asserts_quality(alert: Alert, quality_metric: str) -> bool:
    """Return True when the alert says its model performs badly (not only that inputs moved).

    The rule's expression names the quality metric, or the alert's name or annotations
    speak of quality (accuracy, AUC, precision, …).
    """
    if re.search(rf"\b{re.escape(quality_metric)}\b", rule_expression(alert)):
        return True
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", alert.name)  # camel case, as people name alerts
    notes = (alert.annotations.get(k, "") for k in ("summary", "description"))
    return bool(QUALITY_WORDS.search(" ".join([words, *notes])))


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
