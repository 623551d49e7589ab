"""The LLM path within budgets: context tokens, a turn's time, the tools offered, and the
arguments models write in their own words."""

import time
from types import SimpleNamespace

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from opsloop.agent.assistant import Assistant
from opsloop.agent.graph.normalise import match_name, normalise_args
from opsloop.agent.llm.budget import TurnClock, estimate_tokens, fit
from opsloop.agent.llm.chat import bounded, offered_tools
from tests.openai_server import openai_server
from tests.test_openai_endpoint import settings_for


def thread(results: int, size: int = 4000) -> list:
    """A conversation: system, then `results` question/tool-call/result rounds, then a question."""
    out = [SystemMessage(content="system " * 50)]
    for i in range(results):
        out += [
            HumanMessage(content=f"question {i}"),
            AIMessage(
                content="",
                tool_calls=[{"id": f"c{i}", "name": "query_metrics", "args": {"query": "up"}}],
            ),
            ToolMessage(content="x" * size, tool_call_id=f"c{i}", name="query_metrics"),
            AIMessage(content=f"answer {i}"),
        ]
    return [*out, HumanMessage(content="and now?")]


def test_oldest_tool_results_are_trimmed_first_with_a_note():
    messages = thread(4)
    before = estimate_tokens(messages)
    fitted, trimmed = fit(messages, budget=before - 1500)
    assert trimmed == 2 and estimate_tokens(fitted) <= before - 1500
    tools = [m for m in fitted if isinstance(m, ToolMessage)]
    assert [str(m.content).startswith("[trimmed") for m in tools] == [True, True, False, False]
    assert "Call the tool again" in str(tools[0].content)
    assert [m.tool_call_id for m in tools] == ["c0", "c1", "c2", "c3"]  # pairs intact
    assert fitted[-1].content == "and now?"


def test_the_newest_question_and_its_results_are_never_cut():
    call = AIMessage(content="", tool_calls=[{"id": "n", "name": "q", "args": {}}])
    messages = [*thread(0), call, ToolMessage(content="y" * 40000, tool_call_id="n", name="q")]
    fitted, trimmed = fit(messages, budget=1000)
    assert trimmed == 0 and fitted[-1].content == "y" * 40000


def test_turn_clock_gives_each_request_what_is_left():
    clock = TurnClock(time.time() - 100, budget_s=120, per_request_s=60)
    assert 15 < clock.request_timeout() <= 20
    assert TurnClock(time.time() - 119, budget_s=120, per_request_s=60).request_timeout() is None


def test_known_names_in_the_prompt_are_bounded():
    names = [f"svc-{i}" for i in range(45)]
    text = bounded(names, "list_services")
    assert text.count("svc-") == 30 and text.endswith(
        "and 15 more (call list_services to see them all)"
    )
    assert bounded([], "list_services") == "none found"


def test_write_tools_are_offered_only_when_an_action_is_asked_for():
    tools = {"query_metrics": object(), "rollback_model": object(), "retrain_model": object()}
    deps = SimpleNamespace(tools=tools, is_write=lambda n: n != "query_metrics")
    names = lambda q: [t for n, t in tools.items() if t in offered_tools({"question": q}, deps)]  # noqa: E731
    assert names("what is the p99 of checkout?") == [tools["query_metrics"]]
    assert len(names("roll back fraud-detector to the previous version")) == 3


def test_units_and_service_names_are_normalised_and_reported():
    known = {"services": ["checkout", "fraud-api"], "models": ["fraud-detector"]}
    args, notes = normalise_args(
        "golden_signals", {"service": "PROD/Checkout", "unit": "ms"}, known.__getitem__
    )
    assert args == {"service": "checkout", "unit": "seconds"}
    assert notes == [
        'golden_signals: unit "ms" read as "seconds" (the query\'s values are read in base units)',
        'golden_signals: service "PROD/Checkout" read as "checkout"',
    ]
    assert match_name("fraud_api", known["services"]) == "fraud-api"
    assert match_name("checkout.shop.svc.cluster.local", known["services"]) == "checkout"
    assert match_name("payments", known["services"]) is None
    assert normalise_args("check_drift", {"model": "Fraud-Detector"}, known.__getitem__)[0] == {
        "model": "fraud-detector"
    }


def test_a_normalised_call_runs_and_says_so(prometheus, opsloop_home):
    replies = [
        {"tool_calls": [("golden_signals", {"service": "Checkout", "range": "30m"})]},
        {"content": "Checked checkout [E1]."},
    ]
    with openai_server(replies) as (base, script):
        assistant = Assistant.from_settings(settings_for(base, prometheus, opsloop_home))
        result = assistant.ask("how is checkout doing?")
    assert result["tool_calls"][0]["status"] == "ok"
    assert 'service "Checkout" read as "checkout"' in script.requests[1]["messages"][-1]["content"]
    assert any('read as "checkout"' in e["summary"] for e in result["evidence"])


def test_a_slow_endpoint_spends_the_turn_budget_then_the_rules_answer(prometheus, opsloop_home):
    settings = settings_for("", prometheus, opsloop_home, llm_turn_budget=3)
    with openai_server([{"delay": 8, "content": "late"}]) as (base, _):
        settings.llm_base_url = base
        started = time.perf_counter()
        result = Assistant.from_settings(settings).ask("p99 of checkout over the last hour?")
        took = time.perf_counter() - started
    assert result["brain"] == "deterministic" and "LLM endpoint failed" in result["answer"]
    assert took < 8  # the request was cut at the turn's budget, not left to hang


def test_a_long_thread_is_sent_within_the_context_budget(prometheus, opsloop_home):
    turns = 4
    replies = []
    for _ in range(turns):
        replies += [
            {"tool_calls": [("golden_signals", {"service": "checkout", "range": "1h"})]},
            {"content": "Checked [E1]."},
        ]
    budget = 3000
    with openai_server(replies) as (base, script):
        settings = settings_for(base, prometheus, opsloop_home, llm_context_tokens=budget)
        assistant = Assistant.from_settings(settings)
        for i in range(turns):
            assistant.ask(f"how is checkout doing? ({i})", thread_id="t-budget")
    last = script.requests[-2]  # the last planning request, after the newest tool call
    sent = " ".join(str(m.get("content")) for m in last["messages"])
    assert "[trimmed:" in sent
    from tests.openai_server import prompt_token_estimate

    # The estimate counts JSON framing the budget does not; allow for it.
    assert prompt_token_estimate(last) < 1.5 * budget
