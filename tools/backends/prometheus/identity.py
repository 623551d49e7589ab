"""Which label names a service, the way real exporters label things (docs/conventions.md).

The configured service label first; then OpenTelemetry's `service_name`; then `job`, whose
last path segment is the service (the OpenTelemetry Collector and Prometheus's OTLP receiver
set `job` to `service.namespace/service.name`). Queries keep one shape whatever the label:
results are relabelled to the configured service label with `label_replace`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from opsloop.tools.backends.prometheus.promql import (
    check_label_name,
    escape_value,
    matcher,
    regex_literal,
)

OTEL_SERVICE = "service_name"
JOB = "job"
# job="shop/checkout" → checkout; job="checkout" → checkout.
JOB_NAME = "(?:.*/)?(.+)"


def identity_labels(service_label: str) -> tuple[str, ...]:
    """Return the labels that may name a service, in the order they are tried."""
    return tuple(dict.fromkeys((service_label, OTEL_SERVICE, JOB)))


def pick_identity(labels: Iterable[str], service_label: str) -> str | None:
    """Return the first identity label among a metric's label names."""
    present = set(labels)
    return next((label for label in identity_labels(service_label) if label in present), None)


def name_from(label: str, value: str) -> str:
    """Return the service name a label value gives (a job's last path segment)."""
    return value.rsplit("/", 1)[-1] if label == JOB else value


def service_of(labels: Mapping[str, str], service_label: str) -> str | None:
    """Return the service a label set names, trying the identity labels in order."""
    for label in identity_labels(service_label):
        if labels.get(label):
            return name_from(label, labels[label])
    return None


def identity_matcher(identity: str, name: str) -> str:
    """Return the matcher selecting service `name` under this identity label."""
    if identity == JOB:
        return matcher(JOB, f"(?:.*/)?{regex_literal(name)}", "=~")
    return matcher(identity, name)


def relabel(expr: str, identity: str, service_label: str) -> str:
    """Return `expr` with the service copied into `service_label` (no-op when it is there)."""
    if identity == service_label:
        return expr
    pattern = JOB_NAME if identity == JOB else "(.+)"
    return (
        f'label_replace({expr}, "{check_label_name(service_label)}", "$1", '
        f'"{check_label_name(identity)}", "{escape_value(pattern)}")'
    )
