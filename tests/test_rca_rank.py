"""Offline root-cause ranking: RCAEval column names, robust scores, tie-breaks, CLI, eval."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from opsloop.agent.cli.rca import app
from opsloop.evals.rca_offline import run
from opsloop.evals.rca_offline.__main__ import main as eval_main
from opsloop.evals.rca_offline.generator import generate_case
from opsloop.tools.analysis.rca_rank import (
    clean_wide,
    counter_mask,
    is_metric_column,
    load_wide_csv,
    metric_matrix,
    rank_services,
    split_column,
)

runner = CliRunner()
ROWS, SPLIT, T0 = 200, 150, 1_700_000_000.0


def table(columns: dict[str, np.ndarray]) -> tuple[pd.DataFrame, float]:
    """Build a wide table sampled every 15 s; the anomaly starts at row SPLIT."""
    times = T0 + 15.0 * np.arange(ROWS)
    return pd.DataFrame({"time": times, **columns}), float(times[SPLIT])


def noise(seed: int, level: float = 1.0, sd: float = 0.05) -> np.ndarray:
    return level * (1 + np.random.default_rng(seed).normal(0, sd, ROWS))


def step(at: int, size: float) -> np.ndarray:
    return np.where(np.arange(ROWS) >= at, size, 0.0)


def targets(frame: pd.DataFrame, t0: float, **kwargs) -> list[str]:
    return [r.target for r in rank_services(frame, t0, **kwargs)]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("adservice_cpu", ("adservice", "cpu")),
        ("cartservice_latency-90", ("cartservice", "latency-90")),
        ("ts-auth-service_mem", ("ts-auth-service", "mem")),
        ("frontend_latency-50", ("frontend", "latency-50")),
        ("carts_latency", ("carts", "latency")),
        ("checkout_requests_total", ("checkout", "requests_total")),
        ("redis", ("redis", "value")),
    ],
)
def test_split_column_on_rcaeval_names(name, expected):
    assert split_column(name) == expected


def test_index_and_time_columns_are_not_metrics():
    assert not any(map(is_metric_column, ["time", "timestamp", "Unnamed: 0", "time.1", " "]))
    assert is_metric_column("ts-order-service_mem")


def test_load_cleans_order_duplicates_gaps_and_text(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(
        "Unnamed: 0,time,svc_cpu,svc_note,db_mem\n"
        "0,30,3,a,inf\n1,10,1,b,5\n2,20,,c,6\n3,20,4,d,8\n4,40,5,e,9\n"
    )
    frame = load_wide_csv(path)
    assert list(frame.columns) == ["time", "svc_cpu", "db_mem"]
    assert frame["time"].tolist() == [10, 20, 30, 40]
    assert frame["svc_cpu"].tolist() == [1, 4, 3, 5]  # duplicate time 20 averaged: (nan→1, 4)
    assert np.isfinite(frame.to_numpy()).all()
    notes = " ".join(frame.attrs["notes"])
    assert "svc_note" in notes and "sorted" in notes and "duplicate" in notes


def test_load_rejects_tables_without_time_or_metrics(tmp_path):
    with pytest.raises(ValueError, match="no `time` column"):
        clean_wide(pd.DataFrame({"ts": [1, 2], "a_cpu": [1, 2]}))
    with pytest.raises(ValueError, match="no numeric metric columns"):
        clean_wide(pd.DataFrame({"time": [1, 2], "a_name": ["x", "y"]}))
    with pytest.raises(ValueError, match="no such file"):
        load_wide_csv(tmp_path / "missing.csv")


def test_root_cause_is_ranked_first_with_normalised_sorted_scores():
    fault = step(SPLIT + 1, 0.6)  # the database's cpu jumps; its callers slow down less
    frame, t0 = table(
        {
            "db_cpu": noise(1) + fault,
            "db_latency-90": noise(2, 0.01) * (1 + fault / 2),
            "api_latency-90": noise(3, 0.05) + 0.01 * fault / 2,
            "api_cpu": noise(4),
            "web_latency-90": noise(5, 0.1) + 0.01 * fault / 3,
            "web_mem": noise(6, 500, 0.01),
        }
    )
    ranked = rank_services(frame, t0)
    assert ranked[0].target == "db"
    assert ranked[0].score == 1.0 and ranked[0].metric == "db_cpu"
    scores = [r.score for r in ranked]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert ranked[0].onset == pytest.approx(t0 + 15, abs=45)


def test_flat_zero_column_that_moves_beats_noisy_columns():
    frame, t0 = table(
        {
            "payments_errors": step(SPLIT + 3, 0.5),  # zero for an hour, then errors
            "cart_cpu": noise(1, sd=0.3),  # noisy all along
            "cart_latency": noise(2, 0.2, sd=0.3) + step(SPLIT + 5, 0.1),
            "ads_cpu": np.abs(noise(3, sd=0.5)),
            # Float noise on a flat zero is not an incident.
            "quiet_errors": np.where(np.arange(ROWS) >= SPLIT, 1e-7, 0.0) * noise(4),
        }
    )
    ranked = {r.target: r for r in rank_services(frame, t0)}
    assert targets(frame, t0)[0] == "payments"
    assert ranked["quiet"].z < 1 and ranked["payments"].z > 10 * ranked["cart"].z


def test_counter_columns_are_differenced():
    rng = np.random.default_rng(0)
    steady = np.cumsum(rng.poisson(50, ROWS)).astype(float)
    steady[120:] -= steady[119]  # a restart resets the counter
    surge = np.cumsum(rng.poisson(np.where(np.arange(ROWS) >= SPLIT, 150, 50))).astype(float)
    frame, t0 = table(
        {
            "cart_reqs": steady,  # no suffix: recognised by its shape
            "checkout_requests_total": surge,
            "cart_cpu": noise(1),
            "checkout_cpu": noise(2),
        }
    )
    _, values, names = metric_matrix(frame)
    assert counter_mask(frame[names].to_numpy(), names).tolist() == [True, True, False, False]
    rates = values[:, names.index("cart_reqs")] * 15
    assert rates.min() > 20 and rates.max() < 90  # rate per scrape, through the reset
    ranked = {r.target: r for r in rank_services(frame, t0)}
    assert targets(frame, t0)[0] == "checkout"
    assert ranked["cart"].z < 5  # a steadily growing counter is not anomalous


def test_onset_tie_break_prefers_the_earlier_mover():
    base = noise(1, sd=0.02)  # one noise for both, so only the steps differ
    frame, t0 = table(
        {
            "late_cpu": base + step(SPLIT + 12, 1.05),  # moves a little more, but later
            "early_cpu": base + step(SPLIT + 2, 1.0),
            "idle_cpu": noise(3),
        }
    )
    assert targets(frame, t0, tie_margin=0.0)[:2] == ["late", "early"]
    assert targets(frame, t0)[:2] == ["early", "late"]
    ranked = rank_services(frame, t0)
    assert ranked[0].z < ranked[1].z and ranked[0].score >= ranked[1].score


def test_topology_tie_break_prefers_the_callee():
    fault = step(SPLIT + 2, 1.0)
    frame, t0 = table(
        {
            "frontend_latency": noise(1) + 1.3 * fault,  # the caller moved a bit more
            "catalog_latency": noise(2) + fault,
            "email_latency": noise(3),
        }
    )
    topology = {"frontend": ["catalog", "email"]}
    assert targets(frame, t0)[0] == "frontend"
    assert targets(frame, t0, topology=topology)[:2] == ["catalog", "frontend"]
    # A callee that barely moved stays below its caller.
    assert targets(frame, t0, topology={"frontend": ["catalog"]}, topology_margin=0.1)[0] == (
        "frontend"
    )


def test_rank_needs_a_normal_period():
    frame, _ = table({"a_cpu": noise(1)})
    with pytest.raises(ValueError, match="only 2 row"):
        rank_services(frame, T0 + 30)
    with pytest.raises(ValueError, match="milliseconds"):
        rank_services(frame, (T0 + 1500) * 1000)


@pytest.fixture
def metrics_csv(tmp_path):
    fault = step(SPLIT + 1, 1.0)
    frame, t0 = table(
        {
            "ts-order-service_cpu": noise(1) + fault,
            "ts-order-service_latency-90": noise(2, 0.02) * (1 + fault),
            "frontend_latency-90": noise(3, 0.2) + 0.02 * fault,
            "carts_mem": noise(4, 300, 0.02),
        }
    )
    path = tmp_path / "metrics.csv"
    frame.to_csv(path, index=False)
    return path, t0


def test_cli_json_is_ranked_targets_with_scores(metrics_csv):
    path, t0 = metrics_csv
    result = runner.invoke(app, ["rank", "--csv", str(path), "--anomaly-time", str(t0), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data[0]["target"] == "ts-order-service" and len(data) == 3
    assert all(set(item) == {"target", "score"} for item in data)
    scores = [item["score"] for item in data]
    assert scores == sorted(scores, reverse=True) and scores[0] == 1.0
    assert all(isinstance(s, float) for s in scores)


def test_cli_table_names_service_metric_and_onset(metrics_csv):
    path, t0 = metrics_csv
    args = ["rank", "--csv", str(path), "--anomaly-time", str(t0), "--top", "2"]
    args += ["--method", "robust-z"]  # its onsets and z are what this table shows
    result = runner.invoke(app, args, env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert "ts-order-service" in result.stdout and "cpu" in result.stdout
    assert "carts" not in result.stdout and "+15 s" in result.stdout


@pytest.mark.parametrize(
    ("content", "time", "message"),
    [
        (None, "1700000100", "no such file"),
        ("ts,a_cpu\n1,2\n2,3\n", "2", "no `time` column"),
        ("time,a_cpu\n1,2\n2,3\n3,4\n4,5\n", "99", "outside the table's time range 1–4"),
        ("time,a_cpu\n1,2\n2,3\n3,4\n4,5\n", "1", "outside the table's time range 1–4"),
    ],
)
def test_cli_errors_are_one_line_exit_2(tmp_path, content, time, message):
    path = tmp_path / "m.csv"
    if content is not None:
        path.write_text(content)
    result = runner.invoke(app, ["rank", "--csv", str(path), "--anomaly-time", time])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0]
    assert "Traceback" not in result.output


def test_small_eval_run_beats_baselines():
    report = run(cases=20, seed=0)
    overall = report["results"]["overall"]
    assert report["per_fault"] == {"cpu": 5, "mem": 5, "delay": 5, "loss": 5}
    assert overall["ours"]["ac3"] >= 0.8 and overall["ours"]["ac1"] >= 0.6
    assert overall["ours"]["avg5"] >= overall["nsigma"]["avg5"] + 0.03
    assert overall["ours"]["avg5"] >= overall["random"]["avg5"] + 0.4


def test_eval_cases_are_deterministic():
    a, b = generate_case(5, "loss"), generate_case(5, "loss")
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert (a.root, a.anomaly_time, a.topology) == (b.root, b.anomaly_time, b.topology)
    assert not a.frame.equals(generate_case(6, "loss").frame)


def test_eval_cli_prints_json(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["rca_offline", "--cases", "4", "--seed", "3", "--json"])
    assert eval_main() == 0
    report = json.loads(capsys.readouterr().out)
    assert report["cases"] == 4 and set(report["results"]) == {
        "cpu",
        "mem",
        "delay",
        "loss",
        "overall",
    }
    assert report["ratio_vs_nsigma"]["overall"]["ours"]["ac3"] is not None
