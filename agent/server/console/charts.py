"""Draw a time series as an SVG line chart: onset and changes marked, baseline band shaded."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape

WIDTH, HEIGHT = 640, 200
PAD_L, PAD_R, PAD_T, PAD_B = 56, 12, 12, 28
BAND_SIGMAS = 2.0


@dataclass
class Chart:
    """One series and what to mark on it (Unix seconds)."""

    title: str
    points: list[tuple[float, float]]
    onset: float | None = None
    changes: list[tuple[float, str]] = field(default_factory=list)
    unit: str = ""
    # The window asked for: the axis spans it even where samples stop short (a fresh
    # incident's onset may be newer than the last scrape).
    start: float | None = None
    end: float | None = None

    def span(self, points: list[tuple[float, float]]) -> tuple[float, float]:
        """Return the time axis: the window asked for, widened to every point."""
        first, last = points[0][0], points[-1][0]
        return min(first, self.start or first), max(last, self.end or last)


def baseline_band(points: list[tuple[float, float]], before: float | None) -> tuple[float, float]:
    """Return (low, high): the mean ± 2σ of the values before `before` (all when None)."""
    values = [v for t, v in points if before is None or t < before]
    if len(values) < 3:
        return (math.nan, math.nan)
    mean, sd = statistics.fmean(values), statistics.pstdev(values)
    return (mean - BAND_SIGMAS * sd, mean + BAND_SIGMAS * sd)


def svg(chart: Chart) -> str:
    """Return the chart as an accessible inline SVG."""
    points = [(t, v) for t, v in chart.points if math.isfinite(v)]
    label = escape(chart.title)
    if len(points) < 2:
        return (
            f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} 60" aria-label="{label}">'
            f"<title>{label}: no data in this range</title>"
            f'<text x="8" y="34">no data in this range</text></svg>'
        )
    t0, t1 = chart.span(points)
    low, high = baseline_band(points, chart.onset)
    values = [v for _t, v in points] + [x for x in (low, high) if math.isfinite(x)]
    vmin, vmax = min(values), max(values)
    if vmax == vmin:
        vmin, vmax = vmin - 1, vmax + 1
    sx = (WIDTH - PAD_L - PAD_R) / max(t1 - t0, 1e-9)
    sy = (HEIGHT - PAD_T - PAD_B) / (vmax - vmin)

    def x(t: float) -> float:
        return PAD_L + (t - t0) * sx

    def y(v: float) -> float:
        return HEIGHT - PAD_B - (v - vmin) * sy

    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" aria-label="{label}">',
        f"<title>{label}</title><desc>{escape(_describe(chart, points, low, high))}</desc>",
    ]
    if math.isfinite(low):
        top, bottom = y(high), y(low)
        parts.append(
            f'<rect class="band" x="{PAD_L}" y="{top:.1f}" width="{WIDTH - PAD_L - PAD_R}" '
            f'height="{max(bottom - top, 1):.1f}"><title>baseline: mean ± 2σ before the '
            "onset</title></rect>"
        )
    for value in (vmin, (vmin + vmax) / 2, vmax):
        parts.append(
            f'<text class="axis" x="{PAD_L - 6}" y="{y(value) + 4:.1f}" text-anchor="end">'
            f"{escape(_fmt(value))}{escape(chart.unit)}</text>"
        )
    for t in (t0, t1):
        anchor = "start" if t == t0 else "end"
        parts.append(
            f'<text class="axis" x="{x(t):.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}">'
            f"{_clock(t)}</text>"
        )
    path = " ".join(
        f"{'M' if i == 0 else 'L'}{x(t):.1f},{y(v):.1f}" for i, (t, v) in enumerate(points)
    )
    parts.append(f'<path class="line" d="{path}" fill="none"/>')
    for at, what in chart.changes:
        if t0 <= at <= t1:
            parts.append(_marker(x(at), "change", f"change {_clock(at)}: {what}"))
    if chart.onset is not None and t0 <= chart.onset <= t1:
        parts.append(_marker(x(chart.onset), "onset", f"onset {_clock(chart.onset)}"))
    parts.append("</svg>")
    return "".join(parts)


def _marker(px: float, kind: str, text: str) -> str:
    return (
        f'<line class="{kind}" x1="{px:.1f}" x2="{px:.1f}" y1="{PAD_T}" y2="{HEIGHT - PAD_B}">'
        f"<title>{escape(text)}</title></line>"
    )


def _describe(chart: Chart, points: list[tuple[float, float]], low: float, high: float) -> str:
    """Say in words what the chart shows, for screen readers."""
    first, last = points[0][1], points[-1][1]
    peak = max(v for _t, v in points)
    words = f"from {_fmt(first)} to {_fmt(last)}, peak {_fmt(peak)}"
    if math.isfinite(high):
        words += f"; baseline band {_fmt(low)} to {_fmt(high)}"
    if chart.onset is not None:
        words += f"; onset at {_clock(chart.onset)} UTC"
    if chart.changes:
        words += f"; {len(chart.changes)} change(s) marked"
    return words


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1000 or magnitude < 0.01:
        return f"{value:.3g}"
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _clock(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%H:%M")
