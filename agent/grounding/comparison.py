"""Template answers for window comparisons ("p95 now vs yesterday"), from tool data only."""

from __future__ import annotations

from typing import Any

from opsloop.tools.analysis.series import format_value, label_text
from opsloop.tools.toolsets.compare import change_text

MAX_BULLETS = 5


def compared(data: dict[str, Any], ids: list[str]) -> str:
    """Describe both windows of a comparison and the change, one bullet per series."""
    unit, title, cmp = data.get("unit", ""), data.get("title", "result"), data["compare"]
    series = data.get("series", [])
    cite = f" [{ids[0]}]" if ids else ""
    ref = cmp["reference"]
    head = f"{title}, {cmp['window']} vs {ref} ({cmp['reference_window']}){cite}"
    instant = "time" in data
    if len(series) == 1:
        return f"{head}:\n" + "\n".join(_one(series[0], unit, ref, instant))
    lines = [f"{head}, {len(series)} series:"]
    for s in series[:MAX_BULLETS]:
        lines.append(f"- {label_text(s['labels'])}: {_inline(s, unit, ref, instant)}")
    if len(series) > MAX_BULLETS:
        lines.append(f"- … and {len(series) - MAX_BULLETS} more series")
    return "\n".join(lines)


def _pair(s: dict[str, Any], instant: bool) -> tuple[float, float | None]:
    """Return (value now, value in the reference window) of one series."""
    if instant:
        return s["value"], s.get("reference")
    return s["mean"], s.get("previous_mean")


def _one(s: dict[str, Any], unit: str, ref: str, instant: bool) -> list[str]:
    now, then = _pair(s, instant)
    stat = "" if instant else "mean "
    lines = [f"- this window: {stat}{format_value(now, unit)}"]
    if not instant:
        lines[0] += (
            f" (last {format_value(s['last'], unit)}, min {format_value(s['min'], unit)}, "
            f"max {format_value(s['max'], unit)})"
        )
    if then is None:
        return [*lines, f"- {ref}: no samples, so no change to report"]
    prior = "baseline" if instant else "prior mean"
    return [
        *lines,
        f"- {ref}: {prior} {format_value(then, unit)}",
        f"- change: {change_text(now, then, unit)}",
    ]


def _inline(s: dict[str, Any], unit: str, ref: str, instant: bool) -> str:
    now, then = _pair(s, instant)
    stat = "" if instant else "mean "
    if then is None:
        return f"{stat}{format_value(now, unit)}; no samples for {ref}"
    prior = "baseline" if instant else "prior mean"
    return (
        f"{stat}{format_value(now, unit)}, {prior} {format_value(then, unit)} {ref}: "
        f"{change_text(now, then, unit)}"
    )
