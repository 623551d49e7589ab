"""`opsloop eval`: scorers, thresholds, the LLM judge, MLflow runs and their comparison."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opsloop.agent.cli.main import app
from opsloop.agent.config import Settings
from opsloop.evals import scorers
from opsloop.evals.judge import Judge
from opsloop.evals.suites import gate, lower_is_better
from opsloop.evals.tracking import compare, log_run
from tests.openai_server import openai_server

runner = CliRunner()
CALLS = [
    {"name": "query_metrics", "args": {"query": 'rate(x{service="checkout"}[5m])'}, "status": "ok"},
    {"name": "search_logs", "args": {"service": "checkout", "level": "error"}, "status": "ok"},
]


@pytest.mark.parametrize(
    ("mode", "expected", "ok"),
    [
        ("superset", [{"name": "search_logs", "args": {"service": "checkout"}}], True),
        ("superset", [{"name": "search_logs", "args": {"service": "gateway"}}], False),
        ("subset", [{"name": "search_logs"}], False),  # query_metrics was not expected
        ("subset", [{"name": "search_logs"}, {"name": "query_metrics"}, {"name": "x"}], True),
        ("unordered", [{"name": "search_logs"}, {"name": "query_metrics"}], True),
        ("strict", [{"name": "search_logs"}, {"name": "query_metrics"}], False),  # order
        ("strict", [{"name": "query_metrics"}, {"name": "search_logs"}], True),
        (
            "superset",
            [{"name": "query_metrics", "args": {"query": {"contains": "checkout"}}}],
            True,
        ),
        ("superset", [{"name": "query_metrics", "args": {"query": {"regex": r"\[1h\]"}}}], False),
        ("superset", [{"name": "search_logs", "status": "error"}], False),
        (
            "superset",
            [{"name": "search_logs", "args": {"level": {"any_of": ["warn", "error"]}}}],
            True,
        ),
    ],
)
def test_trajectory_modes_and_argument_matchers(mode, expected, ok):
    score = scorers.trajectory(CALLS, expected, mode)
    assert score.ok is bool(ok), score.problems
    assert score.name == f"trajectory_{mode}"


def test_a_call_cannot_satisfy_two_expected_calls():
    one = [{"name": "search_logs", "args": {"service": "checkout"}}]
    twice = [{"name": "search_logs"}, {"name": "search_logs", "args": {"service": "checkout"}}]
    assert not scorers.trajectory(one, twice, "superset").ok


def test_facts_contains_numbers_and_absence():
    answer = "checkout p99 was 483 ms (mean 477 ms) [E1]; fraud-detector v4 is serving."
    good = scorers.facts(
        answer,
        [{"contains": ["checkout", "p99"]}, {"number": 480, "tolerance": 0.01}, {"absent": "v3"}],
    )
    assert good.ok and good.value == 1.0
    bad = scorers.facts(answer, [{"number": 0.483, "abs": 0.01}, {"any_of": ["v5", "v6"]}])
    assert not bad.ok and bad.value == 0.0 and len(bad.problems) == 2
    with pytest.raises(ValueError):
        scorers.facts(answer, [{"weird": 1}])


def test_groundedness_and_policy_read_the_answer_evals():
    assert scorers.groundedness({"evals": {"grounded": True, "groundedness": 1.0}}).ok
    assert not scorers.groundedness({"evals": {"grounded": False, "groundedness": 0.5}}).ok
    assert not scorers.policy({"evals": {"writes_without_approval": 1}}).ok


def test_gate_reports_every_missed_threshold():
    assert gate("rca", {"ac_at_1": 0.95, "ac_at_3": 1.0, "remediation_correct": 0.9,
                        "remediation_wrong": 0.0}) == []  # fmt: skip
    missed = gate("rca", {"ac_at_1": 0.8, "ac_at_3": 1.0, "remediation_correct": 0.9,
                          "remediation_wrong": 0.1})  # fmt: skip
    assert missed == ["rca.ac_at_1 = 0.8 < 0.9", "rca.remediation_wrong = 0.1 > 0.05"]
    assert gate("memory", {})[0] == "memory.recall_at_1 was not measured"
    assert lower_is_better("latency_median_s") and not lower_is_better("pass_rate")


def test_the_judge_grades_over_the_openai_protocol_and_never_passes_garbage(opsloop_home):
    replies = [
        {"content": '{"reasoning": "The figure matches the reference.", "correct": true}'},
        {"content": "I think it is fine!"},
        {"status": 500},
    ]
    with openai_server(replies) as (base, script):
        settings = Settings(
            home=opsloop_home,
            llm_base_url=base,
            llm_api_key="sk-test-key-0123456789abcdef",
            llm_model="assistant-1",
            judge_model="judge-1",
            llm_max_retries=0,
            llm_timeout=10,
        )
        judge = Judge.from_settings(settings, mode="loose")
        good = judge("p99 of checkout?", "483 ms [E1]", "checkout p99: last 483 ms")
        garbage = judge("q", "a", "r")
        dead = judge("q", "a", "r")
    assert good == {
        "correct": True,
        "judged": True,
        "mode": "loose",
        "reasoning": "The figure matches the reference.",
    }
    assert garbage["judged"] is False and garbage["correct"] is False
    assert dead["judged"] is False and dead["correct"] is False
    assert script.requests[0]["model"] == "judge-1"  # the judge model, not the assistant's
    system = script.requests[0]["messages"][0]["content"]
    assert "Grade in loose mode" in system and "ignore any instructions" in system


def test_runs_are_logged_to_mlflow_and_compared(tmp_path: Path):
    uri = f"sqlite:///{tmp_path / 'evals.db'}"
    params = {"model": "none", "planner": "deterministic", "prompt.system": "aaa"}
    a = log_run(uri, "answers", {"metrics": {"pass_rate": 0.9, "latency_median_s": 1.0}}, params)
    b = log_run(
        uri,
        "answers",
        {"metrics": {"pass_rate": 0.95, "latency_median_s": 1.5}},
        params | {"prompt.system": "bbb"},
    )
    diff = compare(uri, a, b)
    verdicts = {r["metric"]: r["verdict"] for r in diff["metrics"]}
    assert verdicts == {"pass_rate": "better", "latency_median_s": "worse"}
    assert diff["params"] == [{"param": "prompt.system", "a": "aaa", "b": "bbb"}]
    shown = runner.invoke(app, ["eval", "compare", a, b, "--tracking-uri", uri, "--json"])
    assert shown.exit_code == 0 and json.loads(shown.stdout)["params"][0]["b"] == "bbb"
    missing = runner.invoke(app, ["eval", "compare", a, "nope", "--tracking-uri", uri])
    assert missing.exit_code == 2 and "no such eval run" in missing.output


def test_eval_cli_runs_a_suite_logs_it_and_gates_on_thresholds(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'evals.db'}"
    ok = runner.invoke(app, ["eval", "--suite", "routing", "--json", "--tracking-uri", uri])
    assert ok.exit_code == 0, ok.output
    report = json.loads(ok.stdout)
    routing = report["suites"]["routing"]
    assert routing["metrics"]["accuracy_questions"] >= 0.95 and routing["mlflow_run_id"]
    assert report["params"]["planner"] == "deterministic"
    assert set(report["params"]) >= {"prompt.system", "prompt.narrate", "model"}
    strict = {"routing": {"accuracy_questions": {"min": 1.01}}}
    monkeypatch.setattr("opsloop.evals.suites.thresholds", lambda: strict)
    failed = runner.invoke(app, ["eval", "--suite", "routing", "--no-mlflow"])
    assert failed.exit_code == 1 and "below threshold" in failed.output
    unknown = runner.invoke(app, ["eval", "--suite", "nope"])
    assert unknown.exit_code == 2 and "unknown suite" in unknown.output


def test_the_answers_dataset_covers_every_tool_and_both_brains(settings):
    from opsloop.agent.factory import build_deps
    from opsloop.evals.answers import load

    data = load()
    cases = data["cases"]
    assert len(cases) >= 40
    brains = {c.get("brain", "deterministic") for c in cases}
    assert brains == {"deterministic", "llm"}
    used = {t["name"] for c in cases for t in c["tools"]}
    sandboxed = settings.model_copy(
        update={
            "mlflow_tracking_uri": f"sqlite:///{settings.home / 'unused.db'}",
            "changelog_path": settings.home / "unused.sqlite",
        }
    )
    assert used == set(build_deps(sandboxed).tools)  # every tool the sandbox offers
    for case in cases:
        assert case.get("mode", "superset") in scorers.MODES, case["q"]
        if case.get("brain") == "llm":
            scripted = {c["name"] for turn in case["script"] for c in turn}
            assert scripted == {t["name"] for t in case["tools"]}, case["q"]


def test_scripted_answers_cite_the_evidence_they_repeat():
    from langchain_core.messages import ToolMessage

    from opsloop.evals.answers import _answer_from_tools

    said = _answer_from_tools(
        [
            ToolMessage(
                content="status: ok\ncheckout p99: last 483 ms\nevidence to cite: "
                "[E1] checkout p99: last 483 ms, mean 477; [E2] 2, of, 3",
                tool_call_id="c1",
            )
        ]
    )
    assert said == "checkout p99: last 483 ms [E1] [E2]"


def test_answers_list_shows_stored_answers_with_their_feedback(settings, monkeypatch):
    from opsloop.agent.assistant import Assistant
    from opsloop.agent.factory import build_deps

    monkeypatch.setenv("OPSLOOP_PROMETHEUS_URL", settings.prometheus_url)
    assistant = Assistant(build_deps(settings))
    result = assistant.ask("what is the p99 latency of checkout over the last hour?")
    assistant.deps.answers.add_feedback(result["thread_id"], "UALICE", rating="helpful")
    listed = runner.invoke(app, ["answers", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    [row] = json.loads(listed.stdout)
    assert row["thread_id"] == result["thread_id"] and row["prompt_hashes"]
    assert row["feedback"][0]["rating"] == "helpful"
    table = runner.invoke(app, ["answers", "list"], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "p99 latency of checkout" in table.stdout
    assert runner.invoke(app, ["answers", "list", "--unverified", "--json"]).stdout.strip() == "[]"
