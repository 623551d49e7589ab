"""The deterministic planner: intents, entities and tool calls from typed questions."""

from datetime import UTC

from opsloop.agent.planner.deterministic import plan_question
from opsloop.evals.routing import CATALOG, NOW


def plan(q: str, available=None):
    return plan_question(q, CATALOG, NOW, tz=UTC, available=available)


def test_p99_question_becomes_one_histogram_quantile_query():
    p = plan("what is the p99 latency of checkout over the last hour?")
    [call] = p.calls
    assert call.name == "query_metrics"
    assert call.args["query"].startswith("histogram_quantile(0.99, sum by (le) (rate(")
    assert 'http_request_duration_seconds_bucket{service="checkout"}' in call.args["query"]
    assert call.args["range"] == "1h" and call.args["instant"] is False


def test_typos_abbreviations_and_two_signals():
    p = plan("cpu n memroy for chekout past 2 hours")
    assert [c.args["title"] for c in p.calls] == ["checkout CPU usage", "checkout memory (RSS)"]
    assert all(c.args["range"] == "2h" for c in p.calls)


def test_unknown_service_gets_suggestions_and_no_calls():
    p = plan("p99 of fraud-apii-v2 last 30m")
    assert not p.calls
    assert "fraud-apii-v2" in p.notes[0] and "Known services" in p.notes[0]


def test_close_misspelling_is_resolved_not_rejected():
    assert plan("p95 of fraudapi").calls[0].args["title"] == "fraud-api p95 latency"


def test_unavailable_capability_says_so_and_keeps_the_planned_call():
    p = plan("roll back fraud-detector to v7", available={"query_metrics"})
    assert not p.calls
    assert p.unavailable[0].name == "rollback_model"
    assert p.unavailable[0].args == {"model": "fraud-detector", "version": "7"}
    assert "not configured" in p.notes[0]


def test_service_to_model_mapping_for_model_questions():
    p = plan("which version is fraud-api serving")
    assert p.calls[0].name == "model_status" and p.calls[0].args["model"] == "fraud-detector"


def test_help_and_gibberish_answer_with_guidance():
    assert plan("help").intent == "help"
    p = plan("asdf qwerty")
    assert p.intent == "unknown" and "Known services" in p.notes[0]


def test_hostile_text_stays_inside_the_label_matcher():
    p = plan('p99 of checkout"} or vector(1) # last 30m')
    query = p.calls[0].args["query"]
    assert query.count("{") == 1 and 'service="checkout"' in query


def test_metric_named_verbatim_is_queried_with_scoping():
    from dataclasses import replace

    catalog = replace(
        CATALOG,
        metrics=["model_online_auc", "http_requests_total", "model_prediction_score_bucket"],
    )
    p = plan_question("model_online_auc for fraud-detector last 15m", catalog, NOW, tz=UTC)
    [call] = p.calls
    assert call.args["query"] == 'model_online_auc{model="fraud-detector"}'
    assert call.args["range"] == "15m"
    p = plan_question("http_requests_total of checkout", catalog, NOW, tz=UTC)
    assert p.calls[0].args["query"] == (
        'sum by (service) (rate(http_requests_total{service="checkout"}[5m]))'
    )
    p = plan_question("model_prediction_score_bucket", catalog, NOW, tz=UTC)
    assert p.calls[0].args["query"].startswith("histogram_quantile(0.99, sum by (le)")
