"""Fuzz `opsloop serve`'s endpoints: whatever arrives, the answer is never a 5xx.

Bodies are random JSON, valid Alertmanager and Grafana payloads with fields dropped,
retyped or replaced, and raw bytes; every refusal must be a 4xx with an `error` that says
what is wrong. Seeds are fixed (derandomized), so a failure reproduces.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_incident_store import am_payload
from tests.test_server import Harness

FUZZ = settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
GRAFANA = {
    "receiver": "opsloop",
    "status": "firing",
    "orgId": 1,
    "groupKey": '{}:{alertname="HighErrorRatio"}',
    "groupLabels": {"alertname": "HighErrorRatio"},
    "commonLabels": {},
    "externalURL": "http://grafana:3000/",
    "version": "1",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "HighErrorRatio", "service": "checkout"},
            "annotations": {"summary": "checkout fails"},
            "startsAt": "2026-12-01T12:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "fingerprint": "abc",
        }
    ],
}


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Harness:
    return Harness(Path(tmp_path_factory.mktemp("fuzz")))


def mutate(base: dict[str, Any], data: st.DataObject) -> Any:
    """Drop, retype or replace fields of a valid payload, at the top or in its first alert."""
    body = json.loads(json.dumps(base))
    for _ in range(data.draw(st.integers(1, 3))):
        target = body
        if data.draw(st.booleans()) and isinstance(body.get("alerts"), list) and body["alerts"]:
            first = body["alerts"][0]
            target = first if isinstance(first, dict) else body
        keys = sorted(target) or ["x"]
        key = data.draw(st.sampled_from(keys))
        action = data.draw(st.sampled_from(["drop", "replace"]))
        if action == "drop":
            target.pop(key, None)
        else:
            target[key] = data.draw(json_values)
    return body


def assert_clean(resp: Any) -> None:
    assert resp.status_code < 500, (resp.status_code, resp.text[:300])
    if resp.status_code >= 400:
        error = resp.json().get("error")
        assert isinstance(error, str) and len(error) > 10, resp.text[:300]


@FUZZ
@given(data=st.data())
def test_alertmanager_payloads_with_broken_fields_never_5xx(harness, data):
    body = mutate(am_payload("fz", [("HighErrorRatio", "checkout", "firing")]), data)
    assert_clean(harness.client.post("/alerts/alertmanager", json=body))


@FUZZ
@given(data=st.data())
def test_grafana_payloads_with_broken_fields_never_5xx(harness, data):
    assert_clean(harness.client.post("/alerts/grafana", json=mutate(GRAFANA, data)))


@FUZZ
@given(body=json_values)
def test_any_json_at_all_never_5xx(harness, body):
    for path in ("/alerts/alertmanager", "/alerts/grafana"):
        assert_clean(harness.client.post(path, json=body))


@FUZZ
@given(raw=st.binary(max_size=300))
def test_raw_bytes_never_5xx(harness, raw):
    resp = harness.client.post(
        "/alerts/alertmanager", content=raw, headers={"Content-Type": "application/json"}
    )
    assert_clean(resp)


@FUZZ
@given(limit=st.text(max_size=12), status=st.text(max_size=12), ident=st.text(max_size=40))
def test_incident_queries_never_5xx(harness, limit, status, ident):
    assert_clean(harness.client.get("/incidents", params={"limit": limit, "status": status}))
    if ident:
        assert_clean(harness.client.get(f"/incidents/{quote(ident, safe='')}"))
