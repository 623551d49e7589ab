"""Releases and magnitudes in the hypothesis scorer: a deploy inside a call cycle, a model
version switch shipped by a deploy, and error rises too small to be a fault."""

from __future__ import annotations

from opsloop.agent.rca.assess import assess
from opsloop.agent.rca.evidence import severity
from opsloop.agent.rca.hypotheses import rank
from opsloop.tools.backends.prometheus.served_versions import _switches
from tests.test_rca_hypotheses import T0, change, findings, row, top

CYCLE = {"edge": ["orders"], "orders": ["inventory"], "inventory": ["orders", "db"]}


def test_in_a_call_cycle_the_side_that_was_deployed_explains_the_other():
    f = findings(
        topology=CYCLE,
        served={},
        alerted=["orders", "inventory"],
        rows=[
            row("orders", "error_ratio", "up", 99, current=0.2, baseline=0.002),
            row("inventory", "error_ratio", "up", 99, current=0.3, baseline=0.001),
        ],
        changes=[change("inventory", "deploy", 30, "inventory 4.12.0 deployed")],
    )
    ranked = rank(f)
    assert (ranked[0].kind, ranked[0].target) == ("service", "inventory")
    orders = next(h for h in ranked if h.target == "orders")
    assert orders.score < 0.5 * ranked[0].score
    assert any("follow inventory" in w for w in orders.why)
    # Without the deploy neither side of the cycle explains the other away.
    f.changes = []
    scores = {h.target: h.score for h in rank(f) if h.kind == "service"}
    assert scores["orders"] == scores["inventory"]


def test_an_error_rise_from_nothing_to_a_handful_is_not_a_fault():
    handful = row("retention", "error_ratio", "up", 99, current=0.0008, baseline=0.0)
    third = row("inventory", "error_ratio", "up", 99, current=0.33, baseline=0.0006)
    assert severity(handful) < 0.1 < 0.9 < severity(third)
    f = findings(topology=CYCLE | {"inventory": ["retention"]}, served={}, alerted=["inventory"],
                 rows=[handful, third])  # fmt: skip
    assert top(f) == ("service", "inventory")


def test_a_version_switch_shipped_by_a_deploy_is_the_model_release():
    switch = change("search-ranker", "version_switch", 20, "search-ranker now serves v15")
    switch["detail"] = {"from": "14", "to": "15"}
    f = findings(
        topology={"search": ["ranking"]},
        served={"ranking": ["search-ranker"]},
        alerted=[],
        alerted_models=["search-ranker"],
        alerted_quality=["search-ranker"],
        rows=[
            row("ranking", "model_quality", "down", 25, model="search-ranker"),
            row("ranking", "cpu_util", "up", 3.8, current=0.68, baseline=0.55),
        ],
        changes=[
            change("ranking", "deploy", 40, "deployment ml/ranking-server rolled out"),
            switch,
        ],
    )
    assert top(f) == ("model_version", "search-ranker")
    ranking = next(h for h in rank(f) if h.target == "ranking")
    assert "its deploy shipped search-ranker v15" in ranking.why
    action = assess(f).action
    assert action["name"] == "rollback_model"
    assert action["args"] == {"model": "search-ranker", "version": "14"}


def test_the_serving_majority_moving_to_a_new_version_is_one_switch():
    stamps = [T0 + 15 * i for i in range(12)]
    old = {t: (10.0 if i < 6 else 0.5 if i < 8 else 0.0) for i, t in enumerate(stamps)}
    new = {t: (0.0 if i < 5 else 6.0 if i == 5 else 10.0) for i, t in enumerate(stamps)}
    events = _switches("ranker", {"14": old, "15": new})
    assert [(e.detail["from"], e.detail["to"], e.kind) for e in events] == [
        ("14", "15", "version_switch")
    ]
    assert events[0].at == stamps[5]  # when v15 took its first traffic, not when v14 left
    assert _switches("ranker", {"14": old}) == []


def test_a_latency_rise_of_a_few_per_cent_is_noise_however_steady():
    steady = row("ranking", "latency_p99", "up", 99, current=0.0507, baseline=0.0499)
    doubled = row("catalog", "latency_p99", "up", 8, current=0.21, baseline=0.1)
    assert severity(steady) <= 0.05 < 0.5 < severity(doubled)


def test_the_scan_widens_its_rate_range_where_samples_are_sparse():
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from opsloop.tools.toolsets.scan import rate_for

    def ctx(interval: float | None) -> object:
        return SimpleNamespace(discovery=SimpleNamespace(scrape_interval=lambda at: interval))

    now = datetime.now(UTC)
    assert rate_for(ctx(15.0), "1m", now) == "1m"
    assert rate_for(ctx(60.0), "1m", now) == "4m"  # a 60 s scrape interval, or downsampled
    assert rate_for(ctx(None), "1m", now) == "1m"


def test_the_eval_asks_that_the_verdict_itself_names_the_decisive_evidence():
    from opsloop.evals.rca import decisive_named

    report = (
        "**Most likely cause: inventory: the service itself** (score 1.00)\n"
        "- deploy 12:00: deployment shop/inventory rolled out [E2]\n\n"
        "Other hypotheses:\n- model version m (score 0.2): alias move 11:00 [E3]"
    )
    assert decisive_named(report, "service")
    assert not decisive_named(report, "model_version")  # only a weaker hypothesis names it


def test_a_quality_alert_is_impact_a_false_alarm_cannot_ignore():
    switch = change("search-ranker", "version_switch", 20, "search-ranker now serves v15")
    switch["detail"] = {"from": "14", "to": "15"}
    f = findings(
        topology={"search": ["ranking"]},
        served={"ranking": ["search-ranker"]},
        alerted_models=["search-ranker"],
        alerted_quality=["search-ranker"],
        rows=[],  # the monitor's gauge has not moved far enough for the scan yet
        changes=[switch],
    )
    assert top(f) == ("model_version", "search-ranker")
    assert assess(f).hypotheses[0].kind != "none"
