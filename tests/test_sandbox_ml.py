"""The sandbox's ML side on a real SQLite MLflow registry: data, training, seeding, aliases."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from opsloop.sandbox.ml.data import FEATURES, Shift, batch, reference_sample
from opsloop.sandbox.ml.registry import (
    CHAMPION,
    DAY,
    SeededModel,
    current_alias,
    load_version,
    move_alias,
    seed_registry,
)
from opsloop.sandbox.ml.train import (
    MIN_AUC,
    TrainSpec,
    main,
    train_and_register,
    using_tracking_uri,
)
from opsloop.tools.backends.changelog import ChangeLog

# MLflow's own SQLAlchemy usage; nothing this project can act on.
pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy")

NOW = 1_795_000_000.0
FRESH_ROWS = 20_000


def psi(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    """Population stability index over the reference's quantile bins."""
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)))
    edges[0], edges[-1] = -np.inf, np.inf
    ref = np.clip(np.histogram(reference, edges)[0] / len(reference), 1e-4, None)
    cur = np.clip(np.histogram(current, edges)[0] / len(current), 1e-4, None)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def online_auc(model: object, name: str, seed: int, drift: float = 0.0) -> float:
    """Score a fitted model on fresh, correct live data."""
    X, y = batch(name, FRESH_ROWS, np.random.default_rng(seed), Shift(drift=drift))
    return float(roc_auc_score(y, model.predict_proba(X)[:, 1]))  # type: ignore[attr-defined]


# --- data ------------------------------------------------------------------------------------


def test_batch_is_deterministic_with_a_seed() -> None:
    a, ya = batch("fraud-detector", 2000, np.random.default_rng(3))
    b, yb = batch("fraud-detector", 2000, np.random.default_rng(3))
    assert list(a.columns) == FEATURES["fraud-detector"]
    assert a.equals(b) and np.array_equal(ya, yb)
    assert not a.equals(batch("fraud-detector", 2000, np.random.default_rng(4))[0])


@pytest.mark.parametrize(
    ("model", "low", "high"), [("fraud-detector", 0.02, 0.04), ("recsys-ranker", 0.05, 0.10)]
)
def test_positive_rate_is_in_range(model: str, low: float, high: float) -> None:
    _, y = batch(model, 30_000, np.random.default_rng(1))
    assert low <= y.mean() <= high


@pytest.mark.parametrize(
    ("model", "column"),
    [
        ("fraud-detector", "txn_velocity"),
        ("fraud-detector", "merchant_risk"),
        ("recsys-ranker", "item_popularity"),
    ],
)
def test_drift_moves_the_feature_distribution(model: str, column: str) -> None:
    reference = reference_sample(model, 10_000, seed=1)[column].to_numpy()
    same, _ = batch(model, 10_000, np.random.default_rng(2))
    drifted, _ = batch(model, 10_000, np.random.default_rng(2), Shift(drift=1.0))
    assert psi(reference, same[column].to_numpy()) < 0.05
    assert psi(reference, drifted[column].to_numpy()) > 0.2


def test_scale_multiplies_the_column_after_labelling() -> None:
    plain, y = batch("fraud-detector", 1000, np.random.default_rng(5))
    cents, y_cents = batch(
        "fraud-detector", 1000, np.random.default_rng(5), Shift(scale={"amount": 100.0})
    )
    assert np.array_equal(y, y_cents)
    assert np.allclose(cents["amount"], plain["amount"] * 100.0)
    assert cents.drop(columns="amount").equals(plain.drop(columns="amount"))
    with pytest.raises(ValueError, match="unknown column"):
        batch("fraud-detector", 10, np.random.default_rng(5), Shift(scale={"nope": 2.0}))


# --- training --------------------------------------------------------------------------------


