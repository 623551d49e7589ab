"""The sandbox's training pipeline: retrain a model on the world's recent data and compare it.

    python -m opsloop.sandbox.ml.retrain --model fraud-detector --window 7d --sandbox-dir DIR

Trains a new version on labelled data from the sandbox's warehouse, registers it, then scores
it and the current champion on a fresh labelled sample of the most recent window, and prints
one JSON object (version, run_id, metrics, evaluation) as its last line — the contract
opsloop's local retraining runner reads.

The sandbox compresses time: an incident that would take days unfolds in seconds, so its
warehouse serves the world as it is now (the current drift) for any requested window.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from opsloop.sandbox.faults import effects_at
from opsloop.sandbox.ml.data import Shift, batch
from opsloop.sandbox.ml.registry import CHAMPION, current_alias, load_version
from opsloop.sandbox.ml.train import HOLDOUT_ROWS, TrainSpec, evaluate, train_and_register
from opsloop.sandbox.scenario import load_scenario
from opsloop.sandbox.world import SANDBOX

EVAL_WINDOW = "last 1h"


def current_shift(sandbox_dir: Path, model: str, now: float) -> Shift:
    """Return how the sandbox world's live data differs from training data at `now`."""
    state = json.loads((sandbox_dir / "state.json").read_text())
    scenario = load_scenario(state["spec"])
    eff = effects_at(scenario.fault, SANDBOX, float(state["started"]), now)
    return Shift(drift=eff.drift.get(model, 0.0), scale=dict(eff.scale.get(model, {})))


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Train, register and evaluate; return the runner's JSON result."""
    now = time.time()
    shift = current_shift(args.sandbox_dir, args.model, now)
    champion = current_alias(args.tracking_uri, args.model, CHAMPION)
    spec = TrainSpec(
        model=args.model,
        algorithm=args.algorithm,
        seed=args.seed or int(now) % 100_000,
        rows=args.rows,
        drift=shift.drift,
        data_version=f"window:{args.window}@{time.strftime('%Y-%m-%dT%H:%M', time.gmtime(now))}",
        description=f"Retrained on the last {args.window} (requested by {args.created_by}).",
    )
    print(f"training {spec.model} ({spec.algorithm}, {spec.rows} rows, drift {shift.drift:.2f})")
    result = train_and_register(
        spec,
        args.tracking_uri,
        args.sandbox_dir / "mlflow" / "artifacts",
        created_by=args.created_by,
    )
    print(f"registered {spec.model} v{result.version} (holdout auc {result.metrics['auc']:.4f})")
    rng = np.random.default_rng([spec.seed, 99])
    features, labels = batch(args.model, HOLDOUT_ROWS, rng, shift)
    challenger = evaluate(
        load_version(args.tracking_uri, args.model, result.version), features, labels
    )
    evaluation: dict[str, Any] = {
        "metric": "auc",
        "higher_is_better": True,
        "challenger": round(challenger["auc"], 6),
        "rows": len(labels),
        "window": EVAL_WINDOW,
    }
    if champion is not None:
        incumbent = evaluate(
            load_version(args.tracking_uri, args.model, champion), features, labels
        )
        evaluation |= {"champion": round(incumbent["auc"], 6), "champion_version": champion}
    print(f"evaluation on {EVAL_WINDOW}: {json.dumps(evaluation)}")
    return {
        "version": result.version,
        "run_id": result.run_id,
        "metrics": result.metrics,
        "evaluation": evaluation,
    }


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run, print the result as the last line."""
    parser = argparse.ArgumentParser(
        prog="python -m opsloop.sandbox.ml.retrain",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", required=True, help="registered model name")
    parser.add_argument("--window", default="7d", help="training window ending now")
    parser.add_argument("--tracking-uri", required=True, help="MLflow tracking URI")
    parser.add_argument("--sandbox-dir", type=Path, required=True, help="the sandbox directory")
    parser.add_argument("--algorithm", default="gbm", choices=("gbm", "logreg"))
    parser.add_argument("--rows", type=int, default=8000, help="training rows")
    parser.add_argument("--seed", type=int, default=0, help="0: derive from the clock")
    parser.add_argument("--created-by", default="opsloop", help="who asked for it")
    args = parser.parse_args(argv)
    try:
        result = run(args)
    except (OSError, ValueError, KeyError) as exc:
        print(f"retraining failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
