"""The simulation engine without a registry: counters, histograms, faults, exposition."""

import itertools
import re
import subprocess

import numpy as np
import pytest

from opsloop.sandbox.engine import Engine
from opsloop.sandbox.exposition import render
from opsloop.sandbox.faults import Effects, effects_at, intensity
from opsloop.sandbox.history import constant_quality
from opsloop.sandbox.scenario import Fault, ScenarioError, load_scenario
from opsloop.sandbox.world import SANDBOX

T0 = 1_795_000_000.0
CHAMPIONS = {"fraud-detector": "3", "recsys-ranker": "3"}


def run(effects=lambda t: Effects(), steps=120, dt=15.0, seed=7):
    engine = Engine(SANDBOX, constant_quality(), seed=seed)
    frames = []
    for i in range(1, steps + 1):
        t = T0 + i * dt
        engine.step(t, dt, effects(t), CHAMPIONS)
        frames.append({(s[3], s[4]): s[5] for s in engine.samples()})
    return engine, frames


def test_counters_never_decrease_and_histograms_are_cumulative():
    _, frames = run()
    for key in frames[0]:
        name = key[0]
        if name.endswith(("_total", "_bucket", "_count", "_sum")):
            series = [f[key] for f in frames]
            assert all(b >= a for a, b in itertools.pairwise(series)), key
    last = frames[-1]
    buckets = sorted(
        (
            (float(dict(k[1])["le"]), v)
            for k, v in last.items()
            if k[0] == "http_request_duration_seconds_bucket"
            and dict(k[1])["pod"] == "checkout-m4jxf-q6kxd"
        )
    )
    assert [v for _, v in buckets] == sorted(v for _, v in buckets)


def test_world_has_at_least_300_series_with_pod_labels():
    _, frames = run(steps=2)
    assert len(frames[-1]) >= 300
    name = "http_server_request_duration_seconds_count"
    labels = dict(next(k for k in frames[-1] if k[0] == name)[1])
    assert {"service_name", "job", "pod", "namespace", "http_response_status_code"} <= set(labels)


def test_same_seed_same_world():
    assert run(seed=3)[1][-1] == run(seed=3)[1][-1]
    assert run(seed=3)[1][-1] != run(seed=4)[1][-1]


def test_dependency_latency_climbs_the_call_chain():
    calm, _ = run(steps=4)
    slow, _ = run(effects=lambda t: Effects(latency={"postgres": 150.0}), steps=4)
    for svc in ("feature-store", "fraud-api", "checkout"):
        assert slow.last[svc]["latency"] > 5 * calm.last[svc]["latency"]
    assert slow.last["gateway"]["latency"] > calm.last["gateway"]["latency"]


def test_memory_leak_ends_in_oom_restarts():
    engine, _ = run(effects=lambda t: Effects(leak_mb_per_min={"fraud-api": 60.0}), steps=240)
    restarts = [p.restarts for p in engine.pods if p.service == "fraud-api"]
    assert all(r >= 1 for r in restarts)
    assert all(p.restarts == 0 for p in engine.pods if p.service == "checkout")


def test_config_error_fails_the_target_and_some_of_its_callers():
    engine, _ = run(effects=lambda t: Effects(errors={"checkout": 0.3}), steps=8)
    ratio = {
        s: engine.last[s]["errors"] / engine.last[s]["requests"]
        for s in engine.last
        if engine.last[s]["requests"]
    }
    assert ratio["checkout"] > 0.25 and ratio["gateway"] > 0.02 and ratio["fraud-api"] < 0.01


def test_fault_intensity_ramps_and_seasonal_peaks_recur_daily():
    fault = Fault(
        type="config-error",
        target="checkout",
        onset="10s",
        ramp="10s",
        magnitude=0.3,
        duration="1m",
    )
    assert intensity(fault, T0, T0 + 5) == 0 and intensity(fault, T0, T0 + 15) == 0.5
    assert intensity(fault, T0, T0 + 30) == 1 and intensity(fault, T0, T0 + 200) == 0
    peak = load_scenario("false-alarm").fault
    now = intensity(peak, T0, T0 + 300)
    assert now == 1.0 and intensity(peak, T0, T0 + 300 - 86400) == now
    assert effects_at(peak, SANDBOX, T0, T0 + 300).traffic["postgres"] == pytest.approx(1.9)


def test_exposition_is_valid_prometheus_text():
    engine, _ = run(steps=3)
    page = render(engine.samples())
    check = subprocess.run(
        ["promtool", "check", "metrics"], input=page, text=True, capture_output=True
    )
    assert check.returncode == 0, check.stderr + check.stdout
    assert "# TYPE http_server_request_duration_seconds histogram" in page
    quality = re.search(r'model="fraud-detector",version="3",metric="auc"} ([0-9.]+)', page)
    assert quality and abs(float(quality.group(1)) - 0.93) < 0.01  # the champion's AUC, noisy


def test_engine_state_round_trips():
    engine, _ = run(steps=3)
    again = Engine.load(SANDBOX, constant_quality(), engine.dump())
    for a, b in ((engine, again),):
        a.step(T0 + 999, 15, Effects(), CHAMPIONS)
        b.step(T0 + 999, 15, Effects(), CHAMPIONS)
    assert list(engine.samples()) == list(again.samples())


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "fault: {type: meteor, target: x}\nname: a\nground_truth: {kind: none, target: x, "
            "remediation: {action: none}}",
            "fault.type",
        ),
        (
            "name: a\nfault: {type: config-error, target: billing}\nground_truth: {kind: none, "
            "target: x, remediation: {action: none}}",
            "targets a service",
        ),
        (
            "name: a\nfault: {type: data-drift, target: fraud-detector, onset: soon}\n"
            "ground_truth: {kind: data, target: x, remediation: {action: none}}",
            "invalid duration",
        ),
    ],
)
def test_bad_specs_say_what_is_wrong(tmp_path, spec, message):
    path = tmp_path / "s.yaml"
    path.write_text(spec)
    with pytest.raises(ScenarioError, match=message):
        load_scenario(str(path))


def test_unknown_scenario_lists_the_built_ins():
    with pytest.raises(ScenarioError, match="bad-model-release"):
        load_scenario("meteor-strike")


def test_every_builtin_scenario_loads():
    from opsloop.sandbox.scenario import builtin_names

    names = builtin_names()
    assert {
        "bad-model-release",
        "data-drift",
        "schema-change",
        "dependency-latency",
        "memory-leak",
        "cpu-saturation",
        "config-error",
        "false-alarm",
        "healthy",
    } <= set(names)
    assert np.all([load_scenario(n).name == n for n in names])
