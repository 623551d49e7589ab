"""The two models as their serving pods and the model monitor report them.

The serving pods count predictions by version and histogram their scores; the monitor job
publishes online AUC from delayed labels every minute and per-feature PSI against the training
reference every five minutes (so both are step functions, as a real batch monitor's are).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from opsloop.evals.rca.world2.dynamics import State, noise, ramp
from opsloop.evals.rca.world2.world import MODELS, Model

QUALITY_EVERY_S, DRIFT_EVERY_S = 60.0, 300.0
LABEL_LAG_S = 120.0  # search clicks arrive within minutes
BAD_SCORES = (5.5, 5.5)  # the bad version's scores bunch up in the middle
DRIFTED = ("days_since_login", "tenure_days")


@dataclass
class ModelState:
    """One model's monitoring signals on the grid."""

    model: Model
    auc: np.ndarray
    psi: dict[str, np.ndarray]
    scores: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # pod: (a, b)
    version: dict[str, str] = field(default_factory=dict)  # pod: model version it serves


def held(state: State, values: np.ndarray, every: float) -> np.ndarray:
    """Return `values` as a job publishing every `every` seconds would: held between runs."""
    stamps = state.plan.stamps
    slot = np.floor(stamps / every)
    first = np.r_[0, np.nonzero(np.diff(slot))[0] + 1]
    index = np.repeat(first, np.diff(np.r_[first, len(stamps)]))
    return values[index]


def monitor(state: State) -> dict[str, ModelState]:
    """Return each model's quality, drift, score distribution and served versions."""
    plan, t = state.plan, state.t
    spec, rng, n = plan.case.fault, plan.rng, len(t)
    out = {}
    for m in MODELS:
        pods = state.pods[m.service]
        auc = m.auc + 0.004 * np.log(noise(rng, n, 1.0, 0.97))
        psi = {f: rng.uniform(0.01, 0.05) * noise(rng, n, 0.35, 0.95) for f in m.features}
        a0, b0 = m.score_ab
        ms = ModelState(m, auc, psi)
        progress = np.zeros(n)
        if spec.target == m.name and spec.type == "bad-model-version":
            served = sum(
                np.nan_to_num(p.share) for p in pods if plan.versions[(m.service, p.pod.revision)]
                != m.version
            )  # fmt: skip
            lagged = np.interp(t - LABEL_LAG_S, t, served)
            ms.auc = auc - plan.magnitude * np.minimum(lagged, ramp(t - plan.onset, plan.ramp))
        if spec.target == m.name and spec.type == "input-drift":
            progress = ramp(t - plan.onset, plan.ramp)
            for i, feature in enumerate(DRIFTED):
                psi[feature] = psi[feature] + plan.magnitude * (1.0 - 0.3 * i) * progress
            drop = 0.09 + 0.12 * np.clip((plan.magnitude - 0.3) / 0.4, 0.0, 1.0)
            ms.auc = auc - drop * ramp(t - plan.onset - 300.0, plan.ramp)
        ms.auc = held(state, ms.auc, QUALITY_EVERY_S)
        ms.psi = {f: held(state, v, DRIFT_EVERY_S) for f, v in psi.items()}
        for p in pods:
            version = plan.versions[(m.service, p.pod.revision)]
            ms.version[p.pod.name] = version
            a = np.full(n, a0)
            b = b0 * (1.0 - 0.45 * progress)
            if version != m.version:
                a, b = np.full(n, BAD_SCORES[0]), np.full(n, BAD_SCORES[1])
            ms.scores[p.pod.name] = (a, b)
        out[m.name] = ms
    return out
