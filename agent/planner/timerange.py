"""Parse the time ranges on-call engineers type: "last 30m", "since 14:00", "yesterday"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from opsloop.tools.backends.prometheus.promql import format_duration

DEFAULT_RANGE_S = 3600.0
UNIT_SECONDS = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "wk": 604800,
    "week": 604800,
    "weeks": 604800,
}
UNIT_RE = "|".join(sorted(UNIT_SECONDS, key=len, reverse=True))
_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "ten": 10,
    "twelve": 12,
    "fifteen": 15,
    "thirty": 30,
    "couple": 2,
    "few": 3,
}
NUM_RE = r"(\d+(?:\.\d+)?|" + "|".join(_WORDS) + r")"
_LAST = re.compile(
    rf"\b(?:last|past|previous|prev|trailing)\s+(?:the\s+)?{NUM_RE}?\s*({UNIT_RE})\b"
)
_BARE = re.compile(rf"(?<![\w.])(\d+(?:\.\d+)?)\s*({UNIT_RE})\b(?!\s*(?:ago|from))")
_CLOCK = r"(\d{1,2})(?::(\d{2}))?\s*(am|pm)?"
_SINCE = re.compile(rf"\b(?:since|from|after)\s+{_CLOCK}\b")
_BETWEEN = re.compile(rf"\bbetween\s+{_CLOCK}\s+and\s+{_CLOCK}\b")
_SPAN = re.compile(rf"(?<![\w:.])(?:from\s+)?{_CLOCK}\s*(?:-|–|to|until|till)\s*{_CLOCK}(?![\w:])")
_AGO = re.compile(rf"\b{NUM_RE}\s*({UNIT_RE})\s+ago\b")
_NOW = re.compile(r"\b(right now|now|currently|current|at the moment|atm|rn)\b")


@dataclass(frozen=True)
class TimeWindow:
    """A window ending at `end` (None = now), or an instant at `end` when `instant`."""

    seconds: float = DEFAULT_RANGE_S
    end: datetime | None = None
    instant: bool = False
    explicit: bool = False
    text: str = ""
    compare_s: float | None = None  # compare with the same window this many seconds earlier

    @property
    def range(self) -> str:
        """Return the window length as a Prometheus duration."""
        return format_duration(self.seconds)

    def end_arg(self) -> str | None:
        """Return `end` as ISO-8601 for tool arguments (None = now)."""
        return self.end.isoformat() if self.end else None

    def compare_arg(self) -> str | None:
        """Return the comparison offset as a Prometheus duration (None = no comparison)."""
        return format_duration(self.compare_s) if self.compare_s else None


def parse_window(text: str, now: datetime, tz: tzinfo | None = None) -> TimeWindow:
    """Find a time range in `text`; default to the last hour."""
    low = text.lower()
    local_now = now.astimezone(tz) if tz else now.astimezone()
    if match := _BETWEEN.search(low) or _clock_span(low):
        start = _clock(local_now, *match.group(1, 2, 3))
        end = _clock(local_now, *match.group(4, 5, 6))
        if end <= start:
            start -= timedelta(days=1)
        if end > local_now:
            start, end = start - timedelta(days=1), end - timedelta(days=1)
        return TimeWindow((end - start).total_seconds(), end, explicit=True, text=match.group(0))
    if match := _SINCE.search(low):
        start = _clock(local_now, *match.group(1, 2, 3))
        if start > local_now:
            start -= timedelta(days=1)
        seconds = max(60.0, (local_now - start).total_seconds())
        return TimeWindow(seconds, None, explicit=True, text=match.group(0))
    if "yesterday" in low:
        midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
        return TimeWindow(86400.0, midnight, explicit=True, text="yesterday")
    if re.search(r"\btoday\b|\bthis morning\b", low):
        midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
        seconds = max(60.0, (local_now - midnight).total_seconds())
        return TimeWindow(seconds, None, explicit=True, text="today")
    if match := _AGO.search(low):
        seconds = count_of(match.group(1)) * UNIT_SECONDS[match.group(2)]
        return TimeWindow(
            DEFAULT_RANGE_S,
            now - timedelta(seconds=seconds),
            instant=True,
            explicit=True,
            text=match.group(0),
        )
    if match := _LAST.search(low):
        seconds = count_of(match.group(1)) * UNIT_SECONDS[match.group(2)]
        return TimeWindow(seconds, None, explicit=True, text=match.group(0))
    for match in _BARE.finditer(low):
        amount, unit = float(match.group(1)), match.group(2)
        if UNIT_SECONDS[unit] == 1 and amount >= 100:  # "500s" are status codes, not seconds
            continue
        if amount > 0:
            return TimeWindow(amount * UNIT_SECONDS[unit], None, explicit=True, text=match.group(0))
    if _NOW.search(low):
        return TimeWindow(DEFAULT_RANGE_S, None, instant=True, explicit=True, text="now")
    return TimeWindow()


def _clock_span(low: str) -> re.Match[str] | None:
    """Find "14:00-15:00" or "2pm to 3pm"; both ends need minutes or am/pm ("5-10" is not)."""
    for match in _SPAN.finditer(low):
        if (match.group(2) or match.group(3)) and (match.group(5) or match.group(6)):
            return match
    return None


def count_of(text: str | None) -> float:
    """Read a typed count: "2", "two", "a"; none means one."""
    if text is None:
        return 1.0
    return float(_WORDS.get(text, text) if text in _WORDS else text)


def _clock(now: datetime, hour: str, minute: str | None, meridiem: str | None) -> datetime:
    h, m = int(hour), int(minute or 0)
    if meridiem == "pm" and h < 12:
        h += 12
    if meridiem == "am" and h == 12:
        h = 0
    if not (0 <= h < 24 and 0 <= m < 60):
        raise ValueError(f"invalid time of day {hour}:{minute or '00'}")
    return now.replace(hour=h, minute=m, second=0, microsecond=0)
