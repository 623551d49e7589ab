"""Entity catalogs the planner reads names from: live discovery, or a fixed list for evals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from opsloop.tools.backends.prometheus.discovery import MODEL_LABEL, Discovery
from opsloop.tools.backends.prometheus.promql import matcher
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


@dataclass
class LiveCatalog:
    """A catalog read from Prometheus through Discovery (cached by the client)."""

    discovery: Discovery
    rate_window: str = "5m"
    extra_models: list[str] = field(default_factory=list)

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
        """Return models whose metrics carry this service's label."""
        match = "{" + matcher(self.service_label, service) + f',{MODEL_LABEL}!=""}}'
        return self.discovery.prom.label_values(MODEL_LABEL, match=match)

    def metric_map(self, service: str | None) -> MetricMap:
        """Return the conventional metrics the service exposes."""
        return self.discovery.metric_map(service)

    def metric_names(self) -> list[str]:
        """Return metric names found in Prometheus."""
        return self.discovery.metric_names()


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
