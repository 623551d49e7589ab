"""Query windows: parse a window's end and length, pick a step, and name the window."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from opsloop.tools.backends.prometheus.promql import parse_duration
from opsloop.tools.errors import QueryError

MAX_POINTS = 240
MAX_RANGE_S = 31 * 86400


def parse_end(end: str | None, now: datetime) -> datetime:
    """Parse an ISO-8601 time or Unix seconds; None means now."""
    if end is None or end.strip().lower() in ("", "now"):
        return now
    text = end.strip()
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise QueryError(f"invalid end time {end!r}: use ISO-8601 or Unix seconds") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def window(range_: str, end: str | None, now: datetime) -> tuple[datetime, datetime, float]:
    """Return (start, end, seconds) for a window, rejecting nonsense."""
    try:
        seconds = parse_duration(range_)
    except ValueError as exc:
        raise QueryError(str(exc)) from exc
    if seconds <= 0 or seconds > MAX_RANGE_S:
        raise QueryError(f"range {range_!r} must be between 1s and 31d")
    # Whole seconds: the API client sends whole seconds, and so anyone can re-run the query.
    stop = parse_end(end, now).replace(microsecond=0)
    return stop - timedelta(seconds=seconds), stop, seconds


def step_for(seconds: float) -> float:
    """Pick a step that keeps a window under MAX_POINTS points (never under 15 s)."""
    return float(max(15, math.ceil(seconds / MAX_POINTS)))


def when(start: datetime, end: datetime) -> str:
    """Name a window in UTC; give the end's date too when it falls on another day."""
    fmt = "%Y-%m-%d %H:%M"
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    # A calendar day reads "2026-11-21 00:00–2026-11-22 00:00", never "00:00–00:00".
    tail = f"{end:%H:%M}" if end.date() == start.date() else f"{end:{fmt}}"
    return f"{start:{fmt}}–{tail} UTC"
