"""Seed the sandbox's MLflow registry with a believable history, and move aliases with a record."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opsloop.sandbox.ml.train import TrainSpec, train_and_register, using_tracking_uri
from opsloop.tools.backends.changelog import ChangeLog

DAY = 86400.0
CHAMPION = "champion"
CHALLENGER = "challenger"


@dataclass(frozen=True)
class SeededModel:
    """What seeding left in the registry for one model."""

    name: str
    versions: list[str]
    champion: str
    bad_candidate: str | None  # passed validation but is broken; a scenario promotes it
    failed: list[str]  # versions tagged validation_status=failed


@dataclass(frozen=True)
class _Alias:
    """An alias move in a model's history."""

    alias: str
    days_ago: float
    who: str
    reason: str


@dataclass(frozen=True)
class _Release:
    """One version in a model's history: how it was trained and what happened to it."""

    algorithm: str
    days_ago: float  # when it was trained
    by: str
    description: str
    params: dict[str, Any] = field(default_factory=dict)
    rows: int = 8000
    bug: str | None = None
    alias: _Alias | None = None


@dataclass(frozen=True)
class _ModelPlan:
    name: str
    description: str
    tags: dict[str, str]
    releases: tuple[_Release, ...]


FRAUD = _ModelPlan(
    name="fraud-detector",
    description="Scores card transactions for fraud in checkout; served by fraud-api.",
    tags={"service": "fraud-api", "team": "risk-ml"},
    releases=(
        _Release(
            "logreg",
            days_ago=31,
            by="alice",
            description="Baseline logistic regression on scaled features.",
            alias=_Alias(CHAMPION, 30, "alice", "first production model"),
        ),
        _Release(
            "gbm",
            days_ago=14,
            by="ci-bot",
            description="Weekly retrain: gradient boosting.",
            bug="shuffle_labels:0.5",  # a broken label join; validation catches it
        ),
        _Release(
            "gbm",
            days_ago=8,
            by="ci-bot",
            description="Weekly retrain: gradient boosting, label join fixed.",
            alias=_Alias(CHAMPION, 7, "ci-bot", "validation passed; beats v1 on holdout AUC"),
        ),
        _Release(
            "gbm",
            days_ago=1,
            by="ci-bot",
            description="Weekly retrain on the feature-store v2 snapshot.",
            # Training/serving skew: offline metrics match v3, live quality collapses.
            bug="invert_feature:device_score",
            alias=_Alias(CHALLENGER, 0.9, "ci-bot", "validation passed; awaiting promotion"),
        ),
    ),
)
RECSYS = _ModelPlan(
    name="recsys-ranker",
    description="Ranks recommendation candidates by click probability; served by recommender.",
    tags={"service": "recommender", "team": "discovery-ml"},
    releases=(
        _Release(
            "logreg",
            days_ago=40,
            by="bob",
            description="Baseline logistic regression click model.",
        ),
        _Release(
            "gbm",
            days_ago=21,
            by="bob",
            description="Gradient boosting, small.",
            rows=5000,
            params={"max_iter": 30, "max_leaf_nodes": 7},
            alias=_Alias(CHAMPION, 20, "bob", "beats the baseline on holdout AUC"),
        ),
        _Release(
            "gbm",
            days_ago=4,
            by="ci-bot",
            description="Gradient boosting: more data, more and smaller trees.",
            rows=10000,
            params={"max_iter": 200, "max_leaf_nodes": 5, "learning_rate": 0.05},
            alias=_Alias(CHAMPION, 3, "ci-bot", "validation passed; beats v2 on holdout AUC"),
        ),
        _Release(
            "gbm",
            days_ago=1,
            by="ci-bot",
            description="Weekly retrain on the feature-store v2 snapshot.",
            rows=10000,
            params={"max_iter": 200, "max_leaf_nodes": 5, "learning_rate": 0.05},
            # The same backfill bug as fraud-detector v4: affinity read backwards online.
            bug="invert_feature:user_affinity",
            alias=_Alias(CHALLENGER, 0.9, "ci-bot", "validation passed; awaiting promotion"),
        ),
    ),
)
PLANS: tuple[_ModelPlan, ...] = (FRAUD, RECSYS)


