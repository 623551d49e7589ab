"""The naming conventions opsloop reads (docs/conventions.md), without a Prometheus."""

from __future__ import annotations

import numpy as np
import pytest

from opsloop.agent.rca.alerts import Alert
from opsloop.agent.rca.scope import asserts_quality, rule_expression
from opsloop.tools.backends.prometheus.clients import CLIENT_METRICS, dependency_queries, named
from opsloop.tools.backends.prometheus.identity import (
    identity_matcher,
    pick_identity,
    relabel,
    service_of,
)
from opsloop.tools.backends.prometheus.kube import (
    Pods,
    kube_queries,
    owner_of,
    per_service,
    service_candidates,
)
from opsloop.tools.backends.prometheus.signals import MetricMap, build_signal


def alert(name: str, labels: dict, annotations: dict | None = None, url: str | None = None):
    return Alert(
        name, "firing", {"alertname": name, **labels}, annotations or {}, 0, None, "f", url
    )


@pytest.mark.parametrize(
    ("pod", "owner"),
    [
        ("checkout-7d9f8b6c4-x2x9z", "checkout"),  # Deployment → ReplicaSet → pod
        ("orders-db-0", "orders-db"),  # StatefulSet
        ("node-exporter-x2x9z", "node-exporter"),  # DaemonSet
        ("standalone", "standalone"),
    ],
)
def test_a_pod_name_gives_its_workload(pod, owner):
    assert owner_of(pod) == owner


def test_a_kubernetes_alert_names_its_workload_before_the_exporter():
    labels = {
        "namespace": "shop",
        "pod": "api-7c9d8b6f5-p2r4s",
        "container": "api",
        "job": "kube-state-metrics",
        "service": "kube-state-metrics",
    }
    assert service_candidates(labels, "service")[0] == "api"
    assert alert("KubePodCrashLooping", labels).service() == "api"


def test_service_identity_order_and_job_paths():
    assert service_of({"service": "a", "service_name": "b"}, "service") == "a"
    assert service_of({"service_name": "b", "job": "ns/c"}, "service") == "b"
    assert service_of({"job": "shop/checkout"}, "service") == "checkout"
    assert pick_identity(["job", "instance", "service_name"], "service") == "service_name"
    assert identity_matcher("job", "a.b") == 'job=~"(?:.*/)?a\\\\.b"'
    assert relabel("x", "service", "service") == "x"
    assert (
        relabel("x", "job", "service") == 'label_replace(x, "service", "$1", "job", "(?:.*/)?(.+)")'
    )


def test_golden_signals_group_by_the_service_whatever_names_it():
    otel = MetricMap(
        requests="http_server_request_duration_seconds_count",
        latency="http_server_request_duration_seconds_bucket",
        status_label="http_response_status_code",
        identity="job",
    )
    ratio = build_signal("error_ratio", None, otel, service_label="service", window="1m")
    assert ratio is not None and ratio.promql.startswith("(sum by (service) (label_replace(rate(")
    assert " or 0 * sum by (service) " in ratio.promql  # 0, not missing, before the first 5xx
    assert '"job", "(?:.*/)?(.+)"' in ratio.promql
    one = build_signal("latency_p99", "checkout", otel, service_label="service")
    assert one is not None and 'job=~"(?:.*/)?checkout"' in one.promql
    assert "label_replace" not in one.promql  # one service: nothing to group


def test_pods_join_services_in_the_documented_order():
    pods = Pods(
        known={"web", "api"},
        app={("shop", "web-1"): "web"},
        labels={("shop", "x-2"): ["api"]},
        owners={("shop", "y-3"): "worker"},
        namespaces={"shop"},
    )
    assert pods.service({"namespace": "shop", "pod": "web-1", "container": "nginx"}) == "web"
    assert pods.service({"namespace": "shop", "pod": "x-2"}) == "api"
    assert pods.service({"namespace": "shop", "pod": "y-3"}) == "worker"  # beside known ones
    assert pods.service({"namespace": "kube-system", "pod": "coredns-5d78c9869d-x2x9z"}) is None


def test_per_pod_series_combine_per_service_across_a_rollout():
    pods = Pods(known={"api"}, app={("ns", "old"): "api", ("ns", "new"): "api"})
    old = ({"namespace": "ns", "pod": "old"}, np.array([0.0, 15.0]), np.array([0.2, 0.4]))
    new = ({"namespace": "ns", "pod": "new"}, np.array([15.0, 30.0]), np.array([0.9, 0.8]))
    [(labels, ts, worst)] = per_service([old, new], pods, "max", "service")
    assert labels == {"service": "api"} and ts.tolist() == [0.0, 15.0, 30.0]
    assert worst.tolist() == [0.2, 0.9, 0.8]
    [(_, _, total)] = per_service([old, new], pods, "sum", "service")
    assert total.tolist() == pytest.approx([0.2, 1.3, 0.8])


def test_kubernetes_queries_follow_the_metrics_present():
    cadvisor = {"container_cpu_usage_seconds_total", "container_memory_working_set_bytes"}
    assert kube_queries(cadvisor, "1m") == []  # no limit known: saturation is not judged
    ksm = {"kube_pod_container_resource_limits", "kube_pod_container_status_restarts_total"}
    signals = {q.signal for q in kube_queries(cadvisor | ksm, "1m")}
    assert signals == {"cpu_util", "memory_util", "restarts"}
    oom = ksm | {"kube_pod_container_status_last_terminated_reason"}
    assert "oom_kills" in {q.signal for q in kube_queries(oom, "1m")}


def test_a_dependency_is_named_by_its_most_specific_label():
    db = CLIENT_METRICS[0]
    expr = named("x", db, "service")
    # Applied least specific first, so peer_service overrides server_address and db_system.
    assert expr.index('"db_system"') < expr.index('"server_address"') < expr.index('"peer_service"')
    signals = [s for s, *_ in dependency_queries([db], "service", "1m")]
    assert signals == ["latency_p99", "error_ratio"]


def test_an_alert_asserts_bad_quality_by_its_rule_or_its_words():
    expr = "http://prom:9090/graph?g0.expr=min+by+%28model%29+%28model_quality%29+%3C+0.8&g0.tab=1"
    by_rule = alert("SearchRankerBelowTarget", {"model": "search-ranker"}, url=expr)
    assert rule_expression(by_rule) == "min by (model) (model_quality) < 0.8"
    assert asserts_quality(by_rule, "model_quality")
    by_name = alert("ChurnScorerAccuracyLow", {"model": "churn"})
    assert asserts_quality(by_name, "model_quality")
    drift = alert("FeatureDrift", {"model": "churn"}, {"summary": "churn feature x drifted"})
    assert not asserts_quality(drift, "model_quality")
    processing = alert("QueueProcessingSlow", {"model": "churn"})  # "roc" inside a word
    assert not asserts_quality(processing, "model_quality")
