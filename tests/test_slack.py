"""Slack ChatOps: the real Bolt app, signed requests, and a local Slack Web API stand-in.

Slack cannot be reached from CI, so `tests/slack_server.py` plays its Web API and records
what the app sends; requests to the app are signed with a test signing secret exactly as
Slack signs them, and the answers come from the real graph over the test Prometheus.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from opsloop.agent.assistant import Assistant
from opsloop.agent.config import Settings
from opsloop.agent.factory import build_deps
from opsloop.agent.llm.scripted import ScriptedChatModel, tool_call
from opsloop.agent.slack import blocks
from opsloop.agent.slack.app import SlackOps
from opsloop.agent.slack.store import SlackStore
from tests.slack_server import BOT_USER, FakeSlack, block_action, event, fake_slack, sign
from tests.test_approval import restart_tool

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL = "C0INCIDENT"
POLICY = {
    "roles": {"oncall": {"actions": ["restart_service"]}},
    "users": {"UALICE": ["oncall"], "UBOB": ["viewer"]},
}


def slack_settings(base: Settings, slack: FakeSlack, **extra: Any) -> Settings:
    """Return the test settings with Slack pointed at the local stand-in."""
    return Settings(
        prometheus_url=base.prometheus_url,
        home=base.home,
        slack_bot_token="xoxb-test-token",
        slack_signing_secret=SECRET,
        slack_api_url=slack.url,
        slack_channel=CHANNEL,
        policy=POLICY,
        **extra,
    )


class Harness:
    """The Bolt app over HTTP, the fake Slack, and what ran."""

    def __init__(self, ops: SlackOps, slack: FakeSlack, model: ScriptedChatModel, ran: list):
        self.ops, self.slack, self.model, self.ran = ops, slack, model, ran
        self.http = TestClient(Starlette(routes=ops.routes()))

    def post(self, body: str, content_type: str, headers: dict[str, str] | None = None) -> Any:
        signed = {**sign(SECRET, body), "Content-Type": content_type, **(headers or {})}
        return self.http.post("/slack/events", content=body, headers=signed)

    def send_event(self, payload: dict[str, Any], **headers: str) -> Any:
        return self.post(json.dumps(payload), "application/json", headers)

    def click(self, payload: dict[str, Any]) -> Any:
        body = urlencode({"payload": json.dumps(payload)})
        return self.post(body, "application/x-www-form-urlencoded")

    def answered(self, ts: str, timeout: float = 60.0) -> dict[str, Any]:
        """Wait for the placeholder `ts` to be replaced by an answer (feedback buttons)."""
        return self.slack.wait_for(
            "chat.update",
            lambda p: p.get("ts") == ts and _has_action(p, blocks.HELPFUL),
            timeout,
        )


def _has_action(params: dict[str, Any], action_id: str) -> bool:
    return any(
        e.get("action_id") == action_id
        for b in params.get("blocks") or []
        if b.get("type") == "actions"
        for e in b["elements"]
    )


def _text(params: dict[str, Any]) -> str:
    """Return every text of a message's blocks, joined."""
    out = []
    for block in params.get("blocks") or []:
        if "text" in block and isinstance(block["text"], dict):
            out.append(block["text"]["text"])
        for element in block.get("elements", []):
            if isinstance(element.get("text"), str):
                out.append(element["text"])
    return "\n".join(out)


@pytest.fixture
def harness(settings: Settings, tmp_path: Path) -> Iterator[Harness]:
    with fake_slack() as slack:
        cfg = slack_settings(settings, slack)
        ran: list[str] = []
        model = ScriptedChatModel()
        assistant = Assistant(build_deps(cfg, llm=model, extra_tools=[restart_tool(ran)]))
        ops = SlackOps(cfg, assistant, SlackStore(tmp_path / "slack.sqlite"))
        try:
            yield Harness(ops, slack, model, ran)
        finally:
            ops.store.close()
            assistant.close()


@pytest.fixture
def deterministic(settings: Settings, tmp_path: Path) -> Iterator[Harness]:
    """The Bolt app over the deterministic brain (no LLM) and the test Prometheus."""
    with fake_slack() as slack:
        cfg = slack_settings(settings, slack)
        assistant = Assistant(build_deps(cfg))
        ops = SlackOps(cfg, assistant, SlackStore(tmp_path / "slack.sqlite"))
        try:
            yield Harness(ops, slack, ScriptedChatModel(), [])
        finally:
            ops.store.close()
            assistant.close()


