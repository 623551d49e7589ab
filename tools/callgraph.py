"""Discover who calls whom from metric labels, for when no topology is configured.

Service meshes and trace pipelines already export call edges as metrics; reading them
beats asking people to keep a call graph in config up to date.
"""

from __future__ import annotations

from typing import Any, Protocol

from opsloop.tools.errors import OpsError

# (metric, caller label, callee label): what common tools export.
EDGE_SOURCES = (
    # Tempo / Grafana Agent / OpenTelemetry servicegraph connector
    ("traces_service_graph_request_total", "client", "server"),
    # Istio
    ("istio_requests_total", "source_workload", "destination_workload"),
    # Linkerd
    ("response_total", "deployment", "dst_deployment"),
)
LOOKBACK = "1h"
UNKNOWN = {"", "unknown", "user"}


class Instant(Protocol):
    """The part of the Prometheus client this module needs."""

    def instant(self, query: str, at: Any = None) -> list[dict[str, Any]]:
        """Run an instant query."""
        ...


def discover(prom: Instant) -> dict[str, list[str]]:
    """Return caller → callees from the first edge metric that has series ({} if none)."""
    for metric, caller, callee in EDGE_SOURCES:
        query = f"count by ({caller}, {callee}) (increase({metric}[{LOOKBACK}]) > 0)"
        try:
            rows = prom.instant(query)
        except OpsError:
            return {}  # Prometheus down: the scan will say so
        edges: dict[str, list[str]] = {}
        for row in rows:
            labels = row.get("metric", {})
            src, dst = labels.get(caller, ""), labels.get(callee, "")
            if src in UNKNOWN or dst in UNKNOWN or src == dst:
                continue
            edges.setdefault(src, [])
            if dst not in edges[src]:
                edges[src].append(dst)
        if edges:
            return {k: sorted(v) for k, v in sorted(edges.items())}
    return {}
