"""Template answers for the deterministic brain, built only from tool results."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from opsloop.agent.grounding.comparison import compared
from opsloop.tools.analysis.series import format_change, format_value, label_text

MAX_BULLETS = 5


def compose(tool_calls: list[dict[str, Any]], notes: list[str]) -> str:
    """Write an answer citing evidence ids, one paragraph per tool call, then the notes."""
    parts: list[str] = []
    for rec in tool_calls:
        parts.append(describe(rec))
    parts.extend(notes)
    return "\n\n".join(p for p in parts if p) or "I found nothing to report for that question."


def with_notes(text: str, notes: list[str]) -> str:
    """Return `text` followed by the notes it must carry, one paragraph each."""
    return "\n\n".join([text, *notes]) if notes else text


def describe(rec: dict[str, Any]) -> str:
    """Describe one tool call's outcome in a sentence or a short list."""
    cite = " ".join(f"[{e}]" for e in rec.get("evidence", []))
    status, name, data = rec["status"], rec["name"], rec.get("data")
    if status == "error":
        return f"I could not run {name}: {rec.get('error') or rec.get('summary')}"
    if status == "denied":
        summary = str(rec.get("summary") or "")
        return (
            summary
            if summary.startswith(f"{name} was not run")
            else f"{name} was not run: {summary}"
        )
    if status == "no_data":
        return f"{rec.get('summary')} {cite}".strip()
    if name in ("query_metrics",) and isinstance(data, dict) and data.get("compare"):
        return compared(data, rec.get("evidence", []))
    if name in ("query_metrics",) and isinstance(data, dict):
        return _metric(data, rec["args"], rec.get("evidence", []))
    if name == "golden_signals" and isinstance(data, dict):
        return _golden(data, rec["args"], rec.get("evidence", []))
    summary = rec.get("summary", "")
    return f"{summary} {cite}".strip()


def _window(args: dict[str, Any]) -> str:
    end, rng = args.get("end"), args.get("range", "1h")
    if not end:
        return f"over the last {rng}"
    try:
        when = datetime.fromisoformat(str(end)).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        when = str(end)
    return f"over the {rng} ending {when}"


def _metric(data: dict[str, Any], args: dict[str, Any], ids: list[str]) -> str:
    unit, title = data.get("unit", ""), data.get("title", "result")
    series = data.get("series", [])
    cite = f"[{ids[0]}]" if ids else ""
    shown = _distinct_labels([s["labels"] for s in series])
    if "time" in data:  # instant query
        if len(series) == 1:
            where = f" {shown[0]}" if shown[0] != "{}" else ""
            return f"{title}{where}: {format_value(series[0]['value'], unit)} {cite}".strip() + "."
        lines = [f"{title} ({len(series)} series, highest first) {cite}:"]
        lines += [
            f"- {labels}: {format_value(s['value'], unit)}"
            for s, labels in zip(series[:MAX_BULLETS], shown, strict=False)
        ]
        return "\n".join(lines)
    if len(series) == 1:
        return f"{title} {_window(args)}: {_stats(series[0], unit, args)} {cite}".strip()
    lines = [f"{title} {_window(args)} ({len(series)} series, highest peak first) {cite}:"]
    lines += [
        f"- {labels}: {_stats(s, unit, args)}"
        for s, labels in zip(series[:MAX_BULLETS], shown, strict=False)
    ]
    if len(series) > MAX_BULLETS:
        lines.append(f"- … and {len(series) - MAX_BULLETS} more series")
    return "\n".join(lines)


def _distinct_labels(label_sets: list[dict[str, str]]) -> list[str]:
    """Render each series by the labels that tell it apart (all of them for a lone series)."""
    sets = [{k: v for k, v in labels.items() if k != "__name__"} for labels in label_sets]
    if len(sets) > 1:
        varying = {k for k in set().union(*sets) if len({s.get(k) for s in sets}) > 1}
        sets = [{k: v for k, v in s.items() if k in varying} for s in sets]
    return [label_text(s) for s in sets]


def _stats(s: dict[str, Any], unit: str, args: dict[str, Any]) -> str:
    text = (
        f"last {format_value(s['last'], unit)}, mean {format_value(s['mean'], unit)}, "
        f"min {format_value(s['min'], unit)}, max {format_value(s['max'], unit)}"
    )
    if s.get("change") is not None:
        text += f"; {format_change(s['change'])} vs the previous {args.get('range', '1h')}"
    return text


def _golden(data: dict[str, Any], args: dict[str, Any], ids: list[str]) -> str:
    lines = [f"{data['service']} {_window(args)}:"]
    for signal, ev_id in zip(data.get("signals", []), ids, strict=False):
        series = signal.get("series", [])
        if not series:
            continue
        unit = signal.get("unit", "")
        title = signal.get("title", "").removeprefix(f"{data['service']} ")
        if len(series) == 1:
            lines.append(f"- {title}: {_stats(series[0], unit, args)} [{ev_id}]")
        else:
            top = series[0]
            lines.append(
                f"- {title} ({len(series)} series; highest {label_text(top['labels'])}): "
                f"{_stats(top, unit, args)} [{ev_id}]"
            )
    return "\n".join(lines)
