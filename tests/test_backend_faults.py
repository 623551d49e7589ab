"""Backends that fail: slow or dead Prometheus, a hanging LLM endpoint, nonsense tool calls.

Answers degrade with a plain statement of what could not be checked; nothing crashes; the
deterministic planner takes over when the LLM is unusable.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opsloop.agent.assistant import Assistant
from opsloop.agent.config import Settings
from opsloop.agent.factory import build_deps
from opsloop.agent.llm.scripted import ScriptedChatModel, tool_call
from tests.openai_server import openai_server
from tests.test_investigate import alerts_of, payload
from tests.test_openai_endpoint import settings_for


@contextmanager
def hanging_server(seconds: float) -> Iterator[str]:
    """A server that accepts requests and answers only after `seconds`."""
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            release.wait(seconds)
            self.send_response(503)
            self.end_headers()

        do_POST = do_GET

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def test_a_slow_prometheus_times_out_with_a_plain_error(opsloop_home):
    with hanging_server(30) as url:
        settings = Settings(home=opsloop_home, prometheus_url=url, prometheus_timeout=0.5)
        result = Assistant(build_deps(settings)).ask("p99 of checkout over the last hour?")
    assert result["error"], result["answer"]
    assert url in result["error"] and "OPSLOOP_PROMETHEUS_URL" in result["error"]


def test_an_investigation_with_prometheus_down_says_what_it_could_not_check(opsloop_home):
    with hanging_server(30) as url:
        settings = Settings(home=opsloop_home, prometheus_url=url, prometheus_timeout=0.5)
        assistant = Assistant(build_deps(settings))
        result = assistant.investigate(alerts_of(payload(time.time() - 600)), thread_id="inc-f1")
    assert result["false_alarm"] is False  # unread signals are never "no fault"
    assert result["actions"] == []  # nothing is proposed on no evidence
    assert "could not" in result["answer"].lower()
    assert any(c["status"] == "error" for c in result["tool_calls"])


def test_a_hanging_llm_endpoint_hands_over_to_the_deterministic_planner(prometheus, opsloop_home):
    with openai_server([{"delay": 3, "content": "too late"}]) as (base, _):
        settings = settings_for(base, prometheus, opsloop_home).model_copy(
            update={"llm_timeout": 0.5}
        )
        result = Assistant.from_settings(settings).ask("p99 latency of checkout, last hour?")
    assert result["brain"] == "deterministic" and result["evals"]["grounded"]
    assert "LLM endpoint failed (" in result["answer"]


def test_a_model_inventing_services_and_garbage_arguments_gets_told_and_nothing_breaks(settings):
    model = ScriptedChatModel().enqueue(
        [
            tool_call("golden_signals", service="payments-svc-that-does-not-exist"),
            tool_call("query_metrics", query="sum(rate(", range="banana"),
            tool_call("drop_database", really=True),
        ],
        "I could not find that service [E1].",
    )
    result = Assistant(build_deps(settings, llm=model)).ask("how is payments doing?")
    statuses = {c["name"]: c["status"] for c in result["tool_calls"]}
    assert statuses["drop_database"] == "error" and statuses["query_metrics"] == "error"
    told = " ".join(str(m.content) for m in model.calls[-1] if m.type == "tool")
    assert "payments-svc-that-does-not-exist" in told and "drop_database" in told
    assert result["answer"]


def test_a_locked_mlflow_database_is_a_clear_error_not_a_crash(settings, tmp_path):
    import sqlite3

    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    client.create_registered_model("fraud-detector")
    version = client.create_model_version("fraud-detector", source=str(tmp_path), run_id=None)
    client.set_registered_model_alias("fraud-detector", "champion", version.version)
    cfg = settings.model_copy(update={"mlflow_tracking_uri": uri})
    assistant = Assistant(build_deps(cfg))
    lock = sqlite3.connect(tmp_path / "mlflow.db", isolation_level=None, timeout=1)
    lock.execute("BEGIN EXCLUSIVE")  # another writer holds the registry
    try:
        locked = assistant.ask("which version of fraud-detector is serving")
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    [call] = [c for c in locked["tool_calls"] if c["name"] == "model_status"]
    assert call["status"] == "error"
    assert "database is locked" in locked["answer"]
    assert "OPSLOOP_MLFLOW_TRACKING_URI" in locked["answer"]  # and what to check
    again = assistant.ask("which version of fraud-detector is serving")
    assert "v1" in again["answer"] or "version 1" in again["answer"]