def mention(text: str, ts: str = "1700000000.000100", user: str = "UALICE") -> dict[str, Any]:
    return {"type": "app_mention", "user": user, "text": text, "ts": ts, "channel": CHANNEL}


def test_a_mention_is_answered_in_its_thread_with_evidence_and_steps(deterministic):
    h = deterministic
    resp = h.send_event(
        event("Ev1", mention(f"<@{BOT_USER}> what is the error ratio of checkout?"))
    )
    assert resp.status_code == 200
    placeholder = h.slack.wait_for("chat.postMessage")
    assert placeholder["thread_ts"] == "1700000000.000100"  # in the mention's thread
    assert "working" in _text(placeholder).lower() or "thinking" in _text(placeholder).lower()
    answer = h.answered(placeholder["_answer"]["ts"])
    shown = _text(answer)
    assert "checkout" in shown and "*Evidence*" in shown
    assert "`E1`" in shown and "steps: " in shown and "grounded" in shown
    assert "<http" in shown and "|open ↗>" in shown  # evidence links to its page
    assert len(h.slack.named("auth.test")) == 1  # the bot identity, looked up lazily once


def test_a_bad_signature_or_stale_timestamp_is_rejected_and_nothing_runs(harness):
    h = harness
    body = json.dumps(event("Ev2", mention("<@UBOT0PSL00P> restart checkout")))
    forged = h.http.post(
        "/slack/events",
        content=body,
        headers={**sign("not-the-secret", body), "Content-Type": "application/json"},
    )
    stale = h.http.post(
        "/slack/events",
        content=body,
        headers={
            **sign(SECRET, body, timestamp=int(time.time()) - 600),
            "Content-Type": "application/json",
        },
    )
    unsigned = h.http.post(
        "/slack/events", content=body, headers={"Content-Type": "application/json"}
    )
    assert (forged.status_code, stale.status_code, unsigned.status_code) == (401, 401, 401)
    time.sleep(0.5)  # nothing may be posted; give a wrongly started listener time to show
    assert h.slack.named("chat.postMessage") == [] and h.model.calls == []


def test_a_retried_event_is_answered_once(harness):
    h = harness
    # The model looks before it answers (an answer resting on nothing goes to the planner).
    h.model.enqueue([tool_call("list_services")], "Checkout is fine.", "Should never be used.")
    payload = event("Ev3", mention("<@UBOT0PSL00P> how is checkout?"))
    assert h.send_event(payload).status_code == 200
    h.slack.wait_for("chat.update", lambda p: "Checkout is fine." in _text(p))
    again = h.send_event(payload, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "x"})
    assert again.status_code == 200
    time.sleep(0.5)
    assert len(h.slack.named("chat.postMessage")) == 1 and len(h.model.calls) == 2


def test_a_dm_is_answered_and_the_bots_own_messages_are_not(harness):
    h = harness
    h.model.enqueue("Hello from opsloop.")
    own = {"type": "message", "channel_type": "im", "channel": "D0DM", "user": BOT_USER,
           "bot_id": "B0PSL00P", "text": "my own reply", "ts": "1700000001.000100"}  # fmt: skip
    assert h.send_event(event("Ev4", own)).status_code == 200
    dm = {"type": "message", "channel_type": "im", "channel": "D0DM", "user": "UALICE",
          "text": "hi, what can you do?", "ts": "1700000002.000100"}  # fmt: skip
    assert h.send_event(event("Ev5", dm)).status_code == 200
    done = h.slack.wait_for("chat.update", lambda p: "Hello from opsloop." in _text(p))
    assert done["channel"] == "D0DM"
    [post] = h.slack.named("chat.postMessage")
    assert post["thread_ts"] == "1700000002.000100"


