"""Instant-query results as rows, and the answers when a query returns nothing."""

from __future__ import annotations

import math
from typing import Any

from opsloop.tools.base import Evidence, ToolResult, ToolStatus

Row = tuple[dict[str, str], float]


def instant_rows(result: list[dict[str, Any]]) -> list[Row]:
    """Return (labels, value) per series, largest first; unreadable samples are skipped."""
    rows = []
    for series in result:
        try:
            rows.append((dict(series.get("metric", {})), float(series["value"][1])))
        except (KeyError, IndexError, TypeError, ValueError):
            continue
    rows.sort(key=lambda r: r[1] if math.isfinite(r[1]) else -math.inf, reverse=True)
    return rows


def no_series(title: str, query: str, at: str, link: str | None, tool: str) -> ToolResult:
    """Return the NO_DATA result of a query that matched no series at `at`."""
    return ToolResult(
        status=ToolStatus.NO_DATA,
        summary=f"{title}: no series for `{query}` at {at}.",
        evidence=[Evidence(tool=tool, query=query, summary=f"{title}: no data", link=link)],
    )


def no_samples(title: str, query: str, window: str, link: str | None, tool: str) -> ToolResult:
    """Return the NO_DATA result of a range query with no samples in `window`."""
    return ToolResult(
        status=ToolStatus.NO_DATA,
        summary=f"{title}: no samples for `{query}` in {window}. "
        "Check the metric and label names with list_metrics.",
        evidence=[Evidence(tool=tool, query=query, summary=f"{title}: no data", link=link)],
    )
