"""World 2 (evals/rca/world2), without Prometheus: the generator is deterministic for a seed,
every case's ground truth is well-formed and scores as intended, the alert payloads parse,
and promtool accepts the OpenMetrics it writes.
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from opsloop.agent.rca.alerts import parse_alertmanager
from opsloop.evals.rca import judge
from opsloop.evals.rca.world2.cases import ACTIONS, case_names, cases, rules_
from opsloop.evals.rca.world2.firing import Fired, fingerprint, notifications
from opsloop.evals.rca.world2.generate import generate
from opsloop.evals.rca.world2.world import DB, EXTERNAL, MODEL_BY_NAME, SERVICES, edges

END = 1_800_000_000  # a fixed anchor: the same seed must give the same history
HOURS = 2.0  # enough for every case's fault and alert, small enough to be fast


def test_there_are_at_least_seven_case_types_on_a_world_unlike_the_sandbox():
    types = {c.fault.type for c in cases().values()}
    assert len(types) >= 7
    names = {s.name for s in SERVICES} | set(MODEL_BY_NAME) | {DB, EXTERNAL}
    sandbox = {"gateway", "checkout", "fraud-api", "recommender", "feature-store", "postgres"}
    assert not names & (sandbox | {"fraud-detector", "recsys-ranker"})
    graph = set(edges())
    assert any((b, a) in graph for a, b in graph), "the call graph has a cycle"


@pytest.mark.parametrize("name", case_names())
def test_a_seed_gives_the_same_history_and_another_seed_a_different_one(name):
    first = generate(name, 1, end=END, hours=HOURS)
    again = generate(name, 1, end=END, hours=HOURS)
    other = generate(name, 2, end=END, hours=HOURS)
    assert first.store.digest() == again.store.digest()
    assert first.store.digest() != other.store.digest()
    assert first.plan.stamps[-1] == END
    assert first.plan.alert_at - first.plan.onset > 0  # the fault comes before its alert
    assert -first.plan.alert_at >= 600  # the history runs at least 10 min past the alert


@pytest.mark.parametrize("name", case_names())
def test_every_ground_truth_is_well_formed_and_scores_as_intended(name):
    case = cases()[name]
    truth = case.ground_truth.model_dump()
    assert ACTIONS[truth["kind"]] == truth["remediation"]["action"]
    right = {
        "hypotheses": [{"kind": truth["kind"], "target": truth["target"], "score": 1.0}],
        "actions": []
        if truth["kind"] == "none"
        else [{"name": truth["remediation"]["action"], "args": truth["remediation"]["args"]}],
        "false_alarm": truth["kind"] == "none",
    }
    scored = judge(right, truth)
    assert scored["ac1"] and scored["kind_ok"] and scored["remediation_ok"]
    assert not scored["wrong_remediation"]
    for wrong in truth["wrong_remediations"]:
        bad = {**right, "false_alarm": False, "actions": [{"name": wrong["action"],
               "args": wrong["args"]}]}  # fmt: skip
        assert judge(bad, truth)["wrong_remediation"], wrong


def test_the_rules_and_payloads_read_like_alertmanagers():
    rules = {r.alert: r for r in rules_()}
    for case in cases().values():
        assert {a.alert for a in case.alerts} <= set(rules)
    fired = [
        Fired(rules["ServerErrorRatioHigh"], {"job": "shop/orders"}, END - 600, END - 300, 0.1),
        Fired(
            rules["KubeContainerOOMKilled"],
            {"namespace": "discovery", "pod": "catalog-x-y", "container": "catalog"},
            END - 300,
            END - 300,
            1.0,
        ),
    ]
    payloads = notifications(fired)
    assert len(payloads) == 2
    alerts = [a for p in payloads for a in parse_alertmanager(p).firing]
    assert {a.name for a in alerts} == {"ServerErrorRatioHigh", "KubeContainerOOMKilled"}
    assert all("service" not in a.labels for a in alerts)
    assert alerts[0].starts_at == END - 300
    assert fingerprint({"a": "1"}) != fingerprint({"a": "2"})


def test_the_history_has_the_standard_names_and_pod_names_change_on_a_deploy():
    history = generate("inventory-bad-rollout", 3, end=END, hours=HOURS)
    names = {s.name for s in history.store.series()}
    for name in (
        "http_server_request_duration_seconds_bucket",
        "http_requests_total",
        "db_client_operation_duration_seconds_bucket",
        "http_client_request_duration_seconds_bucket",
        "traces_service_graph_request_total",
        "container_cpu_cfs_throttled_periods_total",
        "kube_deployment_metadata_generation",
        "kube_pod_owner",
        "model_quality",
        "model_feature_drift",
        "model_prediction_score_bucket",
        "model_predictions_total",
    ):
        assert name in names, name
    assert not any(k == "service" for s in history.store.series() for k, _ in s.labels)
    pods = history.plan.pods["inventory"]
    assert len({p.name.rsplit("-", 2)[1] for p in pods}) == 2  # a new ReplicaSet hash
    generation = next(
        s.values
        for s in history.store.series()
        if s.name == "kube_deployment_metadata_generation" and ("deployment", "inventory")
        in s.labels
    )  # fmt: skip
    assert np.nanmax(generation) - np.nanmin(generation) == 1


def test_promtool_accepts_the_openmetrics(tmp_path):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed")
    for name in ("catalog-memory-leak", "search-ranker-bad-version"):
        history = generate(name, 1, end=END, hours=1.0)
        om = tmp_path / f"{name}.om"
        written = history.write(om)
        assert written == history.store.samples > 0
        result = subprocess.run(
            [promtool, "tsdb", "create-blocks-from", "openmetrics", str(om), str(tmp_path / name)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-800:]
