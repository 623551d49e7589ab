"""The log tools for the agent: search_logs and log_patterns, bounded summaries with evidence."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from opsloop.tools.analysis.logtemplates import mine
from opsloop.tools.analysis.series import sparkline
from opsloop.tools.backends.logs.base import LEVELS, LogBackend, LogQuery, LogRecord, LogResult
from opsloop.tools.base import Evidence, OpsTool, ToolResult, ToolStatus, ops_tool
from opsloop.tools.redact import redact
from opsloop.tools.toolsets.metrics import window

BUCKETS = 12
EXAMPLE_CHARS = 200
BASELINE_FACTOR = 3  # the baseline is this many windows long, right before the window
MAX_BASELINE_S = 6 * 3600


@dataclass
class LogsContext:
    """What the log tools need, injected."""

    backend: LogBackend
    link: Callable[[LogQuery, str], str | None] = lambda query, text: None
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    secrets: tuple[str, ...] = ()


class SearchLogsArgs(BaseModel):
    """Arguments of search_logs."""

    service: str | None = Field(None, description="Service whose logs to search; all if unset.")
    query: str | None = Field(None, description="Words the line must contain, e.g. timeout.")
    level: str | None = Field(None, description="Minimum level: debug, info, warn or error.")
    range: str = Field("1h", description="Window length ending at `end`, e.g. 30m, 2h.")
    end: str | None = Field(None, description="Window end: ISO-8601 time or Unix seconds.")
    examples: int = Field(5, ge=0, le=20, description="Example lines to include.")


class LogPatternsArgs(BaseModel):
    """Arguments of log_patterns."""

    service: str | None = Field(None, description="Service whose logs to group.")
    level: str | None = Field(None, description="Minimum level: debug, info, warn or error.")
    range: str = Field("1h", description="Window length ending at `end`.")
    end: str | None = Field(None, description="Window end: ISO-8601 time or Unix seconds.")
    top: int = Field(10, ge=1, le=50, description="How many templates to list.")


@dataclass
class TemplateStats:
    """One template's counts in the window and in the baseline before it."""

    text: str
    count: int
    baseline: int
    first_seen: float
    example: LogRecord

    @property
    def new(self) -> bool:
        """True when the template never appeared in the baseline."""
        return self.baseline == 0


def template_stats(
    window_records: list[LogRecord], baseline_records: list[LogRecord]
) -> list[TemplateStats]:
    """Mine templates over baseline + window together, so ids agree; count each side."""
    records = baseline_records + window_records
    ids, templates = mine(r.msg for r in records)
    text = {t.id: t.text for t in templates}
    split = len(baseline_records)
    base_counts = Counter(ids[:split])
    stats: dict[str, TemplateStats] = {}
    for tid, record in zip(ids[split:], window_records, strict=True):
        if tid not in stats:
            stats[tid] = TemplateStats(text[tid], 0, base_counts[tid], record.ts, record)
        stats[tid].count += 1
    return sorted(stats.values(), key=lambda s: (not s.new, -s.count))


def level_histogram(records: list[LogRecord], start: float, end: float) -> dict[str, list[int]]:
    """Count lines per level in BUCKETS equal slices of the window."""
    width = max((end - start) / BUCKETS, 1e-9)
    counts = {level: [0] * BUCKETS for level in LEVELS}
    for r in records:
        index = min(BUCKETS - 1, max(0, int((r.ts - start) / width)))
        counts[r.level][index] += 1
    return counts


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%H:%M:%S")


