"""A local stand-in for Slack: its Web API, response URLs and a Socket Mode websocket.

It speaks Slack's wire formats (form or JSON bodies with a bearer token; `{"ok": ...}`
answers; Socket Mode envelopes over a websocket) and records every call, so tests can
check what the real Bolt app sent. Slack itself cannot be reached from CI.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

BOT_USER = "UBOT0PSL00P"
TEAM = "T0PSL00P"


class FakeSlack:
    """Recorded calls and a way to wait for one."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Condition()
        self._ts = itertools.count(1)
        self.url = ""
        self.socket_url: str | None = None
        self.fail: dict[str, str] = {}  # method -> Slack error code to answer with

    def record(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """Store a call and return Slack's answer to it."""
        with self.lock:
            answer = self._answer(method, params)
            params["_answer"] = answer  # so a test can find the ts a post was given
            self.calls.append((method, params))
            self.lock.notify_all()
        return answer

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method in self.fail:
            return {"ok": False, "error": self.fail[method]}
        ts = f"{1_800_000_000 + next(self._ts)}.000100"
        channel = params.get("channel", "C0")
        answers: dict[str, dict[str, Any]] = {
            "auth.test": {"user_id": BOT_USER, "bot_id": "B0PSL00P", "team_id": TEAM},
            "chat.postMessage": {"channel": channel, "ts": ts, "message": {"ts": ts}},
            "chat.update": {"channel": channel, "ts": params.get("ts")},
            "chat.postEphemeral": {"message_ts": ts},
            "views.open": {"view": {"id": "V0PSL00P"}},
            "apps.connections.open": {"url": self.socket_url or ""},
            # The external upload: a URL to POST the bytes to, then the completion.
            "files.getUploadURLExternal": {
                "upload_url": self.url.replace("/api/", "/upload/F0CHART"),
                "file_id": "F0CHART",
            },
            "files.completeUploadExternal": {"files": [{"id": "F0CHART", "title": "chart"}]},
        }
        return {"ok": True, **answers.get(method, {})}

    def named(self, method: str) -> list[dict[str, Any]]:
        """Return the parameters of every call to `method`, in order."""
        with self.lock:
            return [p for m, p in self.calls if m == method]

    def wait_for(
        self, method: str, match: Callable[[dict[str, Any]], bool] = lambda _: True, timeout=30.0
    ) -> dict[str, Any]:
        """Wait until a call to `method` satisfies `match`; return its parameters."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                for m, params in self.calls:
                    if m == method and match(params):
                        return params
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [m for m, _ in self.calls]
                    raise AssertionError(f"no matching {method} within {timeout} s; saw {seen}")
                self.lock.wait(min(left, 0.5))


def _decode(params: dict[str, Any]) -> dict[str, Any]:
    """Decode the JSON-valued form fields the SDK sends (blocks, view, attachments)."""
    for key in ("blocks", "view", "attachments"):
        if isinstance(params.get(key), str):
            with suppress(ValueError):
                params[key] = json.loads(params[key])
    return params


@contextmanager
def fake_slack() -> Iterator[FakeSlack]:
    """Run the fake Web API on a free loopback port; `.url` is its base URL (…/api/)."""
    slack = FakeSlack()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path.startswith("/upload/"):  # files.getUploadURLExternal's upload_url
                self._reply(slack.record("upload", {"path": self.path, "body": data}))
                return
            raw = data.decode()
            kind = self.headers.get("Content-Type", "")
            params = json.loads(raw or "{}") if "json" in kind else dict(parse_qsl(raw))
            if self.path.startswith("/api/"):
                method = self.path[len("/api/") :].split("?")[0]
                if not self.headers.get("Authorization", "").startswith("Bearer "):
                    answer = {"ok": False, "error": "not_authed"}
                else:
                    answer = slack.record(method, _decode(params))
            else:  # a response_url
                answer = slack.record("response_url", _decode(params) | {"path": self.path})
            self._reply(answer)

        def _reply(self, answer: dict[str, Any]) -> None:
            body = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    slack.url = f"http://127.0.0.1:{server.server_address[1]}/api/"
    try:
        yield slack
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def sign(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """Return the headers Slack signs a request with (v0 HMAC-SHA256)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def event(event_id: str, inner: dict[str, Any]) -> dict[str, Any]:
    """Wrap an inner event the way the Events API delivers it."""
    return {
        "token": "legacy",
        "team_id": TEAM,
        "api_app_id": "A0PSL00P",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True}],
        "event": inner,
    }


def block_action(
    action_id: str, value: str, user: str, channel: str, message_ts: str, thread_ts: str = ""
) -> dict[str, Any]:
    """Return a `block_actions` payload for one button click."""
    message = {"ts": message_ts, "type": "message", "text": ""}
    if thread_ts:
        message["thread_ts"] = thread_ts
    return {
        "type": "block_actions",
        "team": {"id": TEAM},
        "user": {"id": user, "team_id": TEAM},
        "api_app_id": "A0PSL00P",
        "trigger_id": "1337.42.trigger",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
        "channel": {"id": channel},
        "message": message,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "b",
                "value": value,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


class SocketModeServer:
    """A Socket Mode endpoint: says hello, pushes envelopes, records the app's acks."""

    def __init__(self) -> None:
        self.acks: list[dict[str, Any]] = []
        self.lock = threading.Condition()
        self.connection: Any = None

    def handle(self, ws: Any) -> None:
        with self.lock:
            self.connection = ws
            self.lock.notify_all()
        ws.send(json.dumps({"type": "hello", "num_connections": 1, "debug_info": {}}))
        for message in ws:
            with self.lock:
                self.acks.append(json.loads(message))
                self.lock.notify_all()

    def push(self, envelope: dict[str, Any], timeout: float = 15.0) -> None:
        """Send an envelope once the app has connected."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while self.connection is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("the app never connected in Socket Mode")
                self.lock.wait(left)
            ws = self.connection
        ws.send(json.dumps(envelope))

    def wait_ack(self, envelope_id: str, timeout: float = 15.0) -> dict[str, Any]:
        """Wait for the app to acknowledge an envelope."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                for ack in self.acks:
                    if ack.get("envelope_id") == envelope_id:
                        return ack
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"envelope {envelope_id} was never acknowledged")
                self.lock.wait(left)


@contextmanager
def socket_mode(slack: FakeSlack) -> Iterator[SocketModeServer]:
    """Serve Socket Mode on a free loopback port; apps.connections.open points at it."""
    from websockets.sync.server import serve

    endpoint = SocketModeServer()
    server = serve(endpoint.handle, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    slack.socket_url = f"ws://127.0.0.1:{server.socket.getsockname()[1]}/link/"
    try:
        yield endpoint
    finally:
        server.shutdown()
        thread.join(5)
