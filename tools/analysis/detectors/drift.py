"""Distribution drift: PSI and two-sample KS per feature and on prediction scores."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from opsloop.tools.analysis.stats import psi

PSI_MODERATE, PSI_SIGNIFICANT = 0.1, 0.25
KS_P, KS_MIN_STAT = 0.01, 0.1  # large samples make tiny shifts "significant"; require size too


@dataclass
class Drift:
    """Drift of one distribution, reference against current."""

    name: str
    psi: float
    ks: float
    p_value: float | None
    verdict: str  # "drifted" | "moderate" | "stable"


def verdict(psi_value: float, ks: float, p_value: float | None) -> str:
    """Combine PSI and KS into one verdict."""
    ks_says = p_value is not None and p_value < KS_P and ks >= KS_MIN_STAT
    if psi_value > PSI_SIGNIFICANT or (ks_says and psi_value > PSI_MODERATE):
        return "drifted"
    if psi_value > PSI_MODERATE or ks_says:
        return "moderate"
    return "stable"


def sample_drift(name: str, reference: np.ndarray, current: np.ndarray) -> Drift:
    """Compare two samples of one feature."""
    from scipy.stats import ks_2samp

    ref = np.asarray(reference, dtype=float)
    cur = np.asarray(current, dtype=float)
    ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    value = psi(ref, cur)
    test = ks_2samp(ref, cur)
    return Drift(
        name,
        value,
        float(test.statistic),
        float(test.pvalue),
        verdict(value, float(test.statistic), float(test.pvalue)),
    )


def histogram_drift(name: str, reference: np.ndarray, current: np.ndarray) -> Drift:
    """Compare two histograms (counts per bucket, same buckets), e.g. from Prometheus."""
    ref = np.maximum(np.asarray(reference, dtype=float), 0)
    cur = np.maximum(np.asarray(current, dtype=float), 0)
    if ref.sum() <= 0 or cur.sum() <= 0:
        return Drift(name, 0.0, 0.0, None, "stable")
    ref_share = np.maximum(ref / ref.sum(), 1e-4)
    cur_share = np.maximum(cur / cur.sum(), 1e-4)
    value = float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))
    ks = float(np.max(np.abs(np.cumsum(ref / ref.sum()) - np.cumsum(cur / cur.sum()))))
    return Drift(name, value, ks, None, verdict(value, ks, None))
