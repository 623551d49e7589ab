"""Kubernetes series (cAdvisor, kube-state-metrics) joined to services by pod.

Container and pod series carry `namespace`, `pod` and `container`, never a service. A pod
belongs to the service that, in this order (docs/conventions.md): its own request metrics
name (when they carry `pod`); its `app.kubernetes.io/name` or `app` label
(`kube_pod_labels`); its `deployment` or `container` label; its owner (`kube_pod_owner`, or
the pod name without the ReplicaSet and pod hash suffixes) — the first that is a known
service. A workload that is no known service still counts under its own name when it runs
beside known services (a worker without request metrics), never elsewhere (kube-system).
"""

from __future__ import annotations

import re
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import numpy as np

from opsloop.tools.backends.prometheus.identity import JOB, OTEL_SERVICE, name_from
from opsloop.tools.errors import OpsError

POD_LABELS = "kube_pod_labels"
POD_OWNER = "kube_pod_owner"
APP_LABELS = ("label_app_kubernetes_io_name", "label_app")
EVENT_WINDOW = "10m"  # restarts and OOM kills are counted over this range
LOOKBACK = "3h"  # pods seen this long before the time asked about still count (rollouts)
# checkout-7d9f8b6c4-x2x9z → checkout (Deployment); checkout-0 → checkout (StatefulSet);
# checkout-x2x9z → checkout (DaemonSet, Job). Kubernetes draws hashes and suffixes from an
# alphabet without vowels (so `node-exporter-x2x9z` is no Deployment "node").
_HASH = "[bcdfghjklmnpqrstvwxz2456789]"
_REPLICASET_POD = re.compile(rf"^(.+)-{_HASH}{{5,10}}-{_HASH}{{5}}$")
_ORDINAL_POD = re.compile(r"^(.+)-\d+$")
_SHORT_POD = re.compile(rf"^(.+)-{_HASH}{{5}}$")
_REPLICASET = re.compile(rf"^(.+)-{_HASH}{{5,10}}$")


class Instant(Protocol):
    """The part of the Prometheus client this module needs."""

    def instant(self, query: str, at: Any = None) -> list[dict[str, Any]]:
        """Run an instant query."""
        ...

    def metric_names(self) -> list[str]:
        """Return every metric name."""
        ...


def owner_of(pod: str) -> str:
    """Return the workload a pod name belongs to, by the names Kubernetes gives pods."""
    for pattern in (_REPLICASET_POD, _ORDINAL_POD, _SHORT_POD):
        if match := pattern.match(pod):
            return match.group(1)
    return pod


@dataclass
class Pods:
    """What is known about the pods at one time."""

    known: set[str]
    app: dict[tuple[str, str], str] = field(default_factory=dict)  # (ns, pod) → service
    labels: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # app labels
    owners: dict[tuple[str, str], str] = field(default_factory=dict)  # (ns, pod) → workload
    namespaces: set[str] = field(default_factory=set)  # where known services run

    def service(self, labels: Mapping[str, str]) -> str | None:
        """Return the service a Kubernetes label set belongs to (None: none that counts)."""
        ns, pod = labels.get("namespace", ""), labels.get("pod", "")
        candidates = [self.app.get((ns, pod), "")]
        candidates += self.labels.get((ns, pod), [])
        candidates += [labels.get("deployment", ""), labels.get("container", "")]
        owner = self.owners.get((ns, pod)) or (owner_of(pod) if pod else "")
        candidates.append(owner)
        for name in candidates:
            if name and name in self.known:
                return name
        workload = labels.get("deployment") or owner
        if workload and ns in self.namespaces:
            return workload
        return None


