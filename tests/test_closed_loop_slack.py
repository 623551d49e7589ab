"""The closed loop through Slack: the report lands in a channel, the rollback is approved
with its button, and the thread follows the incident to its resolution.

sandbox bad-model-release → real Alertmanager → `opsloop serve` (real uvicorn) → report in
the channel with Approve / Reject → a click by someone without the role is refused and
audited → a click by the on-call engineer rolls back → the alert resolves → the report is
marked resolved in place. Slack's Web API is the local stand-in (`tests/slack_server.py`).
"""

from __future__ import annotations

import json
import socket
import threading
from urllib.parse import urlencode

import httpx
import pytest
import uvicorn

from opsloop.agent.cli.serve import build_server
from opsloop.agent.config import Settings, current_user
from opsloop.agent.slack import blocks
from opsloop.sandbox.manager import down, up
from tests.slack_server import block_action, fake_slack, sign
from tests.test_closed_loop import poll
from tests.test_slack import CHANNEL, SECRET, _button_value, _has_action, _text

pytestmark = pytest.mark.integration
POLICY = {
    "roles": {"sandbox-admin": {"actions": ["*"], "models": ["*"]}, "viewer": {"actions": []}},
    "users": {current_user(): ["sandbox-admin"], "UONCALL": ["sandbox-admin"], "UBOB": ["viewer"]},
}


def test_bad_release_report_in_slack_is_rolled_back_by_button(opsloop_home):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    up(opsloop_home, "bad-model-release", webhook=f"{base}/alerts/alertmanager")
    server = thread = None
    with fake_slack() as slack:
        try:
            settings = Settings(
                slack_bot_token="xoxb-test-token",
                slack_signing_secret=SECRET,
                slack_api_url=slack.url,
                slack_channel=CHANNEL,
                policy=POLICY,
            )
            asgi, store, _ = build_server(settings, workers=1)
            server = uvicorn.Server(uvicorn.Config(asgi, lifespan="on", log_level="warning"))
            thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
            thread.start()

            report = slack.wait_for(
                "chat.postMessage",
                lambda p: p.get("channel") == CHANNEL and _has_action(p, blocks.APPROVE),
                240,
            )
            shown = _text(report)
            assert "fraud-detector" in shown and "rollback_model" in shown, shown
            ts = report["_answer"]["ts"]
            value = _button_value(report, blocks.APPROVE)

            def press(action: str, value: str, user: str, message_ts: str, thread: str = "") -> int:
                payload = block_action(action, value, user, CHANNEL, message_ts, thread)
                body = urlencode({"payload": json.dumps(payload)})
                headers = {
                    **sign(SECRET, body),
                    "Content-Type": "application/x-www-form-urlencoded",
                }
                return httpx.post(f"{base}/slack/events", content=body, headers=headers).status_code

            def click(user: str) -> int:
                return press(blocks.APPROVE, value, user, ts)

            assert click("UBOB") == 200
            slack.wait_for("chat.postEphemeral", lambda p: p["user"] == "UBOB", 30)
            assert click("UONCALL") == 200
            said = slack.wait_for(
                "chat.postMessage", lambda p: "Approved by <@UONCALL>" in p.get("text", ""), 120
            )
            assert said["thread_ts"] == ts and "`rollback_model` ok" in said["text"]

            # "Silence 1h" under the report asks, in its thread, for a silence: a write with
            # its own dry run and buttons. Rejected here, so the resolve still notifies.
            [silence_id, _later] = blocks.SILENCES
            incident_value = json.dumps({"thread": json.loads(value)["thread"]})
            assert press(silence_id, incident_value, "UONCALL", ts) == 200
            asked = slack.wait_for(
                "chat.update",
                lambda p: "silence_alert" in _text(p) and _has_action(p, blocks.REJECT),
                120,
            )
            assert 'alertname="ModelQualityDrop"' in _text(asked) and "for 1h" in _text(asked)
            silence_value = _button_value(asked, blocks.REJECT)
            assert press(blocks.REJECT, silence_value, "UONCALL", asked["ts"], ts) == 200
            slack.wait_for(
                "chat.postMessage", lambda p: "Rejected by <@UONCALL>" in p.get("text", ""), 60
            )

            incident = store.list_incidents(10)[0]
            poll(
                lambda: (store.get(incident["id"]) or {}).get("status") == "resolved",
                180,
                "the alert to resolve after the rollback",
            )
            resolved = slack.wait_for(
                "chat.update", lambda p: p["ts"] == ts and "incident *resolved*" in _text(p), 60
            )
            assert not _has_action(resolved, blocks.APPROVE)  # decided: no buttons again
            assert not _has_action(resolved, silence_id) and _has_action(
                resolved, blocks.POSTMORTEM
            )
            slack.wait_for("chat.postMessage", lambda p: "Resolved at" in p.get("text", ""), 30)
            assert press(blocks.POSTMORTEM, incident_value, "UONCALL", ts) == 200
            draft = slack.wait_for(
                "chat.postMessage", lambda p: "Postmortem draft of" in p.get("text", ""), 60
            )
            assert draft["thread_ts"] == ts and "Timeline" in _text(draft), _text(draft)
            assert "rollback_model" in _text(draft)

            from opsloop.agent.approvals.audit import AuditLog

            entries = AuditLog(settings.state_dir / "audit.sqlite").entries()
            decisions = {(e["action"], e["decision"], e.get("approver")) for e in entries}
            assert ("rollback_model", "unauthorized", "UBOB") in decisions
            assert ("rollback_model", "approved", "UONCALL") in decisions
            assert ("silence_alert", "rejected", "UONCALL") in decisions
        finally:
            if server is not None:
                server.should_exit = True
                thread.join(timeout=30)
            down(opsloop_home)
