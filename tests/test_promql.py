"""PromQL building: escaping stops injection, names are validated, durations round-trip."""

import pytest

from opsloop.tools.backends.prometheus.promql import (
    escape_value,
    format_duration,
    matcher,
    parse_duration,
    regex_literal,
    selector,
)
from opsloop.tools.backends.prometheus.signals import SIGNALS, MetricMap, build_signal

FULL = MetricMap(
    requests="http_requests_total",
    latency="http_request_duration_seconds_bucket",
    cpu="process_cpu_seconds_total",
    memory="process_resident_memory_bytes",
    restarts="kube_pod_container_status_restarts_total",
)


def test_escape_value_neutralises_quotes_backslashes_and_newlines():
    hostile = 'checkout"} or vector(1) #\\\n'
    escaped = escape_value(hostile)
    assert escaped == 'checkout\\"} or vector(1) #\\\\\\n'
    # The matcher stays one string literal: the only unescaped quotes are the delimiters.
    m = matcher("service", hostile)
    body = m[len('service="') : -1]
    assert '"' not in body.replace('\\"', "")


def test_matcher_rejects_bad_label_names_and_operators():
    with pytest.raises(ValueError):
        matcher('service"} or up{a', "x")
    with pytest.raises(ValueError):
        matcher("service", "x", op="==")


def test_selector_validates_metric_name():
    assert selector("up", ['job="a"']) == 'up{job="a"}'
    with pytest.raises(ValueError):
        selector("up{}", [])


def test_regex_literal_escapes_metacharacters():
    assert regex_literal("a.b|c") == "a\\.b\\|c"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("5m", 300),
        ("1h30m", 5400),
        ("2d", 172800),
        ("1w", 604800),
        ("250ms", 0.25),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "5", "m5", "5x", "1h 30m", "-5m"])
def test_parse_duration_rejects_garbage(bad):
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_format_duration_round_trips():
    for seconds in (15, 60, 90, 3600, 5400, 86400, 90061):
        assert parse_duration(format_duration(seconds)) == seconds


def test_latency_quantile_is_histogram_quantile_over_service_buckets():
    q = build_signal("latency_p99", "checkout", FULL)
    assert q is not None
    assert q.promql == (
        "histogram_quantile(0.99, sum by (le) "
        '(rate(http_request_duration_seconds_bucket{service="checkout"}[5m])))'
    )
    assert q.unit == "seconds"


def test_error_ratio_divides_5xx_by_all_and_never_goes_empty():
    q = build_signal("error_ratio", "fraud-api", FULL, window="1m")
    assert q is not None
    assert 'code=~"5.."' in q.promql and "or vector(0)" in q.promql and "[1m]" in q.promql


def test_every_signal_builds_for_a_full_metric_map_and_none_for_an_empty_one():
    for signal in SIGNALS:
        assert build_signal(signal, "checkout", FULL) is not None
        assert build_signal(signal, "checkout", MetricMap()) is None


def test_signal_without_service_groups_by_the_service_label():
    q = build_signal("request_rate", None, FULL, service_label="app")
    assert q is not None and q.promql.startswith("sum by (app) (") and "{" not in q.promql


def test_hostile_service_name_cannot_break_out_of_the_matcher():
    q = build_signal("request_rate", 'x"}) or on() vector(1) or (up{a="', FULL)
    assert q is not None
    assert q.promql.count('service="') == 1
    assert 'service="x\\"}) or on() vector(1) or (up{a=\\""' in q.promql
