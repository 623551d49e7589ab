"""Entity catalogs the planner reads names from: live discovery, or a fixed list for evals."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from opsloop.tools.backends.prometheus.discovery import MODEL_LABEL, Discovery
from opsloop.tools.backends.prometheus.identity import identity_labels, identity_matcher
from opsloop.tools.backends.prometheus.kube import PodIndex
from opsloop.tools.backends.prometheus.signals import CANDIDATES, MetricMap


class Catalog(Protocol):
    """Names of services and models, and the metrics each service exposes."""

    service_label: str
    rate_window: str

    def services(self) -> list[str]:
        """Return known service names."""
        ...

    def models(self) -> list[str]:
        """Return known model names."""
        ...

    def models_of(self, service: str) -> list[str]:
        """Return the models a service serves."""
        ...

    def metric_map(self, service: str | None) -> MetricMap:
        """Return the metrics a service (or any service) exposes."""
        ...

    def metric_names(self) -> list[str]:
        """Return every metric name."""
        ...

    def pod_service(self, labels: Mapping[str, str], when: float | None) -> str | None:
        """Return the service a Kubernetes label set (namespace, pod, …) belongs to."""
        ...


@dataclass
class LiveCatalog:
    """A catalog read from Prometheus through Discovery (cached by the client)."""

    discovery: Discovery
    rate_window: str = "5m"
    extra_models: list[str] = field(default_factory=list)
    pods: PodIndex | None = None  # shared with the metric tools (opsloop.agent.factory)

    @property
    def service_label(self) -> str:
        """Return the label naming a service."""
        return self.discovery.service_label

    def services(self) -> list[str]:
        """Return services found in Prometheus."""
        return self.discovery.services()

    def models(self) -> list[str]:
        """Return models found on model metrics, plus registry models when known."""
        return sorted(set(self.discovery.models()) | set(self.extra_models))

    def models_of(self, service: str) -> list[str]:
        """Return models whose metrics name this service (by any identity label)."""
        for identity in identity_labels(self.service_label):
            which = identity_matcher(identity, service)
            match = "{" + which + f',{MODEL_LABEL}!=""}}'
            models = self.discovery.prom.label_values(MODEL_LABEL, match=match)
            if models:
                return models
        return []

    def metric_map(self, service: str | None) -> MetricMap:
        """Return the conventional metrics the service exposes."""
        return self.discovery.metric_map(service)

    def metric_names(self) -> list[str]:
        """Return metric names found in Prometheus."""
        return self.discovery.metric_names()

    def pod_service(self, labels: Mapping[str, str], when: float | None) -> str | None:
        """Return the service a pod belongs to, from what Prometheus knows of the pods."""
        if self.pods is None:
            return None
        at = datetime.fromtimestamp(when, UTC) if when is not None else None
        return self.pods.at(at).service(labels)


@dataclass
class StaticCatalog:
    """A fixed catalog, for offline evals and tests of the planner."""

    service_names: list[str]
    model_names: list[str] = field(default_factory=list)
    served_by: dict[str, list[str]] = field(default_factory=dict)
    metrics: list[str] = field(default_factory=list)
    service_label: str = "service"
    rate_window: str = "5m"

    def services(self) -> list[str]:
        """Return the fixed services."""
        return list(self.service_names)

    def models(self) -> list[str]:
        """Return the fixed models."""
        return list(self.model_names)

    def models_of(self, service: str) -> list[str]:
        """Return the models this service serves."""
        return list(self.served_by.get(service, []))

    def metric_map(self, service: str | None) -> MetricMap:
        """Assume the first conventional name of every metric kind."""
        return MetricMap(**{kind: names[0] for kind, names in CANDIDATES.items()})

    def metric_names(self) -> list[str]:
        """Return the fixed metric names."""
        return list(self.metrics)

    def pod_service(self, labels: Mapping[str, str], when: float | None) -> str | None:
        """Know no pods: a fixed catalog has only names."""
        return None
