"""check_alert_condition: does what an alert asserts hold, and did it yesterday or keep flapping?

An alert is a claim ("online AUC is below its objective"); the rule's expression says how to
check it. Reading it back at the alert time, a day earlier and over the last hours tells an
observed impact from a daily peak or a threshold that flaps — what a person would look at
before calling it a false alarm.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from opsloop.tools.analysis.series import format_value
from opsloop.tools.backends.prometheus.rules import (
    Condition,
    episodes,
    same_series,
    split_condition,
    widen_ranges,
)
from opsloop.tools.base import Evidence, OpsTool, ToolResult, ToolStatus, ops_tool
from opsloop.tools.errors import OpsError, QueryError
from opsloop.tools.toolsets.instant import Row, instant_rows
from opsloop.tools.toolsets.metrics import MetricsContext
from opsloop.tools.toolsets.ranges import fetch
from opsloop.tools.toolsets.windows import window

HISTORY_S = 6 * 3600.0  # how far back flapping is counted
HISTORY_STEP_S = 60.0
SAME_TIME_S = 15 * 60.0  # "at this time yesterday": within a quarter of an hour
FLAPPING = 3  # earlier separate episodes in HISTORY_S that make a threshold "flapping"
DAY = timedelta(days=1)


class ConditionArgs(BaseModel):
    """Arguments of check_alert_condition."""

    alertname: str = Field(description="The alert's name (its alertname label).")
    labels: dict[str, str] = Field(
        default_factory=dict, description="The alert's labels, to pick its series."
    )
    expr: str | None = Field(
        None, description="The rule's PromQL; looked up in Prometheus's rules when unset."
    )
    end: str | None = Field(None, description="When to judge it (the alert time); now if unset.")


def condition_tools(ctx: MetricsContext) -> list[OpsTool]:
    """Build the check_alert_condition tool bound to the metrics context."""

    def check_alert_condition(
        alertname: str,
        labels: dict[str, str] | None = None,
        expr: str | None = None,
        end: str | None = None,
    ) -> ToolResult:
        """Evaluate an alert's own rule expression for its series: whether the condition
        holds at `end`, the alerting signal's value against its threshold, whether it held
        around the same time yesterday (within 15 minutes), and how many separate times it
        held over the last 6 h (a flapping threshold). Use it to tell an observed impact
        from a false alarm."""
        labels = {k: v for k, v in (labels or {}).items() if k != "alertname"}
        _, at, _ = window("1m", end, ctx.now())
        rule = expr or _rule_expr(ctx, alertname, labels)
        if not rule:
            return ToolResult(
                status=ToolStatus.NO_DATA,
                summary=f"no alerting rule named {alertname} in Prometheus; pass its `expr`.",
            )
        cond = split_condition(rule)
        now = _judge(ctx, rule, cond, labels, at, ranges=None)
        sparse = _min_range(ctx, at - DAY)
        past = _judge(ctx, rule, cond, labels, at - DAY, ranges=sparse)
        if past["known"]:
            # A daily pattern does not repeat to the minute: around the same time will do.
            past["holds"] = _held_around(ctx, rule, labels, at - DAY, sparse)
        runs = _episodes(ctx, rule, labels, at)
        if runs is not None and now["holds"]:
            runs = max(runs, 1)  # wider ranges over the history can smooth a fresh breach away
        data = {
            "alert": alertname,
            "labels": labels,
            "expr": rule,
            "signal": cond.signal if cond else rule,
            "op": cond.op if cond else "",
            "worse": cond.worse if cond else "",
            "holds": now["holds"],
            "value": now["value"],
            "level": now["level"],
            "yesterday_holds": past["holds"] if past["known"] else None,
            "yesterday_value": past["value"],
            "episodes": runs,
            "flapping": runs is not None and runs - int(now["holds"]) >= FLAPPING,
        }
        text = _summary(alertname, at, data)
        values = {
            k: float(v)
            for k, v in (
                ("value", now["value"]),
                ("threshold", now["level"]),
                ("yesterday", past["value"]),
                ("episodes", runs),
            )
            if v is not None
        }
        evidence = Evidence(
            tool="check_alert_condition",
            query=rule,
            summary=text,
            link=ctx.link(rule, at - timedelta(hours=1), at),
            values=values,
        )
        return ToolResult(status=ToolStatus.OK, summary=text, evidence=[evidence], data=data)

    return [
        ops_tool(
            check_alert_condition,
            name="check_alert_condition",
            args_schema=ConditionArgs,
            timeout_s=30,
        )
    ]


def _rule_expr(ctx: MetricsContext, name: str, labels: dict[str, str]) -> str:
    """Return the expression of the rule named `name` whose own labels the alert carries."""
    rules = [r for r in ctx.prom.alert_rules() if r["name"] == name]
    fitting = [r for r in rules if all(labels.get(k) == v for k, v in r["labels"].items())]
    chosen = (fitting or rules)[:1]
    return chosen[0]["query"] if chosen else ""


def _min_range(ctx: MetricsContext, at: datetime) -> float:
    """Return the shortest range that holds four samples around `at` (0 when unknown)."""
    try:
        interval = ctx.discovery.scrape_interval(at)
    except OpsError:
        return 0.0
    return 4 * interval if interval else 0.0


def _judge(
    ctx: MetricsContext,
    rule: str,
    cond: Condition | None,
    labels: dict[str, str],
    at: datetime,
    ranges: float | None,
) -> dict[str, Any]:
    """Evaluate the rule and its signal for the alert's series at `at`."""

    def rows(expr: str, strict: bool = False) -> list[Row]:
        text = widen_ranges(expr, ranges) if ranges else expr
        try:
            found = instant_rows(ctx.prom.instant(text, at))
        except QueryError:
            if strict:  # a rule that cannot be evaluated neither holds nor clears
                raise
            return []
        return [(lab, v) for lab, v in found if same_series(lab, labels)]

    held = rows(rule, strict=ranges is None)
    signal = rows(cond.signal) if cond else held
    value = _worst(signal, cond)
    level = cond.threshold if cond else None
    if cond and level is None:
        # A threshold that is itself a series (an objective, last week's level): its value
        # for the same series as the signal's.
        level = _worst(rows(cond.rhs), None)
    return {
        "holds": bool(held),
        "known": bool(signal) or bool(held),
        "value": value,
        "level": level,
    }