def test_train_and_register_logs_a_loadable_version(tmp_path: Path) -> None:
    from mlflow import MlflowClient

    uri, root = f"sqlite:///{tmp_path / 'ml' / 'mlflow.db'}", tmp_path / "ml" / "artifacts"
    (tmp_path / "ml").mkdir()
    env_before = os.environ.get("MLFLOW_TRACKING_URI")
    spec = TrainSpec(
        "fraud-detector",
        "gbm",
        params={"max_iter": 60},
        seed=1,
        rows=6000,
        data_version="2026-11-15",
        git_sha="abc1234",
        description="unit test",
    )
    result = train_and_register(spec, uri, root, created_by="alice")

    assert result.version == "1"
    assert result.metrics["auc"] >= MIN_AUC["fraud-detector"]
    assert os.environ.get("MLFLOW_TRACKING_URI") == env_before  # the global URI is restored
    with using_tracking_uri(uri):
        import mlflow.sklearn

        model = mlflow.sklearn.load_model("models:/fraud-detector/1")
    assert online_auc(model, "fraud-detector", seed=11) > 0.9

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    run = client.get_run(result.run_id)
    assert run.data.params["algorithm"] == "gbm" and run.data.params["max_iter"] == "60"
    assert {"rows", "seed", "drift", "learning_rate"} <= set(run.data.params)
    assert {"auc", "logloss", "precision_at_5pct"} <= set(run.data.metrics)
    assert run.data.tags["validation_status"] == "passed"
    assert run.data.tags["git_sha"] == "abc1234" and run.data.tags["created_by"] == "alice"
    version = client.get_model_version("fraud-detector", "1")
    assert version.tags["data_version"] == "2026-11-15"
    assert version.tags["validation_status"] == "passed"
    assert version.description == "unit test"

    # Artifacts land under the chosen root, nothing in the working directory.
    assert any(root.rglob("MLmodel"))
    assert run.info.artifact_uri.startswith(root.resolve().as_uri())
    assert not {"mlruns", "mlartifacts", "mlflow.db"} & {p.name for p in Path.cwd().iterdir()}


def test_spec_rejects_unknown_bugs_and_shas() -> None:
    with pytest.raises(ValueError, match="unknown bug"):
        TrainSpec("fraud-detector", "gbm", bug="explode:amount")
    with pytest.raises(ValueError, match="feature"):
        TrainSpec("fraud-detector", "gbm", bug="drop_feature:nope")
    with pytest.raises(ValueError, match="git_sha"):
        TrainSpec("fraud-detector", "gbm", git_sha="main")


def test_cli_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "--tracking-uri" in capsys.readouterr().out


# --- the seeded registry ---------------------------------------------------------------------


class Seeded:
    """A registry seeded once for this module, with its change log and timing."""

    def __init__(self, root: Path) -> None:
        self.uri = f"sqlite:///{root / 'mlflow.db'}"
        self.changelog = ChangeLog(root / "changes.sqlite")
        started = time.perf_counter()
        self.models = {
            m.name: m
            for m in seed_registry(self.uri, root / "artifacts", self.changelog, now=NOW, seed=7)
        }
        self.seconds = time.perf_counter() - started


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    root = tmp_path_factory.mktemp("registry")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)  # module fixtures run before the per-test chdir; keep cwd disposable
        world = Seeded(root)
    yield world
    world.changelog.close()


def test_seed_registry_versions_aliases_and_tags(seeded: Seeded) -> None:
    from mlflow import MlflowClient

    assert seeded.models["fraud-detector"] == SeededModel(
        "fraud-detector", ["1", "2", "3", "4"], champion="3", bad_candidate="4", failed=["2"]
    )
    assert seeded.models["recsys-ranker"] == SeededModel(
        "recsys-ranker", ["1", "2", "3", "4"], champion="3", bad_candidate="4", failed=[]
    )
    assert current_alias(seeded.uri, "fraud-detector", CHAMPION) == "3"
    assert current_alias(seeded.uri, "fraud-detector", "challenger") == "4"
    assert current_alias(seeded.uri, "recsys-ranker", "challenger") == "4"

    client = MlflowClient(tracking_uri=seeded.uri, registry_uri=seeded.uri)
    tags = {v: client.get_model_version("fraud-detector", v).tags for v in "1234"}
    assert tags["2"]["validation_status"] == "failed"
    assert all(tags[v]["validation_status"] == "passed" for v in "134")
    assert tags["4"]["created_by"] == "ci-bot" and tags["1"]["created_by"] == "alice"
    assert client.get_registered_model("fraud-detector").description
    print(f"\nseed_registry: {seeded.seconds:.1f} s")


