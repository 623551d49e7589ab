"""Golden-signals builder: correct PromQL for a service, from metric names found in Prometheus."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from opsloop.tools.backends.prometheus.identity import identity_matcher, relabel
from opsloop.tools.backends.prometheus.promql import matcher, selector

Signal = Literal[
    "request_rate",
    "error_ratio",
    "latency_p50",
    "latency_p95",
    "latency_p99",
    "cpu",
    "memory",
    "restarts",
]
SIGNALS: tuple[Signal, ...] = get_args(Signal)

# Common exporter conventions, most specific first. Discovery picks the first one present.
CANDIDATES: dict[str, tuple[str, ...]] = {
    "requests": (
        "http_requests_total",
        "http_server_requests_total",
        "http_server_request_duration_seconds_count",
        "http_server_requests_seconds_count",
        "grpc_server_handled_total",
        "requests_total",
    ),
    "latency": (
        "http_request_duration_seconds_bucket",
        "http_server_request_duration_seconds_bucket",
        "http_server_requests_seconds_bucket",
        "grpc_server_handling_seconds_bucket",
        "request_duration_seconds_bucket",
    ),
    "cpu": ("process_cpu_seconds_total", "container_cpu_usage_seconds_total"),
    "memory": ("process_resident_memory_bytes", "container_memory_working_set_bytes"),
    "restarts": ("kube_pod_container_status_restarts_total", "process_restarts_total"),
}
# The latency histogram exported beside each request counter by the same library.
PAIRED_LATENCY = {
    "http_requests_total": "http_request_duration_seconds_bucket",
    "http_server_request_duration_seconds_count": "http_server_request_duration_seconds_bucket",
    "http_server_requests_seconds_count": "http_server_requests_seconds_bucket",
    "grpc_server_handled_total": "grpc_server_handling_seconds_bucket",
    "requests_total": "request_duration_seconds_bucket",
}
STATUS_LABELS = ("code", "status", "status_code", "http_status_code", "http_response_status_code")
UNITS: dict[str, str] = {
    "request_rate": "per_second",
    "error_ratio": "ratio",
    "cpu": "cores",
    "memory": "bytes",
    "restarts": "count",
    "latency_p50": "seconds",
    "latency_p95": "seconds",
    "latency_p99": "seconds",
}
TITLES: dict[str, str] = {
    "request_rate": "request rate",
    "error_ratio": "error ratio (5xx)",
    "latency_p50": "p50 latency",
    "latency_p95": "p95 latency",
    "latency_p99": "p99 latency",
    "cpu": "CPU usage",
    "memory": "memory (RSS)",
    "restarts": "restarts",
}


@dataclass(frozen=True)
class SignalQuery:
    """One golden signal rendered as PromQL."""

    signal: Signal
    promql: str
    unit: str
    title: str


@dataclass(frozen=True)
class MetricMap:
    """Metric names and labels a service actually exposes, as found by discovery."""

    requests: str | None = None
    latency: str | None = None
    cpu: str | None = None
    memory: str | None = None
    restarts: str | None = None
    status_label: str = "code"
    identity: str = ""  # the label naming services on these metrics ("": the service label)
    workload: str = ""  # on CPU, memory and restart metrics ("container": Kubernetes' own)


def quantile_of(signal: str) -> float | None:
    """Return 0.99 for `latency_p99`, None for non-latency signals."""
    if signal.startswith("latency_p"):
        return int(signal.removeprefix("latency_p")) / 100
    return None


def build_signal(
    signal: Signal,
    service: str | None,
    metrics: MetricMap,
    *,
    service_label: str = "service",
    window: str = "5m",
    by: tuple[str, ...] = (),
) -> SignalQuery | None:
    """Render PromQL for one signal; None when the metric is missing.

    With no service, the signal is computed for every service (grouped by the service label,
    into which the metrics' own identity label is copied: `service_name`, `job`, …).
    """
    identity = metrics.identity or service_label
    svc = [identity_matcher(identity, service)] if service else []
    if not service and not by:
        by = (service_label,)
    group = f" by ({', '.join(by)})" if by else ""

    def rated(sel: str) -> str:  # rate(), with the service label in place when grouped by it
        expr = f"rate({sel}[{window}])"
        return relabel(expr, identity, service_label) if service_label in by else expr

    promql: str | None = None
    if signal == "request_rate" and metrics.requests:
        promql = f"sum{group} ({rated(selector(metrics.requests, svc))})"
    elif signal == "error_ratio" and metrics.requests:
        errors = selector(metrics.requests, [*svc, matcher(metrics.status_label, "5..", "=~")])
        total = selector(metrics.requests, svc)
        # Client libraries create a 5xx series at the first error: until then the ratio is 0,
        # not missing (`or 0 * total`, `or vector(0)`), so a baseline exists to depart from.
        if by:
            all_ = f"sum{group} ({rated(total)})"
            promql = f"(sum{group} ({rated(errors)}) or 0 * {all_}) / {all_}"
        else:
            promql = f"(sum(rate({errors}[{window}])) or vector(0)) / sum(rate({total}[{window}]))"
    elif signal.startswith("latency_p") and metrics.latency:
        keep = ", ".join(("le", *by))
        promql = (
            f"histogram_quantile({quantile_of(signal)}, "
            f"sum by ({keep}) ({rated(selector(metrics.latency, svc))}))"
        )
    # Process metrics name the service with the service label; Kubernetes container metrics
    # by the container, named like its service (the scan joins them by pod instead).
    workload = metrics.workload or service_label
    if service:
        own = [matcher(workload, service)]
    else:  # every service: a container's name is its service's (not the pod totals, "")
        own = [matcher(workload, "", "!=")] if metrics.workload else []

    def per(expr: str) -> str:  # grouped by service: the container's name copied there
        return relabel(expr, workload, service_label) if service_label in by else expr

    if signal == "cpu" and metrics.cpu:
        promql = (
            f"sum{group or ' by (pod)'} ({per(f'rate({selector(metrics.cpu, own)}[{window}])')})"
        )
    elif signal == "memory" and metrics.memory:
        promql = f"sum{group or ' by (pod)'} ({per(selector(metrics.memory, own))})"
    elif signal == "restarts" and metrics.restarts:
        restarts = f"increase({selector(metrics.restarts, own)}[{window}])"
        promql = f"sum{group or ' by (pod)'} ({per(restarts)})"
    if promql is None:
        return None
    return SignalQuery(signal, promql, UNITS[signal], TITLES[signal])
