"""Prometheus tools against a real Prometheus: figures match the HTTP API, errors are clear."""

import math

import httpx
import pytest

from opsloop.sandbox.procs import free_port
from opsloop.tools.backends.prometheus.client import PromClient
from opsloop.tools.backends.prometheus.discovery import Discovery
from opsloop.tools.base import ToolStatus
from opsloop.tools.errors import BackendUnavailable, QueryError, UnknownEntity
from opsloop.tools.toolsets.metrics import MetricsContext, metrics_tools

P99 = (
    "histogram_quantile(0.99, sum by (le) "
    '(rate(http_server_request_duration_seconds_bucket{service_name="checkout"}[5m])))'
)


@pytest.fixture
def tools(prometheus):
    prom = PromClient(prometheus)
    ctx = MetricsContext(prom=prom, discovery=Discovery(prom), prometheus_url=prometheus)
    return {t.name: t for t in metrics_tools(ctx)}


def test_discovery_finds_services_and_metric_conventions(prometheus):
    disc = Discovery(PromClient(prometheus))
    assert {"checkout", "fraud-api", "gateway"} <= set(disc.services())
    mm = disc.metric_map("checkout")
    assert mm.requests == "http_server_request_duration_seconds_count"
    assert mm.latency == "http_server_request_duration_seconds_bucket"
    assert mm.status_label == "http_response_status_code"
    assert mm.identity == "service_name"  # OpenTelemetry names the service; no `service` label
    assert disc.metric_map("postgres").latency is None  # postgres serves no HTTP


def test_range_query_figures_match_prometheus(tools, prometheus):
    result = tools["query_metrics"].invoke({"query": P99, "range": "1h", "title": "p99"})
    assert result.status == ToolStatus.OK
    series = result.data["series"][0]
    start, end = result.data["start"], result.data["end"]
    raw = httpx.get(
        f"{prometheus}/api/v1/query_range",
        params={
            "query": P99,
            "start": _ts(start) - 3600,
            "end": _ts(end),
            "step": result.data["step"],
        },
    ).json()["data"]["result"][0]["values"]
    current = [float(v) for t, v in raw if t >= _ts(start)]
    assert math.isclose(series["max"], max(current), rel_tol=1e-9)
    assert math.isclose(series["last"], current[-1], rel_tol=1e-9)
    assert math.isclose(series["mean"], sum(current) / len(current), rel_tol=1e-9)
    ev = result.evidence[0]
    assert ev.query == P99 and ev.link.startswith(prometheus + "/graph?g0.expr=")
    assert ev.values["last"] == series["last"]


def test_instant_query_and_per_pod_series(tools):
    result = tools["query_metrics"].invoke(
        {
            "query": 'sum by (pod) (container_memory_working_set_bytes{container="checkout"})',
            "instant": True,
        }
    )
    assert result.status == ToolStatus.OK
    assert len(result.data["series"]) == 3 and result.data["unit"] == "bytes"
    assert "MiB" in result.summary


def test_invalid_promql_raises_query_error_with_prometheus_reason(prometheus):
    with pytest.raises(QueryError, match=r"Prometheus rejected the query: .*parse error"):
        PromClient(prometheus).instant("sum(rate(http_server_request_duration_seconds_count[5m]")


def test_unknown_metric_is_no_data_not_an_error(tools):
    result = tools["query_metrics"].invoke({"query": "nonexistent_metric_total", "range": "30m"})
    assert result.status == ToolStatus.NO_DATA and "list_metrics" in result.summary


def test_bad_range_is_rejected(tools):
    with pytest.raises(QueryError, match="invalid duration"):
        tools["query_metrics"].invoke({"query": "up", "range": "forever"})


def test_golden_signals_covers_every_signal(tools):
    result = tools["golden_signals"].invoke({"service": "fraud-api", "range": "30m"})
    assert result.status == ToolStatus.OK
    titles = [s["title"] for s in result.data["signals"]]
    assert titles == [
        f"fraud-api {t}"
        for t in (
            "request rate",
            "error ratio (5xx)",
            "p50 latency",
            "p95 latency",
            "p99 latency",
            "CPU usage",
            "memory (RSS)",
            "restarts",
        )
    ]
    assert len(result.evidence) == 8


def test_golden_signals_unknown_service_suggests_names(tools):
    with pytest.raises(UnknownEntity, match="Did you mean checkout"):
        tools["golden_signals"].invoke({"service": "chekout"})


def test_oversized_output_tells_the_model_to_narrow(tools):
    result = tools["query_metrics"].invoke(
        {"query": "container_memory_working_set_bytes", "range": "15m"}
    )
    bounded = result.bounded(300)
    assert bounded.truncated and "narrow the query" in bounded.summary
    assert len(bounded.summary) <= 300


def test_list_tools(tools):
    services = tools["list_services"].invoke({})
    assert "checkout" in services.data["services"]
    metrics = tools["list_metrics"].invoke({"contains": "http", "service": "checkout"})
    assert "http_server_request_duration_seconds_count" in metrics.data["names"]


def test_unreachable_prometheus_names_url_and_fix():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(BackendUnavailable) as info:
        PromClient(url, retries=0).instant("up")
    message = str(info.value)
    assert url in message and "OPSLOOP_PROMETHEUS_URL" in message and "\n" not in message


def _ts(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()
