"""The alert's own condition as evidence: reading rules, checking them on a real Prometheus,
and what the ranking makes of a condition that holds, held yesterday, or flaps (issue 25)."""

from __future__ import annotations

from typing import Any

import pytest

from opsloop.agent.rca.alerts import Alert
from opsloop.agent.rca.assess import assess
from opsloop.agent.rca.gather import condition_calls
from opsloop.agent.rca.hypotheses import rank
from opsloop.agent.rca.scope import Scope
from opsloop.tools.backends.prometheus.client import PromClient
from opsloop.tools.backends.prometheus.discovery import Discovery
from opsloop.tools.backends.prometheus.rules import episodes, split_condition, widen_ranges
from opsloop.tools.base import ToolStatus
from opsloop.tools.errors import QueryError
from opsloop.tools.toolsets.condition import condition_tools
from opsloop.tools.toolsets.metrics import MetricsContext

from .test_rca_hypotheses import T0, findings, row

RATE = "sum by (service_name) (rate(http_server_request_duration_seconds_count[1m]))"


@pytest.mark.parametrize(
    ("expr", "signal", "op", "threshold"),
    [
        (
            "(sum(rate(a[30s])) / sum(rate(b[30s]))) > 0.05",
            "sum(rate(a[30s])) / sum(rate(b[30s]))",
            ">",
            0.05,
        ),
        ("up == 0", "up", "==", 0.0),
        ('x{code!="200",le="0.5"} <= bool 2', 'x{code!="200",le="0.5"}', "<=", 2.0),
        ("m >= 3 and on (job) n > 1", "m", ">=", 3.0),
        ("a < on (model) group_left () b", "a", "<", None),
        ("(a) > (b)", "a", ">", None),
        ('max(m{s="a > b"}) > 1', 'max(m{s="a > b"})', ">", 1.0),
    ],
)
def test_a_rule_splits_at_its_top_level_comparison(expr, signal, op, threshold):
    cond = split_condition(expr)
    assert cond is not None
    assert (cond.signal, cond.op, cond.threshold) == (signal, op, threshold)


def test_rules_without_a_comparison_and_short_ranges():
    assert split_condition('absent(up{job="x"})') is None
    assert widen_ranges("rate(a[30s]) / rate(b[5m] offset 30m)", 240) == (
        "rate(a[4m]) / rate(b[5m] offset 30m)"
    )
    assert widen_ranges("max_over_time(c[1m:10s])", 120) == "max_over_time(c[2m:10s])"
    assert episodes([False, True, True, False, True, False, True]) == 3


@pytest.fixture
def check(prometheus):
    prom = PromClient(prometheus)
    ctx = MetricsContext(prom=prom, discovery=Discovery(prom), prometheus_url=prometheus)
    return {t.name: t for t in condition_tools(ctx)}["check_alert_condition"]


def test_a_holding_condition_is_read_back_with_its_value(check):
    result = check.invoke(
        {
            "alertname": "GatewayTraffic",
            "labels": {"service_name": "gateway", "severity": "page"},
            "expr": f"{RATE} > 0.001",
        }
    )
    assert result.status is ToolStatus.OK
    d = result.data
    assert d["holds"] and d["op"] == ">" and d["level"] == 0.001
    assert d["value"] > 1  # gateway's request rate, not another service's
    assert d["yesterday_holds"] is None  # three hours of history: nothing a day back
    assert d["episodes"] == 1 and not d["flapping"]
    assert "GatewayTraffic's condition holds" in result.summary
    assert result.evidence[0].values["value"] == pytest.approx(d["value"])
    assert result.evidence[0].link


def test_a_condition_that_does_not_hold_and_an_unknown_rule(check):
    result = check.invoke(
        {"alertname": "Huge", "labels": {"service_name": "gateway"}, "expr": f"{RATE} > 1e9"}
    )
    assert result.status is ToolStatus.OK and not result.data["holds"]
    assert result.data["value"] > 1  # the signal is still read: "it is X, below the level"
    assert "does not hold" in result.summary
    # A rule Prometheus cannot evaluate is an error, never "does not hold" (which would let
    # the verdict call the alert a false alarm).
    with pytest.raises(QueryError, match="rejected the query"):
        check.invoke({"alertname": "Broken", "labels": {}, "expr": "sum(rate(x[5m]) > "})
    missing = check.invoke({"alertname": "NoSuchRule", "labels": {}})
    assert missing.status is ToolStatus.NO_DATA and "no alerting rule named" in missing.summary


