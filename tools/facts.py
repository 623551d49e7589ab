"""Structured facts for evidence records: each figure with the series it describes.

The self-check (opsloop.agent.grounding) compares an answer's figures with these, so a
figure is bound to its subject (the series' label values and the query's matchers), its
statistic, quantile, window and baseline, not merely found somewhere in the evidence.
"""

from __future__ import annotations

import re
from typing import Any

from opsloop.tools.analysis.series import SeriesStats

_MATCHER = re.compile(r'\b([a-zA-Z_][a-zA-Z0-9_]*)="([^"]+)"')
_QUANTILE = re.compile(r"histogram_quantile\(\s*([0-9.]+)")
_SKIP_LABELS = ("__name__", "le", "quantile", "job", "instance")


def query_subjects(query: str) -> list[str]:
    """Return the values of a query's equality matchers (`service_name="gateway"`)."""
    return [
        m.group(2)
        for m in _MATCHER.finditer(query)
        if m.group(1) not in _SKIP_LABELS and not any(c in m.group(2) for c in "|*+?[](.")
    ]


def quantile_of(query: str) -> float | None:
    """Return the quantile of a `histogram_quantile(q, …)` query."""
    m = _QUANTILE.search(query)
    try:
        return float(m.group(1)) if m else None
    except ValueError:
        return None


def _subjects(labels: dict[str, str], query: str) -> list[str]:
    values = [v for k, v in labels.items() if k not in _SKIP_LABELS and v]
    return sorted({*values, *query_subjects(query)})


def _base(query: str, title: str, unit: str) -> dict[str, Any]:
    return {"title": title, "query": query, "unit": unit, "quantile": quantile_of(query)}


def count_fact(count: int, query: str) -> dict[str, Any]:
    """Return the fact "the query returned `count` series"."""
    return {
        "subjects": query_subjects(query),
        "stat": None,
        "value": float(count),
        "unit": "",
        "quantities": ["series"],
        "query": query,
    }


def series_facts(
    stats: list[SeriesStats],
    query: str,
    title: str,
    unit: str,
    window_s: float,
    total: int,
    baseline: str | None = None,
) -> list[dict[str, Any]]:
    """Return the facts of a range query: last, mean, min, max, previous mean and change
    (against the window before, or `baseline`: "day", "week", "previous:<s>")."""
    out: list[dict[str, Any]] = [count_fact(total, query)]
    base = _base(query, title, unit) | {"window_s": window_s}
    baseline = baseline or f"previous:{window_s:g}"
    for s in stats:
        subjects = _subjects(s.labels, query)
        for stat in ("last", "mean", "min", "max"):
            out.append(base | {"subjects": subjects, "stat": stat, "value": getattr(s, stat)})
        if s.previous_mean is not None:
            previous = {"subjects": subjects, "stat": "previous", "value": s.previous_mean}
            out.append(base | previous | {"baseline": baseline})
        if s.change is not None:
            out.append(
                base
                | {
                    "subjects": subjects,
                    "stat": "change",
                    "value": s.change,
                    "change": 1 if s.change > 0 else -1 if s.change < 0 else 0,
                    "baseline": baseline,
                    "unit": "ratio",
                }
            )
    return out


def instant_facts(
    rows: list[tuple[dict[str, str], float]], query: str, title: str, unit: str, total: int
) -> list[dict[str, Any]]:
    """Return the facts of an instant query: one value per series."""
    base = _base(query, title, unit)
    out = [base | {"subjects": _subjects(lbl, query), "stat": None, "value": v} for lbl, v in rows]
    return [count_fact(total, query), *out]
