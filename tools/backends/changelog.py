"""Change events (deploys, config pushes, alias moves) that RCA reads as suspects.

The log lives in SQLite by default and in PostgreSQL when opened with a postgresql:// URL
(the database of the incident queue), so every replica of `opsloop serve` sees the changes
any of them received. Events from outside (CI/CD webhooks, rollouts seen in
kube-state-metrics, registry polls) carry a `key` so that a retried delivery records once.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opsloop.tools.backends.db import connect

_COLUMNS = "at, who, kind, target, summary, detail, source, key"
_SQLITE = """
CREATE TABLE IF NOT EXISTS changes (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    who TEXT NOT NULL,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    summary TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alias_snapshot (
    model TEXT NOT NULL, alias TEXT NOT NULL, version TEXT NOT NULL, seen REAL NOT NULL,
    PRIMARY KEY (model, alias)
);
"""
_POSTGRES = """
CREATE TABLE IF NOT EXISTS changes (
    id BIGSERIAL PRIMARY KEY,
    at DOUBLE PRECISION NOT NULL,
    who TEXT NOT NULL,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    summary TEXT NOT NULL,
    detail TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT 'opsloop',
    key TEXT
);
CREATE TABLE IF NOT EXISTS alias_snapshot (
    model TEXT NOT NULL, alias TEXT NOT NULL, version TEXT NOT NULL,
    seen DOUBLE PRECISION NOT NULL, PRIMARY KEY (model, alias)
);
"""
# Columns added after the first release; old SQLite files gain them on open.
_ADDED = (("source", "TEXT NOT NULL DEFAULT 'opsloop'"), ("key", "TEXT"))
_INDEXES = (
    "CREATE INDEX IF NOT EXISTS changes_at ON changes(at)",
    "CREATE UNIQUE INDEX IF NOT EXISTS changes_key ON changes(key)",
)
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


@dataclass(frozen=True)
class ChangeEvent:
    """One change: `kind` is deploy, config, scale, alias_move or model_version.

    `target` names the service or model changed; `source` who reported it (opsloop, sandbox,
    kubernetes, mlflow, argocd, github, or a CI/CD system); `key` makes a retry idempotent.
    """

    at: float  # Unix seconds
    who: str
    kind: str
    target: str
    summary: str
    detail: dict[str, Any] = field(default_factory=dict)
    source: str = "opsloop"
    key: str | None = None

    @property
    def when(self) -> str:
        """Return the time as ISO-8601 UTC."""
        return datetime.fromtimestamp(self.at, UTC).isoformat(timespec="seconds")


class ChangeLog:
    """An append-only change log in SQLite (a path) or PostgreSQL (`ChangeLog.open(url)`)."""

    def __init__(self, path: Path, *, _pg_url: str | None = None) -> None:
        self._lock = threading.Lock()
        self._pg_url = _pg_url
        self.where = _pg_url or str(path)
        if _pg_url is None:
            self._conn: Any = connect(path)
            self._conn.executescript(_SQLITE)
            have = {r["name"] for r in self._conn.execute("PRAGMA table_info(changes)")}
            for name, decl in _ADDED:
                if name not in have:
                    self._conn.execute(f"ALTER TABLE changes ADD COLUMN {name} {decl}")
        else:
            self._conn = self._pg_connect()
            with self._pg() as cur:
                cur.execute(_POSTGRES)
        for statement in _INDEXES:
            self._run(statement)

    @classmethod
    def open(cls, target: Path | str) -> ChangeLog:
        """Open the log at a SQLite path or a postgresql:// URL."""
        if isinstance(target, str) and target.startswith(POSTGRES_SCHEMES):
            return cls(Path("."), _pg_url=target)
        return cls(Path(target))

    def record(self, event: ChangeEvent) -> int | None:
        """Append one event; return its id, or None when its key was recorded before."""
        row = asdict(event)
        values = [row[c.strip()] for c in _COLUMNS.split(",")]
        values[5] = json.dumps(row["detail"], default=str)
        marks = ", ".join("?" * len(values))
        rows = self._run(
            f"INSERT INTO changes ({_COLUMNS}) VALUES ({marks})"
            " ON CONFLICT (key) DO NOTHING RETURNING id",
            values,
        )
        if event.kind == "alias_move" and event.detail.get("to"):
            # The registry poll compares against this, so a move opsloop made is not reported
            # again as one made outside it.
            self.remember_alias(event.target, str(event.detail.get("alias")), event.detail["to"])
        return int(rows[0][0]) if rows else None

    def events(
        self, since: float | None = None, until: float | None = None, target: str | None = None
    ) -> list[ChangeEvent]:
        """Return events in time order, optionally within [since, until] and for one target."""
        query, args = f"SELECT {_COLUMNS} FROM changes WHERE 1=1", []
        if since is not None:
            query, args = query + " AND at >= ?", [*args, since]
        if until is not None:
            query, args = query + " AND at <= ?", [*args, until]
        if target is not None:
            query, args = query + " AND target = ?", [*args, target]
        rows = self._run(query + " ORDER BY at, id", args)
        return [
            ChangeEvent(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7]) for r in rows
        ]

    def aliases_seen(self) -> dict[tuple[str, str], str]:
        """Return the alias → version map recorded by the last registry poll or move."""
        rows = self._run("SELECT model, alias, version FROM alias_snapshot")
        return {(r[0], r[1]): r[2] for r in rows}

    def remember_alias(self, model: str, alias: str, version: str, at: float = 0.0) -> None:
        """Store where an alias points now."""
        self._run(
            "INSERT INTO alias_snapshot (model, alias, version, seen) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (model, alias) DO UPDATE SET version = excluded.version,"
            " seen = excluded.seen",
            [model, alias, str(version), at],
        )

    def close(self) -> None:
        """Release the database."""
        with self._lock:
            self._conn.close()

    def _run(self, sql: str, args: list[Any] | tuple = ()) -> list[tuple]:
        with self._lock:
            if self._pg_url is None:
                return [tuple(r) for r in self._conn.execute(sql, args).fetchall()]
            with self._pg() as cur:
                cur.execute(sql.replace("?", "%s"), args)
                return list(cur.fetchall()) if cur.description else []

    def _pg_connect(self) -> Any:
        import psycopg

        return psycopg.connect(self._pg_url, autocommit=True, connect_timeout=10)

    @contextmanager
    def _pg(self) -> Iterator[Any]:
        import psycopg

        if self._conn.closed:  # the server restarted: reconnect once
            self._conn = self._pg_connect()
        try:
            with self._conn.cursor() as cur:
                yield cur
        except psycopg.OperationalError:
            self._conn = self._pg_connect()
            raise