def test_the_playbook_reads_back_each_firing_alert_once():
    labels = {"alertname": "ModelQualityDrop", "model": "m1", "service_name": "svc"}
    url = "http://prom:9090/graph?g0.expr=model_quality+%3C+0.7&g0.tab=1"
    alerts = [
        Alert("ModelQualityDrop", "firing", labels, {}, T0, None, "a", url),
        Alert("ModelQualityDrop", "firing", labels, {}, T0, None, "b", url),
        Alert("Gone", "resolved", {"alertname": "Gone"}, {}, T0, T0, "c"),
    ]
    s = Scope(T0, alerts, ["svc"], ["m1"], ["ModelQualityDrop"], "t", "page")
    calls = condition_calls(s)
    assert [n for n, _ in calls] == ["check_alert_condition"]
    assert calls[0][1]["expr"] == "model_quality < 0.7"
    assert calls[0][1]["labels"]["model"] == "m1"


def condition(alert: str, **kw: Any) -> dict[str, Any]:
    base = {"alert": alert, "labels": {}, "holds": True, "value": 0.71, "level": 0.75, "op": "<"}
    return base | {"yesterday_holds": False, "flapping": False, "episodes": 1, "eid": "E-c"} | kw


def test_a_model_alert_that_holds_is_no_false_alarm_and_drift_makes_it_the_data():
    # Quality below objective on the second model, input drift below the PSI threshold
    # (0.23 < 0.25) but present: the data, with a retrain; never "no fault".
    f = findings(
        alerted=["recommender"],
        alerted_models=["recsys-ranker"],
        alert_names=["ModelQualityDrop"],
        conditions=[
            condition(
                "ModelQualityDrop", labels={"model": "recsys-ranker", "service_name": "recommender"}
            )
        ],
        drift={"recsys-ranker": {"features": ["item_popularity"], "psi": {"item_popularity": 0.3}}},
    )
    verdict = assess(f)
    top = verdict.hypotheses[0]
    assert (top.kind, top.target) == ("data", "recsys-ranker")
    assert verdict.action and verdict.action["name"] == "retrain_model"
    assert verdict.action["args"]["model"] == "recsys-ranker"
    assert next(h for h in rank(f) if h.kind == "none").score == 0.0


def test_a_false_alarm_says_why_the_condition_does_not_count():
    traffic = [row("gateway", "request_rate", "up", 12.0, seasonal=True)]
    surge = {"labels": {"service_name": "gateway"}, "value": 90.0, "level": None, "op": ">"}
    daily = findings(
        alerted=["gateway"],
        alert_names=["TrafficSurge"],
        rows=traffic,
        conditions=[condition("TrafficSurge", yesterday_holds=True, **surge)],
    )
    top = rank(daily)[0]
    assert top.kind == "none"
    assert any("held around this time yesterday too" in w for w in top.why)
    flaps = findings(
        alerted=["gateway"],
        alert_names=["TrafficSurge"],
        rows=traffic,
        conditions=[condition("TrafficSurge", flapping=True, episodes=5, **surge)],
    )
    assert rank(flaps)[0].kind == "none"
    assert any("keeps flapping (5 separate episodes" in w for w in rank(flaps)[0].why)
    # The same surge today only: the alerted service stands, not "false alarm" — also when
    # the scan saw nothing move (the baseline already held the level), with the reason.
    for rows in (traffic, []):
        fresh = findings(
            alerted=["gateway"],
            alert_names=["TrafficSurge"],
            rows=rows,
            conditions=[condition("TrafficSurge", **surge)],
        )
        top = rank(fresh)[0]
        assert top.kind != "none" and top.target == "gateway"
    assert top.score >= 0.15 and any("its alert TrafficSurge still holds" in w for w in top.why)


def test_a_condition_that_no_longer_holds_asserts_nothing():
    f = findings(
        alerted=["gateway"],
        alert_names=["HighErrorRatio"],
        conditions=[condition("HighErrorRatio", holds=False, labels={"service_name": "gateway"})],
    )
    top = rank(f)[0]
    assert top.kind == "none"
    assert any("no longer holds" in w for w in top.why)
