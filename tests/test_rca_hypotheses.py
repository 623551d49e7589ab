"""The hypothesis scorer on hand-built findings: each fault pattern, and the traps."""

from __future__ import annotations

from typing import Any

import pytest

from opsloop.agent.rca.assess import assess
from opsloop.agent.rca.evidence import change_weight, headroom
from opsloop.agent.rca.hypotheses import Findings, rank

T0 = 1_800_000_000.0
TOPOLOGY = {
    "gateway": ["checkout", "recommender"],
    "checkout": ["fraud-api"],
    "fraud-api": ["feature-store"],
    "recommender": ["feature-store"],
    "feature-store": ["postgres"],
}
SERVED = {"fraud-api": ["fraud-detector"], "recommender": ["recsys-ranker"]}
OWNERS = {"checkout": "payments", "postgres": "data-platform", "feature-store": "data-platform"}


def row(service: str, signal: str, direction: str, z: float, **extra: Any) -> dict[str, Any]:
    return {
        "service": service,
        "signal": signal,
        "direction": direction,
        "z": z,
        "onset": T0 - 60,
        "text": f"{service} {signal} {direction}",
        "eid": f"E-{service}-{signal}",
        **extra,
    }


def change(target: str, kind: str, ago_s: float, summary: str = "") -> dict[str, Any]:
    return {
        "at": T0 - 60 - ago_s,
        "kind": kind,
        "target": target,
        "summary": summary or f"{target} {kind}",
        "when": "then",
        "eid": "E-changes",
    }


def findings(**kw: Any) -> Findings:
    base: dict[str, Any] = dict(
        t0=T0,
        alerted=[],
        alerted_models=[],
        alert_names=[],
        topology=TOPOLOGY,
        served=SERVED,
        owners=OWNERS,
    )
    return Findings(**(base | kw))


def top(f: Findings) -> tuple[str, str]:
    best = rank(f)[0]
    return best.kind, best.target


def test_errors_start_in_the_callee_not_the_busier_caller():
    f = findings(
        alerted=["gateway", "checkout"],
        alert_names=["HighErrorRatio"],
        rows=[
            row("gateway", "error_ratio", "up", 99),
            row("checkout", "error_ratio", "up", 99),
            row("fraud-api", "request_rate", "down", 4),
            row("fraud-api", "latency_p99", "down", 6),
        ],
        changes=[change("checkout", "config", 10), change("checkout", "deploy", 5.5 * 3600)],
    )
    assert top(f) == ("service", "checkout")
    verdict = assess(f)
    assert verdict.action == {
        "name": "escalate",
        "args": {"team": "payments", "service": "checkout"},
        "why": "the fault is in checkout itself",
    }


def test_a_slow_service_waiting_on_an_unmeasured_callee_points_at_the_callee():
    rows = [row(s, "latency_p99", "up", 40) for s in ("gateway", "checkout", "fraud-api")]
    rows += [row("feature-store", "latency_p99", "up", 60)]
    f = findings(
        alerted=["gateway", "checkout", "fraud-api", "feature-store"],
        alert_names=["LatencySLOBurn"],
        rows=rows,
        changes=[change("postgres", "deploy", 5, "postgres migration 0042 applied")],
    )
    kind, target = top(f)
    assert (kind, target) == ("dependency", "postgres")
    # Without the change event the unmeasured callee is still a suspect, ranked near the top.
    f.changes = []
    assert "postgres" in [h.target for h in rank(f)[:2]]


def test_a_busy_slow_service_is_saturated_not_waiting():
    f = findings(
        alerted=["recommender"],
        alert_names=["CPUSaturation", "LatencySLOBurn"],
        rows=[
            row("recommender", "latency_p99", "up", 50),
            row("recommender", "cpu_util", "up", 80),
            row("gateway", "latency_p99", "up", 12),
        ],
        changes=[change("recommender", "deploy", 5)],
    )
    assert top(f) == ("infra", "recommender")


def test_quality_drop_after_an_alias_move_is_the_release():
    f = findings(
        alerted=["fraud-api"],
        alerted_models=["fraud-detector"],
        alert_names=["ModelQualityDrop"],
        alerted_quality=["fraud-detector"],  # the alert says the model performs badly
        rows=[row("fraud-api", "model_quality", "down", 30, model="fraud-detector")],
        changes=[change("fraud-detector", "alias_move", 3)],
        drift={"fraud-detector": {"features": [], "psi": {}, "eid": "E-drift"}},
    )
    assert top(f) == ("model_version", "fraud-detector")
    assert assess(f).action["name"] == "rollback_model"


def test_drift_without_a_release_is_the_data():
    f = findings(
        alerted=["fraud-api"],
        alerted_models=["fraud-detector"],
        alert_names=["FeatureDrift"],
        rows=[row("fraud-api", "model_quality", "down", 10, model="fraud-detector")],
        changes=[change("fraud-detector", "alias_move", 30 * 3600)],
        drift={
            "fraud-detector": {
                "features": ["amount", "txn_velocity"],
                "psi": {"amount": 0.9, "txn_velocity": 1.4},
                "eid": "E-drift",
            },
            "recsys-ranker": {"features": [], "psi": {}, "eid": "E-drift2"},
        },
    )
    assert top(f) == ("data", "fraud-detector")
    verdict = assess(f)
    assert verdict.action["name"] == "retrain_model"
    assert verdict.action["args"] == {"model": "fraud-detector", "window": "7d"}


