"""Train a sandbox model on synthetic data, evaluate it on a holdout and register it in MLflow."""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

# Importing opsloop.sandbox.ml (the package) first turns MLflow telemetry off.
from opsloop.sandbox.ml.data import FEATURES, Shift, batch

ALGORITHMS = ("logreg", "gbm")
DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "logreg": {"C": 1.0, "max_iter": 1000},
    "gbm": {
        "max_iter": 150,
        "learning_rate": 0.08,
        "max_leaf_nodes": 15,
        "min_samples_leaf": 40,
        "l2_regularization": 1.0,
        "early_stopping": False,
    },
}
# Validation gate: a version whose holdout AUC is below this is tagged validation_status=failed.
MIN_AUC = {"fraud-detector": 0.85, "recsys-ranker": 0.72}
HOLDOUT_ROWS = 5000
# skops refuses to load what it does not know; these are the types our pipelines contain.
SKOPS_TRUSTED_TYPES = ["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]
BUG_KINDS = ("drop_feature", "invert_feature", "shuffle_labels")
VERSION_TAGS = ("data_version", "git_sha", "created_by", "validation_status", "auc")


@dataclass(frozen=True)
class TrainSpec:
    """What to train: model, algorithm, hyper-parameters, data and provenance."""

    model: str  # "fraud-detector" | "recsys-ranker"
    algorithm: str  # "logreg" | "gbm"
    params: dict[str, Any] = field(default_factory=dict)  # overrides of DEFAULT_PARAMS
    seed: int = 0
    rows: int = 8000
    drift: float = 0.0  # train on data with this drift (retraining on recent data)
    bug: str | None = None  # "drop_feature:<col>", "invert_feature:<col>", "shuffle_labels:<f>"
    data_version: str = "latest"
    git_sha: str = "0000000"
    description: str = ""

    def __post_init__(self) -> None:
        if self.model not in FEATURES:
            raise ValueError(f"unknown model {self.model!r}; expected one of {sorted(FEATURES)}")
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"unknown algorithm {self.algorithm!r}; expected one of {ALGORITHMS}")
        if not re.fullmatch(r"[0-9a-f]{7,40}", self.git_sha):
            raise ValueError(f"git_sha must be 7-40 lowercase hex characters, got {self.git_sha!r}")
        if self.bug is not None:
            _parse_bug(self.bug, self.model)


@dataclass(frozen=True)
class TrainResult:
    """A registered model version and its holdout metrics."""

    model: str
    version: str
    run_id: str
    metrics: dict[str, float]


def _parse_bug(bug: str, model: str) -> tuple[str, str]:
    kind, _, arg = bug.partition(":")
    if kind not in BUG_KINDS:
        raise ValueError(f"unknown bug {kind!r}; expected one of {BUG_KINDS}")
    if kind == "shuffle_labels":
        if not 0.0 < float(arg) <= 1.0:
            raise ValueError(f"shuffle_labels needs a fraction in (0, 1], got {arg!r}")
    elif arg not in FEATURES[model]:
        raise ValueError(f"{kind} needs a feature of {model}, got {arg!r}")
    return kind, arg


def apply_bug(
    bug: str | None, model: str, X: pd.DataFrame, y: np.ndarray, rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray]:
    """Return (X, y) as a buggy training pipeline would produce them; the inputs stay untouched.

    The bug hits the training set and the offline holdout alike, because both come out of the
    same pipeline; serving receives true features. So:
    - drop_feature zeroes a column (a failed feature join filled with 0): the model never learns
      it, offline and online alike, and loses that column's signal;
    - invert_feature reflects a column within its range (a feature-store backfill flipped a
      trust score into a risk score): offline AUC is as good as ever, so validation passes, but
      the served model reads every true value backwards -- training/serving skew;
    - shuffle_labels permutes a fraction of the labels (a broken label join): offline AUC drops
      and validation should catch it.
    """
    if bug is None:
        return X, y
    kind, arg = _parse_bug(bug, model)
    X, y = X.copy(), y.copy()
    if kind == "drop_feature":
        X[arg] = 0.0
    elif kind == "invert_feature":
        X[arg] = X[arg].min() + X[arg].max() - X[arg]
    else:
        rows = rng.choice(len(y), round(float(arg) * len(y)), replace=False)
        y[rows] = rng.permutation(y[rows])
    return X, y


