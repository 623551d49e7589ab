"""The engine's state as the series real exporters would show (docs/conventions.md)."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from opsloop.sandbox.world import INFERENCE_BUCKETS, LATENCY_BUCKETS, SCORE_BUCKETS

if TYPE_CHECKING:  # the engine imports this module to render its state
    from opsloop.sandbox.engine import Engine

CODES = ("200", "404", "500")
GENERATION0 = 12  # the deployments' edits before the simulated days
FIRST_REPLICASET_AT = 1_700_000_000  # when the first ReplicaSets were created, long before
Sample = tuple[str, str, str, str, tuple[tuple[str, str], ...], float]
# (family, type, help, sample name, labels, value)


def pod_samples(engine: Engine) -> Iterator[Sample]:
    """Pods as real clusters export them: OpenTelemetry HTTP server and database client
    histograms (the service in `service_name` and `job="ns/name"`), cAdvisor container
    usage, kube-state-metrics state (docs/conventions.md)."""
    http = ("http_server_request_duration_seconds", "histogram", "HTTP server requests.")
    db = ("db_client_operation_duration_seconds", "histogram", "Database client operations.")
    for pod in engine.pods:
        svc = engine.world.by_name[pod.service]
        where = (("namespace", svc.namespace), ("pod", pod.pod))
        app = (
            ("job", f"{svc.namespace}/{svc.name}"),
            ("service_name", svc.name),
            ("instance", pod.instance),
            *where,
        )
        if svc.http:
            for code in CODES:
                base = (
                    *app,
                    ("http_request_method", "GET"),
                    ("http_response_status_code", code),
                )
                buckets, total = pod.buckets[code], pod.latency_sum[code]
                yield from _histogram(http, base, LATENCY_BUCKETS, buckets, total)
        for callee, calls in sorted(pod.clients.items()):
            for error, (buckets, total) in sorted(calls.items()):
                base = (*app, ("db_system_name", "postgresql"), ("server_address", callee))
                base = (*base, ("error_type", error)) if error else base
                yield from _histogram(db, base, LATENCY_BUCKETS, buckets, total)
        # job and instance as their exporters carry them: without them the live scrape would
        # attach the simulator's own and split each series from its backfilled history.
        box = (("job", "kubelet"), ("instance", "node-1:10250"), *where, ("container", svc.name))
        yield _counter("container_cpu_usage_seconds", "CPU time used.", box, round(pod.cpu, 4))
        yield _counter("container_cpu_cfs_periods", "CFS periods.", box, round(pod.cfs_periods))
        yield _counter(
            "container_cpu_cfs_throttled_periods",
            "CFS periods throttled.",
            box,
            round(pod.cfs_throttled),
        )
        yield _gauge("container_memory_working_set_bytes", box, round(pod.memory_mb * 2**20))
        yield _gauge("container_spec_memory_limit_bytes", box, svc.memory_limit_mb * 2**20)
        ksm_pod = (("job", "kube-state-metrics"), ("instance", "kube-state-metrics:8080"), *where)
        ksm = (*ksm_pod, ("container", svc.name))
        limits = "kube_pod_container_resource_limits"
        yield _gauge(limits, (*ksm, ("resource", "cpu"), ("unit", "core")), svc.cpu_limit)
        memory = svc.memory_limit_mb * 2**20
        yield _gauge(limits, (*ksm, ("resource", "memory"), ("unit", "byte")), memory)
        yield _counter(
            "kube_pod_container_status_restarts", "Container restarts.", ksm, pod.restarts
        )
        if pod.oom_killed:
            reason = (*ksm, ("reason", "OOMKilled"))
            yield _gauge("kube_pod_container_status_last_terminated_reason", reason, 1.0)
        app_label = (*ksm_pod, ("label_app_kubernetes_io_name", svc.name))
        yield _gauge("kube_pod_labels", app_label, 1.0)
        for condition, value in (("true", 1.0), ("false", 0.0)):
            yield _gauge("kube_pod_status_ready", (*ksm_pod, ("condition", condition)), value)


def workload_samples(engine: Engine) -> Iterator[Sample]:
    """Deployments as kube-state-metrics shows them: generation, replicas, ReplicaSets."""
    ksm = (("job", "kube-state-metrics"), ("instance", "kube-state-metrics:8080"))
    for svc in engine.world.services:
        done = sorted(t for t in engine.deploys.get(svc.name, []) if t <= engine.now)
        where = (*ksm, ("namespace", svc.namespace))
        dep = (*where, ("deployment", svc.name))
        yield _gauge("kube_deployment_metadata_generation", dep, GENERATION0 + len(done))
        yield _gauge("kube_deployment_spec_replicas", dep, len(svc.pod_names()))
        for i, created in enumerate([0.0, *done]):
            rs = (*where, ("replicaset", f"{svc.name}-{_rs_hash(svc.name, i)}"))
            owner = (*rs, ("owner_kind", "Deployment"), ("owner_name", svc.name))
            yield _gauge("kube_replicaset_owner", (*owner, ("owner_is_controller", "true")), 1.0)
            yield _gauge("kube_replicaset_created", rs, round(created or FIRST_REPLICASET_AT))


def _rs_hash(name: str, revision: int) -> str:
    """Return a ReplicaSet hash the way Kubernetes spells them (no vowels), stable per revision."""
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    n = zlib.crc32(f"{name}/{revision}".encode())
    return "".join(alphabet[(n >> (5 * k)) % len(alphabet)] for k in range(9))[:9]


def model_samples(engine: Engine) -> Iterator[Sample]:
    """Models as their servers and monitor export them (the contract in docs/conventions.md)."""
    for state in engine.models.values():
        svc = engine.world.serving(state.model)
        # job/instance as a model server would carry them; without them the live scrape
        # would attach the exporter's own and split each series from its history.
        service = (
            (
                ("job", f"{svc.namespace}/{svc.name}"),
                ("service_name", svc.name),
                ("instance", f"{svc.name}:9100"),
            )
            if svc
            else ()
        )
        v = state.version
        base = (*service, ("model", state.model), ("version", v))
        for version, count in state.predictions.items():
            yield (
                "model_predictions",
                "counter",
                "Predictions served by model version.",
                "model_predictions_total",
                (*service, ("model", state.model), ("version", version)),
                count,
            )
        if not v:
            continue
        yield from _histogram(
            ("model_prediction_score", "histogram", "Predicted probability."),
            base,
            SCORE_BUCKETS,
            state.score_buckets,
            state.score_sum,
        )
        yield from _histogram(
            ("model_inference_duration_seconds", "histogram", "Model inference latency."),
            base,
            INFERENCE_BUCKETS,
            state.infer_buckets,
            state.infer_sum,
        )
        # The model-monitoring contract opsloop documents (docs/conventions.md).
        yield (
            "model_quality",
            "gauge",
            "Online quality on delayed labels of recent traffic, by score.",
            "model_quality",
            (*base, ("metric", "auc")),
            round(state.auc, 4),
        )
        yield (
            "model_quality_objective",
            "gauge",
            "Quality below this pages someone.",
            "model_quality_objective",
            (*service, ("model", state.model), ("metric", "auc")),
            state.slo_auc,
        )
        yield (
            "model_serving_info",
            "gauge",
            "Version served, by alias.",
            "model_serving_info",
            (*base, ("alias", "champion")),
            1.0,
        )
        for feature, value in sorted(state.psi.items()):
            yield (
                "model_feature_drift",
                "gauge",
                "Drift of a live input feature against training, by method.",
                "model_feature_drift",
                (*service, ("model", state.model), ("feature", feature), ("method", "psi")),
                value,
            )


def _gauge(name: str, labels: tuple[tuple[str, str], ...], value: float) -> Sample:
    return (name, "gauge", name.replace("_", " ") + ".", name, labels, value)


def _counter(family: str, help_text: str, labels: tuple, value: float) -> Sample:
    return (family, "counter", help_text, f"{family}_total", labels, value)


def _histogram(
    family: tuple[str, str, str],
    base: tuple[tuple[str, str], ...],
    bounds: tuple[float, ...],
    counts: list[float],
    total: float,
) -> Iterator[Sample]:
    """Yield the _bucket, _sum and _count samples of one histogram series."""
    name = family[0]
    for le, value in zip((*bounds, "+Inf"), counts, strict=True):
        yield (*family, f"{name}_bucket", (*base, ("le", _le(le))), value)
    yield (*family, f"{name}_sum", base, total)
    yield (*family, f"{name}_count", base, counts[-1])


def _le(value: float | str) -> str:
    return value if isinstance(value, str) else repr(float(value))