def _worst(rows: list[Row], cond: Condition | None) -> float | None:
    """Return the value of the series furthest into the breach (the first one otherwise)."""
    values = [v for _, v in rows if math.isfinite(v)]
    if not values:
        return None
    if cond and cond.worse == "down":
        return min(values)
    if cond and cond.worse == "up":
        return max(values)
    return values[0]


def _held_around(
    ctx: MetricsContext, rule: str, labels: dict[str, str], at: datetime, ranges: float
) -> bool:
    """Return True when the rule held for the alert's series within SAME_TIME_S of `at`."""
    text = widen_ranges(rule, max(ranges, 2 * HISTORY_STEP_S))
    span = timedelta(seconds=SAME_TIME_S)
    try:
        series = fetch(ctx, text, at - span, at + span, HISTORY_STEP_S)
    except QueryError:
        return False
    return any(same_series(lab, labels) and len(ts) for lab, ts, _ in series)


def _episodes(ctx: MetricsContext, rule: str, labels: dict[str, str], at: datetime) -> int | None:
    """Return how many separate times the condition held over the last HISTORY_S."""
    start = at - timedelta(seconds=HISTORY_S)
    text = widen_ranges(rule, max(_min_range(ctx, start), 2 * HISTORY_STEP_S))
    try:
        series = fetch(ctx, text, start, at, HISTORY_STEP_S)
    except QueryError:
        return None
    stamps = [start.timestamp() + i * HISTORY_STEP_S for i in range(int(HISTORY_S // 60) + 1)]
    held = set()
    for lab, ts, _ in series:
        if same_series(lab, labels):
            held |= {round(float(t)) for t in ts}
    return episodes([round(t) in held for t in stamps])


def _summary(name: str, at: datetime, d: dict[str, Any]) -> str:
    """Word the check: holds or not, the value against the level, yesterday, flapping."""
    state = "holds" if d["holds"] else "does not hold"
    text = f"{name}'s condition {state} at {at:%H:%M:%S} UTC"
    if d["value"] is not None:
        text += f": the alerting signal is {format_value(d['value'], '')}"
        if d["level"] is not None and d["op"]:
            text += f" (threshold {d['op']} {format_value(d['level'], '')})"
    if d["yesterday_holds"] is None:
        text += "; no data at this time yesterday"
    else:
        was = "held" if d["yesterday_holds"] else "did not hold"
        then = d["yesterday_value"]
        text += f"; around this time yesterday it {was}" + (
            f" (signal {format_value(then, '')} at the same minute)" if then is not None else ""
        )
    if d["episodes"] is not None:
        text += f"; it held in {d['episodes']} separate episode(s) over the last 6h"
        if d["flapping"]:
            text += " (a flapping threshold)"
    return text + "."
