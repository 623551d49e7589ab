"""The real `openai` client, through langchain-openai, against a local OpenAI-compatible server.

No remote endpoint is reachable from CI, so a loopback server speaking the chat-completions
protocol (tool calls, usage) stands in for OpenAI, vLLM, Ollama or llama.cpp.
"""

from opsloop.agent.assistant import Assistant
from opsloop.agent.config import Settings
from tests.openai_server import openai_server

P99 = (
    "histogram_quantile(0.99, sum by (le) "
    '(rate(http_server_request_duration_seconds_bucket{service_name="checkout"}[5m])))'
)


def settings_for(base: str, prometheus: str, home, **kw) -> Settings:
    return Settings(
        prometheus_url=prometheus,
        home=home,
        llm_base_url=base,
        llm_api_key="sk-test-key-0123456789abcdef",
        llm_model="scripted-1",
        llm_max_retries=0,
        llm_timeout=10,
        **kw,
    )


def test_tool_call_round_trip_over_http(prometheus, opsloop_home):
    replies = [
        {"tool_calls": [("query_metrics", {"query": P99, "range": "1h"})]},
        {"content": "I checked checkout's p99 [E1]."},
    ]
    with openai_server(replies) as (base, script):
        assistant = Assistant.from_settings(settings_for(base, prometheus, opsloop_home))
        result = assistant.ask("p99 of checkout over the last hour?")
    assert result["brain"] == "llm"
    assert result["tool_calls"] == [
        {"name": "query_metrics", "args": {"query": P99, "range": "1h"}, "status": "ok"}
    ]
    assert result["answer"] == "I checked checkout's p99 [E1]."
    first, second = script.requests
    assert first["model"] == "scripted-1" and first["_auth"].startswith("Bearer sk-test")
    assert {t["function"]["name"] for t in first["tools"]} >= {"query_metrics", "golden_signals"}
    assert first["tool_choice"] == "auto"  # llama-cpp-python reads a missing one as "none"
    assert first["messages"][0]["role"] == "system"
    # llama-cpp-python rejects a null content beside tool_calls, and reads only max_tokens.
    assert second["messages"][-2]["content"] == ""
    assert first["max_tokens"] > 0 and "max_completion_tokens" not in first
    tool_reply = second["messages"][-1]
    assert tool_reply["role"] == "tool" and "status: ok" in tool_reply["content"]
    assert tool_reply["tool_call_id"] == second["messages"][-2]["tool_calls"][0]["id"]
    # Token usage comes from the server's `usage` block, summed over both calls.
    assert result["usage"]["input_tokens"] > 100 and result["usage"]["output_tokens"] > 0


def test_server_error_falls_back_to_the_deterministic_planner(prometheus, opsloop_home):
    with openai_server([{"status": 500}]) as (base, _):
        assistant = Assistant.from_settings(settings_for(base, prometheus, opsloop_home))
        result = assistant.ask("what is the p99 latency of checkout over the last hour?")
    assert result["brain"] == "deterministic" and result["evals"]["grounded"]
    assert "LLM endpoint failed (" in result["answer"] and "500" in result["answer"]


def test_malformed_tool_arguments_are_reported_to_the_model(prometheus, opsloop_home):
    replies = [
        {"tool_calls": [("query_metrics", "{not json")]},
        {"content": "The query arguments were malformed; nothing was checked."},
    ]
    with openai_server(replies) as (base, script):
        assistant = Assistant.from_settings(settings_for(base, prometheus, opsloop_home))
        result = assistant.ask("p99 of checkout?")
    assert result["tool_calls"][0]["status"] == "error"
    assert "could not be parsed" in script.requests[1]["messages"][-1]["content"]
