"""Slack on `opsloop serve`: alert reports in a channel, `/slack/events`, and Socket Mode."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from opsloop.agent.assistant import Assistant
from opsloop.agent.cli.serve import build_server
from opsloop.agent.config import Settings
from opsloop.agent.slack.app import SlackOps
from opsloop.agent.slack.store import SlackStore
from tests.slack_server import BOT_USER, event, fake_slack, sign, socket_mode
from tests.test_incident_store import am_payload
from tests.test_server import wait_for
from tests.test_slack import CHANNEL, SECRET, _text, mention, slack_settings


@pytest.fixture
def serving(settings: Settings) -> Iterator[tuple[TestClient, object, Assistant]]:
    with fake_slack() as slack:
        cfg = slack_settings(settings, slack)
        assistant = Assistant.from_settings(cfg)
        app, store, _pool = build_server(cfg, workers=1, assistant=assistant)
        try:
            with TestClient(app) as client:  # the lifespan runs the worker pool
                yield client, slack, assistant
        finally:
            store.close()
            assistant.close()


def test_alert_reports_get_one_thread_per_group_updated_on_resolve(serving):
    client, slack, _ = serving
    firing = am_payload("g1", [("HighErrorRatio", "checkout", "firing")])
    assert client.post("/alerts/alertmanager", json=firing).status_code == 200
    report = slack.wait_for("chat.postMessage", lambda p: p.get("channel") == CHANNEL, 120)
    assert "incident *open*" in _text(report) and "HighErrorRatio" in report["text"]
    ts = report["_answer"]["ts"]

    repeat = client.post("/alerts/alertmanager", json=firing)  # Alertmanager's repeat
    assert repeat.status_code == 200
    resolved = am_payload("g1", [("HighErrorRatio", "checkout", "resolved")])
    assert client.post("/alerts/alertmanager", json=resolved).status_code == 200
    update = slack.wait_for(
        "chat.update", lambda p: p["ts"] == ts and "incident *resolved*" in _text(p), 60
    )
    assert update["channel"] == CHANNEL
    said = slack.wait_for("chat.postMessage", lambda p: p.get("thread_ts") == ts, 30)
    assert "Resolved at" in said["text"]
    top_level = [p for p in slack.named("chat.postMessage") if not p.get("thread_ts")]
    assert len(top_level) == 1  # the repeat did not post a second report


def test_slack_events_is_mounted_on_serve_and_verifies_signatures(serving):
    client, _slack, _ = serving
    body = json.dumps({"type": "url_verification", "challenge": "c-42", "token": "t"})
    ok = client.post(
        "/slack/events",
        content=body,
        headers={**sign(SECRET, body), "Content-Type": "application/json"},
    )
    assert ok.status_code == 200 and "c-42" in ok.text
    forged = client.post(
        "/slack/events",
        content=body,
        headers={**sign("wrong", body), "Content-Type": "application/json"},
    )
    assert forged.status_code == 401


def test_socket_mode_receives_events_and_answers_in_the_thread(settings, tmp_path: Path):
    with fake_slack() as slack, socket_mode(slack) as endpoint:
        cfg = slack_settings(settings, slack, slack_app_token="xapp-test-token")
        assistant = Assistant.from_settings(cfg)
        ops = SlackOps(cfg, assistant, SlackStore(tmp_path / "slack.sqlite"))
        handler = ops.socket_mode()
        try:
            handler.connect()
            [opened] = slack.named("apps.connections.open")
            assert opened is not None
            payload = event("EvS1", mention(f"<@{BOT_USER}> what is the error ratio of checkout?"))
            endpoint.push(
                {
                    "envelope_id": "env-1",
                    "type": "events_api",
                    "accepts_response_payload": False,
                    "retry_attempt": 0,
                    "payload": payload,
                }
            )
            assert endpoint.wait_ack("env-1")["envelope_id"] == "env-1"
            answer = slack.wait_for(
                "chat.update", lambda p: "checkout" in _text(p) and "Evidence" in _text(p), 60
            )
            assert answer["channel"] == CHANNEL
            wait_for(lambda: slack.named("chat.postMessage"), 5, "the placeholder")
            assert slack.named("chat.postMessage")[0]["thread_ts"] == "1700000000.000100"
        finally:
            handler.close()
            ops.store.close()
            assistant.close()


def test_a_report_offers_its_suggested_action_and_is_updated_in_place(tmp_path: Path):
    from slack_sdk import WebClient

    from opsloop.agent.slack import blocks
    from opsloop.agent.slack.reports import SlackReporter
    from tests.test_slack import _has_action

    request = {
        "tool": "rollback_model",
        "args": {"model": "fraud-detector", "version": "3"},
        "preview": "would move champion of fraud-detector from v4 to v3",
        "requested_by": "opsloop-rca",
        "thread_id": "inc-1",
    }
    report = {
        "answer": "# ModelQualityDrop on fraud-detector\n**Most likely cause: fraud-detector**",
        "title": "ModelQualityDrop on fraud-detector",
        "evidence": [{"id": "E1", "tool": "rca", "summary": "ranking", "link": None}],
        "tool_calls": [{"name": "scan_signals", "args": {}, "status": "ok"}],
        "thread_id": "inc-1",
        "approval": request,
    }
    incident = {"id": "inc-1", "status": "open", "alerts": [{"name": "ModelQualityDrop"}]}
    with fake_slack() as slack:
        store = SlackStore(tmp_path / "slack.sqlite")
        reporter = SlackReporter(WebClient(token="xoxb-t", base_url=slack.url), CHANNEL, store)
        reporter.on_report(incident, report)
        [posted] = slack.named("chat.postMessage")
        assert _has_action(posted, blocks.APPROVE) and _has_action(posted, blocks.REJECT)
        assert "would move champion" in _text(posted)
        ts = posted["_answer"]["ts"]
        assert store.graph_thread(CHANNEL, ts) == "inc-1"  # replies continue the incident

        grown = {**incident, "alerts": [{"name": "ModelQualityDrop"}, {"name": "HighErrorRatio"}]}
        reporter.on_report(grown, report)  # a re-investigation: same message, a thread note
        assert [p["ts"] for p in slack.named("chat.update")] == [ts]
        note = slack.named("chat.postMessage")[-1]
        assert note["thread_ts"] == ts and "HighErrorRatio" in note["text"]

        reporter.on_resolved({**grown, "status": "resolved", "resolved_at": "2026-12-02T01:00:00Z"})
        assert "incident *resolved*" in _text(slack.named("chat.update")[-1])
        assert "Resolved at 2026-12-02T01:00:00Z" in slack.named("chat.postMessage")[-1]["text"]

        reporter.on_resolved({"id": "inc-2", "status": "resolved"})  # never posted: say so
        last = slack.named("chat.postMessage")[-1]
        assert last["channel"] == CHANNEL and "inc-2" in last["text"] and "thread_ts" not in last
        store.close()


def test_a_report_gets_its_top_evidence_chart_and_the_console_link(tmp_path: Path):
    from slack_sdk import WebClient

    from opsloop.agent.server.console.charts import Chart
    from opsloop.agent.server.console.png import png
    from opsloop.agent.slack.reports import SlackReporter

    points = [(float(t), 1.0) for t in range(0, 600, 10)] + [(600.0, 5.0), (610.0, 5.0)]
    image = png(Chart("p99", points, onset=600.0))
    assert image is not None and image.startswith(b"\x89PNG\r\n\x1a\n")
    report = {"answer": "# Errors on checkout", "title": "Errors on checkout", "evidence": []}
    incident = {"id": "inc-7", "status": "open", "alerts": [{"name": "HighErrorRate"}]}
    with fake_slack() as slack:
        store = SlackStore(tmp_path / "slack.sqlite")
        reporter = SlackReporter(
            WebClient(token="xoxb-t", base_url=slack.url), CHANNEL, store,
            chart=lambda i: (image, "[E1] checkout 5xx ratio; onset 12:00 UTC"),
            console_url="https://opsloop.example/",
        )  # fmt: skip
        reporter.on_report(incident, report)
        ts = slack.named("chat.postMessage")[0]["_answer"]["ts"]
        [upload] = slack.named("upload")
        assert upload["body"] == image  # the PNG itself, not a link to it
        [done] = slack.named("files.completeUploadExternal")
        assert done["thread_ts"] == ts and done["channel_id"] == CHANNEL
        assert "https://opsloop.example/incidents/inc-7" in done["initial_comment"]
        assert "onset 12:00 UTC" in done["initial_comment"]

        broken = SlackReporter(
            WebClient(token="xoxb-t", base_url=slack.url), CHANNEL, store,
            chart=lambda i: 1 / 0,  # a chart that cannot be drawn costs nothing else
        )  # fmt: skip
        broken.on_report({**incident, "id": "inc-8"}, report)
        assert len(slack.named("chat.postMessage")) == 2
        store.close()
