"""Synthetic training and live data for the sandbox models, drawn from a known ground truth."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pandas as pd

FEATURES: dict[str, list[str]] = {
    "fraud-detector": [
        "amount",
        "merchant_risk",
        "hour",
        "distance_km",
        "txn_velocity",
        "account_age_days",
        "device_score",
    ],
    "recsys-ranker": [
        "user_affinity",
        "item_popularity",
        "recency_days",
        "price",
        "position",
        "category_match",
        "session_length",
    ],
}
# Per model: a 0–1 score an upstream unit change corrupts (served as a percentage), and what
# one prediction is about, for the serving side's logs.
UNIT_SCORES: dict[str, str] = {"fraud-detector": "device_score", "recsys-ranker": "user_affinity"}
SCORED_UNITS: dict[str, str] = {"fraud-detector": "transactions", "recsys-ranker": "candidates"}
DRIFT_PSI = 0.25  # the PSI above which a feature monitor calls a feature drifted

# Share of frauds that follow the new pattern at drift=1.0; the old pattern never vanishes.
NEW_PATTERN_SHARE = 0.5
# Tuned so about 3 % of undrifted transactions are fraud.
FRAUD_INTERCEPT = -10.6


@dataclass(frozen=True)
class Shift:
    """How live data differs from training data."""

    drift: float = 0.0  # 0..1: strength of a new fraud/click pattern (concept + covariate drift)
    scale: dict[str, float] = field(default_factory=dict)  # column -> multiplier (unit change)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _fraud_features(n: int, rng: np.random.Generator, drift: float) -> dict[str, np.ndarray]:
    """Draw ordinary card transactions; drift onboards riskier merchants and a chattier app."""
    day_weight = 1.0 + 0.8 * np.sin(np.pi * (np.arange(24) - 6) / 18).clip(0)
    return {
        "amount": np.exp(rng.normal(3.6, 1.0, n)),
        "merchant_risk": rng.beta(2.0 + 1.0 * drift, 6.0 - 0.5 * drift, n),
        "hour": rng.choice(24, n, p=day_weight / day_weight.sum()).astype(float),
        "distance_km": np.exp(rng.normal(2.0, 1.1, n)),
        "txn_velocity": rng.poisson(1.2, n).astype(float),
        "account_age_days": np.exp(rng.normal(6.0, 1.2, n)),
        "device_score": rng.beta(6.0, 2.0, n),
    }


def _fraud_logit(f: dict[str, np.ndarray]) -> np.ndarray:
    """Return the old pattern's log-odds: big night-time spends far from home, unknown devices."""
    log_amount = np.log(f["amount"])
    night = (f["hour"] <= 5).astype(float)
    return (
        FRAUD_INTERCEPT
        + 2.0 * (log_amount > 4.6)
        + 6.0 * f["merchant_risk"]
        + 2.5 * night
        + 1.5 * night * (log_amount > 4.0)  # interactions and steps: trees beat a linear model
        + 2.5 * (f["distance_km"] > 40)
        + 0.6 * f["txn_velocity"]
        + 2.2 * (f["account_age_days"] < 90)
        - 9.0 * (f["device_score"] - 0.75)
        + 2.5 * (f["device_score"] < 0.55)
    )


