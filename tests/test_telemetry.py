"""Self-monitoring: cost per answer, Prometheus GenAI metrics on /metrics, OTLP/JSON traces."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from starlette.testclient import TestClient

from opsloop.agent.assistant import Assistant
from opsloop.agent.cli.serve import build_server
from opsloop.agent.config import Settings
from opsloop.agent.factory import build_deps
from opsloop.agent.llm.scripted import ScriptedChatModel, tool_call
from opsloop.agent.llm.usage import cost_usd, part_of, priced
from opsloop.agent.telemetry.metrics import DURATION_BUCKETS, TOKEN_BUCKETS, Telemetry
from opsloop.agent.telemetry.traces import OtlpExporter, answer_spans, traces_url
from tests.test_server import wait_for

P99 = (
    "histogram_quantile(0.99, sum by (le) "
    '(rate(http_server_request_duration_seconds_bucket{service_name="checkout"}[5m])))'
)
PRICES = {"gpt-4o-mini": {"input_per_mtok": 0.15, "output_per_mtok": 0.6}}
QUESTION = "p99 of checkout over the last hour? secret-question-words"


def last_figure(messages) -> str:
    """Quote the 'last …' figure from the latest tool result, as a model would."""
    tool = [m for m in messages if m.type == "tool"][-1].content
    return tool.split("last ")[1].split(",")[0]


def llm_assistant(settings: Settings) -> tuple[Assistant, ScriptedChatModel]:
    """An assistant whose scripted model calls query_metrics once, then answers."""
    model = ScriptedChatModel().enqueue(
        [tool_call("query_metrics", query=P99, range="1h", title="checkout p99")],
        lambda msgs: f"checkout p99 is {last_figure(msgs)} now [E1].",
    )
    return Assistant(build_deps(settings, llm=model)), model


# --- cost ---------------------------------------------------------------------------------


def fake_deps(llm: Any, prices: dict | None = None) -> Any:
    return SimpleNamespace(llm=llm, settings=Settings(llm_prices=prices or {}))


def test_cost_for_priced_unpriced_and_deterministic(caplog, monkeypatch):
    monkeypatch.setattr("opsloop.agent.llm.usage._unpriced", set())
    usage = {"input_tokens": 1000, "output_tokens": 500, "llm_calls": 2}
    assert cost_usd(1000, 500, "gpt-4o-mini", PRICES) == pytest.approx(0.00045)

    priced_usage = priced(usage, fake_deps(ScriptedChatModel(), PRICES))
    assert priced_usage == {"provider": "scripted", "model": "gpt-4o-mini", "cost_usd": 0.00045}

    with caplog.at_level(logging.WARNING, logger="opsloop.agent.llm.usage"):
        unpriced = priced(usage, fake_deps(ScriptedChatModel(), {"gpt-4o": PRICES["gpt-4o-mini"]}))
        priced(usage, fake_deps(ScriptedChatModel(), {}))
    assert unpriced["cost_usd"] is None  # never a guessed price
    said = [r.getMessage() for r in caplog.records if "no price" in r.getMessage()]
    assert len(said) == 1 and "gpt-4o-mini" in said[0]  # said once per model

    no_llm = priced({"input_tokens": 0, "output_tokens": 0}, fake_deps(None, PRICES))
    assert no_llm == {"provider": "opsloop", "model": "deterministic", "cost_usd": 0.0}
    # An LLM configured but never answering (fallback at the first call) costs nothing.
    assert priced({"llm_calls": 0}, fake_deps(ScriptedChatModel(), PRICES))["cost_usd"] == 0.0


def test_provider_names_follow_the_configured_endpoint():
    from opsloop.agent.llm.client import make_llm
    from opsloop.agent.llm.usage import llm_identity

    openai = Settings(llm_api_key="sk-x", llm_model="gpt-4o")
    assert llm_identity(make_llm(openai), openai) == ("openai", "gpt-4o")
    azure = Settings(llm_base_url="https://team.openai.azure.com/openai/v1", llm_model="gpt-4o")
    assert llm_identity(make_llm(azure), azure)[0] == "azure.ai.openai"
    vllm = Settings(llm_base_url="http://vllm:8000/v1", llm_model="meta-llama/Llama-3.1-8B")
    assert llm_identity(make_llm(vllm), vllm) == ("openai", "meta-llama/Llama-3.1-8B")


def test_prices_come_from_env_json_or_toml(tmp_path, monkeypatch):
    (tmp_path / "opsloop.toml").write_text(
        '[llm_prices."qwen2.5:14b"]\ninput_per_mtok = 0\noutput_per_mtok = 0\n'
    )
    assert Settings().llm_prices == {"qwen2.5:14b": {"input_per_mtok": 0.0, "output_per_mtok": 0.0}}
    monkeypatch.setenv("OPSLOOP_LLM_PRICES", json.dumps(PRICES))
    merged = Settings().llm_prices  # pydantic-settings merges dicts from env and file
    assert merged["gpt-4o-mini"] == PRICES["gpt-4o-mini"] and "qwen2.5:14b" in merged
    with pytest.raises(ValueError, match="input_per_mtok"):
        Settings(llm_prices={"m": {"input_per_mtok": -1, "output_per_mtok": 1}})


# --- Prometheus -----------------------------------------------------------------------------


def llm_record(**over: Any) -> dict[str, Any]:
    record = {
        "thread_id": "t-123456",
        "question": QUESTION,
        "brain": "llm",
        "mode": "question",
        "tool_calls": [
            {
                "name": "query_metrics",
                "args": {},
                "status": "ok",
                "started_at": 10.1,
                "duration_s": 0.2,
            },
            {
                "name": "made_up_tool",
                "args": {},
                "status": "error",
                "started_at": 10.4,
                "duration_s": 0.0,
            },
        ],
        "evals": {
            "grounded": True,
            "groundedness": 1.0,
            "citation_coverage": 0.5,
            "tool_error_rate": 0.5,
            "writes_without_approval": 0,
        },
        "usage": {
            "input_tokens": 1500,
            "output_tokens": 60,
            "llm_calls": 2,
            "latency_s": 1.5,
            "cost_usd": 0.000261,
            "provider": "openai",
            "model": "gpt-4o-mini",
            "chat_calls": [
                {"started_at": 10.0, "duration_s": 0.05, "input_tokens": 500, "output_tokens": 10},
                {"started_at": 10.5, "duration_s": 0.9, "input_tokens": 1000, "output_tokens": 50},
            ],
        },
        "started_at": 10.0,
        "ended_at": 11.5,
        "previous": {},
    }
    return {**record, **over}


def deterministic_record() -> dict[str, Any]:
    return {
        "thread_id": "t-999",
        "brain": "deterministic",
        "tool_calls": [{"name": "golden_signals", "args": {}, "status": "no_data"}],
        "evals": {
            "grounded": False,
            "groundedness": 0.0,
            "citation_coverage": 0.0,
            "tool_error_rate": 0.0,
            "writes_without_approval": 1,
        },
        "usage": {
            "input_tokens": 0,
            "output_tokens": 0,
            "latency_s": 0.05,
            "cost_usd": 0.0,
            "provider": "opsloop",
            "model": "deterministic",
        },
        "started_at": 20.0,
        "ended_at": 20.05,
    }


def test_metric_families_labels_and_buckets():
    registry = CollectorRegistry()
    telemetry = Telemetry(registry, tools=["query_metrics", "golden_signals"])
    telemetry.observe(llm_record())
    telemetry.observe(deterministic_record())
    value = registry.get_sample_value
    chat = {
        "gen_ai_operation_name": "chat",
        "gen_ai_provider_name": "openai",
        "gen_ai_request_model": "gpt-4o-mini",
    }
    # One token observation per LLM call and token type.
    assert value("gen_ai_client_token_usage_count", {**chat, "gen_ai_token_type": "input"}) == 2
    assert value("gen_ai_client_token_usage_sum", {**chat, "gen_ai_token_type": "input"}) == 1500
    assert value("gen_ai_client_token_usage_sum", {**chat, "gen_ai_token_type": "output"}) == 60
    agent = {
        "gen_ai_operation_name": "invoke_agent",
        "gen_ai_provider_name": "openai",
        "gen_ai_request_model": "gpt-4o-mini",
    }
    assert value("gen_ai_client_operation_duration_seconds_sum", agent) == 1.5
    rules = {**agent, "gen_ai_provider_name": "opsloop", "gen_ai_request_model": "deterministic"}
    assert value("gen_ai_client_operation_duration_seconds_count", rules) == 1
    # The deterministic brain used no tokens: no token series for it.
    assert (
        value(
            "gen_ai_client_token_usage_count",
            {**chat, "gen_ai_provider_name": "opsloop", "gen_ai_token_type": "input"},
        )
        is None
    )
    grounded = {"gen_ai_evaluation_name": "groundedness"}
    assert value("gen_ai_evaluation_result_count", grounded) == 2
    assert value("gen_ai_evaluation_result_bucket", {**grounded, "le": "0.1"}) == 1
    assert value("opsloop_answers_total", {"brain": "llm", "grounded": "true"}) == 1
    assert value("opsloop_answers_total", {"brain": "deterministic", "grounded": "false"}) == 1
    assert value("opsloop_answers_total", {"brain": "llm", "grounded": "false"}) == 0
    assert value("opsloop_tool_calls_total", {"tool": "query_metrics", "status": "ok"}) == 1
    assert value("opsloop_tool_calls_total", {"tool": "golden_signals", "status": "no_data"}) == 1
    assert value("opsloop_tool_calls_total", {"tool": "_OTHER", "status": "error"}) == 1
    assert value("opsloop_writes_without_approval_total") == 1
    cost = value("opsloop_llm_cost_usd_total", {"gen_ai_request_model": "gpt-4o-mini"})
    assert cost == pytest.approx(0.000261)

    buckets = {
        m.name: sorted({float(s.labels["le"]) for s in m.samples if s.name.endswith("_bucket")})
        for m in registry.collect()
        if m.type == "histogram"
    }
    assert buckets["gen_ai_client_token_usage"][:-1] == list(TOKEN_BUCKETS)
    assert TOKEN_BUCKETS[-1] == 67108864 and len(TOKEN_BUCKETS) == 14
    assert buckets["gen_ai_client_operation_duration_seconds"][:-1] == pytest.approx(
        [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
    )
    assert list(DURATION_BUCKETS) == pytest.approx(
        buckets["gen_ai_client_operation_duration_seconds"][:-1]
    )
    assert buckets["gen_ai_evaluation_result"][:-1] == pytest.approx([i / 10 for i in range(1, 11)])
    text = generate_latest(registry).decode()
    for private in ("t-123456", "t-999", "secret-question-words", "made_up_tool"):
        assert private not in text  # no thread ids, questions or invented names as labels


def test_a_second_record_of_the_same_turn_counts_only_what_is_new():
    """An alert turn records its report, then again after the approved action."""
    registry = CollectorRegistry()
    telemetry = Telemetry(registry)
    first = llm_record()
    telemetry.observe(first)
    from opsloop.agent.llm.usage import counters

    usage = {
        **first["usage"],
        "input_tokens": 1800,
        "output_tokens": 80,
        "latency_s": 3602.0,
        "approval_wait_s": 3600.0,
        "cost_usd": 0.000318,
        "chat_calls": [
            *first["usage"]["chat_calls"],
            {"started_at": 3611, "duration_s": 0.5, "input_tokens": 300, "output_tokens": 20},
        ],
    }
    rollback = {
        "name": "rollback_model",
        "args": {},
        "status": "ok",
        "started_at": 3610.0,
        "duration_s": 0.3,
    }
    second = llm_record(
        usage=usage,
        tool_calls=[*first["tool_calls"], rollback],
        previous=counters(first),
        ended_at=3612.0,
    )
    part = part_of(second)
    assert [c["name"] for c in part.tool_calls] == ["rollback_model"]
    assert (part.input_tokens, part.output_tokens, len(part.chat_calls)) == (300, 20, 1)
    assert part.busy_s == pytest.approx(0.5)  # 2 s of work in all, 1.5 s already counted
    telemetry.observe(second)
    value = registry.get_sample_value
    assert value("opsloop_tool_calls_total", {"tool": "query_metrics", "status": "ok"}) == 1
    assert value("opsloop_tool_calls_total", {"tool": "rollback_model", "status": "ok"}) == 1
    chat = {
        "gen_ai_operation_name": "chat",
        "gen_ai_provider_name": "openai",
        "gen_ai_request_model": "gpt-4o-mini",
        "gen_ai_token_type": "input",
    }
    assert value("gen_ai_client_token_usage_sum", chat) == 1800
    cost = value("opsloop_llm_cost_usd_total", {"gen_ai_request_model": "gpt-4o-mini"})
    assert cost == pytest.approx(0.000318)
    agent = {
        "gen_ai_operation_name": "invoke_agent",
        "gen_ai_provider_name": "openai",
        "gen_ai_request_model": "gpt-4o-mini",
    }
    assert value("gen_ai_client_operation_duration_seconds_sum", agent) == pytest.approx(2.0)


def test_answers_through_serve_show_on_metrics(settings):
    settings = settings.model_copy(update={"llm_prices": PRICES})
    assistant, _ = llm_assistant(settings)

    def broken(record: dict) -> None:
        raise RuntimeError("observer bug")

    assistant.deps.observers.append(broken)  # runs first: must not stop the answer or others
    app, store, _pool = build_server(settings, workers=1, assistant=assistant)
    try:
        client = TestClient(app)
        before = client.get("/metrics").text
        assert 'opsloop_answers_total{brain="llm",grounded="true"} 0.0' in before.splitlines()
        result = assistant.ask(QUESTION)
        assert result["evals"]["grounded"], result
        usage = result["usage"]
        assert set(usage) == {"input_tokens", "output_tokens", "latency_s", "cost_usd"}
        expected = (usage["input_tokens"] * 0.15 + usage["output_tokens"] * 0.6) / 1e6
        assert usage["cost_usd"] == pytest.approx(expected) and usage["cost_usd"] > 0

        stored = assistant.deps.answers.recent(1)[0]
        assert stored["usage"]["cost_usd"] == usage["cost_usd"]
        assert stored["tool_calls"][0]["duration_s"] >= 0

        registry = app.state.registry
        assert registry.get_sample_value(
            "opsloop_llm_cost_usd_total", {"gen_ai_request_model": "gpt-4o-mini"}
        ) == pytest.approx(usage["cost_usd"])
        text = client.get("/metrics").text
        lines = text.splitlines()
        assert 'opsloop_answers_total{brain="llm",grounded="true"} 1.0' in lines
        assert 'opsloop_tool_calls_total{status="ok",tool="query_metrics"} 1.0' in lines
        chat = (
            'gen_ai_operation_name="chat",gen_ai_provider_name="scripted",'
            'gen_ai_request_model="gpt-4o-mini"'
        )
        assert f'gen_ai_client_token_usage_count{{{chat},gen_ai_token_type="input"}} 2.0' in lines
        assert any(
            line.startswith("gen_ai_client_operation_duration_seconds_count{") for line in lines
        )
        assert 'gen_ai_evaluation_result_count{gen_ai_evaluation_name="groundedness"} 1.0' in lines
        assert "opsloop_writes_without_approval_total 0.0" in lines
        assert result["thread_id"] not in text and "secret-question-words" not in text
        # The server's own series are still there.
        assert "opsloop_queue_depth 0.0" in lines
    finally:
        store.close()


def test_deterministic_answer_costs_nothing(settings):
    result = Assistant.from_settings(settings).ask("p99 latency of checkout over the last hour")
    assert result["brain"] == "deterministic" and result["usage"]["cost_usd"] == 0.0


# --- OTLP traces -----------------------------------------------------------------------------


class Collector:
    """A local OTLP/HTTP endpoint that records what it receives."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        received = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body.decode()}
                )
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def spans(self, index: int = 0) -> list[dict[str, Any]]:
        payload = json.loads(self.requests[index]["body"])
        (resource,) = payload["resourceSpans"]
        (scope,) = resource["scopeSpans"]
        return scope["spans"]