def test_change_log_holds_the_champion_history(seeded: Seeded) -> None:
    moves = [e for e in seeded.changelog.events(target="fraud-detector") if e.kind == "alias_move"]
    assert [(e.at, e.who, e.detail["alias"], e.detail["from"], e.detail["to"]) for e in moves] == [
        (NOW - 30 * DAY, "alice", "champion", None, "1"),
        (NOW - 7 * DAY, "ci-bot", "champion", "1", "3"),
        (NOW - 0.9 * DAY, "ci-bot", "challenger", None, "4"),
    ]
    assert moves[1].summary == "fraud-detector champion 1 → 3 by ci-bot"
    recsys = seeded.changelog.events(target="recsys-ranker")
    assert [(e.at, e.detail["alias"], e.detail["to"]) for e in recsys] == [
        (NOW - 20 * DAY, "champion", "2"),
        (NOW - 3 * DAY, "champion", "3"),
        (NOW - 0.9 * DAY, "challenger", "4"),
    ]
    assert all(e.at < NOW for e in seeded.changelog.events())


@pytest.mark.parametrize("model", ["fraud-detector", "recsys-ranker"])
def test_bad_candidate_passes_offline_but_fails_online(seeded: Seeded, model: str) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=seeded.uri, registry_uri=seeded.uri)
    offline = float(client.get_model_version(model, "4").tags["auc"])
    champion = online_auc(load_version(seeded.uri, model, "3"), model, 21)
    bad = online_auc(load_version(seeded.uri, model, "4"), model, 21)
    print(f"\n{model} v4 offline {offline:.3f}; online champion v3 {champion:.3f}, v4 {bad:.3f}")
    assert offline >= MIN_AUC[model]  # it sneaks through validation
    assert champion - bad >= 0.1


@pytest.mark.parametrize(("model", "share"), [("fraud-detector", 0.75), ("recsys-ranker", 0.5)])
def test_drift_hurts_the_champion_and_retraining_recovers(
    seeded: Seeded, tmp_path: Path, model: str, share: float
) -> None:
    champion = load_version(seeded.uri, model, seeded.models[model].champion)
    before = online_auc(champion, model, 31)
    after = online_auc(champion, model, 31, drift=1.0)

    uri = f"sqlite:///{tmp_path / 'retrain.db'}"
    retrained = train_and_register(TrainSpec(model, "gbm", seed=5, drift=1.0), uri, tmp_path)
    recovered = online_auc(load_version(uri, model, retrained.version), model, 31, drift=1.0)
    print(f"\n{model}: champion {before:.3f}, at drift=1 {after:.3f}, retrained {recovered:.3f}")
    assert before - after >= 0.08
    assert recovered - after >= share * (before - after)


def test_recsys_champion_beats_its_predecessors(seeded: Seeded) -> None:
    aucs = [
        online_auc(load_version(seeded.uri, "recsys-ranker", v), "recsys-ranker", 41) for v in "123"
    ]
    print(f"\nrecsys online AUC v1..v3: {[round(a, 3) for a in aucs]}")
    assert aucs[0] < aucs[1] < aucs[2]
    assert 0.75 <= aucs[2] <= 0.85


# --- alias moves -----------------------------------------------------------------------------


def test_move_alias_returns_the_previous_version_and_records_it(tmp_path: Path) -> None:
    uri, root = f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path / "artifacts"
    for seed in (1, 2):
        train_and_register(TrainSpec("recsys-ranker", "logreg", seed=seed, rows=2000), uri, root)
    log = ChangeLog(tmp_path / "changes.sqlite")

    first = move_alias(uri, log, "recsys-ranker", CHAMPION, "1", who="alice", reason="x", at=1.0)
    assert first is None
    previous = move_alias(
        uri, log, "recsys-ranker", CHAMPION, "2", who="ci-bot", reason="nightly", at=2.0
    )
    assert previous == "1"
    assert current_alias(uri, "recsys-ranker", CHAMPION) == "2"
    # Moving to where the alias already points is a no-op, not a change.
    assert move_alias(uri, log, "recsys-ranker", CHAMPION, "2", who="bob", reason="again") == "2"

    events = log.events(target="recsys-ranker")
    assert [e.summary for e in events] == [
        "recsys-ranker champion none → 1 by alice",
        "recsys-ranker champion 1 → 2 by ci-bot",
    ]
    assert events[1].kind == "alias_move"
    assert events[1].detail == {"alias": "champion", "from": "1", "to": "2", "reason": "nightly"}
    log.close()
