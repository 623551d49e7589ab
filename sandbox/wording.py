"""What each sandbox service's own faults look like in its change log and its log lines.

A fault's effects are generic (a latency factor, an error ratio); the words a person finds
while investigating are not: a payment service's bad config is a payment timeout, a
database's slowdown is a slow query after a migration. This table keeps those words per
service, so a fault moved to another target reads like that target's incident.
"""

from __future__ import annotations

from dataclasses import dataclass

from opsloop.sandbox.world import Service


@dataclass(frozen=True)
class Wording:
    """One service's incident vocabulary."""

    hot_path: str  # what a CPU-hungry release added
    slow_path: str  # what a slow release makes each request wait on
    config: tuple[str, str, str]  # the key a bad config push sets: (key, good, bad)
    config_error: tuple[str, str]  # the request error the bad value causes: (message, type)


WORDING: dict[str, Wording] = {
    "gateway": Wording(
        hot_path="request body schema validation on every route",
        slow_path="synchronous access-log shipping",
        config=("UPSTREAM_MAX_CONNS", "256", "0"),
        config_error=(
            "upstream connect failed: connection pool exhausted (max 0)",
            "PoolExhausted",
        ),
    ),
    "checkout": Wording(
        hot_path="tax recalculation for every cart line",
        slow_path="synchronous audit-log writes",
        config=("PAYMENT_TIMEOUT_MS", "3000", "0"),
        config_error=("payment authorization failed: timeout of 0ms exceeded", "PaymentTimeout"),
    ),
    "fraud-api": Wording(
        hot_path="per-request SHAP explanations",
        slow_path="a global lock around the score cache",
        config=("SCORER_WORKERS", "8", "0"),
        config_error=("no scorer worker available: pool size 0", "WorkerPoolEmpty"),
    ),
    "recommender": Wording(
        hot_path="feature crosses in re-ranking",
        slow_path="a global lock around the candidate cache",
        config=("RANKER_TIMEOUT_MS", "150", "0"),
        config_error=("re-rank failed: timeout of 0ms exceeded", "RankerTimeout"),
    ),
    "feature-store": Wording(
        hot_path="on-the-fly window aggregations",
        slow_path="read-through to cold storage on cache miss",
        config=("FEATURE_SCHEMA_VERSION", "7", "8"),
        config_error=("feature view not found for schema version 8", "FeatureViewNotFound"),
    ),
}


def change_text(kind: str, svc: Service) -> tuple[str, str, str, dict] | None:
    """Return (who, change kind, summary, detail) of the change behind a `kind` fault on `svc`."""
    words = WORDING.get(svc.name)
    if kind == "dependency-latency" and not svc.http:  # a database slows down after a migration
        summary = f"{svc.name} migration 0042 applied"
        return "flyway", "deploy", summary, {"migration": "0042_drop_idx_features_entity"}
    if words is None or not svc.version:
        return None
    if kind == "config-error":
        key, good, bad = words.config
        summary = f"{svc.name} config: {key} {good} → {bad}"
        return "bob", "config", summary, {"key": key, "from": good, "to": bad}
    reasons = {
        "schema-change": "scores served as percentages",
        "memory-leak": "",
        "cpu-saturation": words.hot_path,
        "dependency-latency": words.slow_path,
    }
    if kind not in reasons:
        return None
    # A leak or a new wait slips in with a patch release; a new feature comes with a minor one.
    previous, version = svc.release_after(
        "patch" if kind in ("memory-leak", "dependency-latency") else "minor"
    )
    summary = f"{svc.name} {version} deployed" + (f" ({reasons[kind]})" if reasons[kind] else "")
    return "deploy-bot", "deploy", summary, {"version": version, "previous": previous}


def config_error(svc: Service) -> tuple[str, dict[str, str]]:
    """Return the error message and fields `svc` logs while its bad config is live."""
    words = WORDING[svc.name]
    key, _, bad = words.config
    message, error = words.config_error
    return message, {"error": error, "config": f"{key}={bad}"}


def slow_line(svc: Service, ms: int, path: str) -> tuple[str, dict]:
    """Return the warning `svc` logs about a slow request (a slow query, for a database)."""
    if not svc.http:
        return (
            f"slow query {ms}ms: SELECT * FROM features WHERE entity_id = $1",
            {"duration_ms": ms, "table": "features"},
        )
    why = WORDING[svc.name].slow_path
    return f"slow request {ms}ms on {path}: waiting on {why}", {"duration_ms": ms, "path": path}
