"""Small statistics shared by detectors and the sandbox: PSI and AUC."""

from __future__ import annotations

import numpy as np

_EPS = 1e-4


def psi(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    """Population stability index of `current` against `reference`, on reference deciles.

    Rule of thumb: < 0.1 stable, 0.1–0.25 moderate shift, > 0.25 significant shift.
    """
    ref = np.asarray(reference, dtype=float)
    cur = np.asarray(current, dtype=float)
    ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    if len(ref) == 0 or len(cur) == 0:
        return 0.0
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    ref_share = np.bincount(
        np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1
    ) / len(ref)
    cur_share = np.bincount(
        np.searchsorted(edges, cur, side="right"), minlength=len(edges) + 1
    ) / len(cur)
    ref_share, cur_share = np.maximum(ref_share, _EPS), np.maximum(cur_share, _EPS)
    return float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))
