"""A Prometheus that holds what real clusters export, and nothing named the sandbox's way.

OpenTelemetry HTTP server histograms (the service in `service_name` and `job="ns/name"`, no
`service` label), cAdvisor and kube-state-metrics series (namespace/pod/container, with the
exporter's own `service`/`job`), a database measured only by its client, and servicegraph
edges. The last ten minutes hold a fault: `api` runs into its CPU limit and is throttled,
and its latency, then its caller's, rises.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from opsloop.agent.assistant import Assistant
from opsloop.agent.config import Settings
from opsloop.agent.factory import build_deps
from opsloop.agent.rca.alerts import Alert
from opsloop.sandbox.history import backfill_recording
from opsloop.sandbox.openmetrics import Recorder
from opsloop.sandbox.procs import free_port, prometheus
from opsloop.tools.backends.prometheus.client import PromClient
from opsloop.tools.backends.prometheus.discovery import Discovery

pytestmark = pytest.mark.integration

STEP = 15.0
HOURS = 3.0
FAULT_S = 600.0  # the fault started this long before the end of the history
NS = "shop"
PODS = {
    "web": ["web-5d8f7c9b4-x2x9z", "web-5d8f7c9b4-q7w8z"],
    "api": ["api-7c9d8b6f5-k5l6m", "api-7c9d8b6f5-p2r4s"],
}
BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
KSM = (("job", "kube-state-metrics"), ("service", "kube-state-metrics"))


def _cdf(median: float) -> list[float]:
    from math import erf, log, sqrt

    return [0.5 * (1 + erf((log(le) - log(median)) / (0.5 * sqrt(2)))) for le in BUCKETS]


def gauge(name: str, labels: tuple, value: float) -> tuple:
    return (name, "gauge", "g", name, labels, value)


def counter(name: str, labels: tuple, value: float) -> tuple:
    return (name.removesuffix("_total"), "counter", "c", name, labels, value)


def _histogram(name, base, counts, total_s, median):
    cum = [round(counts * share) for share in _cdf(median)]
    for le, value in zip((*map(str, BUCKETS), "+Inf"), [*cum, counts], strict=True):
        yield (name, "histogram", "h", f"{name}_bucket", (*base, ("le", le)), value)
    yield (name, "histogram", "h", f"{name}_count", base, counts)
    yield (name, "histogram", "h", f"{name}_sum", base, total_s)


def world(end: float) -> Recorder:
    """Record the cluster's history up to `end`."""
    rng = np.random.default_rng(11)
    stamps = np.arange(end - HOURS * 3600, end + 1, STEP)
    recorder = Recorder(len(stamps))
    state: dict[tuple, float] = {}

    def bump(key: tuple, by: float) -> float:
        state[key] = state.get(key, 0.0) + by
        return state[key]

    for t in stamps:
        fault = t >= end - FAULT_S
        samples = []
        for svc, pods in PODS.items():
            slow = 4.0 if fault and svc == "api" else 2.0 if fault and svc == "web" else 1.0
            median = (0.02 if svc == "web" else 0.05) * slow
            cpu_demand = (1.6 if fault and svc == "api" else 0.3) * rng.normal(1, 0.03)
            for pod in pods:
                ident = (("job", f"{NS}/{svc}"), ("service_name", svc))
                where = (("namespace", NS), ("pod", pod))
                reqs = rng.poisson(40 * STEP)
                errs = rng.binomial(reqs, 0.002)
                for code, n in (("200", reqs - errs), ("500", errs)):
                    base = (*ident, *where, ("http_request_method", "GET"),
                            ("http_response_status_code", code))  # fmt: skip
                    count = bump((pod, "n", code), n)
                    total = bump((pod, "s", code), n * median)
                    samples += _histogram(
                        "http_server_request_duration_seconds", base, count, total, median
                    )
                box = (*where, ("container", svc))
                used = min(cpu_demand, 1.0)
                cpu = bump((pod, "cpu"), used * STEP)
                samples.append(counter("container_cpu_usage_seconds_total", box, cpu))
                periods = STEP / 0.1
                throttled = periods * max(0.0, 1 - 1.0 / cpu_demand) if cpu_demand > 1 else 0
                for name, value in (
                    ("container_cpu_cfs_periods_total", periods),
                    ("container_cpu_cfs_throttled_periods_total", throttled),
                ):
                    samples.append(counter(name, box, bump((pod, name), value)))
                samples.append(gauge("container_memory_working_set_bytes", box, 300e6))
                for resource, value in (("cpu", 1.0), ("memory", 1e9)):
                    labels = (*KSM, *box, ("resource", resource))
                    samples.append(gauge("kube_pod_container_resource_limits", labels, value))
                restarts = "kube_pod_container_status_restarts_total"
                samples.append(counter(restarts, (*KSM, *box), 0))
                app = (*KSM, *where, ("label_app_kubernetes_io_name", svc))
                samples.append(gauge("kube_pod_labels", app, 1))
                if svc == "api":  # the database, measured by its client only
                    base = (*ident, *where, ("db_system_name", "postgresql"),
                            ("server_address", "orders-db"))  # fmt: skip
                    n = bump((pod, "db"), reqs)
                    samples += _histogram(
                        "db_client_operation_duration_seconds", base, n, n * 0.004, 0.004
                    )
        edge = (("client", "web"), ("server", "api"))
        calls = bump(("edge",), 40 * STEP)
        samples.append(counter("traces_service_graph_request_total", edge, calls))
        recorder.add(float(t), samples)
    return recorder


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, float]]:
    end = float(int(time.time()))
    workdir = tmp_path_factory.mktemp("cluster")
    tsdb, _ = backfill_recording(world(end), workdir / "history")
    config = workdir / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 15s\n")
    port = free_port()
    proc = prometheus(tsdb, port, config).start()
    try:
        yield f"http://127.0.0.1:{port}", end
    finally:
        proc.stop()


