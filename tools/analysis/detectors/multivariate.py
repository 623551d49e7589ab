"""Multivariate anomaly detection across a service's signals with IsolationForest."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FAR_Z = 8.0  # robust z beyond which a point is an outlier whatever the forest says


@dataclass
class Multivariate:
    """How unusual the window's joint signal values are against the baseline."""

    outlier_share: float  # share of window points IsolationForest calls outliers
    baseline_share: float  # the same share on the baseline (the false-alarm level)
    deviant: list[tuple[str, float]]  # signals by mean |robust z| in the window, largest first


def isolation(
    names: list[str], baseline: np.ndarray, window: np.ndarray, seed: int = 0
) -> Multivariate | None:
    """Fit on baseline rows (time × signal), score window rows; None if too few rows."""
    from sklearn.ensemble import IsolationForest

    keep = [
        i
        for i in range(baseline.shape[1])
        if np.isfinite(baseline[:, i]).all() and np.isfinite(window[:, i]).all()
    ]
    if len(keep) < 2 or len(baseline) < 20 or len(window) < 3:
        return None
    base, cur = baseline[:, keep], window[:, keep]
    median = np.median(base, axis=0)
    scale = np.maximum(
        1.4826 * np.median(np.abs(base - median), axis=0), np.maximum(0.05 * np.abs(median), 1e-9)
    )
    zb, zw = (base - median) / scale, (cur - median) / scale
    forest = IsolationForest(n_estimators=200, contamination=0.02, random_state=seed).fit(zb)
    # Trees only split inside the range they were fitted on, so a point far beyond it on one
    # signal can still land in a deep leaf; a robust bound catches those.
    outliers = (forest.predict(zw) == -1) | (np.abs(zw).max(axis=1) > FAR_Z)
    deviant = sorted(
        ((names[k], float(np.mean(np.abs(zw[:, j])))) for j, k in enumerate(keep)),
        key=lambda item: -item[1],
    )
    return Multivariate(float(np.mean(outliers)), float(np.mean(forest.predict(zb) == -1)), deviant)
