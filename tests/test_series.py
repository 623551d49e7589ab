"""Series summaries: stats per window, change against the preceding window, units."""

import math

from opsloop.tools.analysis.series import (
    format_change,
    format_value,
    sparkline,
    summarise_matrix,
    unit_for_query,
)


def test_summarise_splits_current_and_previous_window():
    result = [
        {
            "metric": {"pod": "a"},
            "values": [[t, str(v)] for t, v in [(0, 1), (10, 1), (20, 2), (30, 4)]],
        }
    ]
    [s] = summarise_matrix(result, split_at=20)
    assert (s.min, s.max, s.mean, s.last, s.points) == (2, 4, 3, 4, 2)
    assert s.previous_mean == 1
    assert math.isclose(s.change, 2.0)


def test_summarise_skips_nan_and_series_without_current_points():
    result = [
        {"metric": {"pod": "a"}, "values": [[0, "NaN"], [10, "5"]]},
        {"metric": {"pod": "b"}, "values": [[0, "1"]]},
    ]
    stats = summarise_matrix(result, split_at=5)
    assert [s.labels["pod"] for s in stats] == ["a"]
    assert stats[0].change is None


def test_sparkline_is_bounded_and_flat_for_constant_series():
    assert len(sparkline(list(range(1000)), width=24)) == 24
    assert set(sparkline([3.0] * 10)) == {"▄"}
    assert sparkline([]) == ""


def test_format_value_units():
    assert format_value(0.4123, "seconds") == "412 ms"
    assert format_value(2.5, "seconds") == "2.5 s"
    assert format_value(3 * 2**30, "bytes") == "3 GiB"
    assert format_value(0.0123, "ratio") == "1.23 %"
    assert format_value(26.77, "per_second") == "26.8/s"
    assert format_value(float("nan"), "") == "NaN"
    assert format_change(0.1234) == "+12.3 %"
    assert format_change(-0.5) == "-50 %"


def test_unit_guess_from_query():
    assert unit_for_query("histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))") == "seconds"
    assert unit_for_query("sum(process_resident_memory_bytes)") == "bytes"
    assert unit_for_query("sum(rate(http_requests_total[5m]))") == "per_second"
    assert unit_for_query("sum(rate(process_cpu_seconds_total[5m]))") == "cores"