def build_pipeline(algorithm: str, params: dict[str, Any], seed: int) -> Pipeline:
    """Return an unfitted sklearn Pipeline for `algorithm` with `params` over DEFAULT_PARAMS."""
    merged = {**DEFAULT_PARAMS[algorithm], **params}
    if algorithm == "logreg":
        return Pipeline(
            [
                ("scale", StandardScaler()),
                ("model", LogisticRegression(**merged, random_state=seed)),
            ]
        )
    return Pipeline([("model", HistGradientBoostingClassifier(**merged, random_state=seed))])


def evaluate(model_obj: Any, X: pd.DataFrame, y: np.ndarray) -> dict[str, float]:
    """Score a fitted classifier: AUC, log loss, and precision and recall in the top 5 %."""
    scores = model_obj.predict_proba(X)[:, 1]
    top = np.argsort(-scores, kind="stable")[: max(1, int(0.05 * len(y)))]
    positives = max(int(y.sum()), 1)
    return {
        "auc": float(roc_auc_score(y, scores)),
        "logloss": float(log_loss(y, np.clip(scores, 1e-6, 1 - 1e-6), labels=[0, 1])),
        "precision_at_5pct": float(y[top].mean()),
        "recall_at_5pct": float(y[top].sum() / positives),
        "positive_rate": float(y.mean()),
    }


