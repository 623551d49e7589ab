"""A local server speaking the OpenAI chat-completions API, replying from a script.

Used to drive the real `openai` client (through langchain-openai) end to end without a
network. Each scripted reply is {"content": str}, {"tool_calls": [(name, args), ...]},
{"status": 500} or {"raw": "<body>"} for a malformed answer; "delay": seconds makes it hang.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class OpenAIScript:
    """The replies to give and the requests received."""

    def __init__(self, replies: list[dict[str, Any]]) -> None:
        self.replies = list(replies)
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.ids = itertools.count(1)

    def next_reply(self, request: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.requests.append(request)
            if not self.replies:
                return {"status": 500, "error": "script exhausted"}
            return self.replies.pop(0)


def prompt_token_estimate(request: dict[str, Any]) -> int:
    """Estimate prompt tokens as providers bill them: messages and tool schemas, ~4 chars each."""
    return (
        len(json.dumps(request.get("messages", []))) + len(json.dumps(request.get("tools", [])))
    ) // 4


def _completion(script: OpenAIScript, request: dict[str, Any], reply: dict[str, Any]) -> dict:
    prompt_tokens = prompt_token_estimate(request)
    message: dict[str, Any] = {"role": "assistant", "content": reply.get("content")}
    finish = "stop"
    if "tool_calls" in reply:
        message["tool_calls"] = [
            {
                "id": f"call_{next(script.ids)}",
                "type": "function",
                "function": {
                    "name": name,
                    "arguments": args if isinstance(args, str) else json.dumps(args),
                },
            }
            for name, args in reply["tool_calls"]
        ]
        finish = "tool_calls"
    completion_tokens = max(1, len(json.dumps(message)) // 4)
    return {
        "id": f"chatcmpl-{next(script.ids)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", "scripted"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _handler(script: OpenAIScript) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def do_POST(self) -> None:
            if not self.path.endswith("/chat/completions"):
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            length = int(self.headers.get("Content-Length", 0))
            request = json.loads(self.rfile.read(length) or b"{}")
            request["_auth"] = self.headers.get("Authorization")
            reply = script.next_reply(request)
            if "delay" in reply:  # a hanging endpoint: answer after the client gave up
                time.sleep(reply["delay"])
            if "status" in reply:
                self._send(
                    reply["status"],
                    {"error": {"message": reply.get("error", "boom"), "type": "server_error"}},
                )
            elif "raw" in reply:
                self._send(200, None, raw=reply["raw"])
            else:
                self._send(200, _completion(script, request, reply))

        def _send(self, code: int, body: Any, raw: str | None = None) -> None:
            data = (raw if raw is not None else json.dumps(body)).encode()
            try:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout)
                pass

    return Handler


@contextmanager
def openai_server(replies: list[dict[str, Any]]) -> Iterator[tuple[str, OpenAIScript]]:
    """Serve the script on a free loopback port; yield (base_url, script)."""
    script = OpenAIScript(replies)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(script))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", script
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
