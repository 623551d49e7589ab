"""Peer ranking: relative shifts, roles from metric names, short baselines, real faults."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from opsloop.evals.nezha import DEFAULT_DATA, run
from opsloop.tools.analysis.rca_peers import family_role, metric_family, rank_by_peers
from opsloop.tools.analysis.rca_rank import rank_services

T0 = 1_700_000_000.0


def table(columns: dict[str, list[float]]) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    return pd.DataFrame({"time": T0 + 60.0 * np.arange(n), **columns})


def test_families_and_roles_come_from_metric_names():
    assert metric_family("latency-p99") == "latency" and metric_family("mem-mib") == "mem"
    assert metric_family("cpu-millicores") == "cpu"
    assert family_role("client-latency") == "caller"
    assert family_role("cpu") == family_role("success-rate") == "direct"
    assert family_role("net-rx") == family_role("workload") == "traffic"


def test_a_slow_callee_ranks_above_the_caller_that_sees_it():
    # Two normal rows, then the callee's CPU and latency rise; its caller sees the latency.
    frame = table(
        {
            "cart_cpu": [10, 10, 30, 31, 30, 32],
            "cart_latency-p99": [5, 5, 9, 9, 10, 9],
            "checkout_cpu": [20, 20, 20, 21, 20, 20],
            "checkout_latency-p99": [50, 50, 52, 51, 52, 51],
            "checkout_client-latency-p99": [5, 5, 9, 9, 10, 9],
        }
    )
    anomaly = T0 + 120
    ranked = rank_by_peers(frame, anomaly)
    assert [r.target for r in ranked] == ["cart", "checkout"]
    assert ranked[0].score == 1.0 and ranked[0].onset == anomaly
    with pytest.raises(ValueError, match="need at least 3"):
        rank_services(frame, anomaly)  # the robust z cannot learn normal from two rows


def test_a_table_with_no_normal_row_is_refused():
    frame = table({"a_cpu": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match="needs a row before it"):
        rank_by_peers(frame, T0)


@pytest.mark.skipif(not (DEFAULT_DATA / "cases").is_dir(), reason="no nezha-ob data")
def test_real_faults_meet_the_targets():
    report = run(DEFAULT_DATA, ("peers",))
    table = report["methods"]["peers"]["table"]
    assert report["cases"] == 56
    assert table["overall"]["ac1"] >= 0.6 and table["overall"]["ac3"] >= 0.85, table
    assert table["cpu_contention"]["ac1"] >= 0.9 and table["cpu_consumed"]["ac1"] >= 0.9


def test_the_live_scan_rows_are_judged_by_the_same_core():
    from opsloop.agent.rca.evidence import severity
    from opsloop.agent.rca.peers import add_peer_shares

    def scan_row(service: str, baseline: float, peak: float) -> dict:
        return {
            "service": service,
            "signal": "latency_p99",
            "direction": "up",
            "z": 20.0,
            "baseline": baseline,
            "current": peak,
            "peak": peak,
        }

    # The callee doubled; its caller, whose own time dominates, rose a fifth as much.
    rows = [scan_row("caller", 0.5, 0.6), scan_row("callee", 0.1, 0.2)]
    add_peer_shares(rows)
    assert rows[1]["peer"] == 1.0
    assert rows[0]["peer"] == pytest.approx(0.2)
    assert severity(rows[0]) < severity(rows[1])
    # A flat row and a model row are not peers of anything.
    flat = {**scan_row("x", 1.0, 1.0), "direction": "flat"}
    quality = {**scan_row("m", 0.9, 0.7), "signal": "model_quality", "direction": "down"}
    add_peer_shares([flat, quality])
    assert "peer" not in flat and "peer" not in quality
