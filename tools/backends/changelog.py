"""Change events (alias moves, deploys, config changes) that RCA reads as suspects."""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opsloop.tools.backends.db import connect

SCHEMA = """
CREATE TABLE IF NOT EXISTS changes (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    who TEXT NOT NULL,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    summary TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_at ON changes(at);
"""


@dataclass(frozen=True)
class ChangeEvent:
    """One change: `kind` is alias_move, deploy or config; `target` a model or service."""

    at: float  # Unix seconds
    who: str
    kind: str
    target: str
    summary: str
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def when(self) -> str:
        """Return the time as ISO-8601 UTC."""
        return datetime.fromtimestamp(self.at, UTC).isoformat(timespec="seconds")


class ChangeLog:
    """An append-only change log in SQLite, shared by the sandbox and the write tools."""

    def __init__(self, path: Path) -> None:
        self._conn = connect(path)
        self._conn.executescript(SCHEMA)
        self._lock = threading.Lock()

    def record(self, event: ChangeEvent) -> int:
        """Append one event; return its id."""
        row = asdict(event)
        with self._lock:
            cur = self._conn.execute(
                "INSERT INTO changes (at, who, kind, target, summary, detail)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    row["at"],
                    row["who"],
                    row["kind"],
                    row["target"],
                    row["summary"],
                    json.dumps(row["detail"], default=str),
                ),
            )
            return int(cur.lastrowid or 0)

    def events(
        self, since: float | None = None, until: float | None = None, target: str | None = None
    ) -> list[ChangeEvent]:
        """Return events in time order, optionally within [since, until] and for one target."""
        query, args = "SELECT * FROM changes WHERE 1=1", []
        if since is not None:
            query, args = query + " AND at >= ?", [*args, since]
        if until is not None:
            query, args = query + " AND at <= ?", [*args, until]
        if target is not None:
            query, args = query + " AND target = ?", [*args, target]
        with self._lock:
            rows = self._conn.execute(query + " ORDER BY at, id", args).fetchall()
        return [
            ChangeEvent(
                r["at"], r["who"], r["kind"], r["target"], r["summary"], json.loads(r["detail"])
            )
            for r in rows
        ]

    def close(self) -> None:
        """Release the database."""
        self._conn.close()
