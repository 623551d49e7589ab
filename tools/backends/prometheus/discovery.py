"""Discover services, models and the metrics they expose, so nothing is hard-coded."""

from __future__ import annotations

import dataclasses
import difflib
from datetime import datetime

from opsloop.tools.backends.prometheus.client import PromClient
from opsloop.tools.backends.prometheus.clients import (
    ClientMetric,
    dependency_edges,
    dependency_names,
    present,
)
from opsloop.tools.backends.prometheus.identity import (
    identity_labels,
    identity_matcher,
    name_from,
    pick_identity,
)
from opsloop.tools.backends.prometheus.kube import server_pods
from opsloop.tools.backends.prometheus.signals import (
    CANDIDATES,
    PAIRED_LATENCY,
    STATUS_LABELS,
    MetricMap,
)
from opsloop.tools.errors import UnknownEntity

MODEL_LABEL = "model"
CONTAINER = "container"


class Discovery:
    """Entity names and metric conventions read from the live Prometheus."""

    def __init__(self, prom: PromClient, service_label: str = "service") -> None:
        self.prom = prom
        self.service_label = service_label

    def services(self) -> list[str]:
        """Return every service: on the service label, or named the way the request
        metrics name it (`service_name`, `job`; docs/conventions.md)."""
        names = set(self.prom.label_values(self.service_label))
        for metric in self._server_metrics():
            identity = self.identity(metric)
            if identity and identity != self.service_label:
                names |= set(self.names_on(metric, identity))
        names |= set(dependency_names(self.prom, self.clients()))
        return sorted(names)

    def clients(self) -> list[ClientMetric]:
        """Return the client-side histograms present (dependencies measured by callers)."""
        return present(self.metric_names())

    def dependency_edges(self) -> dict[str, list[str]]:
        """Return client service → the dependencies its client histograms measured."""
        return dependency_edges(self.prom, self.clients(), self.service_label)

    def metrics_of(self, service: str) -> list[str]:
        """Return the metric names with series for `service`, under any label naming it
        (its identity labels, or the container of its pods)."""
        names: set[str] = set()
        for label in (*identity_labels(self.service_label), CONTAINER):
            match = "{" + identity_matcher(label, service) + "}"
            names |= set(self.prom.label_values("__name__", match=match))
        return sorted(names)

    def identity(self, metric: str) -> str | None:
        """Return the label that names services on `metric` (None: it names none)."""
        return pick_identity(self.prom.label_names(match=metric), self.service_label)

    def names_on(self, metric: str, identity: str) -> list[str]:
        """Return the service names `metric` carries under its identity label."""
        values = self.prom.label_values(identity, match=metric)
        return sorted({name_from(identity, v) for v in values})

    def server_pods(self, when: datetime | None = None) -> list[tuple[str, str, str]]:
        """Return (namespace, pod, service) for pods whose request metrics name a service."""
        for metric in self._server_metrics():
            identity = self.identity(metric)
            if identity and "pod" in self.prom.label_names(match=metric):
                return server_pods(self.prom, metric, identity, when)
        return []

    def _server_metrics(self) -> list[str]:
        """Return the request and latency metrics present (what names a service)."""
        names = set(self.metric_names())
        kinds = ("requests", "latency")
        return [n for kind in kinds for n in CANDIDATES[kind] if n in names]

    def models(self) -> list[str]:
        """Return model names found on model metrics."""
        return self.prom.label_values(MODEL_LABEL)

    def metric_names(self) -> list[str]:
        """Return all metric names."""
        return self.prom.metric_names()

    def metric_map(self, service: str | None = None) -> MetricMap:
        """Find which conventional metrics this service (or any service) exposes."""
        names = set(self.metric_names())
        found: dict[str, str | None] = {}
        for kind, candidates in CANDIDATES.items():
            found[kind] = next(
                (name for name in candidates if name in names and self._has(name, service)),
                None,
            )
        status_label = "code"
        if found["requests"]:
            labels = set(self.prom.label_names(match=found["requests"]))
            status_label = next((s for s in STATUS_LABELS if s in labels), "code")
        server = found["requests"] or found["latency"]
        identity = (self.identity(server) if server else None) or self.service_label
        usage = found["cpu"] or found["memory"] or found["restarts"]
        workload = CONTAINER if usage and self._per_container(usage) else ""
        return MetricMap(status_label=status_label, identity=identity, workload=workload, **found)

    def metric_maps(self) -> list[MetricMap]:
        """Return one map per request convention present: services of one Prometheus often
        export different ones (OpenTelemetry beside prometheus_client), each under its own
        identity label. Requests and latency come from the same library's pair."""
        names = set(self.metric_names())
        base = self.metric_map(None)
        out: list[MetricMap] = []
        for requests in CANDIDATES["requests"]:
            if requests in names:
                latency = PAIRED_LATENCY.get(requests)
                out.append(self._convention(base, requests, latency if latency in names else None))
        paired = {m.latency for m in out}
        for latency in CANDIDATES["latency"]:
            if latency in names and latency not in paired:
                out.append(self._convention(base, None, latency))
        return out or [base]

    def _convention(self, base: MetricMap, requests: str | None, latency: str | None) -> MetricMap:
        labels = set(self.prom.label_names(match=requests)) if requests else set()
        server = requests or latency or ""
        return dataclasses.replace(
            base,
            requests=requests,
            latency=latency,
            status_label=next((s for s in STATUS_LABELS if s in labels), "code"),
            identity=self.identity(server) or self.service_label,
        )

    def scrape_interval(self, at: datetime | None = None) -> float | None:
        """Estimate the scrape interval around `at` from the request metric's sample count
        (the median series' samples in ten minutes); None when nothing tells."""
        names = set(self.metric_names())
        probe = next((n for n in (*CANDIDATES["requests"], "up") if n in names), None)
        if probe is None:
            return None
        rows = self.prom.instant(f"quantile(0.5, count_over_time({probe}[10m]))", at)
        count = float(rows[0]["value"][1]) if rows else 0.0
        return 600.0 / count if count >= 2 else None

    def _has(self, metric: str, service: str | None) -> bool:
        """Return True when `metric` has series for `service` (any metric, for None)."""
        if service is None:
            return True
        if self._per_container(metric):  # cAdvisor, kube-state-metrics: the container's name
            return service in self.prom.label_values(CONTAINER, match=metric)
        identity = self.identity(metric)
        return identity is not None and service in self.names_on(metric, identity)

    def _per_container(self, metric: str) -> bool:
        """Return True for a Kubernetes container metric (it names no service of its own)."""
        labels = set(self.prom.label_names(match=metric))
        return CONTAINER in labels and self.service_label not in labels

    def resolve_service(self, name: str) -> str:
        """Return the known service matching `name`, or raise UnknownEntity with suggestions."""
        return resolve(name, self.services(), "service")


def resolve(name: str, known: list[str], kind: str) -> str:
    """Match `name` to one of `known` exactly or case-insensitively; else raise with hints."""
    if name in known:
        return name
    lowered = {k.lower(): k for k in known}
    if name.lower() in lowered:
        return lowered[name.lower()]
    raise UnknownEntity(kind, name, closest(name, known))


def closest(name: str, known: list[str], n: int = 3) -> list[str]:
    """Return up to `n` known names that look like `name`."""
    hits = difflib.get_close_matches(name.lower(), [k.lower() for k in known], n=n, cutoff=0.5)
    by_lower = {k.lower(): k for k in known}
    extra = [k for k in known if name.lower() in k.lower() and k.lower() not in hits]
    return [by_lower[h] for h in hits][:n] or extra[:n]