@pytest.fixture
def collector() -> Iterator[Collector]:
    c = Collector()
    yield c
    c.server.shutdown()
    c.server.server_close()


def attrs(span: dict[str, Any]) -> dict[str, Any]:
    return {a["key"]: next(iter(a["value"].values())) for a in span["attributes"]}


def test_each_answer_is_exported_as_an_otlp_json_trace(settings, collector):
    settings = settings.model_copy(
        update={"otlp_endpoint": collector.url, "otlp_headers": {"Authorization": "Bearer t0k"}}
    )
    assistant, _ = llm_assistant(settings)
    result = assistant.ask(QUESTION)
    wait_for(lambda: collector.requests, 10.0, "a trace at the collector")
    request = collector.requests[0]
    assert request["path"] == "/v1/traces"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["Authorization"] == "Bearer t0k"
    assert "secret-question-words" not in request["body"]  # never the question
    assert "t0k" not in request["body"]

    spans = collector.spans()
    names = [s["name"] for s in spans]
    assert names == [
        "invoke_agent opsloop",
        "execute_tool query_metrics",
        "chat gpt-4o-mini",
        "chat gpt-4o-mini",
    ]
    root, tool, *chats = spans
    assert len(root["traceId"]) == 32 and len(root["spanId"]) == 16
    int(root["traceId"], 16), int(root["spanId"], 16)  # hex, not base64
    assert "parentSpanId" not in root
    for child in (tool, *chats):
        assert child["traceId"] == root["traceId"] and child["parentSpanId"] == root["spanId"]
        assert int(root["startTimeUnixNano"]) <= int(child["startTimeUnixNano"])
        assert int(child["endTimeUnixNano"]) <= int(root["endTimeUnixNano"])
    assert isinstance(root["startTimeUnixNano"], str)
    assert int(root["startTimeUnixNano"]) < int(root["endTimeUnixNano"])
    a = attrs(root)
    assert a["gen_ai.operation.name"] == "invoke_agent" and a["gen_ai.agent.name"] == "opsloop"
    assert a["gen_ai.conversation.id"] == result["thread_id"]
    assert a["gen_ai.usage.input_tokens"] == str(result["usage"]["input_tokens"])
    assert a["gen_ai.usage.output_tokens"] == str(result["usage"]["output_tokens"])
    assert a["gen_ai.request.model"] == "gpt-4o-mini"
    assert attrs(tool) == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "query_metrics",
        "gen_ai.tool.type": "function",
        "opsloop.tool.status": "ok",
    }
    assert tool["kind"] == 1 and chats[0]["kind"] == 3
    usage = sum(int(attrs(c)["gen_ai.usage.input_tokens"]) for c in chats)
    assert usage == result["usage"]["input_tokens"]
    assert {"key": "service.name", "value": {"stringValue": "opsloop"}} in json.loads(
        request["body"]
    )["resourceSpans"][0]["resource"]["attributes"]


