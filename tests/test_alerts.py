"""Alert payload parsing: Alertmanager v4 and Grafana, and clear errors for bad input."""

from __future__ import annotations

import copy

import pytest

from opsloop.agent.rca.alerts import (
    AlertError,
    parse_alertmanager,
    parse_grafana,
    parse_notification,
)

AM = {
    "version": "4",
    "groupKey": '{}:{alertname="HighErrorRatio", service="checkout"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "opsloop",
    "groupLabels": {"alertname": "HighErrorRatio", "service": "checkout"},
    "commonLabels": {"alertname": "HighErrorRatio", "service": "checkout", "severity": "page"},
    "commonAnnotations": {},
    "externalURL": "http://alertmanager:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "HighErrorRatio", "service": "checkout", "severity": "page"},
            "annotations": {"summary": "checkout: 30% of requests fail"},
            "startsAt": "2026-12-01T21:52:42.123456789Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph?g0.expr=x",
            "fingerprint": "3f2a9c0d1e5b7a68",
        }
    ],
}


def test_alertmanager_v4_is_read_with_nanosecond_times_and_open_end():
    n = parse_alertmanager(AM)
    alert = n.alerts[0]
    assert (n.source, n.status, alert.name, alert.service()) == (
        "alertmanager",
        "firing",
        "HighErrorRatio",
        "checkout",
    )
    assert alert.ends_at is None
    assert alert.starts_at == pytest.approx(1796161962.123456)
    assert alert.severity == "page"


def test_repeats_hash_alike_and_a_resolve_does_not():
    again = copy.deepcopy(AM)
    assert parse_alertmanager(again).dedup_key() == parse_alertmanager(AM).dedup_key()
    done = copy.deepcopy(AM)
    done["status"] = "resolved"
    done["alerts"][0]["status"] = "resolved"
    done["alerts"][0]["endsAt"] = "2026-12-01T22:10:00Z"
    assert parse_alertmanager(done).dedup_key() != parse_alertmanager(AM).dedup_key()


def test_grafana_payload_without_group_key_gets_one_from_its_labels():
    body = copy.deepcopy(AM)
    body.pop("groupKey")
    body.pop("version")
    body |= {"orgId": 1, "title": "[FIRING:1] HighErrorRatio", "state": "alerting"}
    n = parse_notification(body)
    assert n.source == "grafana"
    assert n.group_key.startswith("grafana:")
    assert parse_grafana(body).group_key == n.group_key


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b.update(version="3"), "unsupported Alertmanager webhook version"),
        (lambda b: b.update(alerts=[]), "alerts must be a non-empty list"),
        (lambda b: b.update(status="weird"), 'status must be "firing" or "resolved"'),
        (lambda b: b.pop("groupKey"), "groupKey is missing"),
        (lambda b: b["alerts"][0]["labels"].pop("alertname"), "labels.alertname is missing"),
        (lambda b: b["alerts"][0].update(startsAt="yesterday"), "not an RFC 3339 time"),
        (lambda b: b["alerts"][0].update(labels=["x"]), "must be an object of strings"),
    ],
)
def test_malformed_payloads_say_which_field_is_wrong(mutate, message):
    body = copy.deepcopy(AM)
    mutate(body)
    with pytest.raises(AlertError, match=message):
        parse_alertmanager(body)


def test_a_non_object_payload_is_refused():
    with pytest.raises(AlertError, match="must be a JSON object"):
        parse_notification(["not", "an", "object"])