def planned_champion(model: str) -> str:
    """Return the version seeding leaves as `model`'s champion (versions count from 1)."""
    plan = next(p for p in PLANS if p.name == model)
    moves = [
        (r.alias.days_ago, i)
        for i, r in enumerate(plan.releases, 1)
        if r.alias and r.alias.alias == CHAMPION
    ]
    return str(min(moves)[1])  # the latest move


def _client(tracking_uri: str) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def current_alias(tracking_uri: str, model: str, alias: str) -> str | None:
    """Return the version `alias` of `model` points at, or None when it is unset."""
    # Reading the alias map avoids telling "no such alias" from other errors by message.
    version = _client(tracking_uri).get_registered_model(model).aliases.get(alias)
    return None if version is None else str(version)


def load_version(tracking_uri: str, model: str, version: str) -> Any:
    """Load one registered version as a fitted sklearn pipeline."""
    import mlflow.sklearn

    with using_tracking_uri(tracking_uri):
        return mlflow.sklearn.load_model(f"models:/{model}/{version}")


def move_alias(
    tracking_uri: str,
    changelog: ChangeLog,
    model: str,
    alias: str,
    version: str,
    *,
    who: str,
    reason: str,
    at: float | None = None,
) -> str | None:
    """Point `alias` of `model` at `version`, record the move; return the previous version.

    Moving an alias to where it already points changes nothing and records nothing.
    """
    from opsloop.tools.backends.aliases import move_alias as move
    from opsloop.tools.backends.mlflow_registry import Registry

    return move(
        Registry(tracking_uri), changelog, model, alias, version, who=who, reason=reason, at=at
    )


def _sha(*parts: object) -> str:
    """Return a stable fake commit id, so seeded provenance looks real and never changes."""
    return hashlib.sha1("/".join(map(str, parts)).encode()).hexdigest()[:7]


def _day(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).date().isoformat()


def _seed_model(
    plan: _ModelPlan,
    tracking_uri: str,
    artifact_root: Path,
    changelog: ChangeLog,
    now: float,
    seed: int,
) -> SeededModel:
    client = _client(tracking_uri)
    if client.search_model_versions(f"name='{plan.name}'"):
        raise ValueError(f"{plan.name} already has versions; seed an empty registry")
    versions: list[str] = []
    failed: list[str] = []
    bad: str | None = None
    for index, release in enumerate(plan.releases, start=1):
        trained_at = now - release.days_ago * DAY
        spec = TrainSpec(
            model=plan.name,
            algorithm=release.algorithm,
            params=release.params,
            seed=seed * 1000 + index,
            rows=release.rows,
            bug=release.bug,
            data_version=_day(trained_at - DAY),  # yesterday's partition
            git_sha=_sha(plan.name, seed, index),
            description=release.description,
        )
        result = train_and_register(
            spec, tracking_uri, artifact_root, created_by=release.by, started_at=trained_at
        )
        versions.append(result.version)
        tags = client.get_model_version(plan.name, result.version).tags
        if tags.get("validation_status") == "failed":
            failed.append(result.version)
        elif release.bug is not None:
            bad = result.version
        if (move := release.alias) is not None:
            move_alias(
                tracking_uri,
                changelog,
                plan.name,
                move.alias,
                result.version,
                who=move.who,
                reason=move.reason,
                at=now - move.days_ago * DAY,
            )
    client.update_registered_model(plan.name, description=plan.description)
    for key, value in plan.tags.items():
        client.set_registered_model_tag(plan.name, key, value)
    champion = current_alias(tracking_uri, plan.name, CHAMPION)
    if champion is None:
        raise RuntimeError(f"seeding left {plan.name} without a {CHAMPION}")
    return SeededModel(plan.name, versions, champion, bad, failed)


def seed_registry(
    tracking_uri: str, artifact_root: Path, changelog: ChangeLog, *, now: float, seed: int = 7
) -> list[SeededModel]:
    """Train and register every sandbox model version, set aliases and log their history.

    fraud-detector: v1 logreg (champion 30 d ago), v2 failed validation, v3 champion since 7 d,
    v4 a broken build that passed validation (challenger, the bad candidate).
    recsys-ranker: v1 logreg, v2 champion 20 d ago, v3 champion since 3 d, v4 the same kind of
    broken build (challenger, the bad candidate).
    """
    return [
        _seed_model(plan, tracking_uri, Path(artifact_root), changelog, now, seed) for plan in PLANS
    ]