def test_services_come_from_their_otel_identity_and_their_clients(cluster):
    url, _ = cluster
    disc = Discovery(PromClient(url))
    assert {"web", "api", "orders-db"} <= set(disc.services())
    metric_map = disc.metric_map(None)
    assert metric_map.requests == "http_server_request_duration_seconds_count"
    assert (metric_map.identity, metric_map.status_label) == (
        "service_name",
        "http_response_status_code",
    )
    assert disc.dependency_edges() == {"api": ["orders-db"]}


def _settings(url: str, home: Path) -> Settings:
    return Settings(prometheus_url=url, home=home)


def test_the_call_graph_joins_trace_edges_and_client_edges(cluster, opsloop_home):
    url, _ = cluster
    deps = build_deps(_settings(url, opsloop_home))
    assert deps.call_graph.edges() == {"api": ["orders-db"], "web": ["api"]}


def test_the_scan_reads_throttling_latency_and_the_client_side_dependency(cluster, opsloop_home):
    url, end = cluster
    deps = build_deps(_settings(url, opsloop_home))
    result = deps.tools["scan_signals"].invoke({"end": str(end), "range": "15m"})
    rows = {(r["service"], r["signal"]): r for r in result.data["series"]}
    assert rows[("api", "cpu_throttling")]["direction"] == "up"
    assert rows[("api", "cpu_throttling")]["current"] > 0.3
    assert rows[("api", "latency_p99")]["direction"] == "up"
    assert rows[("orders-db", "latency_p99")]["direction"] == "flat"
    assert ("web", "memory_util") in rows and ("api", "cpu_util") in rows
    assert not any(s == "kube-state-metrics" for s, _ in rows)  # the exporter is no service


def test_a_kubernetes_alert_is_about_the_workload_not_the_exporter(cluster, opsloop_home):
    url, end = cluster
    labels = {
        "alertname": "CPUThrottlingHigh",
        "severity": "warning",
        "namespace": NS,
        "pod": PODS["api"][1],
        "container": "api",
        **dict(KSM),
    }
    alert = Alert("CPUThrottlingHigh", "firing", labels, {}, end - 300, None, "f1")
    assistant = Assistant.from_settings(_settings(url, opsloop_home))
    try:
        result = assistant.investigate([alert.public()], thread_id="t-cluster")
    finally:
        assistant.close()
    assert "api" in result["title"] and "unknown target" not in result["title"]
    top = result["hypotheses"][0]
    assert (top["kind"], top["target"]) == ("infra", "api"), result["hypotheses"]
    assert "throttled" in result["answer"], result["answer"]