def test_the_same_drift_in_two_models_points_at_their_common_feeder():
    f = findings(
        alerted=["fraud-api", "recommender"],
        alerted_models=["fraud-detector", "recsys-ranker"],
        alert_names=["FeatureDrift"],
        drift={
            "fraud-detector": {"features": ["device_score"], "psi": {"device_score": 3.0}},
            "recsys-ranker": {"features": ["user_affinity"], "psi": {"user_affinity": 2.5}},
        },
        changes=[change("feature-store", "deploy", 5)],
    )
    assert top(f) == ("dependency", "feature-store")
    assert assess(f).action["args"]["team"] == "data-platform"


def test_traffic_that_matches_yesterday_is_a_false_alarm():
    f = findings(
        alerted=["gateway"],
        alert_names=["TrafficSurge"],
        rows=[
            {**row("gateway", "request_rate", "flat", 0.5), "seasonal": True},
            {**row("checkout", "request_rate", "flat", 0.3), "seasonal": True},
        ],
        changes=[change("gateway", "deploy", 20 * 3600)],
    )
    assert top(f) == ("none", "gateway")
    assert assess(f).action is None


def test_a_routine_change_hours_before_does_not_make_a_suspect():
    assert change_weight({"at": T0 - 2 * 3600}, T0) < 0.05
    assert change_weight({"at": T0 - 60}, T0) == 1.0
    assert change_weight({"at": T0 + 600}, T0) == 0.0  # after the onset: not the cause


def test_memory_prior_nudges_a_close_call():
    f = findings(
        alerted=["checkout"],
        rows=[row("checkout", "error_ratio", "up", 5), row("fraud-api", "memory_util", "up", 5)],
    )
    past = [{"id": "INC-1", "cause_kind": "service", "cause_target": "fraud-api", "score": 0.9}]
    plain = assess(f)
    nudged = assess(f, past)
    score = {h.target: h.score for h in plain.hypotheses}
    after = {h.target: h.score for h in nudged.hypotheses}
    assert after["fraud-api"] > score["fraud-api"]


def test_unreadable_signals_are_never_a_false_alarm():
    f = findings(alerted=["checkout"], alert_names=["HighErrorRatio"], failed=["scan_signals"])
    assert all(h.kind != "none" or h.score == 0 for h in rank(f))


def test_a_psi_just_past_the_bar_counts_as_drift_from_its_recent_peak():
    from opsloop.agent.rca.gather import findings
    from opsloop.agent.rca.scope import Scope

    scope = Scope(T0, [], ["fraud-api"], ["fraud-detector"], ["FeatureDrift"], "t", "ticket")
    scan = {
        "name": "scan_signals",
        "status": "ok",
        "args": {},
        "evidence": ["E1"],
        "data": {
            "series": [
                {
                    **row("fraud-api", "feature_drift", "up", 40, model="fraud-detector"),
                    "feature": "txn_velocity",
                    "current": 0.21,  # the three-point median still under the bar
                    "peak": 0.31,
                    "evidence": 0,
                }
            ]
        },
    }
    f = findings(scope, [scan], topology=TOPOLOGY, served=SERVED, incidents=[], owners=OWNERS)
    assert f.drift["fraud-detector"]["features"] == ["txn_velocity"]
    assert f.drift["fraud-detector"]["eid"] == "E1"
    assert top(f) == ("data", "fraud-detector")


def test_a_saturation_rise_far_from_the_limit_is_load_not_a_fault():
    # A seasonal traffic peak: every service busier, recommender's CPU up to 16 % of its limit.
    rows = [
        row("gateway", "request_rate", "up", 6),
        row("recommender", "request_rate", "up", 6.5),
        row("recommender", "cpu_util", "up", 5.4, current=0.158, peak=0.16),
    ]
    f = findings(alerted=["gateway"], alert_names=["TrafficSurge"], rows=rows)
    assert top(f) == ("none", "gateway")
    # The same rise to 95 % of the limit is saturation.
    rows[-1] = row("recommender", "cpu_util", "up", 5.4, current=0.95, peak=0.97)
    busy = findings(alerted=["recommender"], alert_names=["CPUSaturation"], rows=rows)
    assert top(busy) == ("infra", "recommender")
    assert headroom({"signal": "cpu_util", "direction": "up", "current": 0.5}) == pytest.approx(0.5)
    assert headroom({"signal": "cpu_util", "direction": "up"}) == 1.0  # no level: as before


def test_one_target_is_one_hypothesis_per_kind():
    # A feeder whose drift hits both models and whose own latency rose is one dependency
    # hypothesis with both reasons, not two entries in the ranking.
    f = findings(
        alerted=["fraud-api"],
        alert_names=["ModelQualityDrop"],
        rows=[row("feature-store", "latency_p99", "up", 40.0)],
        drift={
            m: {"features": ["x"], "psi": {"x": 0.6}, "eid": "E-d"}
            for m in ("fraud-detector", "recsys-ranker")
        },
    )
    ranked = [(h.kind, h.target) for h in rank(f)]
    assert len(ranked) == len(set(ranked))
    feeder = next(h for h in rank(f) if h.target == "feature-store")
    assert any("drifted together" in w for w in feeder.why)
