"""World 2: a marketplace, unlike the sandbox's shop, described as data.

Nine services in five namespaces, a PostgreSQL database (`pg-main`) and an external payment
API (`paygate`) that export nothing themselves and are seen only through their clients, two
models, and a call graph with a cycle (orders ⇄ inventory):

    edge-proxy ─┬─► orders ─┬─► inventory ─► pg-main          (inventory ─► orders: backorders)
                │           ├─► payments ──► paygate (external HTTPS)
                │           ├─► notifier ──► retention (serves churn-scorer)
                │           └─► pg-main
                └─► search ─┬─► ranking (serves search-ranker)
                            └─► catalog ──► pg-main
"""

from __future__ import annotations

from dataclasses import dataclass

# OpenTelemetry semantic-convention bucket boundaries (http.*.request.duration, db.client.*).
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
DB_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0)
# prometheus_client's default histogram buckets (the two Prometheus-client-style services).
PROM_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
SCORE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
EDGE_RPS = 260.0  # requests per second reaching edge-proxy at the daily mean
DB = "pg-main"  # as its clients name it: server_address (db_system_name="postgresql")
EXTERNAL = "paygate"  # as its client names it: peer_service (server_address api.paygate.example)


@dataclass(frozen=True)
class Service:
    """One service: its Kubernetes identity, exporter style, traffic and resource profile."""

    name: str
    namespace: str
    deployment: str
    container: str
    pods: int
    style: str  # "otel" (semconv histograms, job + service_name) or "prom" (prometheus_client)
    method: str
    route: str
    latency: float  # own median seconds (callees add theirs)
    sigma: float  # log-normal spread of its latency
    errors: float  # own baseline 5xx ratio
    cpu_per_req: float  # CPU seconds per request
    cpu_base: float  # cores per pod when idle
    cpu_limit: float  # cores per pod
    mem_mb: float
    mem_limit_mb: float
    calls: tuple[tuple[str, float, float], ...] = ()  # (callee, calls per request, error pass)
    db_ops: float = 0.0  # pg-main operations per request
    external: float = 0.0  # paygate calls per request
    model: str | None = None
    router: bool = False  # each request goes to ONE callee (latency is a mixture, not a sum)

    def job(self) -> str:
        """Return the `job` label its metrics carry."""
        return f"{self.namespace}/{self.name}" if self.style == "otel" else self.name


# fmt: off
SERVICES = (
    Service("edge-proxy", "edge", "edge-proxy", "envoy", 3, "otel", "GET", "/*",
            0.004, 0.45, 0.0004, 0.00035, 0.05, 2.0, 160, 512,
            calls=(("orders", 0.22, 1.0), ("search", 0.65, 1.0)), router=True),
    Service("orders", "shop", "orders-api", "api", 2, "otel", "POST", "/v1/orders",
            0.018, 0.5, 0.0008, 0.0030, 0.05, 2.0, 420, 1024,
            calls=(("inventory", 1.5, 0.45), ("payments", 0.35, 1.0), ("notifier", 0.3, 0.1)),
            db_ops=4.0),
    Service("inventory", "shop", "inventory", "inventory", 2, "otel", "GET", "/v1/stock/{sku}",
            0.006, 0.45, 0.0005, 0.0009, 0.03, 1.0, 300, 768,
            calls=(("orders", 0.08, 0.3),), db_ops=2.0),
    Service("payments", "shop", "payments", "payments", 2, "otel", "POST", "/v1/charges",
            0.012, 0.4, 0.0006, 0.0025, 0.03, 1.0, 350, 768, external=1.0),
    Service("search", "discovery", "search", "search", 2, "otel", "GET", "/v1/search",
            0.010, 0.45, 0.0005, 0.0020, 0.05, 2.0, 600, 1536,
            calls=(("ranking", 1.0, 0.6), ("catalog", 1.0, 0.8))),
    Service("ranking", "ml", "ranking-server", "server", 2, "otel", "POST", "/v2/rank",
            0.022, 0.35, 0.0003, 0.0045, 0.08, 1.0, 1400, 3072, model="search-ranker"),
    Service("catalog", "discovery", "catalog", "catalog", 2, "prom", "GET", "/items",
            0.006, 0.5, 0.0004, 0.0012, 0.03, 1.0, 280, 768, db_ops=1.0),
    Service("notifier", "messaging", "notifier-worker", "worker", 2, "prom", "POST", "/notify",
            0.015, 0.5, 0.0010, 0.0030, 0.02, 0.5, 200, 512, calls=(("retention", 1.0, 0.2),)),
    Service("retention", "ml", "retention", "retention", 2, "otel", "POST", "/v1/score",
            0.009, 0.35, 0.0003, 0.0040, 0.05, 1.0, 900, 2048, model="churn-scorer"),
)
# fmt: on
BY_NAME = {s.name: s for s in SERVICES}
OWNERS = {  # who an escalation reaches; the world does not configure these in opsloop
    "edge-proxy": "traffic", "orders": "checkout-team", "inventory": "checkout-team",
    "payments": "payments-team", "search": "discovery", "catalog": "discovery",
    "ranking": "ml-platform", "retention": "ml-platform", "notifier": "engagement",
    DB: "dba", EXTERNAL: "payments-team",
}  # fmt: skip


@dataclass(frozen=True)
class Model:
    """A model served by a service, watched by the model monitor."""

    name: str
    service: str
    version: str  # the version serving before anything happens
    auc: float  # online AUC from delayed labels
    objective: float  # model_quality_objective{metric="auc"}
    features: tuple[str, ...]
    score_ab: tuple[float, float]  # Beta(a, b) of the predicted scores


MODELS = (
    Model("search-ranker", "ranking", "14", 0.83, 0.77,
          ("query_length", "ctr_7d", "price_bucket", "dwell_time_p50"), (2.2, 3.4)),
    Model("churn-scorer", "retention", "7", 0.79, 0.73,
          ("tenure_days", "orders_30d", "support_tickets_90d", "days_since_login"), (1.4, 6.0)),
)  # fmt: skip
MODEL_BY_NAME = {m.name: m for m in MODELS}


def callers(name: str) -> list[str]:
    """Return the services that call `name` directly."""
    return [s.name for s in SERVICES if any(c == name for c, _, _ in s.calls)]


def edges() -> list[tuple[str, str]]:
    """Return the service-graph edges (client, server), the external API included."""
    out = [(s.name, c) for s in SERVICES for c, _, _ in s.calls]
    return out + [(s.name, EXTERNAL) for s in SERVICES if s.external]


def pod_name(deployment: str, revision: int, index: int, salt: int) -> str:
    """Return `<deployment>-<replicaset hash>-<pod hash>`, stable for the same inputs."""
    letters = "bcdfghjklmnpqrstvwxz2456789"
    rs = _hash(f"{deployment}/{revision}/{salt}", 10, letters)
    return f"{deployment}-{rs}-{_hash(f'{deployment}/{revision}/{index}/{salt}', 5, letters)}"


def _hash(text: str, length: int, letters: str) -> str:
    value = 1469598103934665603
    for char in text.encode():  # FNV-1a, so names do not depend on Python's hash seed
        value = ((value ^ char) * 1099511628211) % (1 << 64)
    out = ""
    for _ in range(length):
        value, digit = divmod(value, len(letters))
        out += letters[digit]
        value = value * 2654435761 % (1 << 64) if value < len(letters) else value
    return out