class PodIndex:
    """Pods of a Prometheus, read once per time asked about, and mapped to services."""

    def __init__(
        self,
        prom: Instant,
        services: Callable[[], list[str]],
        server_pods: Callable[[datetime | None], Iterable[tuple[str, str, str]]],
    ) -> None:
        self.prom = prom
        self.services = services
        self.server_pods = server_pods  # (namespace, pod, service) from request metrics
        self._lock = threading.Lock()
        self._cache: dict[int | None, Pods] = {}

    def at(self, when: datetime | None = None) -> Pods:
        """Return the pods seen in the few hours before `when` (now when None)."""
        key = int(when.timestamp()) // 60 if when else None
        with self._lock:
            if key not in self._cache:
                self._cache = {key: self._load(when)}  # one investigation's time at a time
            return self._cache[key]

    def _load(self, when: datetime | None) -> Pods:
        try:
            known = set(self.services())
        except OpsError:
            known = set()
        pods = Pods(known)
        for ns, pod, service in self.server_pods(when):
            pods.app[(ns, pod)] = service
            pods.namespaces.add(ns)
        names = set(self.prom.metric_names())
        if POD_LABELS in names:
            keep = ", ".join(("namespace", "pod", *APP_LABELS))
            query = f"max by ({keep}) (last_over_time({POD_LABELS}[{LOOKBACK}]))"
            for row in self.prom.instant(query, when):
                m = row.get("metric", {})
                key = (m.get("namespace", ""), m.get("pod", ""))
                pods.labels[key] = [m[k] for k in APP_LABELS if m.get(k)]
        if POD_OWNER in names:
            keep = "namespace, pod, owner_kind, owner_name"
            query = f"max by ({keep}) (last_over_time({POD_OWNER}[{LOOKBACK}]))"
            for row in self.prom.instant(query, when):
                m = row.get("metric", {})
                owner = m.get("owner_name", "")
                if m.get("owner_kind") == "ReplicaSet" and (rs := _REPLICASET.match(owner)):
                    owner = rs.group(1)
                if owner:
                    pods.owners[(m.get("namespace", ""), m.get("pod", ""))] = owner
        for (ns, pod), names_ in pods.labels.items():
            if any(n in known for n in names_) or pods.owners.get((ns, pod)) in known:
                pods.namespaces.add(ns)
        return pods


def server_pods(prom: Instant, metric: str, identity: str, when: datetime | None) -> list[tuple]:
    """Return (namespace, pod, service) for the pods a request metric names services on."""
    query = f"count by (namespace, pod, {identity}) (last_over_time({metric}[{LOOKBACK}]))"
    out = []
    for row in prom.instant(query, when):
        m = row.get("metric", {})
        if m.get("pod") and m.get(identity):
            out.append((m.get("namespace", ""), m["pod"], name_from(identity, m[identity])))
    return out


@dataclass(frozen=True)
class KubeQuery:
    """One Kubernetes signal per container or pod, combined per service by `combine`."""

    signal: str
    promql: str
    unit: str
    title: str
    combine: str  # "max" (a share: the worst pod) or "sum" (events: every pod's)


_RUNNING = 'container!="",container!="POD"'  # not the pause container, not pod totals
_BY = "namespace, pod, container"


