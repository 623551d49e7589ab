"""Rollouts read from kube-state-metrics: a workload's generation stepping up is a change.

`kube_<kind>_metadata_generation` counts edits of a Deployment, StatefulSet or DaemonSet spec.
A step is a rollout when a new ReplicaSet appeared with it (`kube_replicaset_created`, whose
value is the creation time, and `kube_replicaset_owner`), a scale when only the replica count
moved (`kube_<kind>_spec_replicas`), and a rollout otherwise (a rollback reuses an old
ReplicaSet). The author is not in kube-state-metrics; CI/CD events posted to opsloop carry it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from opsloop.tools.backends.changelog import ChangeEvent
from opsloop.tools.backends.prometheus.kube import PodIndex, owner_of

KINDS = {  # workload label → (generation metric, replica count metric)
    "deployment": ("kube_deployment_metadata_generation", "kube_deployment_spec_replicas"),
    "statefulset": ("kube_statefulset_metadata_generation", "kube_statefulset_replicas"),
    "daemonset": ("kube_daemonset_metadata_generation", None),
}
RS_CREATED = "kube_replicaset_created"
RS_OWNER = "kube_replicaset_owner"
MAX_STEPS = 720


class RangeClient(Protocol):
    """The part of the Prometheus client this module needs."""

    def range(self, query: str, start: datetime, end: datetime, step_s: float) -> list[dict]:
        """Run a range query."""
        ...

    def instant(self, query: str, at: Any = None) -> list[dict[str, Any]]:
        """Run an instant query."""
        ...

    def metric_names(self) -> list[str]:
        """Return every metric name."""
        ...


def rollouts(
    prom: RangeClient, since: float, until: float, service_of: Callable[[str, str], str]
) -> list[ChangeEvent]:
    """Return the workload changes kube-state-metrics shows within [since, until]."""
    names = set(prom.metric_names())
    step = max(15.0, math.ceil((until - since) / MAX_STEPS))
    start = datetime.fromtimestamp(since - step, UTC)
    end = datetime.fromtimestamp(until, UTC)
    created = _replicasets(prom, end) if {RS_CREATED, RS_OWNER} <= names else {}
    out: list[ChangeEvent] = []
    for kind, (generation, replicas) in KINDS.items():
        if generation not in names:
            continue
        by = f"namespace, {kind}"
        steps = _steps(prom.range(f"max by ({by}) ({generation})", start, end, step), kind)
        scale = {}
        if steps and replicas in names:
            scale = _values(prom.range(f"max by ({by}) ({replicas})", start, end, step), kind)
        for (ns, name), ts, old, new in steps:
            sets = [
                (at, rs) for at, rs in created.get((ns, name), []) if ts - 2 * step < at <= ts + 1
            ]
            moved = _moved(scale.get((ns, name), {}), ts, step)
            at = max(sets)[0] if sets else ts
            out.append(_event(kind, ns, name, at, old, new, sets, moved, service_of(ns, name)))
    return [e for e in out if since <= e.at <= until]


def service_resolver(pods: PodIndex, when: datetime | None) -> Callable[[str, str], str]:
    """Return (namespace, workload) → the service its pods belong to (else the workload)."""
    index = pods.at(when)

    def service_of(namespace: str, workload: str) -> str:
        keys = set(index.labels) | set(index.owners) | set(index.app)
        for ns, pod in sorted(keys):
            if ns == namespace and (index.owners.get((ns, pod)) or owner_of(pod)) == workload:
                found = index.service({"namespace": ns, "pod": pod, "deployment": workload})
                if found:
                    return found
        return workload

    return service_of


def _event(
    kind: str,
    ns: str,
    name: str,
    at: float,
    old: int,
    new: int,
    sets: list[tuple[float, str]],
    moved: tuple[int, int] | None,
    service: str,
) -> ChangeEvent:
    where = f"{kind} {ns + '/' if ns else ''}{name}"
    detail: dict[str, Any] = {
        "namespace": ns,
        "workload": name,
        "workload_kind": kind,
        "generation": {"from": old, "to": new},
        "revision": str(new),
    }
    if sets:
        detail["replicaset"] = max(sets)[1]
    if moved and not sets:
        detail["replicas"] = {"from": moved[0], "to": moved[1]}
        what, change = "scale", f"scaled {moved[0]} → {moved[1]} replicas"
    else:
        rs = f", new ReplicaSet {detail['replicaset']}" if sets else ""
        what, change = "deploy", f"rolled out (generation {old} → {new}{rs})"
    return ChangeEvent(
        at=at,
        who="",  # kube-state-metrics does not know who
        kind=what,
        target=service,
        summary=f"{where} {change}",
        detail=detail,
        source="kubernetes",
        key=f"k8s:{ns}/{kind}/{name}:{new}",
    )


Points = list[tuple[float, float]]


def _series(matrix: list[dict], kind: str) -> list[tuple[tuple[str, str], Points]]:
    out = []
    for row in matrix:
        m = row.get("metric", {})
        points = [(float(t), float(v)) for t, v in row.get("values", []) if v not in ("NaN",)]
        if m.get(kind):
            out.append(((m.get("namespace", ""), m[kind]), points))
    return out


def _steps(matrix: list[dict], kind: str) -> list[tuple[tuple[str, str], float, int, int]]:
    """Return (workload, first time seen, old, new) for each upward step of a generation."""
    out = []
    for key, points in _series(matrix, kind):
        for (_, before), (t, after) in itertools.pairwise(points):
            if after > before:
                out.append((key, t, int(before), int(after)))
    return out


def _values(matrix: list[dict], kind: str) -> dict[tuple[str, str], dict[float, float]]:
    return {key: dict(points) for key, points in _series(matrix, kind)}


def _moved(values: dict[float, float], t: float, step: float) -> tuple[int, int] | None:
    before = [v for s, v in values.items() if t - 2 * step < s < t]
    if before and t in values and values[t] != before[-1]:
        return int(before[-1]), int(values[t])
    return None


def _replicasets(prom: RangeClient, end: datetime) -> dict[tuple[str, str], list]:
    """Return (namespace, deployment) → [(created at, ReplicaSet)] from kube-state-metrics."""
    window = "[1d]"
    owners = {}
    query = (
        f"max by (namespace, replicaset, owner_name) (last_over_time({RS_OWNER}"
        f'{{owner_kind="Deployment"}}{window}))'
    )
    for row in prom.instant(query, end):
        m = row.get("metric", {})
        owners[(m.get("namespace", ""), m.get("replicaset", ""))] = m.get("owner_name", "")
    out: dict[tuple[str, str], list] = {}
    query = f"max by (namespace, replicaset) (last_over_time({RS_CREATED}{window}))"
    for row in prom.instant(query, end):
        m = row.get("metric", {})
        key = (m.get("namespace", ""), m.get("replicaset", ""))
        if owners.get(key):
            at = float(row["value"][1])
            out.setdefault((key[0], owners[key]), []).append((at, key[1]))
    return out
