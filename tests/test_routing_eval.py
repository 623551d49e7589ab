"""The routing eval meets its target on every shipped question set."""

import pytest

from opsloop.evals.routing import GATED, load_cases, run


def test_routing_questions_cover_every_tool():
    cases = load_cases()
    tools = {case["tool"] for case in cases}
    assert len(cases) >= 60
    assert {"query_metrics", "golden_signals", "search_logs", "rollback_model", "none"} <= tools


@pytest.mark.parametrize("dataset", GATED)
def test_routing_accuracy_at_least_95_percent(dataset):
    report = run(dataset)
    assert report["accuracy"] >= 0.95, report["failures"]
