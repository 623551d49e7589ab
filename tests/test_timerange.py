"""Time ranges as on-call engineers type them."""

from datetime import UTC, datetime

import pytest

from opsloop.agent.planner.timerange import parse_window

NOW = datetime(2026, 11, 22, 15, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "rng"),
    [
        ("p99 last hour", "1h"),
        ("errors past 2 hours", "2h"),
        ("last 30m", "30m"),
        ("over the last 15 minutes", "15m"),
        ("in the past day", "1d"),
        ("2h", "2h"),
        ("last week", "7d"),
        ("previous 3 hrs", "3h"),
        ("since 14:00", "1h30m"),
        ("since 2pm", "1h30m"),
        ("what is latency", "1h"),
        ("last 90 min", "1h30m"),
    ],
)
def test_relative_windows(text, rng):
    assert parse_window(text, NOW, UTC).range == rng


def test_yesterday_is_the_previous_calendar_day():
    w = parse_window("errors yesterday", NOW, UTC)
    assert w.range == "1d" and w.end == datetime(2026, 11, 22, tzinfo=UTC)


def test_since_a_later_clock_time_means_yesterday():
    assert parse_window("since 16:00", NOW, UTC).range == "23h30m"


def test_now_is_an_instant_and_status_codes_are_not_seconds():
    assert parse_window("mem rn", NOW, UTC).instant
    assert parse_window("500s in checkout", NOW, UTC).range == "1h"


def test_between_two_times():
    w = parse_window("between 13:00 and 14:00", NOW, UTC)
    assert w.range == "1h" and w.end == datetime(2026, 11, 22, 14, tzinfo=UTC)


def test_invalid_clock_time_is_an_error():
    with pytest.raises(ValueError):
        parse_window("since 25:00", NOW, UTC)
