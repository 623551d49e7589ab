"""The service call graph: who calls whom, configured or discovered, and every walk over it.

RCA scoping and ranking, incident correlation, detector ordering and offline ranking all
walk the graph through this module, so they agree on it. Service meshes and trace-derived
graphs have cycles: every walk is a breadth-first search with its own visited set, so a
cycle ends it and no answer depends on the order services were visited in.

When no topology is configured, the graph is read from the edge metrics that service meshes
and trace pipelines already export; reading them beats asking people to keep a call graph
in config up to date.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from opsloop.tools.errors import OpsError

Topology = Mapping[str, Sequence[str]]  # caller → callees

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
DISCOVERY_TTL_S = 300.0


class Instant(Protocol):
    """The part of the Prometheus client this module needs."""

    def instant(self, query: str, at: Any = None) -> list[dict[str, Any]]:
        """Run an instant query."""
        ...


def reachable(topology: Topology, start: str) -> set[str]:
    """Return every service `start` reaches through its calls, itself excluded."""
    seen: set[str] = set()
    queue = deque(topology.get(start, ()))
    while queue:
        name = queue.popleft()
        if name not in seen:
            seen.add(name)
            queue.extend(topology.get(name, ()))
    seen.discard(start)
    return seen


def downstream(topology: Topology) -> dict[str, set[str]]:
    """Return, for every service in the graph, the services it reaches (transitively)."""
    names = set(topology) | {c for callees in topology.values() for c in callees}
    return {name: reachable(topology, name) for name in names}


def below(reach: Mapping[str, set[str]], name: str) -> set[str]:
    """Return what `name` reaches that does not reach it back (`reach` from `downstream`).

    In a cycle neither side is upstream of the other, so neither explains the other away.
    """
    return {c for c in reach.get(name, set()) if name not in reach.get(c, set())}


_UNDIRECTED: list[tuple[Topology, dict[str, set[str]]]] = []  # the last graph built


def _undirected(topology: Topology) -> dict[str, set[str]]:
    """Return caller ↔ callee adjacency; intake asks for the same topology object each time."""
    cached = _UNDIRECTED[:1]  # one read: another thread may replace it meanwhile
    if cached and cached[0][0] is topology:
        return cached[0][1]
    graph: dict[str, set[str]] = {}
    for caller, callees in topology.items():
        for callee in callees:
            graph.setdefault(caller, set()).add(callee)
            graph.setdefault(callee, set()).add(caller)
    _UNDIRECTED[:] = [(topology, graph)]
    return graph


def hops(topology: Topology, start: Iterable[str], limit: int = 2) -> dict[str, int]:
    """Return services within `limit` calls of any of `start`, edges taken both ways."""
    graph = _undirected(topology)
    seen = {s: 0 for s in start}
    queue = deque(seen)
    while queue:
        node = queue.popleft()
        if seen[node] >= limit:
            continue
        for nxt in graph.get(node, ()):
            if nxt not in seen:
                seen[nxt] = seen[node] + 1
                queue.append(nxt)
    return seen


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


class CallGraph:
    """The call graph in use: the configured one, else the one the metrics show (mesh or
    trace edges, plus clients → the dependencies they measure).

    Discovery is cached for `ttl_s`, so intake routing and every investigation share one
    reading instead of querying Prometheus each time.
    """

    def __init__(
        self,
        configured: Topology | None = None,
        prom: Instant | None = None,
        *,
        extra: Callable[[], Topology] | None = None,
        ttl_s: float = DISCOVERY_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.configured = {k: list(v) for k, v in (configured or {}).items()}
        self.prom = prom
        self.extra = extra  # more discovered edges: clients → the dependencies they measure
        self.ttl_s = ttl_s
        self.clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[float, dict[str, list[str]]] | None = None

    def edges(self) -> dict[str, list[str]]:
        """Return caller → callees: configured, else discovered (cached), else empty."""
        if self.configured or self.prom is None:
            return self.configured
        with self._lock:
            now = self.clock()
            if self._cached is None or now - self._cached[0] >= self.ttl_s:
                self._cached = (now, merge(discover(self.prom), self._extra()))
            return self._cached[1]

    def _extra(self) -> Topology:
        try:
            return self.extra() if self.extra else {}
        except OpsError:  # Prometheus down: the scan will say so
            return {}


def merge(*graphs: Topology) -> dict[str, list[str]]:
    """Return the union of call graphs."""
    edges: dict[str, set[str]] = {}
    for graph in graphs:
        for caller, callees in graph.items():
            edges.setdefault(caller, set()).update(callees)
    return {k: sorted(v) for k, v in sorted(edges.items())}
