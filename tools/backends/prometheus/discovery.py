"""Discover services, models and the metrics they expose, so nothing is hard-coded."""

from __future__ import annotations

import difflib

from opsloop.tools.backends.prometheus.client import PromClient
from opsloop.tools.backends.prometheus.signals import CANDIDATES, STATUS_LABELS, MetricMap
from opsloop.tools.errors import UnknownEntity

MODEL_LABEL = "model"


class Discovery:
    """Entity names and metric conventions read from the live Prometheus."""

    def __init__(self, prom: PromClient, service_label: str = "service") -> None:
        self.prom = prom
        self.service_label = service_label

    def services(self) -> list[str]:
        """Return every service name found on the service label."""
        return self.prom.label_values(self.service_label)

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
                (
                    name
                    for name in candidates
                    if name in names
                    and (
                        service is None
                        or service in self.prom.label_values(self.service_label, match=name)
                    )
                ),
                None,
            )
        status_label = "code"
        if found["requests"]:
            labels = set(self.prom.label_names(match=found["requests"]))
            status_label = next((s for s in STATUS_LABELS if s in labels), "code")
        return MetricMap(status_label=status_label, **found)

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
