"""The LLM brain driven by a scripted chat model: tool calls, citations, repair, fallback."""

from opsloop.agent.assistant import Assistant
from opsloop.agent.factory import build_deps
from opsloop.agent.llm.scripted import ScriptedChatModel, tool_call

P99 = (
    "histogram_quantile(0.99, sum by (le) "
    '(rate(http_server_request_duration_seconds_bucket{service_name="checkout"}[5m])))'
)


def assistant_with(settings, *replies) -> tuple[Assistant, ScriptedChatModel]:
    model = ScriptedChatModel().enqueue(*replies)
    return Assistant(build_deps(settings, llm=model)), model


def test_model_calls_a_tool_then_answers_with_citations(settings):
    assistant, model = assistant_with(
        settings,
        [tool_call("query_metrics", query=P99, range="1h", title="checkout p99")],
        lambda msgs: f"checkout p99 is {_last_from(msgs)} now [E1].",
    )
    result = assistant.ask("p99 of checkout over the last hour?")
    assert result["brain"] == "llm"
    assert result["tool_calls"] == [
        {
            "name": "query_metrics",
            "args": {"query": P99, "range": "1h", "title": "checkout p99"},
            "status": "ok",
        }
    ]
    assert result["evals"]["grounded"], result
    assert result["usage"]["input_tokens"] > 0 and result["usage"]["output_tokens"] > 0
    bound = [t.name for t in model.bound_tools]
    assert bound[:4] == ["query_metrics", "golden_signals", "list_services", "list_metrics"]
    assert {"search_logs", "log_patterns", "detect_anomalies", "check_drift", "forecast"} <= set(
        bound
    )
    system = model.calls[0][0].content
    assert "checkout" in system and "Cite the evidence" in system


def test_made_up_figure_is_repaired_once(settings):
    assistant, model = assistant_with(
        settings,
        [tool_call("query_metrics", query=P99, range="1h")],
        "checkout p99 is 987 ms [E1].",
        lambda msgs: f"checkout p99 is {_last_from(msgs)} [E1].",
    )
    result = assistant.ask("p99 of checkout?")
    assert result["evals"]["grounded"] and result["evals"]["repaired"]
    assert "987" not in result["answer"]
    assert "evidence check" in model.calls[-1][-1].content  # the repair prompt


def test_unrepairable_answer_is_marked_unverified(settings):
    assistant, _ = assistant_with(
        settings,
        [tool_call("query_metrics", query=P99, range="1h")],
        "checkout p99 is 987 ms [E1].",
        "still 987 ms, and payments-api is at 12 % [E9].",
    )
    result = assistant.ask("p99 of checkout?")
    evals = result["evals"]
    assert not evals["grounded"] and evals["repaired"]
    assert "987 ms" in evals["unverified_numbers"] and evals["invalid_citations"] == ["E9"]
    assert "⚠ Unverified" in result["answer"]


def test_unknown_tool_and_bad_arguments_go_back_to_the_model(settings):
    assistant, model = assistant_with(
        settings,
        [tool_call("delete_cluster", name="prod"), tool_call("query_metrics", range="1h")],
        "I could not run those checks.",
    )
    result = assistant.ask("p99 of checkout?")
    statuses = [(c["name"], c["status"]) for c in result["tool_calls"]]
    assert statuses == [("delete_cluster", "error"), ("query_metrics", "error")]
    tool_messages = [m.content for m in model.calls[1] if m.type == "tool"]
    assert "unknown tool 'delete_cluster'" in tool_messages[0]
    assert "query: Field required" in tool_messages[1]
    assert result["evals"]["tool_error_rate"] == 1.0


def test_dead_llm_endpoint_falls_back_to_the_deterministic_planner(settings):
    assistant, _ = assistant_with(settings, ConnectionError("connection refused"))
    result = assistant.ask("what is the p99 latency of checkout over the last hour?")
    assert result["brain"] == "deterministic"
    assert result["tool_calls"][0]["name"] == "query_metrics"
    assert "LLM endpoint failed" in result["answer"] and result["evals"]["grounded"]


