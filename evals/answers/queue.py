"""Open the sandbox's firing alerts as an incident, as `opsloop serve` would on their webhook.

The answers eval asks about the incident queue ("what incidents are open?"); without a
server running, this puts Alertmanager's firing alerts into the queue through the same
intake (`IncidentStore.accept`) a webhook delivery takes.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from opsloop.agent.config import Settings
from opsloop.agent.rca.alerts import parse_alertmanager
from opsloop.agent.server.incidents import IncidentStore


def webhook_payload(alertmanager: str, alerts: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the version-4 webhook body Alertmanager would send for these v2 API alerts."""
    names = sorted({a["labels"].get("alertname", "") for a in alerts})
    return {
        "version": "4",
        "groupKey": '{}:{alertname=~"' + "|".join(names) + '"}',
        "status": "firing",
        "receiver": "opsloop",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": alertmanager,
        "alerts": [
            {
                "status": "firing",
                "labels": a["labels"],
                "annotations": a.get("annotations", {}),
                "startsAt": a["startsAt"],
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": a.get("generatorURL", ""),
                "fingerprint": a["fingerprint"],
            }
            for a in alerts
        ],
    }


def open_incident(settings: Settings, alertmanager: str) -> str | None:
    """Put the alerts firing now into the settings' incident queue; return the incident id."""
    alerts = httpx.get(
        f"{alertmanager.rstrip('/')}/api/v2/alerts", params={"active": "true"}, timeout=10
    ).json()
    if not alerts:
        return None
    payload = webhook_payload(alertmanager, alerts)
    store = IncidentStore.from_settings(settings)
    try:
        return store.accept(parse_alertmanager(payload), json.dumps(payload)).incident_id
    finally:
        store.close()
