"""Model versions switching in production, read from the serving pods' prediction counter.

A model server counts predictions by `model` and `version` (docs/conventions.md). When most
of a model's traffic moves from one version to another, a release happened, whether or not
a registry alias records it: the switch is timed at the first scrape that counted the new
version, and the version it replaced is the one to roll back to.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any, Protocol

from opsloop.tools.backends.changelog import ChangeEvent
from opsloop.tools.backends.prometheus.modelmon import ModelMetrics

MAX_STEPS = 720


class RangeClient(Protocol):
    """The part of the Prometheus client this module needs."""

    def range(self, query: str, start: datetime, end: datetime, step_s: float) -> list[dict]:
        """Run a range query."""
        ...

    def metric_names(self) -> list[str]:
        """Return every metric name."""
        ...


def version_switches(
    prom: RangeClient, models: ModelMetrics, since: float, until: float
) -> list[ChangeEvent]:
    """Return a version_switch event for each model whose serving majority changed version."""
    if models.predictions not in set(prom.metric_names()):
        return []
    step = max(15.0, math.ceil((until - since) / MAX_STEPS))
    label = models.model_label
    query = f"sum by ({label}, version) (rate({models.predictions}[{max(60, int(2 * step))}s]))"
    start, end = datetime.fromtimestamp(since - step, UTC), datetime.fromtimestamp(until, UTC)
    traffic: dict[str, dict[str, dict[float, float]]] = {}
    for row in prom.range(query, start, end, step):
        m = row.get("metric", {})
        if m.get(label) and m.get("version"):
            points = {float(t): float(v) for t, v in row.get("values", [])}
            traffic.setdefault(m[label], {})[m["version"]] = points
    out = []
    for model, versions in sorted(traffic.items()):
        out += _switches(model, versions)
    return [e for e in out if since <= e.at <= until]


def _switches(model: str, versions: dict[str, dict[float, float]]) -> list[ChangeEvent]:
    stamps = sorted({t for points in versions.values() for t in points})
    out, serving = [], None
    for t in stamps:
        rates = {v: p.get(t, 0.0) for v, p in versions.items()}
        top = max(rates, key=lambda v: rates[v])
        if rates[top] <= 0 or math.isnan(rates[top]):
            continue
        if serving is not None and top != serving:
            began = min((s for s in versions[top] if versions[top][s] > 0), default=t)
            out.append(_event(model, serving, top, max(began, _last_alone(versions, serving, t))))
        serving = top
    return out


def _last_alone(versions: dict[str, dict[float, float]], old: str, t: float) -> float:
    """Return the last time before `t` the old version served alone (0 when never)."""
    alone = [
        s
        for s, rate in versions[old].items()
        if s < t and rate > 0 and all(p.get(s, 0.0) <= 0 for v, p in versions.items() if v != old)
    ]
    return max(alone, default=0.0)


def _event(model: str, old: str, new: str, at: float) -> ChangeEvent:
    detail: dict[str, Any] = {"from": old, "to": new, "revision": new}
    return ChangeEvent(
        at=at,
        who="",
        kind="version_switch",
        target=model,
        summary=f"{model} now serves v{new} (was v{old}), by its prediction counter",
        detail=detail,
        source="prometheus",
        key=f"served:{model}:{old}->{new}@{int(at)}",
    )