def test_step_limit_stops_a_looping_model(settings):
    settings.max_steps = 3
    loop = [[tool_call("query_metrics", query="up", range=f"{i + 1}h")] for i in range(5)]
    assistant, _ = assistant_with(settings, *loop)
    result = assistant.ask("list everything forever")
    assert len(result["tool_calls"]) == 3
    assert "stopped after 3 planning steps" in result["answer"]


def test_secrets_never_reach_the_model(settings):
    settings.llm_api_key = None
    assistant, model = assistant_with(settings, "ok")
    assistant.deps.secrets = ("hunter2-secret",)
    assistant.ask("my password=hunter2-secret and token xoxb-1234567890-abcdef, p99?")
    sent = " ".join(str(m.content) for m in model.calls[0])
    assert "hunter2-secret" not in sent and "xoxb-1234567890" not in sent


def _last_from(messages) -> str:
    """Quote the 'last …' figure from the latest tool result, as a model would."""
    tool = [m for m in messages if m.type == "tool"][-1].content
    return tool.split("last ")[1].split(",")[0]


def test_an_answer_that_looked_at_nothing_goes_to_the_deterministic_planner(settings):
    assistant, _ = assistant_with(settings, "Nothing is wrong with checkout; p99 is 120 ms.")
    result = assistant.ask("what is the p99 latency of checkout over the last hour?")
    assert result["brain"] == "deterministic"
    assert result["tool_calls"][0]["name"] == "query_metrics"
    assert "120 ms" not in result["answer"]
    assert "answered without looking at any evidence" in result["answer"]
    assert result["usage"]["input_tokens"] > 0  # the model's turn is still counted


def test_small_talk_needs_no_evidence(settings):
    assistant, _ = assistant_with(settings, "You're welcome.")
    result = assistant.ask("thanks!")
    assert result["brain"] == "llm" and result["answer"] == "You're welcome."


def test_an_unchecked_answer_the_planner_cannot_replace_says_so(settings):
    assistant, _ = assistant_with(
        settings, "The payment system is healthy and has been since the last release in May."
    )
    result = assistant.ask("is anything wrong with payments right now?")
    assert result["brain"] == "llm"
    assert "nothing in it was checked against your systems" in result["answer"]


def test_endpoint_failing_after_a_wrong_tool_still_gets_the_question_planned(settings):
    assistant, _ = assistant_with(
        settings, [tool_call("list_services")], ConnectionError("connection reset")
    )
    result = assistant.ask("what is the p99 latency of checkout over the last hour?")
    assert result["brain"] == "deterministic"
    assert [c["name"] for c in result["tool_calls"]] == ["list_services", "query_metrics"]
    assert "checkout p99 latency" in result["answer"] and result["evals"]["grounded"]


def test_a_model_repeating_itself_is_told_then_replaced(settings):
    again = [tool_call("list_services")]
    assistant, model = assistant_with(settings, again, [*again, tool_call("list_metrics")], again)
    result = assistant.ask("what is the p99 latency of checkout over the last hour?")
    told = [m.content for m in model.calls[2] if m.type == "tool"]
    assert any("already ran in this turn" in t for t in told)
    assert result["brain"] == "deterministic" and "kept asking" in result["answer"]
    names = [c["name"] for c in result["tool_calls"]]
    assert names.count("list_services") == 2 and names[-1] == "query_metrics"


def test_a_refused_write_is_not_asked_for_again(settings):
    from tests.test_approval import POLICY, restart_tool

    ran: list[str] = []
    restart = [tool_call("restart_service", service="checkout")]
    model = ScriptedChatModel().enqueue(restart, restart, restart, "done")
    deps = build_deps(
        settings.model_copy(update={"policy": POLICY}), llm=model, extra_tools=[restart_tool(ran)]
    )
    asked = []

    def refuse(request):
        asked.append(request)
        return {"approved": False, "by": "alice", "reason": "not now"}

    Assistant(deps).ask("restart checkout", user="alice", approver=refuse)
    assert ran == [] and len(asked) == 1
