"""query_metrics compare=: both windows, the change, and an answer the self-check accepts."""

from datetime import UTC, datetime, timedelta

import pytest

from opsloop.agent.grounding.compose import compose
from opsloop.agent.grounding.selfcheck import check_answer
from opsloop.tools.errors import QueryError
from opsloop.tools.toolsets.compare import baseline_of, offset_seconds, reference_name
from opsloop.tools.toolsets.metrics import QueryMetricsArgs, run_query
from opsloop.tools.toolsets.windows import when

NOW = datetime(2026, 11, 22, 15, 30, tzinfo=UTC)
P95 = (
    "histogram_quantile(0.95, sum by (le) "
    '(rate(http_server_request_duration_seconds_bucket{service_name="web"}[5m])))'
)
ERRORS = 'sum by (service_name) (rate(http_requests_total{code=~"5.."}[5m]))'


class FakeProm:
    """Serves `now` per series after `split` and `then` before it, with a small wobble."""

    def __init__(self, now: list[float], then: list[float], labels: list[dict[str, str]]):
        self.now, self.then, self.labels = now, then, labels
        self.calls: list[tuple[datetime, datetime]] = []

    def value(self, t: float, i: int) -> float:
        base = self.now[i] if t > (NOW - timedelta(hours=3)).timestamp() else self.then[i]
        return base * (1 + 0.1 * ((int(t) // 60) % 3 - 1))

    def range(self, query: str, start: datetime, end: datetime, step: float) -> list[dict]:
        self.calls.append((start, end))
        ts = [
            start.timestamp() + k * step
            for k in range(int((end - start).total_seconds() // step) + 1)
        ]
        return [
            {"metric": lbl, "values": [[t, str(self.value(t, i))] for t in ts]}
            for i, lbl in enumerate(self.labels)
        ]

    def instant(self, query: str, at: datetime) -> list[dict]:
        self.calls.append((at, at))
        t = at.timestamp()
        return [
            {"metric": lbl, "value": [t, str(self.value(t, i))]}
            for i, lbl in enumerate(self.labels)
        ]


class Ctx:
    def __init__(self, prom: FakeProm):
        self.prom = prom

    def now(self) -> datetime:
        return NOW

    def link(self, query: str, start: datetime, end: datetime) -> str:
        return "http://prometheus/graph"


def _ask(args: dict, prom: FakeProm) -> tuple[dict, str, object]:
    result = run_query(Ctx(prom), QueryMetricsArgs(**args))
    ev = result.evidence[0]
    ev.id = "E1"
    call = {"name": "query_metrics", "args": args, "status": result.status.value,
            "summary": result.summary, "data": result.data, "evidence": ["E1"]}  # fmt: skip
    answer = compose([call], [])
    check = check_answer(answer, [ev.model_dump()], known_names=["web"], calls=[call])
    return call, answer, check


def test_range_comparison_queries_the_same_clock_window_a_day_earlier():
    prom = FakeProm([0.412], [0.380], [{}])
    args = {"query": P95, "range": "1h", "compare": "day", "unit": "seconds", "title": "web p95"}
    _, answer, check = _ask(args, prom)
    day = timedelta(days=1)
    assert prom.calls == [
        (NOW - timedelta(hours=1), NOW),
        (NOW - timedelta(hours=1) - day, NOW - day),
    ]
    assert (
        "2026-11-22 14:30–15:30 UTC vs the same time yesterday (2026-11-21 14:30–15:30 UTC)"
        in answer
    )
    assert "mean 412 ms" in answer and "prior mean 380 ms" in answer
    assert "up 32 ms (+8.42 %)" in answer
    assert check.grounded, check.problems()


def test_instant_comparison_a_week_earlier_with_several_series():
    labels = [{"service_name": "web"}, {"service_name": "api"}]
    prom = FakeProm([0.02, 0.004], [0.03, 0.002], labels)
    args = {"query": ERRORS, "instant": True, "compare": "7d", "unit": "ratio", "title": "errors"}
    _, answer, check = _ask(args, prom)
    assert prom.calls[1][0] == NOW - timedelta(days=7)
    assert "vs the same time last week" in answer and "down 0.9 pp (-33.3 %)" in answer
    assert check.grounded, check.problems()


def test_a_wrong_change_is_caught():
    prom = FakeProm([0.412], [0.380], [{}])
    call, answer, _ = _ask({"query": P95, "range": "1h", "compare": "1d", "unit": "seconds"}, prom)
    ev = run_query(Ctx(FakeProm([0.412], [0.380], [{}])), QueryMetricsArgs(**call["args"]))
    record = ev.evidence[0].model_dump() | {"id": "E1"}
    wrong = answer.replace("up 32 ms (+8.42 %)", "up 32 ms (+18.4 %)")
    assert not check_answer(wrong, [record], known_names=["web"], calls=[call]).grounded
    wrong = answer.replace("up 32 ms", "down 32 ms")
    assert not check_answer(wrong, [record], known_names=["web"], calls=[call]).grounded


def test_a_missing_reference_window_is_said_not_invented():
    class Empty(FakeProm):
        def range(self, query, start, end, step):
            return super().range(query, start, end, step) if end == NOW else []

    args = {"query": P95, "range": "1h", "compare": "week", "unit": "seconds"}
    _, answer, check = _ask(args, Empty([0.4], [0.4], [{}]))
    assert "no samples" in answer and "change" not in answer.split("no samples")[1][:5]
    assert check.grounded, check.problems()


def test_offsets_and_their_names():
    assert offset_seconds("day") == 86400 and offset_seconds("1w") == 604800
    assert baseline_of(86400) == "day" and baseline_of(3600) == "previous:3600"
    assert reference_name(172800) == "the same window 2d before"
    with pytest.raises(QueryError):
        offset_seconds("fortnight")


def test_a_calendar_day_window_names_both_dates():
    start = datetime(2026, 11, 21, tzinfo=UTC)
    assert when(start, start + timedelta(days=1)) == "2026-11-21 00:00–2026-11-22 00:00 UTC"
