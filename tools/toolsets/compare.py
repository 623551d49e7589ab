"""Compare a query's window with the same window earlier: "vs yesterday", "vs last week".

The reference is the same clock window shifted back (PromQL's `offset`), never a calendar
day: "p95 now vs yesterday" compares 14:05–15:05 today with 14:05–15:05 yesterday.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from opsloop.tools.analysis.series import (
    SeriesStats,
    format_change,
    format_value,
    label_text,
    summarise_matrix,
    unit_for_query,
)
from opsloop.tools.backends.prometheus.promql import parse_duration
from opsloop.tools.base import Evidence, ToolResult, ToolStatus
from opsloop.tools.errors import QueryError
from opsloop.tools.facts import instant_facts, series_facts
from opsloop.tools.toolsets.instant import instant_rows, no_samples, no_series
from opsloop.tools.toolsets.windows import step_for, when, window

if TYPE_CHECKING:
    from opsloop.tools.toolsets.metrics import MetricsContext, QueryMetricsArgs

DAY_S, WEEK_S = 86400.0, 604800.0
MAX_OFFSET_S = 92 * DAY_S
MAX_SERIES = 50  # series whose figures an answer may quote
SHOWN = 10
_AT = "%Y-%m-%d %H:%M UTC"
_NAMED = {"day": DAY_S, "yesterday": DAY_S, "week": WEEK_S, "last week": WEEK_S}


def offset_seconds(compare: str) -> float:
    """Read a comparison offset: `day`, `week` or a duration such as 1h or 3d."""
    text = compare.strip().lower()
    if text in _NAMED:
        return _NAMED[text]
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise QueryError(f"compare {compare!r}: use day, week or a duration such as 3d") from exc
    if not 60 <= seconds <= MAX_OFFSET_S:
        raise QueryError(f"compare {compare!r} must be between 1m and 92d")
    return seconds


def baseline_of(offset_s: float) -> str:
    """Name the baseline as the grounding check reads it: day, week or previous:<s>."""
    return {DAY_S: "day", WEEK_S: "week"}.get(offset_s, f"previous:{offset_s:g}")


def reference_name(offset_s: float) -> str:
    """Name the reference window in words ("the same time yesterday")."""
    if offset_s in (DAY_S, WEEK_S):
        return "the same time " + ("yesterday" if offset_s == DAY_S else "last week")
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if offset_s % size == 0:
            return f"the same window {offset_s / size:g}{unit} before"
    return f"the same window {offset_s:g}s before"


def change_text(now: float, then: float, unit: str) -> str:
    """Say how `now` differs from `then`: "up 32 ms (+8.42 %)", or "unchanged"."""
    diff = now - then
    if diff == 0 or not (math.isfinite(now) and math.isfinite(then)):
        return "unchanged" if diff == 0 else "change n/a"
    word = "up" if diff > 0 else "down"
    pct = f" ({format_change(diff / abs(then))})" if then else ""
    size = format_value(abs(diff), unit)
    if unit in ("ratio", "percent"):  # a difference of two percentages is in points
        size = size.removesuffix(" %") + " pp"
    return f"{word} {size}{pct}"


def _key(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in labels.items() if k != "__name__"))


def run_compare(ctx: MetricsContext, args: QueryMetricsArgs, tool: str) -> ToolResult:
    """Summarise the window and the same window `args.compare` earlier, and the change."""
    start, end, seconds = window(args.range, args.end, ctx.now())
    offset = offset_seconds(args.compare or "")
    shift = timedelta(seconds=offset)
    unit = args.unit or unit_for_query(args.query)
    title = args.title or "result"
    ref = reference_name(offset)
    span = (start, end, start - shift, end - shift)
    if args.instant:
        return _instant(ctx, args, span, offset, unit, title, tool)
    step = step_for(seconds)
    now = summarise_matrix(ctx.prom.range(args.query, start, end, step), start.timestamp())
    then_result = ctx.prom.range(args.query, span[2], span[3], step)
    then = {_key(s.labels): s for s in summarise_matrix(then_result, span[2].timestamp())}
    link = ctx.link(args.query, span[2], end)
    if not now:
        return no_samples(title, args.query, when(start, end), link, tool)
    for s in now:
        before = then.get(_key(s.labels))
        s.previous_mean = before.mean if before else None
    now.sort(key=lambda s: s.max, reverse=True)
    head = (
        f"{title}: {when(start, end)} vs {ref} ({when(span[2], span[3])}), "
        f"means compared, {len(now)} series"
    )
    lines = [head + ":", *(f"- {_line(s, unit, ref)}" for s in now[:SHOWN])]
    if len(now) > SHOWN:
        lines.append(f"- … {len(now) - SHOWN} more series not shown: add label filters.")
    values: dict[str, float] = {"series": float(len(now))}
    for i, s in enumerate(now[:SHOWN]):
        prefix = "" if min(len(now), SHOWN) == 1 else f"{i}."
        values |= {f"{prefix}mean": s.mean, f"{prefix}last": s.last}
        if s.previous_mean is not None:
            values[f"{prefix}reference_mean"] = s.previous_mean
    summary = f"{title}: {_line(now[0], unit, ref)}"
    record = Evidence(tool=tool, query=args.query, summary=summary, link=link, values=values)
    record.facts = series_facts(
        now[:MAX_SERIES], args.query, title, unit, seconds, len(now), baseline_of(offset)
    )
    data = {
        "query": args.query,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "step": step,
        "unit": unit,
        "title": title,
        "compare": _compare_data(offset, span, instant=False),
        "series": [_series(s, then.get(_key(s.labels))) for s in now],
    }
    return ToolResult(status=ToolStatus.OK, summary="\n".join(lines), data=data, evidence=[record])


def _line(s: SeriesStats, unit: str, ref: str) -> str:
    mean = format_value(s.mean, unit)
    if s.previous_mean is None:
        return f"{label_text(s.labels)}: mean {mean}; no samples for {ref}"
    return (
        f"{label_text(s.labels)}: mean {mean} vs {format_value(s.previous_mean, unit)} {ref}, "
        f"{change_text(s.mean, s.previous_mean, unit)}; last {format_value(s.last, unit)}, "
        f"min {format_value(s.min, unit)}, max {format_value(s.max, unit)}"
    )


def _series(s: SeriesStats, before: SeriesStats | None) -> dict[str, Any]:
    return {
        "labels": s.labels,
        "min": s.min,
        "mean": s.mean,
        "max": s.max,
        "last": s.last,
        "previous_mean": s.previous_mean,
        "change": s.change,
        "reference": None if before is None else {"mean": before.mean, "last": before.last},
        "points": s.points,
    }


def _compare_data(offset: float, span: tuple[datetime, ...], instant: bool) -> dict[str, Any]:
    def name(start: datetime, end: datetime) -> str:
        return f"{end.astimezone(UTC):{_AT}}" if instant else when(start, end)

    return {
        "offset_s": offset,
        "baseline": baseline_of(offset),
        "reference": reference_name(offset),
        "window": name(span[0], span[1]),
        "reference_window": name(span[2], span[3]),
    }


def _instant(
    ctx: MetricsContext,
    args: QueryMetricsArgs,
    span: tuple[datetime, ...],
    offset: float,
    unit: str,
    title: str,
    tool: str,
) -> ToolResult:
    """Compare the values at `end` and at `end - offset`, series by series."""
    end, then_at = span[1], span[3]
    rows = instant_rows(ctx.prom.instant(args.query, end))
    then = {_key(lbl): v for lbl, v in instant_rows(ctx.prom.instant(args.query, then_at))}
    link = ctx.link(args.query, then_at, end)
    ref = reference_name(offset)
    if not rows:
        return no_series(title, args.query, f"{end.astimezone(UTC):{_AT}}", link, tool)

    def line(lbl: dict[str, str], v: float) -> str:
        before = then.get(_key(lbl))
        if before is None:
            return f"{label_text(lbl)}: {format_value(v, unit)}; no samples for {ref}"
        return (
            f"{label_text(lbl)}: {format_value(v, unit)} vs {format_value(before, unit)} {ref}, "
            f"{change_text(v, before, unit)}"
        )

    head = f"{title} at {end.astimezone(UTC):{_AT}} vs {ref} ({then_at.astimezone(UTC):{_AT}})"
    lines = [f"{head}, {len(rows)} series:", *(f"- {line(*r)}" for r in rows[:SHOWN])]
    record = Evidence(tool=tool, query=args.query, summary=f"{title}: {line(*rows[0])}", link=link)
    record.facts = instant_facts(rows[:MAX_SERIES], args.query, title, unit, len(rows))
    record.facts += _reference_facts(rows[:MAX_SERIES], then, args.query, title, unit, offset)
    record.values = {"value": rows[0][1], "series": float(len(rows))}
    data = {
        "query": args.query,
        "time": end.isoformat(),
        "unit": unit,
        "title": title,
        "compare": _compare_data(offset, span, instant=True),
        "series": [
            {"labels": lbl, "value": v, "reference": then.get(_key(lbl))} for lbl, v in rows
        ],
    }
    return ToolResult(status=ToolStatus.OK, summary="\n".join(lines), data=data, evidence=[record])


def _reference_facts(
    rows: list[tuple[dict[str, str], float]],
    then: dict[tuple[tuple[str, str], ...], float],
    query: str,
    title: str,
    unit: str,
    offset: float,
) -> list[dict[str, Any]]:
    """The reference values of an instant comparison, as baselines of the values now."""
    out = []
    facts = instant_facts(rows, query, title, unit, len(rows))[1:]
    for fact, (lbl, _) in zip(facts, rows, strict=True):
        before = then.get(_key(lbl))
        if before is not None:
            out.append(
                fact | {"stat": "baseline", "value": before, "baseline": baseline_of(offset)}
            )
    return out
