"""Request metrics as the exporters would write them.

- OpenTelemetry semconv server histograms (`http_server_request_duration_seconds`, `job` =
  namespace/service, `service_name`, `instance` = pod), for most services;
- prometheus_client style (`http_requests_total{code}`, `http_request_duration_seconds`,
  `job` = service, `namespace`, `pod`), for catalog and notifier;
- OpenTelemetry client histograms for pg-main (`db_client_operation_duration_seconds`) and
  paygate (`http_client_request_duration_seconds`), which export nothing themselves;
- the trace service graph (`traces_service_graph_request_total{client, server}`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.special import ndtr

from opsloop.evals.rca.world2.dynamics import PodState, State, noise
from opsloop.evals.rca.world2.propagate import DB_SIGMA, EXT_ERROR_MEDIAN, EXT_SIGMA
from opsloop.evals.rca.world2.store import Store
from opsloop.evals.rca.world2.world import (
    DB,
    DB_BUCKETS,
    EXTERNAL,
    HTTP_BUCKETS,
    PROM_BUCKETS,
    SERVICES,
    Service,
    edges,
)

ERROR_CODE = {"edge-proxy": "503", "payments": "502"}  # others answer 500
Components = Sequence[tuple[np.ndarray, np.ndarray, float]]


def counter(increments: np.ndarray, epoch: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Return a counter: the running sum, reset when the process restarts, NaN where absent."""
    total = np.cumsum(increments, dtype=float)
    change = np.r_[True, np.diff(epoch) != 0]
    segment = np.cumsum(change) - 1
    base = (total - increments)[change]
    return np.where(present, total - base[segment], np.nan)


def lazy(values: np.ndarray) -> np.ndarray:
    """Return a counter that only exists from its first non-zero value (an error series)."""
    seen = np.maximum.accumulate(np.nan_to_num(values) > 0)
    return np.where(seen, values, np.nan)


