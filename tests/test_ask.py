"""The acceptance path: a p99 question answered from a real Prometheus, every figure checked."""

import re
from datetime import UTC, datetime

import httpx

from opsloop.agent.assistant import Assistant
from opsloop.agent.grounding.selfcheck import figures
from opsloop.tools.analysis.series import format_value
from opsloop.tools.toolsets.metrics import step_for

P99_SHAPE = re.compile(
    r"^histogram_quantile\(0\.99, sum by \(le\) \(rate\(http_server_request_duration_seconds_bucket"
    r'\{service_name="checkout"\}\[5m\]\)\)\)$'
)


def test_p99_question_makes_one_correct_query_and_matches_prometheus(settings, prometheus):
    assistant = Assistant.from_settings(settings)
    result = assistant.ask("what is the p99 latency of checkout over the last hour?")
    assert [c["name"] for c in result["tool_calls"]] == ["query_metrics"]
    call = result["tool_calls"][0]
    assert call["status"] == "ok" and P99_SHAPE.match(call["args"]["query"])
    assert result["evals"]["grounded"] and result["evals"]["groundedness"] == 1.0
    assert result["evidence"][0]["id"] == "E1" and "[E1]" in result["answer"]

    # Every figure in the answer is what Prometheus itself returns for the linked window.
    raw = _prometheus_window(prometheus, call["args"]["query"], result)
    expected = {"last": raw[-1], "mean": sum(raw) / len(raw), "min": min(raw), "max": max(raw)}
    for name, value in expected.items():
        assert f"{name} {format_value(value, 'seconds')}" in result["answer"], name
    assert all(f.unit in ("ms", "%", "h") for f in figures(result["answer"]))
    assert set(result) >= {"answer", "tool_calls", "evidence", "evals", "usage", "thread_id"}


def test_follow_up_on_the_same_thread_numbers_evidence_onwards(settings):
    assistant = Assistant.from_settings(settings)
    first = assistant.ask("p95 of gateway last 30m")
    second = assistant.ask("and the error rate of gateway?", thread_id=first["thread_id"])
    assert [e["id"] for e in second["evidence"]] == ["E2"]
    assert second["tool_calls"][0]["args"]["query"].count("code=~") == 1


def test_answers_are_recorded_and_recalled(settings):
    assistant = Assistant.from_settings(settings)
    assistant.ask("memory of fraud-api right now")
    records = assistant.deps.answers.recent()
    assert records[0]["question"] == "memory of fraud-api right now"
    assert records[0]["prompt_hashes"]["system"]
    assert assistant.deps.answers.similar("fraud-api memory usage", exclude_thread="x")


def test_unknown_service_answer_names_close_matches(settings):
    result = Assistant.from_settings(settings).ask("p99 of chekout-v2 last 30m")
    assert result["tool_calls"] == [] and "chekout-v2" in result["answer"]
    assert "Known services" in result["answer"] and result["error"] is None


def _prometheus_window(prometheus: str, query: str, result: dict) -> list[float]:
    """Ask Prometheus directly for the hour the evidence link shows (same step grid)."""
    end = httpx.URL(result["evidence"][0]["link"]).params["g0.end_input"]
    end_ts = datetime.strptime(end, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()
    step = step_for(2 * 3600)  # the tool fetches the preceding hour too, for the change
    values = httpx.get(
        f"{prometheus}/api/v1/query_range",
        params={
            "query": query,
            "start": end_ts - 7200,
            "end": end_ts,
            "step": step,
        },
    ).json()["data"]["result"][0]["values"]
    return [float(v) for t, v in values if t >= end_ts - 3600]


def test_comparison_answers_both_windows_and_the_change_from_prometheus(settings, prometheus):
    # The test Prometheus holds a few hours of history, so compare with an hour earlier.
    result = Assistant.from_settings(settings).ask("p95 of gateway last 30m vs an hour earlier")
    [call] = result["tool_calls"]
    assert call["status"] == "ok" and call["args"]["compare"] == "1h", result["answer"]
    assert result["evals"]["grounded"], result["answer"]
    assert "⚠ Unverified" not in result["answer"]
    end = httpx.URL(result["evidence"][0]["link"]).params["g0.end_input"]
    end_ts = datetime.strptime(end, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()
    now = _mean(prometheus, call["args"]["query"], end_ts - 1800, end_ts)
    then = _mean(prometheus, call["args"]["query"], end_ts - 5400, end_ts - 3600)
    answer = result["answer"]
    assert "vs the same window 1h before" in answer
    assert f"mean {format_value(now, 'seconds')}" in answer
    assert f"prior mean {format_value(then, 'seconds')}" in answer
    assert f"{'up' if now > then else 'down'} {format_value(abs(now - then), 'seconds')}" in answer


def _mean(prometheus: str, query: str, start: float, end: float) -> float:
    """Ask Prometheus directly for a window's mean, on the tool's step grid."""
    params = {"query": query, "start": start, "end": end, "step": step_for(end - start)}
    got = httpx.get(f"{prometheus}/api/v1/query_range", params=params).json()
    values = [float(v) for _, v in got["data"]["result"][0]["values"]]
    return sum(values) / len(values)
