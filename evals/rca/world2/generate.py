"""Generate a case's Prometheus history for a seed and write it as OpenMetrics."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from opsloop.evals.rca.world2.cases import Case, cases
from opsloop.evals.rca.world2.dynamics import State, simulate_traffic
from opsloop.evals.rca.world2.export_http import export_http
from opsloop.evals.rca.world2.export_k8s import export_k8s, export_models
from opsloop.evals.rca.world2.modelmon import monitor
from opsloop.evals.rca.world2.plan import HISTORY_H, Plan, make_plan
from opsloop.evals.rca.world2.propagate import propagate
from opsloop.evals.rca.world2.store import Store


@dataclass
class History:
    """A generated world: its plan, the simulated state and the series."""

    plan: Plan
    state: State
    store: Store

    def write(self, path: Path) -> int:
        """Write the OpenMetrics file; return the samples written."""
        with path.open("w") as out:
            return self.store.write(out)


def generate(
    case: Case | str, seed: int, end: int | None = None, hours: float = HISTORY_H
) -> History:
    """Simulate `hours` of the world ending at `end` (Unix seconds, default: this minute)."""
    case = cases()[case] if isinstance(case, str) else case
    end = int(end if end is not None else time.time() // 15 * 15)
    plan = make_plan(case, seed, end, hours)
    state = simulate_traffic(plan)
    propagate(state)
    models = monitor(state)
    store = Store(plan.stamps)
    export_http(state, store)
    export_k8s(state, store)
    export_models(state, store, models)
    return History(plan, state, store)