def _fraud_new_pattern(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Draw card-testing frauds: small daytime amounts from young accounts on trusted devices."""
    return {
        "amount": np.exp(rng.normal(1.8, 0.4, n)),
        "merchant_risk": rng.beta(6.0, 6.0, n),
        "hour": rng.integers(9, 20, n).astype(float),
        "distance_km": np.exp(rng.normal(1.5, 0.6, n)),
        "txn_velocity": rng.poisson(3.0, n).astype(float),
        "account_age_days": np.exp(rng.normal(4.6, 0.5, n)),
        "device_score": rng.beta(8.0, 2.0, n),
    }


def _fraud(n: int, rng: np.random.Generator, drift: float) -> tuple[pd.DataFrame, np.ndarray]:
    feats = _fraud_features(n, rng, drift)
    noise = rng.normal(0.0, 0.3, n)
    share = NEW_PATTERN_SHARE * drift
    # Old-pattern odds shrink by (1 - share) and new-pattern frauds fill that share back; riskier
    # merchants still lift the overall rate (about 2x at drift=1), as a fraud wave would.
    p = _sigmoid(_fraud_logit(feats) + noise + np.log1p(-share))
    y = (rng.random(n) < p).astype(int)
    # Replace random rows by new-pattern frauds so their count is `share` of all frauds.
    n_new = rng.binomial(n, share * p.mean() / (0.9 * (1.0 - share))) if share > 0 else 0
    if n_new:
        rows = rng.choice(n, n_new, replace=False)
        new = _fraud_new_pattern(n_new, rng)
        for col, values in new.items():
            feats[col][rows] = values
        y[rows] = (rng.random(n_new) < 0.9).astype(int)
    # The app's retries inflate the observed velocity of everyone after the labels are drawn.
    feats["txn_velocity"] = feats["txn_velocity"] + rng.poisson(1.5 * drift, n)
    return pd.DataFrame(feats), y


def _recsys(n: int, rng: np.random.Generator, drift: float) -> tuple[pd.DataFrame, np.ndarray]:
    """Draw impressions; drift is a catalogue refresh plus a taste for novelty over popularity."""
    feats = {
        "user_affinity": rng.beta(2.0, 3.0, n),
        "item_popularity": rng.beta(2.0 - 0.6 * drift, 5.0 + 1.0 * drift, n),
        "recency_days": rng.exponential(30.0, n),
        "price": np.exp(rng.normal(3.0, 0.8, n)),
        "position": rng.integers(1, 21, n).astype(float),
        "category_match": (rng.random(n) < 0.35 + 0.15 * drift).astype(float),
        "session_length": (rng.poisson(8.0, n) + 1).astype(float),
    }
    log_price = np.log(feats["price"])
    taste = 1.0 - 1.6 * drift  # exploring users turn away from their usual categories
    z = (
        -5.5
        + 2.5 * feats["user_affinity"]
        + (3.0 - 6.5 * drift) * feats["item_popularity"]
        + 1.0 * (feats["recency_days"] < 7)
        - 0.6 * (log_price - 3.0) ** 2  # a price sweet spot
        + 1.6 * (feats["position"] <= 3)
        - 0.04 * feats["position"]
        + taste * (0.6 + 2.0 * feats["user_affinity"]) * feats["category_match"]
        + 0.5 * (feats["session_length"] > 10)
        + 2.3 * drift  # the novelty-seeking crowd clicks about as often as before
        + rng.normal(0.0, 0.4, n)
    )
    y = (rng.random(n) < _sigmoid(z)).astype(int)
    return pd.DataFrame(feats), y


_GENERATORS: dict[str, Callable[..., tuple[pd.DataFrame, np.ndarray]]] = {
    "fraud-detector": _fraud,
    "recsys-ranker": _recsys,
}


def batch(
    model: str, n: int, rng: np.random.Generator, shift: Shift | None = None
) -> tuple[pd.DataFrame, np.ndarray]:
    """Draw `n` labelled rows for `model`; `shift` describes how live data departs from training."""
    if model not in _GENERATORS:
        raise ValueError(f"unknown model {model!r}; expected one of {sorted(_GENERATORS)}")
    shift = shift or Shift()
    if not 0.0 <= shift.drift <= 1.0:
        raise ValueError(f"drift must be within [0, 1], got {shift.drift}")
    X, y = _GENERATORS[model](n, rng, shift.drift)
    # Scaling after labelling: the world is unchanged, only what the model sees is wrong.
    for col, factor in shift.scale.items():
        if col not in X.columns:
            raise ValueError(f"cannot scale unknown column {col!r} of {model}")
        X[col] = X[col] * factor
    return X[FEATURES[model]], y


@cache
def drifted_features(model: str, drift: float = 1.0, rows: int = 4000) -> tuple[str, ...]:
    """Return `model`'s features whose PSI at `drift` exceeds DRIFT_PSI, most drifted first."""
    from opsloop.tools.analysis.stats import psi

    # Fixed seeds: the answer is a property of the data generator, not of one sandbox run.
    before, _ = batch(model, rows, np.random.default_rng([0, 1]))
    after, _ = batch(model, rows, np.random.default_rng([0, 2]), Shift(drift=drift))
    scores = {f: psi(before[f].to_numpy(), after[f].to_numpy()) for f in FEATURES[model]}
    return tuple(
        f for f in sorted(scores, key=scores.__getitem__, reverse=True) if scores[f] > DRIFT_PSI
    )


def reference_sample(model: str, n: int, seed: int) -> pd.DataFrame:
    """Return `n` training-distribution feature rows, the reference for drift statistics."""
    X, _ = batch(model, n, np.random.default_rng(seed))
    return X