def test_spans_of_calls_that_never_ran_are_left_out_and_errors_marked():
    record = llm_record()
    record["tool_calls"].append({"name": "rollback_model", "args": {}, "status": "denied"})
    spans = answer_spans(record)
    assert [s["name"] for s in spans if s["name"].startswith("execute_tool")] == [
        "execute_tool query_metrics",
        "execute_tool made_up_tool",
    ]
    failed = next(s for s in spans if s["name"] == "execute_tool made_up_tool")
    assert failed["status"] == {"code": 2} and attrs(failed)["error.type"] == "tool_error"
    assert traces_url("http://c:4318/") == "http://c:4318/v1/traces"
    assert traces_url("http://c:4318/v1/traces") == "http://c:4318/v1/traces"


def test_a_dead_collector_neither_breaks_nor_slows_answers(settings, caplog):
    with socket.socket() as s:  # a port nobody listens on: connections are refused
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    settings = settings.model_copy(update={"otlp_endpoint": dead})
    assistant = Assistant.from_settings(settings)
    exporter = assistant.deps.observers[0].__self__
    with caplog.at_level(logging.WARNING, logger="opsloop.agent.telemetry.traces"):
        first = assistant.ask("p99 latency of checkout over the last hour")
        second = assistant.ask("p99 latency of checkout over the last hour")
        wait_for(lambda: exporter.failed >= 2, 10.0, "both answers to fail to export")
    assert first["evals"]["grounded"] and second["evals"]["grounded"]
    warned = [r for r in caplog.records if r.name == "opsloop.agent.telemetry.traces"]
    assert len(warned) == 1 and "cannot export" in warned[0].getMessage()  # logged once


def test_a_hanging_collector_does_not_hold_the_answer(settings):
    # Listening but never accepting: a request to it hangs until the client's timeout.
    hang = socket.socket()
    hang.bind(("127.0.0.1", 0))
    hang.listen(16)
    exporter = OtlpExporter(f"http://127.0.0.1:{hang.getsockname()[1]}", timeout_s=60, max_queue=2)
    assistant = Assistant.from_settings(settings)
    assistant.deps.observers = [exporter.observe]
    try:
        started = time.monotonic()
        result = assistant.ask("p99 latency of checkout over the last hour")
        took = time.monotonic() - started
        assert result["evals"]["grounded"]
        # The export is still in flight (it would take up to 60 s): the answer did not wait.
        assert exporter.sent == 0 and exporter.failed == 0 and took < 60
        record = assistant.deps.answers.recent(1)[0]
        for _ in range(5):  # the queue holds 2: the rest are dropped, without blocking
            exporter.observe({**record, "previous": {}})
        assert exporter.dropped >= 2
    finally:
        hang.close()  # the pending connection is reset: the stuck export fails now
    wait_for(lambda: exporter.failed >= 1, 10.0, "the stuck export to fail")