def observe(
    rng: np.random.Generator,
    expected: np.ndarray,
    cdfs: Sequence[np.ndarray],
    mean: np.ndarray,
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Draw per-step observations: cumulative bucket increments, counts, and sums."""
    counts = rng.poisson(np.clip(np.nan_to_num(expected), 0.0, None))
    remaining, below, cum, out = counts.copy(), np.zeros(len(counts)), np.zeros(len(counts)), []
    for cdf in cdfs:
        q = np.clip((cdf - below) / np.maximum(1.0 - below, 1e-12), 0.0, 1.0)
        hits = rng.binomial(remaining, q)
        remaining -= hits
        cum = cum + hits
        out.append(cum)
        below = np.maximum(below, cdf)
    sums = counts * mean * noise(rng, len(counts), 0.03, 0.0)
    return out, counts.astype(float), sums


def lognormal_cdfs(components: Components, buckets: Sequence[float]) -> list[np.ndarray]:
    """Return P(latency <= le) of a log-normal mixture at every bucket bound."""
    return [
        sum(w * ndtr((math.log(le) - np.log(np.maximum(m, 1e-9))) / s) for w, m, s in components)
        for le in buckets
    ]


def mixture_mean(components: Components) -> np.ndarray:
    """Return the mean of a log-normal mixture."""
    return sum(w * m * math.exp(s * s / 2) for w, m, s in components)


def add_histogram(
    store: Store,
    family: str,
    labels: dict[str, str],
    buckets: Sequence[float],
    drawn: tuple[list[np.ndarray], np.ndarray, np.ndarray],
    pod: PodState,
    le_text=lambda le: f"{le:g}",
    only_after_first: bool = False,
) -> None:
    """Add a histogram's _bucket, _count and _sum series for one label set."""
    cums, counts, sums = drawn
    shape = lazy if only_after_first else (lambda v: v)
    final = shape(counter(counts, pod.epoch, pod.up))
    present = ~np.isnan(final)
    for le, cum in zip(buckets, cums, strict=True):
        values = counter(cum, pod.epoch, pod.up)
        store.add(family, f"{family}_bucket", {**labels, "le": le_text(le)}, _mask(values, present))
    store.add(family, f"{family}_bucket", {**labels, "le": "+Inf"}, final)
    store.add(family, f"{family}_count", labels, final)
    store.add(family, f"{family}_sum", labels, _mask(counter(sums, pod.epoch, pod.up), present))


def _mask(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    return np.where(present, values, np.nan)


def pod_ip(name: str) -> str:
    """Return a stable pod IP for a pod name."""
    h = sum((i + 1) * ord(c) for i, c in enumerate(name))
    return f"10.42.{h % 250 + 1}.{(h // 250) % 250 + 2}"


def client_labels(s: Service, p: PodState) -> dict[str, str]:
    """Return the identity labels a service's own metrics carry."""
    if s.style == "otel":
        return {"job": s.job(), "instance": p.pod.name, "service_name": s.name}
    return {"job": s.job(), "namespace": s.namespace, "pod": p.pod.name,
            "instance": f"{pod_ip(p.pod.name)}:8080"}  # fmt: skip


def export_http(state: State, store: Store) -> None:
    """Add every request, dependency and service-graph series."""
    rng, dt = state.plan.rng, state.dt
    otel, prom = "http_server_request_duration_seconds", "http_request_duration_seconds"
    store.family(otel, "histogram", "Duration of HTTP server requests.")
    store.family("http_requests", "counter", "Total HTTP requests by handler, method and code.")
    store.family(prom, "histogram", "HTTP request latency by handler and method.")
    db_family, ext_family = (
        "db_client_operation_duration_seconds",
        "http_client_request_duration_seconds",
    )
    store.family(db_family, "histogram", "Duration of database client operations.")
    store.family(ext_family, "histogram", "Duration of HTTP client requests.")
    for s in SERVICES:
        code = ERROR_CODE.get(s.name, "500")
        for p in state.pods[s.name]:
            ok_rate, err_rate = p.rps * (1 - p.errors), p.rps * p.errors
            errs = [(w, 0.6 * m, sg) for w, m, sg in p.components]
            ok_draw = observe(rng, ok_rate * dt, lognormal_cdfs(p.components, HTTP_BUCKETS),
                              mixture_mean(p.components))  # fmt: skip
            err_draw = observe(rng, err_rate * dt, lognormal_cdfs(errs, HTTP_BUCKETS),
                               mixture_mean(errs))  # fmt: skip
            ident = client_labels(s, p)
            if s.style == "otel":
                base = {**ident, "service_namespace": s.namespace,
                        "http_request_method": s.method, "http_route": s.route}  # fmt: skip
                for status, drawn, first in (("200", ok_draw, False), (code, err_draw, True)):
                    labels = {**base, "http_response_status_code": status}
                    add_histogram(store, otel, labels, HTTP_BUCKETS, drawn, p,
                                  only_after_first=first)  # fmt: skip
            else:
                base = {**ident, "handler": s.route, "method": s.method}
                for status, drawn, first in (("200", ok_draw, False), (code, err_draw, True)):
                    values = counter(drawn[1], p.epoch, p.up)
                    store.add("http_requests", "http_requests_total", {**base, "code": status},
                              lazy(values) if first else values)  # fmt: skip
                both = ([a + b for a, b in zip(ok_draw[0], err_draw[0], strict=True)],
                        ok_draw[1] + err_draw[1], ok_draw[2] + err_draw[2])  # fmt: skip
                add_histogram(store, prom, base, PROM_BUCKETS, both, p, le_text=str)
            if s.db_ops:
                _db(state, store, db_family, s, p, ident, rng)
            if s.external:
                _external(state, store, ext_family, s, p, ident, rng)
    _service_graph(state, store)


def _db(state, store, family, s, p, ident, rng) -> None:
    x, dt = state.extra, state.dt
    ops = p.rps * s.db_ops * dt
    base = {**ident, "db_system_name": "postgresql", "db_namespace": "marketplace",
            "db_operation_name": "SELECT" if s.method == "GET" else "INSERT",
            "server_address": DB, "server_port": "5432"}  # fmt: skip
    ok = [(np.ones(len(dt)), x["db_median"], DB_SIGMA)]
    timeouts = [(np.ones(len(dt)), np.full(len(dt), 2.0), 0.05)]
    drawn = observe(rng, ops * (1 - x["db_errors"]), lognormal_cdfs(ok, DB_BUCKETS),
                    mixture_mean(ok))  # fmt: skip
    add_histogram(store, family, base, DB_BUCKETS, drawn, p)
    drawn = observe(rng, ops * x["db_errors"], lognormal_cdfs(timeouts, DB_BUCKETS),
                    mixture_mean(timeouts))  # fmt: skip
    labels = {**base, "error_type": "timeout"}
    add_histogram(store, family, labels, DB_BUCKETS, drawn, p, only_after_first=True)


def _external(state, store, family, s, p, ident, rng) -> None:
    x, dt = state.extra, state.dt
    calls = p.rps * s.external * dt
    base = {**ident, "http_request_method": "POST", "server_address": "api.paygate.example",
            "server_port": "443", "peer_service": EXTERNAL}  # fmt: skip
    ok = [(np.ones(len(dt)), x["ext_median"], EXT_SIGMA)]
    bad = [(np.ones(len(dt)), np.full(len(dt), EXT_ERROR_MEDIAN), EXT_SIGMA)]
    drawn = observe(rng, calls * (1 - x["ext_errors"]), lognormal_cdfs(ok, HTTP_BUCKETS),
                    mixture_mean(ok))  # fmt: skip
    add_histogram(store, family, {**base, "http_response_status_code": "200"}, HTTP_BUCKETS,
                  drawn, p)  # fmt: skip
    drawn = observe(rng, calls * x["ext_errors"], lognormal_cdfs(bad, HTTP_BUCKETS),
                    mixture_mean(bad))  # fmt: skip
    labels = {**base, "http_response_status_code": "503", "error_type": "503"}
    add_histogram(store, family, labels, HTTP_BUCKETS, drawn, p, only_after_first=True)


def _service_graph(state: State, store: Store) -> None:
    """Edges between services (and to paygate, a peer.service virtual node)."""
    rng, dt, x, n = state.plan.rng, state.dt, state.extra, len(state.t)
    store.family("traces_service_graph_request", "counter", "Requests between two nodes.")
    store.family("traces_service_graph_request_failed", "counter", "Failed requests between nodes.")
    always, never = np.ones(n, dtype=bool), np.zeros(n, dtype=int)
    for client, server in edges():
        if server == EXTERNAL:
            flow = sum(p.rps for p in state.pods[client])
            failed = x["ext_errors"]
        else:
            flow = state.routes[(client, server)]
            failed = np.clip(x["errors"][server] + state.dropped[server], 0.0, 1.0)
        total = rng.poisson(flow * dt)
        bad = rng.binomial(total, np.clip(failed, 0.0, 1.0))
        labels = {"client": client, "server": server}
        store.add("traces_service_graph_request", "traces_service_graph_request_total", labels,
                  counter(total, never, always))  # fmt: skip
        store.add("traces_service_graph_request_failed",
                  "traces_service_graph_request_failed_total", labels,
                  lazy(counter(bad, never, always)))  # fmt: skip
