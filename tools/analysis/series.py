"""Summarise Prometheus results: per-series stats, change, sparklines, human units."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Unit = str  # "seconds" | "bytes" | "ratio" | "percent" | "per_second" | "cores" | "count" | ""
_BARS = "▁▂▃▄▅▆▇█"


@dataclass
class SeriesStats:
    """Statistics of one series over the asked window, plus the preceding window."""

    labels: dict[str, str]
    min: float
    mean: float
    max: float
    last: float
    points: int
    previous_mean: float | None = None
    spark: str = ""
    values: list[float] = field(default_factory=list, repr=False)

    @property
    def change(self) -> float | None:
        """Relative change of the mean against the preceding window (0.25 = +25 %)."""
        if self.previous_mean is None or self.previous_mean == 0:
            return None
        return (self.mean - self.previous_mean) / abs(self.previous_mean)


def label_text(labels: dict[str, str]) -> str:
    """Render labels as `{a="b", c="d"}` without the metric name."""
    shown = {k: v for k, v in labels.items() if k != "__name__"}
    if not shown:
        return "{}"
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(shown.items())) + "}"


def sparkline(values: list[float], width: int = 24) -> str:
    """Draw values as a compact unicode sparkline, resampled to at most `width` bars."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return ""
    arr = np.asarray(finite, dtype=float)
    if len(arr) > width:
        arr = np.array([chunk.mean() for chunk in np.array_split(arr, width)])
    lo, hi = float(arr.min()), float(arr.max())
    if hi - lo < 1e-12:
        return _BARS[3] * len(arr)
    idx = np.clip(((arr - lo) / (hi - lo) * (len(_BARS) - 1)).round().astype(int), 0, 7)
    return "".join(_BARS[i] for i in idx)


def summarise_matrix(result: list[dict[str, Any]], split_at: float) -> list[SeriesStats]:
    """Summarise a matrix result; points before `split_at` (Unix s) form the preceding window."""
    out: list[SeriesStats] = []
    for series in result:
        points = [(float(t), _num(v)) for t, v in series.get("values", [])]
        current = [v for t, v in points if t >= split_at and math.isfinite(v)]
        before = [v for t, v in points if t < split_at and math.isfinite(v)]
        if not current:
            continue
        arr = np.asarray(current)
        out.append(
            SeriesStats(
                labels=dict(series.get("metric", {})),
                min=float(arr.min()),
                mean=float(arr.mean()),
                max=float(arr.max()),
                last=float(arr[-1]),
                points=len(current),
                previous_mean=float(np.mean(before)) if before else None,
                spark=sparkline(current),
                values=current,
            )
        )
    return out


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def unit_for_query(query: str) -> Unit:
    """Guess the unit of a PromQL expression from its metric names and functions."""
    names = re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", query)
    if "histogram_quantile" in names or any(n.endswith("_seconds_bucket") for n in names):
        return "seconds"
    metric = next((n for n in names if "_" in n and not n.startswith(("sum", "rate"))), "")
    if metric.endswith("_bytes"):
        return "bytes"
    if metric.endswith(("_ratio", "_percent")):
        return "ratio" if metric.endswith("_ratio") else "percent"
    if metric.endswith("_seconds_total") and ("rate(" in query or "irate(" in query):
        return "cores" if "cpu" in metric else "seconds"
    if metric.endswith("_seconds"):
        return "seconds"
    if metric.endswith("_total") and ("rate(" in query or "irate(" in query):
        return "per_second"
    return ""


def format_value(value: float, unit: Unit = "") -> str:
    """Format a value with a readable unit (`0.412` seconds → `412 ms`)."""
    if not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
    if unit == "seconds":
        if abs(value) < 1:
            return f"{_sig(value * 1000)} ms"
        return f"{_sig(value)} s"
    if unit == "bytes":
        for suffix, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
            if abs(value) >= size:
                return f"{_sig(value / size)} {suffix}"
        return f"{_sig(value)} B"
    if unit == "ratio":
        return f"{_sig(value * 100)} %"
    if unit == "percent":
        return f"{_sig(value)} %"
    if unit == "per_second":
        return f"{_sig(value)}/s"
    if unit == "cores":
        return f"{_sig(value)} cores"
    if unit == "count" and abs(value) < 1e6:
        # Events counted by increase(), which extrapolates to the range's edges: 1.01 kills
        # is one kill.
        return str(round(value))
    return _sig(value)


def _sig(value: float, digits: int = 3) -> str:
    """Round to `digits` significant digits without scientific notation for usual sizes."""
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    if magnitude >= 15 or magnitude <= -6:
        return f"{value:.{digits - 1}e}"
    decimals = max(0, digits - 1 - magnitude)
    text = f"{value:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_change(change: float | None) -> str:
    """Format a relative change as `+25 %` against the preceding window."""
    if change is None:
        return "n/a"
    return f"{'+' if change >= 0 else ''}{_sig(change * 100)} %"
