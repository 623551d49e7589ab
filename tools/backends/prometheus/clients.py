"""Dependencies measured by their clients: OpenTelemetry's database and HTTP client histograms.

A database or an external API rarely exports metrics of its own, but every client measures
its calls. Grouped by the dependency's name (`peer_service`, else `server_address`, else the
database system), those histograms give the dependency a latency and an error series of its
own, and the edges client → dependency for the call graph (docs/conventions.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from opsloop.tools.backends.prometheus.identity import identity_labels, service_of

DEPENDENCY = "opsloop_dependency"  # the label the dependency's name is gathered into


@dataclass(frozen=True)
class ClientMetric:
    """A client-side duration histogram and the labels that name what it calls."""

    metric: str  # histogram base name (…_bucket, …_count)
    names: tuple[str, ...]  # labels naming the dependency, most specific first
    errors: tuple[str, ...]  # matchers that mark a failed call


CLIENT_METRICS = (
    ClientMetric(
        "db_client_operation_duration_seconds",
        ("peer_service", "server_address", "db_system_name", "db_system"),
        ('error_type!=""',),
    ),
    ClientMetric(
        "http_client_request_duration_seconds",
        ("peer_service", "server_address"),
        ('error_type!=""', 'http_response_status_code=~"5.."'),
    ),
)


class Instant(Protocol):
    """The part of the Prometheus client this module needs."""

    def instant(self, query: str, at: Any = None) -> list[dict[str, Any]]:
        """Run an instant query."""
        ...


def present(names: Iterable[str]) -> list[ClientMetric]:
    """Return the client histograms Prometheus has."""
    have = set(names)
    return [c for c in CLIENT_METRICS if f"{c.metric}_count" in have]


def named(expr: str, client: ClientMetric, into: str) -> str:
    """Put the dependency's name into label `into` (empty when no label names it): the most
    specific naming label wins."""
    for label in reversed(client.names):  # label_replace keeps the last match: apply least first
        expr = f'label_replace({expr}, "{DEPENDENCY}", "$1", "{label}", "(.+)")'
    if into != DEPENDENCY:  # a client's own service label must not name the dependency
        expr = f'label_replace({expr}, "{into}", "$1", "{DEPENDENCY}", "(.*)")'
    return expr


def dependency_queries(
    clients: list[ClientMetric], service_label: str, rate: str
) -> list[tuple[str, str, str, str]]:
    """Return (signal, PromQL, unit, title) for each dependency's p99 latency and error ratio,
    grouped by the dependency's name under `service_label`."""
    out = []
    for client in clients:
        base = client.metric
        buckets = named(f"rate({base}_bucket[{rate}])", client, service_label)
        out.append(
            (
                "latency_p99",
                f"histogram_quantile(0.99, sum by (le, {service_label}) ({buckets}))",
                "seconds",
                "p99 latency (client-side)",
            )
        )
        failed = " or ".join(f"rate({base}_count{{{m}}}[{rate}])" for m in client.errors)
        errors = named(f"({failed})", client, service_label)
        total = named(f"rate({base}_count[{rate}])", client, service_label)
        out.append(
            (
                "error_ratio",
                f"sum by ({service_label}) ({errors}) / sum by ({service_label}) ({total})",
                "ratio",
                "error ratio (client-side)",
            )
        )
    return out


def dependency_edges(
    prom: Instant,
    clients: list[ClientMetric],
    service_label: str = "service",
    lookback: str = "1h",
) -> dict[str, list[str]]:
    """Return client service → dependencies it called in the lookback.

    Each series names its client by the first identity label it carries: clients of one
    histogram may be instrumented differently (`service_name` beside a bare `job`).
    """
    edges: dict[str, set[str]] = {}
    keep = ", ".join(identity_labels(service_label))
    for client in clients:
        expr = named(f"increase({client.metric}_count[{lookback}])", client, DEPENDENCY)
        for row in prom.instant(f"count by ({keep}, {DEPENDENCY}) ({expr} > 0)"):
            labels = row.get("metric", {})
            caller, callee = service_of(labels, service_label), labels.get(DEPENDENCY)
            if caller and callee and caller != callee:
                edges.setdefault(caller, set()).add(callee)
    return {k: sorted(v) for k, v in sorted(edges.items())}


def dependency_names(prom: Instant, clients: list[ClientMetric], lookback: str = "1h") -> list[str]:
    """Return the names of every dependency the clients measured in the lookback."""
    out: set[str] = set()
    for client in clients:
        expr = named(f"increase({client.metric}_count[{lookback}])", client, DEPENDENCY)
        for row in prom.instant(f"count by ({DEPENDENCY}) ({expr})"):
            if name := row.get("metric", {}).get(DEPENDENCY):
                out.add(name)
    return sorted(out)
