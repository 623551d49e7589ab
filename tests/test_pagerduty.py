"""PagerDuty on `opsloop serve`: signed V3 webhooks in, reports back as incident notes.

The webhooks are signed here as PagerDuty signs them; notes go to a local HTTPS server that
speaks PagerDuty's REST API (tests/pagerduty_server.py), since PagerDuty is out of reach.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from opsloop.agent.cli.serve import build_server
from opsloop.agent.config import Settings
from opsloop.agent.server.pagerduty_notes import (
    NoteOutbox,
    PagerDutyNotes,
    note_text,
    rest_poster,
)
from tests.pagerduty_server import FROM, MISSING, TOKEN, fake_pagerduty, incident_event, signature
from tests.test_server import FakeInvestigator, Hooks, wait_for

PD = "/alerts/pagerduty"
SECRET, OLD_SECRET = "whsec-new-0123456789", "whsec-old-9876543210"


def pd_settings(home: Path, pd: Any = None, **extra: Any) -> Settings:
    """Settings with the webhook secret and, given a fake PagerDuty, its API for notes."""
    values: dict[str, Any] = {"home": home, "pagerduty_webhook_secrets": SECRET, **extra}
    if pd is not None:
        values |= {
            "pagerduty_api_token": TOKEN,
            "pagerduty_from_email": FROM,
            "pagerduty_api_url": pd.url,
            "pagerduty_ca_bundle": pd.ca,
        }
    return Settings(**values)


def post(client: TestClient, payload: Any, *secrets: str, raw: bytes | None = None) -> Any:
    body = raw if raw is not None else json.dumps(payload).encode()
    return client.post(PD, content=body, headers=signature(body, *secrets))


class Served:
    """The real `opsloop serve` app with a fake investigator (no Prometheus needed)."""

    def __init__(self, settings: Settings) -> None:
        self.investigator, self.hooks = FakeInvestigator(), Hooks()
        self.app, self.store, self.pool = build_server(
            settings, workers=1, investigator=self.investigator,
            on_report=self.hooks.on_report, on_resolved=self.hooks.on_resolved,
        )  # fmt: skip

    def stored(self) -> int:
        return self.store.db.conn().execute("SELECT count(*) FROM notifications").fetchone()[0]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[TestClient, Served]]:
    server = Served(pd_settings(tmp_path / "home"))
    try:
        with TestClient(server.app) as client:
            yield client, server
    finally:
        server.store.close()


def test_signatures_during_a_secret_rotation_are_accepted(tmp_path: Path):
    # PagerDuty signs with the old and the new secret while rotating; opsloop may hold
    # either one, or both.
    for i, configured in enumerate((SECRET, f"{OLD_SECRET}, {SECRET}", OLD_SECRET)):
        server = Served(pd_settings(tmp_path / str(i), pagerduty_webhook_secrets=configured))
        try:
            with TestClient(server.app) as client:
                answer = post(client, incident_event(incident="PQ2ROTA"), OLD_SECRET, SECRET)
                assert answer.status_code == 200, answer.text
                assert answer.json()["status"] == "accepted"
                only_new = post(client, incident_event("incident.acknowledged"), SECRET)
                assert only_new.status_code == (200 if SECRET in configured else 401)
        finally:
            server.store.close()


def test_missing_or_wrong_signature_is_401_and_nothing_is_stored(served):
    client, server = served
    body = json.dumps(incident_event()).encode()
    unsigned = client.post(PD, content=body, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    assert "X-PagerDuty-Signature" in unsigned.json()["error"]
    forged = client.post(PD, content=body, headers=signature(body, "not-the-secret"))
    assert forged.status_code == 401
    assert "OPSLOOP_PAGERDUTY_WEBHOOK_SECRETS" in forged.json()["error"]
    tampered = signature(body, SECRET)
    altered = client.post(PD, content=body.replace(b"checkout", b"checkouT"), headers=tampered)
    assert altered.status_code == 401
    odd = client.post(PD, content=body, headers={"X-PagerDuty-Signature": "v1=zz,v0=1,,é".encode()})
    assert odd.status_code == 401
    assert server.stored() == 0 and client.get("/incidents").json() == []
    metrics = client.get("/metrics").text
    assert 'opsloop_notifications_rejected_total{reason="unauthorized"} 4.0' in metrics


def test_without_a_secret_the_endpoint_refuses_and_says_what_to_set(tmp_path: Path):
    server = Served(Settings(home=tmp_path / "home"))
    try:
        with TestClient(server.app) as client:
            answer = post(client, incident_event(), "anything")
            assert answer.status_code == 503
            assert "set OPSLOOP_PAGERDUTY_WEBHOOK_SECRETS" in answer.json()["error"]
            assert server.stored() == 0
    finally:
        server.store.close()


def test_malformed_events_are_400_with_the_reason(served):
    client, server = served
    bad_json = post(client, None, SECRET, raw=b'{"event": ')
    assert bad_json.status_code == 400 and "not valid JSON" in bad_json.json()["error"]
    no_id = incident_event()
    del no_id["event"]["data"]["id"]
    answer = post(client, no_id, SECRET)
    assert answer.status_code == 400 and "event.data.id" in answer.json()["error"]
    not_v3 = post(client, {"messages": [{"event": "incident.trigger"}]}, SECRET)
    assert not_v3.status_code == 400 and "V3 webhook" in not_v3.json()["error"]
    assert post(client, None, SECRET, raw=b"").status_code == 400
    assert server.stored() == 0


def test_other_event_types_are_acknowledged_and_ignored(served):
    client, server = served
    ping = {
        "event": {
            "id": "01PING",
            "event_type": "pagey.ping",
            "resource_type": "pagey",
            "occurred_at": "2026-05-20T14:00:00Z",
            "data": {"message": "Hello from your friend Pagey!", "type": "ping"},
        }
    }
    answer = post(client, ping, SECRET)
    assert answer.status_code == 200
    assert answer.json()["status"] == "ignored" and answer.json()["event_type"] == "pagey.ping"
    assert "incident.triggered" in answer.json()["reason"]
    assert post(client, incident_event("incident.annotated"), SECRET).json()["status"] == "ignored"
    assert server.stored() == 0


def test_triggered_redelivered_acknowledged_resolved(served):
    client, server = served
    first = post(client, incident_event(), SECRET)
    assert first.status_code == 200 and first.json()["status"] == "accepted"
    incident_id = first.json()["incident"]
    again = post(client, incident_event(), SECRET)  # PagerDuty's at-least-once redelivery
    assert again.json() == {"status": "duplicate", "incident": incident_id}
    wait_for(lambda: server.hooks.reports, 10, "the report")
    assert server.investigator.ids() == [incident_id]
    seen = server.investigator.calls[0]["alerts"][0]
    assert seen["name"] == "HighErrorRatio on checkout"
    assert seen["labels"]["service"] == "checkout"
    assert seen["labels"]["pagerduty_incident"] == "PT4KHLK"
    assert seen["generator_url"] == "https://acme.pagerduty.com/incidents/PT4KHLK"

    ack = post(client, incident_event("incident.acknowledged"), SECRET)
    assert ack.json() == {"status": "accepted", "incident": incident_id}
    resolved = post(client, incident_event("incident.resolved"), SECRET)
    assert resolved.json() == {"status": "accepted", "incident": incident_id}
    wait_for(lambda: client.get(f"/incidents/{incident_id}").json()["status"] == "resolved",
             10, "the resolved incident")  # fmt: skip
    wait_for(lambda: server.hooks.resolved == [incident_id], 10, "the resolve hook")
    assert server.investigator.ids() == [incident_id]  # acknowledging is no new evidence
    metrics = client.get("/metrics").text
    assert 'opsloop_notifications_total{source="pagerduty",status="firing"} 3.0' in metrics


def test_an_acknowledged_event_alone_opens_the_incident(served):
    # A subscription created after the trigger still gets the incident investigated.
    client, _server = served
    answer = post(client, incident_event("incident.acknowledged", incident="PACK001"), SECRET)
    assert answer.json()["status"] == "accepted"
    incident = client.get(f"/incidents/{answer.json()['incident']}").json()
    assert incident["group_keys"] == ["pagerduty:PACK001"]
    assert incident["alerts"][0]["status"] == "firing"


def test_the_report_is_added_as_a_note_and_a_failed_note_is_retried(tmp_path: Path):
    with fake_pagerduty(tmp_path) as pd:
        pd.fail = [502]  # the first attempt meets a PagerDuty outage
        server = Served(pd_settings(tmp_path / "home", pd))
        notes = server.app.state.pagerduty
        notes.retry_s = notes.poll_s = 0.05  # the production backoff starts at 30 s
        try:
            with TestClient(server.app) as client:
                incident_id = post(client, incident_event(), SECRET).json()["incident"]
                # The report went out at once; the note waits for PagerDuty to come back.
                wait_for(lambda: server.hooks.reports, 10, "the report")
                wait_for(lambda: [n for n in notes.outbox.notes() if n["sent_at"]], 15, "the note")
        finally:
            server.store.close()
        assert [r["path"] for r in pd.requests] == ["/incidents/PT4KHLK/notes"] * 2
        ok = pd.requests[1]
        assert ok["headers"]["from"] == FROM
        assert ok["headers"]["authorization"] == f"Token token={TOKEN}"
        assert ok["headers"]["accept"] == "application/vnd.pagerduty+json;version=2"
        content = ok["body"]["note"]["content"]
        assert content.startswith(f"opsloop investigation of incident {incident_id}")
        assert "checkout is failing [E1]" in content  # the report's answer
        assert content.endswith(f"Full report: opsloop incidents show {incident_id}")
        [row] = notes.outbox.notes()
        assert row["attempts"] == 2 and row["last_error"] is None  # the 502, then success
        notes.outbox.close()


def test_a_refused_note_is_not_retried_and_the_outbox_survives_a_restart(tmp_path: Path):
    with fake_pagerduty(tmp_path) as pd:
        cfg = pd_settings(tmp_path / "home", pd)
        outbox = NoteOutbox(tmp_path / "notes.sqlite")
        notes = PagerDutyNotes(outbox, rest_poster(cfg), retry_s=0.05, poll_s=0.05)
        report = {"answer": "nothing is broken", "evidence": []}
        notes.on_report({"id": "inc-1", "group_keys": [f"pagerduty:{MISSING}"]}, report)
        notes.on_report({"id": "inc-2", "group_keys": ["am-group"], "alerts": []}, report)
        assert len(outbox.notes()) == 1  # inc-2 came from Alertmanager: nothing to note
        assert notes.send_due() == 0
        [row] = outbox.notes()
        assert row["failed_at"] is not None and "404" in row["last_error"]
        assert notes.send_due() == 0 and len(pd.requests) == 1  # a 404 is not retried

        # Queued while PagerDuty was unreachable: the next process sends it.
        notes.on_report({"id": "inc-3", "group_keys": ["pagerduty:PRES001"]}, report)
        outbox.close()
        again = PagerDutyNotes(NoteOutbox(tmp_path / "notes.sqlite"), rest_poster(cfg))
        again.start()
        try:
            note = pd.wait_for(lambda r: "PRES001" in r["path"], 10)
        finally:
            again.stop()
            again.outbox.close()
        assert "nothing is broken" in note["body"]["note"]["content"]


def test_a_long_report_is_trimmed_with_a_pointer_to_the_full_one():
    incident = {"id": "inc-9", "alerts": [{"name": "A"}, {"name": "B"}, {"name": "A"}]}
    evidence = [{"id": f"E{i}", "summary": "x" * 50, "link": f"http://g/{i}"} for i in range(9)]
    short = note_text(incident, {"answer": "short", "evidence": evidence[:2]})
    assert "(2 alert(s): A, B)" in short and "[E1] " + "x" * 50 + " http://g/1" in short
    long = note_text(incident, {"answer": "y" * 50_000, "evidence": evidence}, limit=1000)
    assert len(long) <= 1000
    assert long.endswith(
        "… (trimmed to fit a PagerDuty note) Full report: opsloop incidents show inc-9"
    )


def test_config_show_masks_the_pagerduty_secrets(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("OPSLOOP_PAGERDUTY_WEBHOOK_SECRETS", "a-secret,another")
    monkeypatch.setenv("OPSLOOP_PAGERDUTY_API_TOKEN", "u+token")
    masked = json.dumps(Settings(home=tmp_path).masked(), default=str)
    assert "a-secret" not in masked and "u+token" not in masked
    assert "pagerduty_webhook_secrets" in masked


def test_a_real_investigation_is_added_to_the_pagerduty_incident(settings, tmp_path: Path):
    from opsloop.agent.assistant import Assistant

    with fake_pagerduty(tmp_path) as pd:
        cfg = pd_settings(settings.home, pd, prometheus_url=settings.prometheus_url)
        assistant = Assistant.from_settings(cfg)
        app, store, _pool = build_server(cfg, workers=1, assistant=assistant)
        try:
            with TestClient(app) as client:
                event = incident_event(title="[FIRING:1] HighErrorRatio checkout")
                incident_id = post(client, event, SECRET).json()["incident"]
                note = pd.wait_for(lambda r: r["path"].endswith("/notes"), 120)
                report = client.get(f"/incidents/{incident_id}").json()["report"]
                assert post(client, event, SECRET).json()["status"] == "duplicate"
        finally:
            store.close()
            assistant.close()
    content = note["body"]["note"]["content"]
    assert note["path"] == "/incidents/PT4KHLK/notes"
    assert f"incident {incident_id} (1 alert(s): HighErrorRatio)" in content
    assert report["answer"].splitlines()[0] in content
    assert len(pd.notes()) == 1
    print(content)  # shown with -s: what the on-call engineer reads in PagerDuty
