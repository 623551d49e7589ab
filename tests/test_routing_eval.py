"""The routing eval meets its target on the shipped question set."""

from evals.routing import load_cases, run


def test_routing_questions_cover_every_tool():
    tools = {case["tool"] for case in load_cases()}
    assert len(load_cases()) >= 60
    assert {"query_metrics", "golden_signals", "search_logs", "rollback_model", "none"} <= tools


def test_routing_accuracy_at_least_95_percent():
    report = run()
    assert report["accuracy"] >= 0.95, report["failures"]