def kube_queries(names: set[str], rate: str) -> list[KubeQuery]:
    """Return the Kubernetes signals the present metrics allow (docs/conventions.md)."""
    out: list[KubeQuery] = []

    def limit(resource: str, spec: str | None) -> str | None:
        if "kube_pod_container_resource_limits" in names:
            sel = f'kube_pod_container_resource_limits{{resource="{resource}"}}'
            return f"sum by ({_BY}) ({sel})"
        return spec

    cpu_spec = None
    if {"container_spec_cpu_quota", "container_spec_cpu_period"} <= names:
        cpu_spec = (
            f"sum by ({_BY}) (container_spec_cpu_quota{{{_RUNNING}}} > 0) / on ({_BY}) "
            f"sum by ({_BY}) (container_spec_cpu_period{{{_RUNNING}}} > 0)"
        )
    mem_spec = None
    if "container_spec_memory_limit_bytes" in names:
        mem_spec = f"sum by ({_BY}) (container_spec_memory_limit_bytes{{{_RUNNING}}} > 0)"
    cpu_limit, mem_limit = limit("cpu", cpu_spec), limit("memory", mem_spec)
    if "container_cpu_usage_seconds_total" in names and cpu_limit:
        usage = f"sum by ({_BY}) (rate(container_cpu_usage_seconds_total{{{_RUNNING}}}[{rate}]))"
        out.append(
            KubeQuery(
                "cpu_util", f"{usage} / on ({_BY}) ({cpu_limit})", "ratio", "CPU use / limit", "max"
            )
        )
    periods = ("container_cpu_cfs_throttled_periods_total", "container_cpu_cfs_periods_total")
    if set(periods) <= names:
        throttled, total = (f"sum by ({_BY}) (rate({m}{{{_RUNNING}}}[{rate}]))" for m in periods)
        out.append(
            KubeQuery(
                "cpu_throttling",
                f"{throttled} / on ({_BY}) {total}",
                "ratio",
                "CPU throttled",
                "max",
            )
        )
    if "container_memory_working_set_bytes" in names and mem_limit:
        used = f"sum by ({_BY}) (container_memory_working_set_bytes{{{_RUNNING}}})"
        out.append(
            KubeQuery(
                "memory_util",
                f"{used} / on ({_BY}) ({mem_limit})",
                "ratio",
                "memory / limit",
                "max",
            )
        )
    restarts = "kube_pod_container_status_restarts_total"
    if restarts in names:
        # A restart is one step of a counter: counted over ten minutes it stays in view while
        # the investigation looks (over a 1m rate range it is gone a minute later).
        increase = f"sum by ({_BY}) (increase({restarts}[{EVENT_WINDOW}]))"
        out.append(KubeQuery("restarts", increase, "count", "restarts in 10 min", "sum"))
        reason = "kube_pod_container_status_last_terminated_reason"
        if reason in names:
            oom = f'max by ({_BY}) ({reason}{{reason="OOMKilled"}})'
            promql = f"{increase} * on ({_BY}) group_left {oom}"
            out.append(KubeQuery("oom_kills", promql, "count", "OOM kills in 10 min", "sum"))
    if "kube_pod_status_ready" in names:
        promql = 'sum by (namespace, pod) (kube_pod_status_ready{condition="false"})'
        out.append(KubeQuery("not_ready", promql, "count", "pods not ready", "sum"))
    if "kube_deployment_status_replicas_unavailable" in names:
        promql = "sum by (namespace, deployment) (kube_deployment_status_replicas_unavailable)"
        out.append(KubeQuery("unavailable", promql, "count", "unavailable replicas", "sum"))
    return out


Series = tuple[dict[str, str], np.ndarray, np.ndarray]  # (labels, timestamps, values)


def per_service(series: list[Series], pods: Pods, combine: str, service_label: str) -> list[Series]:
    """Combine per-pod series into one per service: the worst pod, or every pod's sum.

    Pods come and go within a window (a rollout replaces them), so the series are laid on
    the union of their timestamps before they are combined.
    """
    groups: dict[str, list[Series]] = {}
    for item in series:
        service = pods.service(item[0])
        if service:
            groups.setdefault(service, []).append(item)
    out: list[Series] = []
    for service, items in sorted(groups.items()):
        stamps = np.unique(np.concatenate([ts for _, ts, _ in items]))
        grid = np.full((len(items), len(stamps)), np.nan)
        for row, (_, ts, values) in enumerate(items):
            grid[row, np.searchsorted(stamps, ts)] = values
        with warnings.catch_warnings():  # a column no pod reported in is NaN, as it should be
            warnings.simplefilter("ignore", RuntimeWarning)
            joined = np.nanmax(grid, axis=0) if combine == "max" else np.nansum(grid, axis=0)
        if combine != "max":  # a sum over no pod at all is no data, not zero
            joined[np.isnan(grid).all(axis=0)] = np.nan
        out.append(({service_label: service}, stamps, joined))
    return out


def service_candidates(labels: Mapping[str, str], service_label: str) -> list[str]:
    """Return the names a label set may give its service, in the order they are tried.

    A Kubernetes alert or series names its workload by `deployment`, `container` and pod
    (owner), while its `service` and `job` labels often name only the exporter that reported
    it (`kube-state-metrics`, `kubelet`): the workload comes first. Then the service label,
    `service_name`, and `job` (its last path segment).
    """
    out = [labels.get("deployment", "")]
    if labels.get("container") not in (None, "", "POD"):
        out.append(labels["container"])
    if labels.get("pod"):
        out.append(owner_of(labels["pod"]))
    out += [labels.get(k, "") for k in (service_label, OTEL_SERVICE)]
    if labels.get(JOB):
        out.append(name_from(JOB, labels[JOB]))
    return [name for name in dict.fromkeys(out) if name]