def logs_tools(ctx: LogsContext) -> list[OpsTool]:
    """Build search_logs and log_patterns bound to `ctx`."""

    def fetch(
        service: str | None, level: str | None, text: str | None, range_: str, end: str | None
    ) -> tuple[LogQuery, LogResult, LogResult]:
        start_dt, end_dt, seconds = window(range_, end, ctx.now())
        query = LogQuery(start_dt.timestamp(), end_dt.timestamp(), service, level, text)
        base_len = min(BASELINE_FACTOR * seconds, MAX_BASELINE_S)
        baseline = LogQuery(query.start - base_len, query.start - 1e-6, service, level, text)
        return query, ctx.backend.search(query), ctx.backend.search(baseline)

    def search_logs(
        service: str | None = None,
        query: str | None = None,
        level: str | None = None,
        range: str = "1h",
        end: str | None = None,
        examples: int = 5,
    ) -> ToolResult:
        """Search logs of a service (or all) in a time window, optionally only lines at or
        above a level (error, warn) or containing words. Returns counts by level over time,
        the top message templates with counts and first-seen times — templates that did not
        occur in the baseline before the window are flagged NEW — and a few example lines.
        Use it for "any errors in <service> logs since 10:00?" or "grep <service> for timeout"."""
        q, result, base = fetch(service, level, query, range, end)
        who = service or "all services"
        link = ctx.link(q, result.query)
        if not result.records:
            return ToolResult(
                status=ToolStatus.NO_DATA,
                summary=f"no {who} log lines matched in the window ({result.query}).",
                evidence=[
                    Evidence(
                        tool="search_logs",
                        query=result.query,
                        summary=f"{who} logs: 0 lines",
                        link=link,
                        values={"lines": 0.0},
                    )
                ],
            )
        hist = level_histogram(result.records, q.start, q.end)
        totals = {lvl: sum(v) for lvl, v in hist.items() if sum(v)}
        stats = template_stats(result.records, base.records)
        new = [s for s in stats if s.new]
        more = "+" if result.truncated else ""
        lines = [
            f"{who} logs {_when(q.start)}–{_when(q.end)} UTC: {len(result.records)}{more} "
            "lines — " + ", ".join(f"{lvl} {n}" for lvl, n in totals.items())
        ]
        for lvl in ("error", "warn"):
            if totals.get(lvl):
                lines.append(f"{lvl} over time: {sparkline(hist[lvl], BUCKETS)}")
        lines.append(
            f"templates: {len(stats)} ({len(new)} new vs the "
            f"{len(base.records)}{'+' if base.truncated else ''} lines before)"
        )
        for s in stats[:6]:
            flag = "NEW " if s.new else ""
            lines.append(
                f'- {flag}{s.count}× "{redact(s.text, ctx.secrets)[:160]}" '
                f"(first {_when(s.first_seen)}; {s.baseline} before)"
            )
        picks = [s.example for s in stats[:examples]]
        if picks:
            lines.append("examples:")
            lines += [
                f"  {_when(r.ts)} {r.pod or r.service} {r.level.upper()} "
                f"{redact(r.msg, ctx.secrets)[:EXAMPLE_CHARS]}"
                for r in picks
            ]
        values = {
            "lines": float(len(result.records)),
            "templates": float(len(stats)),
            "new_templates": float(len(new)),
            "baseline_lines": float(len(base.records)),
        }
        values.update({f"level.{k}": float(v) for k, v in totals.items()})
        values.update({f"template.{i}": float(s.count) for i, s in enumerate(stats[:6])})
        values.update({f"template.{i}.before": float(s.baseline) for i, s in enumerate(stats[:6])})
        head = stats[0]
        summary = (
            f"{who} logs: {len(result.records)}{more} lines ("
            + ", ".join(f"{k} {v}" for k, v in totals.items())
            + f"); top template{' NEW' if head.new else ''}: {head.count}× "
            f'"{redact(head.text, ctx.secrets)[:100]}"'
        )
        return ToolResult(
            status=ToolStatus.OK,
            summary=redact("\n".join(lines), ctx.secrets),
            data={
                "service": service,
                "query": result.query,
                "totals": totals,
                "templates": [
                    {
                        "text": s.text,
                        "count": s.count,
                        "baseline": s.baseline,
                        "new": s.new,
                        "first_seen": s.first_seen,
                    }
                    for s in stats[:20]
                ],
                "truncated": result.truncated,
            },
            evidence=[
                Evidence(
                    tool="search_logs",
                    query=result.query,
                    summary=summary,
                    link=link,
                    values=values,
                )
            ],
        )

    def log_patterns(
        service: str | None = None,
        level: str | None = None,
        range: str = "1h",
        end: str | None = None,
        top: int = 10,
    ) -> ToolResult:
        """Group a service's log lines in a window into message templates (variables shown
        as <*>), most frequent first, each marked NEW if it did not occur before the window.
        Use it for "what are fraud-api's most common errors?"."""
        q, result, base = fetch(service, level, None, range, end)
        who = service or "all services"
        if not result.records:
            return ToolResult(
                status=ToolStatus.NO_DATA,
                summary=f"no {who} log lines in the window ({result.query}).",
            )
        stats = sorted(template_stats(result.records, base.records), key=lambda s: -s.count)
        lines = [f"{who}: {len(stats)} templates in {len(result.records)} lines"]
        lines += [
            f'- {"NEW " if s.new else ""}{s.count}× "{redact(s.text, ctx.secrets)}"'
            for s in stats[:top]
        ]
        values = {f"template.{i}": float(s.count) for i, s in enumerate(stats[:top])}
        values["templates"] = float(len(stats))
        values["lines"] = float(len(result.records))
        return ToolResult(
            status=ToolStatus.OK,
            summary="\n".join(lines),
            data={
                "templates": [{"text": s.text, "count": s.count, "new": s.new} for s in stats[:top]]
            },
            evidence=[
                Evidence(
                    tool="log_patterns",
                    query=result.query,
                    summary=lines[0] + (f'; top: {stats[0].count}× "{stats[0].text[:100]}"'),
                    link=ctx.link(q, result.query),
                    values=values,
                )
            ],
        )

    return [
        ops_tool(search_logs, name="search_logs", args_schema=SearchLogsArgs),
        ops_tool(log_patterns, name="log_patterns", args_schema=LogPatternsArgs),
    ]


def grafana_logs_link(grafana_url: str | None, datasource: str) -> Callable[[LogQuery, str], Any]:
    """Return a link maker for Grafana Explore on a Loki datasource (None without Grafana)."""
    from opsloop.tools.backends.prometheus.links import grafana_explore

    def link(query: LogQuery, text: str) -> str | None:
        if not grafana_url or not text.startswith("loki: "):
            return None
        return grafana_explore(
            grafana_url,
            datasource,
            text.removeprefix("loki: "),
            datetime.fromtimestamp(query.start, UTC),
            datetime.fromtimestamp(query.end, UTC),
            datasource_type="loki",
        )

    return link
