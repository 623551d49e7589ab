"""What every log backend speaks: a query, records, and the exact query it ran."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

LEVELS = ("debug", "info", "warn", "error")
_ALIASES = {
    "trace": "debug",
    "debug": "debug",
    "info": "info",
    "notice": "info",
    "information": "info",
    "warn": "warn",
    "warning": "warn",
    "error": "error",
    "err": "error",
    "fatal": "error",
    "critical": "error",
    "crit": "error",
    "severe": "error",
    "panic": "error",
    "alert": "error",
    "emerg": "error",
}
_LEVEL_IN_TEXT = re.compile(
    r"\b(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|FATAL|CRITICAL|SEVERE|PANIC)\b"
)


def normalise_level(value: Any) -> str:
    """Map any level spelling (ERROR, err, Warning, fatal…) to debug/info/warn/error."""
    return _ALIASES.get(str(value or "").strip().lower(), "info")


def level_in_text(line: str) -> str:
    """Guess the level of a plain-text line from the first level word in it."""
    match = _LEVEL_IN_TEXT.search(line[:200])
    return normalise_level(match.group(1)) if match else "info"


def at_least(level: str | None) -> tuple[str, ...]:
    """Return the levels at or above `level` ("warn" → warn, error); all when None."""
    if not level:
        return LEVELS
    return LEVELS[LEVELS.index(normalise_level(level)) :]


def parse_time(value: Any) -> float | None:
    """Parse ISO-8601, RFC 3339 with Z, or epoch seconds/milliseconds/nanoseconds."""
    if value is None:
        return None
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = str(value).strip()
        try:
            number = float(text)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1))
            except ValueError:
                return None
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    if number > 1e17:  # nanoseconds (Loki)
        return number / 1e9
    if number > 1e11:  # milliseconds
        return number / 1e3
    return number


@dataclass(frozen=True)
class LogQuery:
    """A search: time range, optional service, minimum level and full-text query."""

    start: float
    end: float
    service: str | None = None
    level: str | None = None
    text: str | None = None
    limit: int = 5000


@dataclass
class LogRecord:
    """One log line, parsed."""

    ts: float
    level: str
    service: str
    pod: str
    msg: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class LogResult:
    """Records found (oldest first), whether the limit cut them, and the query actually run."""

    records: list[LogRecord]
    truncated: bool
    query: str
    link: str | None = None


class LogBackend(Protocol):
    """A place logs can be searched."""

    name: str

    def search(self, query: LogQuery) -> LogResult:
        """Return matching records, oldest first, at most `query.limit`."""
        ...
