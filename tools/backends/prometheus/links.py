"""Links from evidence to the page a person would open: Grafana Explore or the Prometheus UI."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from opsloop.tools.backends.prometheus.promql import format_duration


def grafana_explore(
    grafana_url: str,
    datasource_uid: str,
    expr: str,
    start: datetime,
    end: datetime,
    datasource_type: str = "prometheus",
) -> str:
    """Link to Grafana Explore (panes URL format, Grafana 10+) showing `expr` over the range."""
    panes = {
        "a": {
            "datasource": datasource_uid,
            "queries": [
                {
                    "refId": "A",
                    "expr": expr,
                    "datasource": {"type": datasource_type, "uid": datasource_uid},
                }
            ],
            "range": {
                "from": str(int(start.timestamp() * 1000)),
                "to": str(int(end.timestamp() * 1000)),
            },
        }
    }
    query = urlencode(
        {"schemaVersion": "1", "panes": json.dumps(panes, separators=(",", ":")), "orgId": "1"},
        quote_via=quote,
    )
    return f"{grafana_url.rstrip('/')}/explore?{query}"


def prometheus_graph(prometheus_url: str, expr: str, start: datetime, end: datetime) -> str:
    """Link to the Prometheus expression browser showing `expr` over the range."""
    query = urlencode(
        {
            "g0.expr": expr,
            "g0.tab": "0",
            "g0.range_input": format_duration((end - start).total_seconds()),
            "g0.end_input": end.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        },
        quote_via=quote,
    )
    return f"{prometheus_url.rstrip('/')}/graph?{query}"


def metric_link(
    expr: str,
    start: datetime,
    end: datetime,
    *,
    prometheus_url: str,
    grafana_url: str | None = None,
    grafana_datasource: str = "prometheus",
) -> str:
    """Prefer Grafana when configured, else the Prometheus UI."""
    if grafana_url:
        return grafana_explore(grafana_url, grafana_datasource, expr, start, end)
    return prometheus_graph(prometheus_url, expr, start, end)
