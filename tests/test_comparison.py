"""Comparisons of two windows as typed: "p95 yesterday vs today", "errors now vs last week"."""

from datetime import UTC, datetime

import pytest

from opsloop.agent.planner.comparison import parse
from opsloop.agent.planner.deterministic import plan_question
from opsloop.agent.planner.timerange import parse_window
from opsloop.evals.routing import CATALOG, NOW


@pytest.mark.parametrize(
    ("text", "rng", "compare", "instant"),
    [
        ("p95 of gateway yesterday vs today", "15h30m", "1d", False),
        ("error rate now vs last week", "1h", "7d", True),
        ("compare checkout traffic to yesterday", "1h", "1d", False),
        ("how does checkout latency compare with the same time last week", "1h", "7d", False),
        ("is recommender slower than yesterday?", "1h", "1d", False),
        ("checkout p99 last 30m vs the same time yesterday", "30m", "1d", False),
        ("p99 now and same time last week", "1h", "7d", True),
        ("checkout errors week over week", "1h", "7d", False),
        ("recommender p99 rn vs same time last wk", "1h", "7d", True),
        ("p99 of checkout vs 2 days ago", "1h", "2d", False),
        ("checkout rps last 2h compared to yesterday", "2h", "1d", False),
        ("p95 last 30m vs an hour earlier", "30m", "1h", False),
    ],
)
def test_a_comparison_is_the_window_and_an_offset(text, rng, compare, instant):
    w = parse(text, NOW, UTC)
    assert (w.range, w.compare_arg(), w.instant) == (rng, compare, instant)


def test_yesterday_in_a_comparison_is_the_same_clock_window_not_the_calendar_day():
    w = parse("compare checkout traffic to yesterday", NOW, UTC)
    assert w.end is None and w.range == "1h" and w.compare_s == 86400


def test_explicit_windows_on_both_sides():
    w = parse("yesterday 14:00-15:00 vs today 14:00-15:00", NOW, UTC)
    assert w.end == datetime(2026, 11, 22, 15, tzinfo=UTC) and w.range == "1h"
    assert w.compare_arg() == "1d"
    w = parse("p99 yesterday 10:00-11:00 vs today 14:00-15:00", NOW, UTC)
    assert w.end == datetime(2026, 11, 22, 15, tzinfo=UTC) and w.compare_arg() == "1d4h"


def test_a_clock_window_named_once_holds_for_both_sides():
    w = parse("gateway p95 yesterday 2pm to 3pm vs today", NOW, UTC)
    assert w.end == datetime(2026, 11, 22, 15, tzinfo=UTC) and w.compare_arg() == "1d"


@pytest.mark.parametrize(
    "text",
    [
        "postgres p99 yesterday",
        "compare v7 and v8 of fraud-detector",
        "recs got worse since last week",
        "errors last week",
        "p99 of checkout 2 hours ago",
    ],
)
def test_no_comparison_leaves_the_window_as_before(text):
    assert parse(text, NOW, UTC) == parse_window(text, NOW, UTC)
    assert parse(text, NOW, UTC).compare_s is None


def test_clock_spans_need_minutes_or_am_pm():
    assert parse_window("p99 14:00-15:30", NOW, UTC).range == "1h30m"
    assert parse_window("p99 of 5-10 pods", NOW, UTC).range == "1h"


def test_the_planner_passes_the_comparison_to_query_metrics():
    plan = plan_question("is recommender slower than yesterday?", CATALOG, NOW, tz=UTC)
    [call] = plan.calls
    assert call.name == "query_metrics" and call.args["compare"] == "1d"
    assert 'service="recommender"' in call.args["query"] and call.args["range"] == "1h"
    plain = plan_question("recommender p99 last hour", CATALOG, NOW, tz=UTC)
    assert "compare" not in plain.calls[0].args


def test_model_version_comparisons_still_compare_versions():
    plan = plan_question("fraud-detector v6 vs v7, how do they compare", CATALOG, NOW, tz=UTC)
    assert plan.calls[0].name == "compare_model_versions"
