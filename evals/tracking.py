"""Eval runs in MLflow: one run per suite (params, every metric, the report as an artifact),
and the comparison of two runs metric by metric.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from opsloop.evals.suites import lower_is_better

EXPERIMENT = "opsloop-evals"
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


def log_run(tracking_uri: str, suite: str, report: dict[str, Any], params: dict[str, Any]) -> str:
    """Log one suite's report as an MLflow run; return the run id."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment:
        experiment_id = experiment.experiment_id
    else:
        experiment_id = client.create_experiment(EXPERIMENT, _artifact_root(tracking_uri))
    run = client.create_run(experiment_id, tags={"mlflow.runName": f"{suite}", "suite": suite})
    run_id = run.info.run_id
    try:
        for key, value in {**params, "suite": suite, "repeat": report.get("repeat", 1)}.items():
            client.log_param(run_id, key, str(value)[:500])
        for key, value in report["metrics"].items():
            client.log_metric(run_id, key, float(value))
        client.log_text(run_id, json.dumps(report, indent=2, default=str), "report.json")
    except Exception:
        client.set_terminated(run_id, status="FAILED")
        raise
    client.set_terminated(run_id, status="FINISHED")
    return run_id


def _artifact_root(tracking_uri: str) -> str | None:
    """Keep a local store's artifacts beside it, not in ./mlruns of whatever directory."""
    if tracking_uri.startswith("sqlite:///"):
        db = Path(tracking_uri.removeprefix("sqlite:///"))
        return (db.parent / "eval-artifacts").resolve().as_uri()
    return None


def compare(tracking_uri: str, run_a: str, run_b: str) -> dict[str, Any]:
    """Return every metric of two runs with its change, and the params that differ."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(tracking_uri=tracking_uri)
    try:
        a, b = client.get_run(run_a), client.get_run(run_b)
    except MlflowException as exc:
        raise LookupError(f"no such eval run in {tracking_uri}: {exc.message}") from None
    rows = []
    for name in sorted(set(a.data.metrics) | set(b.data.metrics)):
        va, vb = a.data.metrics.get(name), b.data.metrics.get(name)
        delta = None if va is None or vb is None else round(vb - va, 6)
        if delta is None or abs(delta) < 1e-9:
            verdict = "same" if delta is not None else "only in one run"
        else:
            better = delta < 0 if lower_is_better(name) else delta > 0
            verdict = "better" if better else "worse"
        rows.append({"metric": name, "a": va, "b": vb, "delta": delta, "verdict": verdict})
    params = [
        {"param": k, "a": a.data.params.get(k), "b": b.data.params.get(k)}
        for k in sorted(set(a.data.params) | set(b.data.params))
        if a.data.params.get(k) != b.data.params.get(k)
    ]
    return {"a": run_a, "b": run_b, "metrics": rows, "params": params}
