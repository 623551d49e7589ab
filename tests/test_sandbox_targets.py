"""Faults on every target they may hit: eligibility, NAME@TARGET, derived truth and words."""

import json
import re
from pathlib import Path

import pytest

from opsloop.sandbox.engine import Engine
from opsloop.sandbox.faults import change_event, effects_at
from opsloop.sandbox.history import constant_quality
from opsloop.sandbox.logs import LogWriter
from opsloop.sandbox.ml.data import FEATURES
from opsloop.sandbox.scenario import ScenarioError, builtin_names, load_scenario
from opsloop.sandbox.targets import eligible_targets, ground_truth
from opsloop.sandbox.world import SANDBOX

T0 = 1_795_000_000.0
CHAMPIONS = {"fraud-detector": "3", "recsys-ranker": "3"}
FAULTY = [n for n in builtin_names() if load_scenario(n).fault.type != "none"]
SERVICES = ["gateway", "checkout", "fraud-api", "recommender", "feature-store"]


def fault_logs(spec: str, tmp_path: Path, seconds: int = 60) -> list[dict]:
    """Return the log records a scenario writes over its first `seconds` after onset."""
    fault = load_scenario(spec).fault
    engine = Engine(SANDBOX, constant_quality(), seed=7)
    writer = LogWriter(tmp_path, fault, T0, 8)
    for i in range(1, seconds // 2):
        t = T0 + max(fault.onset, 0.0) + fault.ramp + 2 * i
        engine.step(t, 2.0, effects_at(fault, SANDBOX, T0, t), CHAMPIONS)
        writer.emit(t, 2.0, engine)
    writer.close()
    return [json.loads(line) for f in tmp_path.glob("*.log") for line in f.read_text().splitlines()]


def test_eligible_targets_per_fault_type():
    assert {n: eligible_targets(load_scenario(n).fault.type) for n in FAULTY} == {
        "bad-model-release": ["fraud-detector", "recsys-ranker"],
        "data-drift": ["fraud-detector", "recsys-ranker"],
        "schema-change": ["feature-store"],
        "dependency-latency": ["checkout", "fraud-api", "recommender", "feature-store", "postgres"],
        "memory-leak": SERVICES,
        "cpu-saturation": SERVICES,
        "config-error": SERVICES,
        "false-alarm": ["gateway"],
    }


@pytest.mark.parametrize("name", FAULTY)
def test_derived_truth_on_the_own_target_is_the_yaml_truth(name):
    spec = load_scenario(name)
    derived, written = ground_truth(spec.fault.type, spec.fault.target), spec.ground_truth
    assert (derived.kind, derived.target) == (written.kind, written.target)
    assert derived.remediation.action == written.remediation.action
    keys = ("model", "service", "team", "version")
    assert {k: v for k, v in derived.remediation.args.items() if k in keys} == {
        k: v for k, v in written.remediation.args.items() if k in keys
    }
    wrong = [(w.action, w.args) for w in derived.wrong_remediations]
    assert all((w.action, w.args) in wrong for w in written.wrong_remediations)


def test_a_moved_scenario_derives_its_truth_from_the_target():
    leak = load_scenario("memory-leak@checkout")
    assert leak.name == "memory-leak@checkout" and leak.fault.target == "checkout"
    fix = leak.ground_truth.remediation
    assert (fix.action, fix.args["team"], fix.args["service"]) == (
        "escalate",
        "payments",
        "checkout",
    )
    assert fix.args["suggestion"] == "roll back checkout 2.7.1"
    # The same minutes to the limit: checkout has half fraud-api's headroom.
    assert leak.fault.magnitude == pytest.approx(28 * 604 / 1148, rel=1e-3)

    release = load_scenario("bad-model-release@recsys-ranker").ground_truth
    assert release.remediation.args == {"model": "recsys-ranker", "version": "3"}
    drift = load_scenario("data-drift@recsys-ranker").ground_truth
    assert drift.remediation.args["model"] == "recsys-ranker"
    assert [w.args for w in drift.wrong_remediations] == [{"model": "recsys-ranker"}]
    assert "fraud-detector" not in json.dumps(
        load_scenario("config-error@recommender").model_dump()
    )


def test_an_ineligible_target_is_refused_with_the_eligible_ones():
    with pytest.raises(ScenarioError, match="eligible: gateway, checkout"):
        load_scenario("config-error@postgres")
    with pytest.raises(ScenarioError, match="eligible: fraud-detector, recsys-ranker"):
        load_scenario("data-drift@checkout")


def test_change_events_name_the_target_and_its_own_release():
    assert change_event(load_scenario("memory-leak@recommender").fault)[2] == (
        "recommender 3.1.8 deployed"
    )
    who, kind, summary, detail = change_event(load_scenario("config-error@fraud-api").fault)
    assert (who, kind, detail["key"]) == ("bob", "config", "SCORER_WORKERS")
    assert summary == "fraud-api config: SCORER_WORKERS 8 → 0"
    cpu = change_event(load_scenario("cpu-saturation@checkout").fault)[2]
    assert cpu.startswith("checkout 2.8.0 deployed (") and "re-ranking" not in cpu
    assert change_event(load_scenario("dependency-latency@feature-store").fault)[0] == "deploy-bot"
    assert change_event(load_scenario("dependency-latency").fault)[0] == "flyway"  # the database


def test_drift_on_the_second_model_moves_its_features_and_its_logs_name_them(tmp_path):
    fault = load_scenario("data-drift@recsys-ranker").fault
    eff = effects_at(fault, SANDBOX, T0, T0 + fault.onset + fault.ramp + 1)
    assert eff.drift == {"recsys-ranker": 1.0}
    monitor = [r for r in fault_logs("data-drift@recsys-ranker", tmp_path) if "psi" in r]
    assert monitor and {r["service"] for r in monitor} == {"recommender"}
    assert {r["model"] for r in monitor} == {"recsys-ranker"}
    assert {r["feature"] for r in monitor} <= set(FEATURES["recsys-ranker"])
    assert not any(f in r["msg"] for r in monitor for f in FEATURES["fraud-detector"])


def test_fault_lines_on_other_targets_carry_no_fraud_detector_words(tmp_path):
    fraud = re.compile(r"fraud|txn_velocity|device_score|transactions|PAYMENT|payment", re.I)
    for i, spec in enumerate(("bad-model-release@recsys-ranker", "config-error@recommender")):
        records = fault_logs(spec, tmp_path / f"logs{i}")
        lines = [r for r in records if r["service"] == "recommender" and r["level"] != "INFO"]
        lines += [r for r in records if r.get("model") == "recsys-ranker"]
        assert lines, spec
        assert not [r["msg"] for r in lines if fraud.search(json.dumps(r))], spec
    config = fault_logs("config-error@recommender", tmp_path / "again")
    assert any(r.get("config") == "RANKER_TIMEOUT_MS=0" for r in config)


def test_schema_change_scales_each_readers_own_unit_score(tmp_path):
    fault = load_scenario("schema-change").fault
    eff = effects_at(fault, SANDBOX, T0, T0 + fault.onset + fault.ramp + 1)
    assert eff.scale == {
        "fraud-detector": {"device_score": 100.0},
        "recsys-ranker": {"user_affinity": 100.0},
    }
    warned = {
        (r["consumer"], r["feature"])
        for r in fault_logs("schema-change", tmp_path, seconds=120)
        if "consumer" in r
    }
    assert warned == {("fraud-detector", "device_score"), ("recsys-ranker", "user_affinity")}


def test_timeouts_name_the_callee_on_the_way_to_a_slow_dependency(tmp_path):
    records = fault_logs("dependency-latency@checkout", tmp_path)
    upstream = {(r["service"], r["upstream"]) for r in records if "upstream" in r}
    assert ("gateway", "checkout") in upstream
    # Services that never call checkout have no reason to blame their own callees.
    assert not {s for s, _ in upstream} & {"fraud-api", "recommender", "feature-store"}


def test_retraining_reads_the_shift_of_a_moved_scenario(tmp_path):
    from opsloop.sandbox.ml.retrain import current_shift

    state = {"spec": "data-drift@recsys-ranker", "started": T0}
    (tmp_path / "state.json").write_text(json.dumps(state))
    assert current_shift(tmp_path, "recsys-ranker", T0 + 600).drift == 1.0
    assert current_shift(tmp_path, "fraud-detector", T0 + 600).drift == 0.0


def test_the_rca_eval_lists_every_fault_on_every_eligible_target():
    from opsloop.evals.rca.matrix import by_target, case_specs, passed, render

    specs = case_specs(("bad-model-release", "memory-leak", "false-alarm"), "all")
    assert [s for s, _, _ in specs] == [
        "bad-model-release",
        "bad-model-release@recsys-ranker",
        "memory-leak@gateway",
        "memory-leak@checkout",
        "memory-leak",
        "memory-leak@recommender",
        "memory-leak@feature-store",
        "false-alarm",
    ]
    assert case_specs(("memory-leak",), "default") == [("memory-leak", "memory-leak", "fraud-api")]
    assert case_specs(("memory-leak", "data-drift"), "checkout") == [
        ("memory-leak@checkout", "memory-leak", "checkout")
    ]
    base = {"ac1": True, "remediation_ok": True, "false_alarm": False, "latency_s": 1.0, "seed": 1}
    cases = [
        {**base, "scenario": "memory-leak", "fault": "memory-leak", "target": "fraud-api"},
        {
            **base,
            "scenario": "memory-leak@gateway",
            "fault": "memory-leak",
            "target": "gateway",
            "ac1": False,
            "remediation_ok": False,
            "false_alarm": True,
            "top": "none",
            "action": {"name": "none", "args": {}},
            "alerts": ["MemorySaturation"],
            "verdict": "No fault.",
        },
        {**base, "scenario": "false-alarm", "fault": "false-alarm", "target": "gateway"},
    ]
    for case in cases:
        case["truth_kind"] = "none" if case["fault"] == "false-alarm" else "service"
    table = by_target(cases)
    assert table["memory-leak"]["gateway"]["false_alarm"] == 1.0
    assert table["false-alarm"]["gateway"]["false_alarm"] is None
    assert not passed(table) and passed(
        {"memory-leak": {"fraud-api": table["memory-leak"]["fraud-api"]}}
    )
    text = render(table, cases)
    assert "memory-leak@gateway seed 1: top none; action none()" in text