@contextmanager
def using_tracking_uri(uri: str) -> Iterator[None]:
    """Point MLflow's fluent API (which log_model and load_model use) at `uri` for the block."""
    import mlflow

    # set_tracking_uri/set_registry_uri mirror themselves into these variables, so the
    # variables are the state to restore; restoring get_tracking_uri() would pin a default.
    before = {key: os.environ.get(key) for key in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(before["MLFLOW_TRACKING_URI"])
        mlflow.set_registry_uri(before["MLFLOW_REGISTRY_URI"])
        if before["MLFLOW_REGISTRY_URI"] is None:
            os.environ.pop("MLFLOW_REGISTRY_URI", None)


def _experiment_id(client: Any, model: str, artifact_root: Path) -> str:
    experiment = client.get_experiment_by_name(model)
    if experiment is not None:
        return str(experiment.experiment_id)
    # An explicit artifact location keeps MLflow from writing ./mlruns into the cwd.
    location = (Path(artifact_root).resolve() / model).as_uri()
    return str(client.create_experiment(model, artifact_location=location))


def train_and_register(
    spec: TrainSpec,
    tracking_uri: str,
    artifact_root: Path,
    *,
    created_by: str = "ci-bot",
    validation_status: str | None = None,
    started_at: float | None = None,
) -> TrainResult:
    """Train `spec`, log it as an MLflow run and register a new version of `spec.model`.

    `validation_status` defaults to "passed" when holdout AUC clears MIN_AUC, else "failed";
    `started_at` (Unix s) backdates the run, for seeding a registry with history.
    """
    import mlflow
    import mlflow.sklearn
    from mlflow import MlflowClient
    from mlflow.models import infer_signature

    rng = np.random.default_rng(spec.seed)
    shift = Shift(drift=spec.drift)
    X, y = apply_bug(spec.bug, spec.model, *batch(spec.model, spec.rows, rng, shift), rng)
    X_hold, y_hold = apply_bug(
        spec.bug, spec.model, *batch(spec.model, HOLDOUT_ROWS, rng, shift), rng
    )
    t0 = time.perf_counter()
    pipeline = build_pipeline(spec.algorithm, spec.params, spec.seed).fit(X, y)
    fit_s = time.perf_counter() - t0
    metrics = evaluate(pipeline, X_hold, y_hold)
    status = validation_status or ("passed" if metrics["auc"] >= MIN_AUC[spec.model] else "failed")

    tags = {
        "data_version": spec.data_version,
        "git_sha": spec.git_sha,
        "created_by": created_by,
        "validation_status": status,
        "description": spec.description,
        "mlflow.user": created_by,
        "mlflow.note.content": spec.description,
    }
    params = {
        "algorithm": spec.algorithm,
        **{**DEFAULT_PARAMS[spec.algorithm], **spec.params},
        "rows": spec.rows,
        "seed": spec.seed,
        "drift": spec.drift,
        "features": ",".join(FEATURES[spec.model]),
    }
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    start_ms = int((started_at if started_at is not None else time.time()) * 1000)
    run = client.create_run(
        _experiment_id(client, spec.model, artifact_root),
        start_time=start_ms,
        tags=tags,
        run_name=f"{spec.model}-{spec.algorithm}-{spec.data_version}",
    )
    run_id = run.info.run_id
    with using_tracking_uri(tracking_uri), mlflow.start_run(run_id=run_id):
        mlflow.log_params(params)
        mlflow.log_metrics({**metrics, "holdout_rows": HOLDOUT_ROWS})
        info = mlflow.sklearn.log_model(
            pipeline,
            name="model",
            registered_model_name=spec.model,
            signature=infer_signature(X_hold.head(20), pipeline.predict(X_hold.head(20))),
            # Explicit requirements skip MLflow's slow requirement inference (a subprocess).
            pip_requirements=[
                f"{pkg}=={installed_version(pkg)}" for pkg in ("scikit-learn", "skops")
            ],
            skops_trusted_types=SKOPS_TRUSTED_TYPES,
        )
    # A backdated run should not look as if it ran for weeks.
    client.set_terminated(run_id, "FINISHED", end_time=start_ms + int(fit_s * 1000) + 1000)

    version = str(info.registered_model_version)
    version_tags = {**tags, "auc": f"{metrics['auc']:.4f}"}
    for key in VERSION_TAGS:
        client.set_model_version_tag(spec.model, version, key, version_tags[key])
    if spec.description:
        client.update_model_version(spec.model, version, description=spec.description)
    return TrainResult(spec.model, version, run_id, metrics)


def main(argv: list[str] | None = None) -> None:
    """Train and register one model version from the command line; print the result as JSON."""
    parser = argparse.ArgumentParser(
        prog="python -m opsloop.sandbox.ml.train", description=main.__doc__
    )
    parser.add_argument("--model", required=True, choices=sorted(FEATURES))
    parser.add_argument("--tracking-uri", required=True, help="e.g. sqlite:////tmp/mlflow.db")
    parser.add_argument("--artifact-root", required=True, type=Path, help="artifact directory")
    parser.add_argument("--algorithm", default="gbm", choices=ALGORITHMS)
    parser.add_argument("--drift", type=float, default=0.0, help="train on drifted data (0..1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rows", type=int, default=8000)
    parser.add_argument("--params", default="{}", help="estimator hyper-parameters as JSON")
    parser.add_argument("--data-version", default="latest")
    parser.add_argument("--git-sha", default="0000000")
    parser.add_argument("--created-by", default="ci-bot")
    parser.add_argument("--description", default="")
    args = parser.parse_args(argv)
    spec = TrainSpec(
        model=args.model,
        algorithm=args.algorithm,
        params=json.loads(args.params),
        seed=args.seed,
        rows=args.rows,
        drift=args.drift,
        data_version=args.data_version,
        git_sha=args.git_sha,
        description=args.description,
    )
    result = train_and_register(
        spec, args.tracking_uri, args.artifact_root, created_by=args.created_by
    )
    print(json.dumps(asdict(result), indent=2))


if __name__ == "__main__":
    main()