def test_the_slash_command_acks_at_once_and_posts_the_answer(harness):
    h = harness
    h.model.enqueue([tool_call("list_services")], "Gateway is busy but within its limits.")
    form = {
        "command": "/opsloop",
        "text": "how busy is gateway?",
        "user_id": "UALICE",
        "channel_id": CHANNEL,
        "team_id": "T0PSL00P",
        "response_url": h.slack.url.replace("/api/", "/response/1"),
        "trigger_id": "1.2.3",
    }
    started = time.monotonic()
    resp = h.post(urlencode(form), "application/x-www-form-urlencoded")
    assert resp.status_code == 200 and time.monotonic() - started < 3.0
    assert "working on" in resp.text
    head = h.slack.wait_for("chat.postMessage", lambda p: "asked" in p.get("text", ""))
    assert head["channel"] == CHANNEL
    h.slack.wait_for("chat.update", lambda p: "within its limits" in _text(p))
    for sub, expect in (("help", "/opsloop QUESTION"), ("incidents", "No alert intake")):
        got = h.post(urlencode({**form, "text": sub}), "application/x-www-form-urlencoded")
        assert got.status_code == 200 and expect in got.text


def test_the_slash_command_answers_privately_where_the_bot_cannot_post(harness):
    h = harness
    h.model.enqueue([tool_call("list_services")], "Fraud-api is healthy.")
    h.slack.fail["chat.postMessage"] = "not_in_channel"
    form = {
        "command": "/opsloop",
        "text": "how is fraud-api?",
        "user_id": "UALICE",
        "channel_id": "C0ELSEWHERE",
        "team_id": "T0PSL00P",
        "response_url": h.slack.url.replace("/api/", "/response/2"),
        "trigger_id": "1.2.4",
    }
    assert h.post(urlencode(form), "application/x-www-form-urlencoded").status_code == 200
    said = h.slack.wait_for("response_url", lambda p: "Fraud-api is healthy." in _text(p))
    assert said["path"] == "/response/2"


def _paused(h: Harness, ts: str = "1700000003.000100") -> tuple[dict[str, Any], str]:
    """Ask for a restart; return the answer message with Approve/Reject and its ts."""
    h.model.enqueue([tool_call("restart_service", service="checkout")], "Restarted checkout.")
    h.send_event(event(f"Ev-{ts}", mention("<@UBOT0PSL00P> restart checkout", ts=ts)))
    paused = h.slack.wait_for("chat.update", lambda p: _has_action(p, blocks.APPROVE))
    return paused, paused["ts"]


def _button_value(params: dict[str, Any], action_id: str) -> str:
    for b in params["blocks"]:
        for e in b.get("elements", []):
            if e.get("action_id") == action_id:
                return e["value"]
    raise AssertionError(f"no {action_id} button")


def test_approve_is_checked_against_roles_denials_are_audited(harness):
    h = harness
    paused, ts = _paused(h)
    assert "Approval needed" in _text(paused) and "would restart all pods" in _text(paused)
    value = _button_value(paused, blocks.APPROVE)
    audit = h.ops.assistant.deps.audit

    h.click(block_action(blocks.APPROVE, value, "UBOB", CHANNEL, ts, "1700000003.000100"))
    denied = h.slack.wait_for("chat.postEphemeral", lambda p: p["user"] == "UBOB")
    assert "Not allowed" in denied["text"] and "UBOB" in denied["text"]
    assert h.ran == []
    latest = audit.entries()[0]
    assert (latest["decision"], latest["approver"], latest["status"]) == (
        "unauthorized",
        "UBOB",
        "denied",
    )

    h.click(block_action(blocks.APPROVE, value, "UALICE", CHANNEL, ts, "1700000003.000100"))
    said = h.slack.wait_for("chat.postMessage", lambda p: "Approved by <@UALICE>" in p["text"])
    assert said["thread_ts"] == "1700000003.000100" and "`restart_service` ok" in said["text"]
    assert h.ran == ["checkout"]
    final = h.slack.wait_for(
        "chat.update", lambda p: p["ts"] == ts and "Approved by <@UALICE>" in _text(p)
    )
    assert not _has_action(final, blocks.APPROVE)  # the buttons are gone once decided
    decisions = [(e["decision"], e["approver"]) for e in audit.entries()[:2]]
    assert decisions == [("approved", "UALICE"), ("unauthorized", "UBOB")]

    h.click(block_action(blocks.APPROVE, value, "UALICE", CHANNEL, ts, "1700000003.000100"))
    again = h.slack.wait_for("chat.postEphemeral", lambda p: "already decided" in p["text"])
    assert again["user"] == "UALICE" and h.ran == ["checkout"]


