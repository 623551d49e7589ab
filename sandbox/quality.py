"""Real model quality for the simulation: score registry models on fresh synthetic traffic."""

from __future__ import annotations

import threading
import time
import zlib

import numpy as np

from opsloop.sandbox.engine import Quality
from opsloop.sandbox.world import SCORE_BUCKETS
from opsloop.tools.analysis.stats import psi

BATCH_ROWS = 4000


class RegistryQuality:
    """Load each model version from MLflow and measure it on data with the current shift."""

    def __init__(self, tracking_uri: str, seed: int = 7) -> None:
        self.tracking_uri = tracking_uri
        self.seed = seed
        self._models: dict[tuple[str, str], object] = {}
        self._cache: dict[tuple, Quality] = {}
        self._reference: dict[str, dict[str, np.ndarray]] = {}
        self._lock = threading.Lock()

    def __call__(
        self, model: str, version: str, drift: float, scale: tuple[tuple[str, float], ...]
    ) -> Quality:
        """Return the quality of `model` `version` under this drift and schema scaling."""
        # Drift is quantised so a ramp costs a handful of scorings, not one per second.
        key = (model, version, round(drift * 20) / 20, tuple((k, round(v, 1)) for k, v in scale))
        with self._lock:
            if key not in self._cache:
                self._cache[key] = self._measure(*key)
            return self._cache[key]

    def _measure(
        self, model: str, version: str, drift: float, scale: tuple[tuple[str, float], ...]
    ) -> Quality:
        from sklearn.metrics import roc_auc_score

        from opsloop.sandbox.ml.data import FEATURES, Shift, batch

        estimator = self.load(model, version)
        rng = np.random.default_rng([self.seed, int(drift * 100), zlib.crc32(repr(scale).encode())])
        features, labels = batch(model, BATCH_ROWS, rng, Shift(drift=drift, scale=dict(scale)))
        scores = estimator.predict_proba(features)[:, 1]
        reference = self._reference_of(model)
        return Quality(
            auc=float(roc_auc_score(labels, scores)),
            score_cdf=[float(np.mean(scores <= le)) for le in SCORE_BUCKETS],
            score_mean=float(np.mean(scores)),
            psi={f: round(psi(reference[f], features[f].to_numpy()), 4) for f in FEATURES[model]},
            inference_s=_single_row_latency(estimator, features),
        )

    def load(self, model: str, version: str) -> object:
        """Return the registered model version (loaded once)."""
        if (model, version) not in self._models:
            import mlflow

            mlflow.set_tracking_uri(self.tracking_uri)
            mlflow.set_registry_uri(self.tracking_uri)
            self._models[(model, version)] = mlflow.sklearn.load_model(f"models:/{model}/{version}")
        return self._models[(model, version)]

    def _reference_of(self, model: str) -> dict[str, np.ndarray]:
        if model not in self._reference:
            from opsloop.sandbox.ml.data import FEATURES, batch

            frame, _ = batch(model, BATCH_ROWS, np.random.default_rng([self.seed, 1]))
            self._reference[model] = {f: frame[f].to_numpy() for f in FEATURES[model]}
        return self._reference[model]


def _single_row_latency(estimator: object, features) -> float:
    """Median wall time of scoring one request: the online serving path."""
    row = features.iloc[:1]
    times = []
    for _ in range(7):
        start = time.perf_counter()
        estimator.predict_proba(row)
        times.append(time.perf_counter() - start)
    return float(np.median(times))