def test_reject_runs_nothing_and_is_posted_and_audited(harness):
    h = harness
    paused, ts = _paused(h, ts="1700000004.000100")
    value = _button_value(paused, blocks.REJECT)
    h.click(block_action(blocks.REJECT, value, "UALICE", CHANNEL, ts, "1700000004.000100"))
    said = h.slack.wait_for("chat.postMessage", lambda p: "Rejected by <@UALICE>" in p["text"])
    assert "denied" in said["text"] and h.ran == []
    assert h.ops.assistant.deps.audit.entries()[0]["decision"] == "rejected"


def test_feedback_and_the_root_cause_modal_are_stored(harness):
    h = harness
    h.model.enqueue("Checkout errors come from fraud-api.")
    h.send_event(event("Ev6", mention("<@UBOT0PSL00P> why does checkout fail?")))
    answer = h.slack.wait_for("chat.update", lambda p: _has_action(p, blocks.HELPFUL))
    value = _button_value(answer, blocks.HELPFUL)
    thread = json.loads(value)["thread"]
    ts = answer["ts"]

    h.click(block_action(blocks.NOT_HELPFUL, value, "UALICE", CHANNEL, ts, "1700000000.000100"))
    h.slack.wait_for("chat.postEphemeral", lambda p: "feedback is recorded" in p["text"])
    h.click(block_action(blocks.ROOT_CAUSE, value, "UALICE", CHANNEL, ts, "1700000000.000100"))
    opened = h.slack.wait_for("views.open")
    assert opened["trigger_id"] == "1337.42.trigger"
    view = opened["view"]
    assert view["callback_id"] == blocks.ROOT_CAUSE_VIEW

    def submit(kind: str, target: str) -> Any:
        state = {
            "kind": {"value": {"type": "static_select", "selected_option": {"value": kind}}},
            "target": {"value": {"type": "plain_text_input", "value": target}},
            "note": {"value": {"type": "plain_text_input", "value": "postgres pool exhausted"}},
        }
        payload = {
            "type": "view_submission",
            "team": {"id": "T0PSL00P"},
            "user": {"id": "UALICE"},
            "api_app_id": "A0PSL00P",
            "view": {**view, "id": "V0PSL00P", "state": {"values": state}},
        }
        return h.click(payload)

    missing = submit("dependency", "  ")
    assert missing.json()["response_action"] == "errors" and "target" in missing.json()["errors"]
    assert submit("dependency", "postgres").status_code == 200
    h.slack.wait_for("chat.postMessage", lambda p: "recorded the root cause" in p["text"])
    rows = h.ops.assistant.deps.answers.feedback(thread)
    assert [(r["rating"], r["root_cause_kind"], r["root_cause_target"]) for r in rows] == [
        ("not_helpful", None, None),
        (None, "dependency", "postgres"),
    ]
    remembered = h.ops.assistant.deps.memory.get(f"Q-{thread}")
    assert (remembered.cause_kind, remembered.cause_target) == ("dependency", "postgres")
    assert "root cause was dependency postgres (UALICE)" in remembered.feedback


def test_untrusted_text_cannot_ping_or_fake_links():
    shown = blocks.mrkdwn("log says <!channel> click <http://evil|here> & **bold**")
    assert "<!channel>" not in shown and "&lt;!channel&gt;" in shown
    assert "<http://evil|here>" not in shown and "*bold*" in shown and "&amp;" in shown
    long = blocks.sections("x" * 7000)
    assert len(long) == 3 and all(len(b["text"]["text"]) <= 3000 for b in long)


def test_the_manifest_asks_for_what_the_handlers_use():
    from opsloop.agent.cli.slack import manifest

    http = manifest("https://ops.example.org")
    scopes = set(http["oauth_config"]["scopes"]["bot"])
    assert {"app_mentions:read", "chat:write", "commands", "im:history"} <= scopes
    events = http["settings"]["event_subscriptions"]
    assert set(events["bot_events"]) == {"app_mention", "message.im"}
    assert events["request_url"] == "https://ops.example.org/slack/events"
    assert http["settings"]["interactivity"]["request_url"] == events["request_url"]
    [command] = http["features"]["slash_commands"]
    assert command["command"] == "/opsloop" and command["url"] == events["request_url"]
    socket = manifest(socket=True)
    assert socket["settings"]["socket_mode_enabled"] is True
    assert "request_url" not in socket["settings"]["event_subscriptions"]
