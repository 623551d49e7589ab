"""Plumbing for the incident store: schemas, per-thread SQLite connections, row shapes.

SQLite is safe for several threads (one connection each) and several processes on one file:
WAL lets readers run beside the writer, every write is one `BEGIN IMMEDIATE` transaction, and
`busy_timeout` makes contenders wait instead of failing. Replicas on several hosts share
PostgreSQL instead (`opsloop.agent.db.postgres`), with the same tables.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from opsloop.agent.rca.alerts import Alert

# What a store raises when it cannot be reached or is locked: the caller answers 503.
STORE_UNAVAILABLE: tuple[type[Exception], ...] = (
    sqlite3.OperationalError,
    psycopg.OperationalError,  # PostgreSQL down, pool exhausted (PoolTimeout), ...
)

_SCHEMA = """
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY,
    dedup_key TEXT NOT NULL UNIQUE,
    received_at REAL NOT NULL,
    source TEXT NOT NULL,
    group_key TEXT NOT NULL,
    status TEXT NOT NULL,
    incident_id TEXT,
    raw TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY,
    group_key TEXT NOT NULL,
    status TEXT NOT NULL,
    opened_at REAL NOT NULL,
    resolved_at REAL,
    report TEXT,
    top_hypothesis TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until REAL NOT NULL DEFAULT 0,
    retry_at REAL NOT NULL DEFAULT 0,
    last_error TEXT,
    report_delivered_at REAL,
    resolved_notified_at REAL,
    -- alert names the last investigation saw, and whether a new one calls for another
    investigated_names TEXT NOT NULL DEFAULT '[]',
    rerun INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS incidents_by_status ON incidents (status, opened_at);
CREATE TABLE IF NOT EXISTS incident_groups (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    group_key TEXT NOT NULL,
    joined_at REAL NOT NULL,
    PRIMARY KEY (incident_id, group_key)
);
CREATE INDEX IF NOT EXISTS incident_groups_by_key ON incident_groups (group_key);
CREATE TABLE IF NOT EXISTS incident_alerts (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    fingerprint TEXT NOT NULL,
    alertname TEXT NOT NULL,
    service TEXT,
    labels TEXT NOT NULL,
    annotations TEXT NOT NULL,
    generator_url TEXT,
    status TEXT NOT NULL,
    starts_at REAL NOT NULL,
    ends_at REAL,
    PRIMARY KEY (incident_id, fingerprint)
);
COMMIT;
"""

# The same tables in PostgreSQL. `rowid` is spelt out: SQLite has it implicitly, and the
# queries order by it to break ties in insertion order.
PG_SCHEMA = """
CREATE TABLE IF NOT EXISTS notifications (
    id BIGSERIAL PRIMARY KEY,
    dedup_key TEXT NOT NULL UNIQUE,
    received_at DOUBLE PRECISION NOT NULL,
    source TEXT NOT NULL,
    group_key TEXT NOT NULL,
    status TEXT NOT NULL,
    incident_id TEXT,
    raw TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS incidents (
    rowid BIGSERIAL UNIQUE,
    id TEXT PRIMARY KEY,
    group_key TEXT NOT NULL,
    status TEXT NOT NULL,
    opened_at DOUBLE PRECISION NOT NULL,
    resolved_at DOUBLE PRECISION,
    report TEXT,
    top_hypothesis TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until DOUBLE PRECISION NOT NULL DEFAULT 0,
    retry_at DOUBLE PRECISION NOT NULL DEFAULT 0,
    last_error TEXT,
    report_delivered_at DOUBLE PRECISION,
    resolved_notified_at DOUBLE PRECISION,
    investigated_names TEXT NOT NULL DEFAULT '[]',
    rerun INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS incidents_by_status ON incidents (status, opened_at);
CREATE TABLE IF NOT EXISTS incident_groups (
    rowid BIGSERIAL UNIQUE,
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    group_key TEXT NOT NULL,
    joined_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (incident_id, group_key)
);
CREATE INDEX IF NOT EXISTS incident_groups_by_key ON incident_groups (group_key);
CREATE TABLE IF NOT EXISTS incident_alerts (
    rowid BIGSERIAL UNIQUE,
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    fingerprint TEXT NOT NULL,
    alertname TEXT NOT NULL,
    service TEXT,
    labels TEXT NOT NULL,
    annotations TEXT NOT NULL,
    generator_url TEXT,
    status TEXT NOT NULL,
    starts_at DOUBLE PRECISION NOT NULL,
    ends_at DOUBLE PRECISION,
    PRIMARY KEY (incident_id, fingerprint)
);
"""


class Database:
    """One SQLite file; each thread gets its own connection."""

    skip_locked = ""  # BEGIN IMMEDIATE already makes a claim exclusive

    def __init__(
        self, path: Path | str, busy_timeout_s: float = 30.0, schema: str = _SCHEMA
    ) -> None:
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._lock = threading.Lock()
        self._conns: list[sqlite3.Connection] = []
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = self.conn()
        db.execute("PRAGMA journal_mode = WAL")  # persistent: stored in the file once set
        db.executescript(schema)

    def conn(self) -> sqlite3.Connection:
        """Return this thread's connection, opening it on first use."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout_s,
                isolation_level=None,  # we issue BEGIN/COMMIT ourselves
                check_same_thread=False,  # only close() touches it from another thread
            )
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            conn.execute("PRAGMA synchronous = FULL")  # an accepted alert survives power loss
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
            with self._lock:
                self._conns.append(conn)
        return conn

    @contextmanager
    def tx(self, write: bool = True, exclusive: bool = False) -> Iterator[sqlite3.Connection]:
        """Run a transaction: IMMEDIATE for writes, a consistent snapshot for reads.

        Every write transaction is exclusive in SQLite; `exclusive` matters for PostgreSQL.
        """
        # IMMEDIATE takes the write lock up front, so a transaction never fails half-way with
        # SQLITE_BUSY when a read would have to upgrade to a write.
        db = self.conn()
        db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        """Close every connection (threads reopen on next use)."""
        with self._lock:
            conns, self._conns = self._conns, []
            self._local = threading.local()
        for conn in conns:
            conn.close()


def open_database(
    target: Path | str,
    *,
    busy_timeout_s: float = 30.0,
    sqlite_schema: str = _SCHEMA,
    pg_schema: str = PG_SCHEMA,
    name: str = "incidents",
) -> Any:
    """Open a SQLite file, or PostgreSQL when `target` is a postgresql:// URL."""
    from opsloop.agent.db.postgres import PostgresDatabase, is_postgres

    if is_postgres(target):
        return PostgresDatabase(str(target), pg_schema, name=name, timeout_s=busy_timeout_s)
    return Database(target, busy_timeout_s, sqlite_schema)


def iso(seconds: float | None) -> str | None:
    """Format Unix seconds as ISO-8601 UTC (`2024-05-01T12:00:00Z`)."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def summary(row: sqlite3.Row) -> dict[str, Any]:
    """Return an incident row (with `n_alerts`) in the DESIGN.md list shape."""
    return {
        "id": row["id"],
        "group_key": row["group_key"],
        "status": row["status"],
        "alerts": int(row["n_alerts"]),
        "opened_at": iso(row["opened_at"]),
        # Alerts may all resolve mid-investigation; the incident only closes after its report.
        "resolved_at": iso(row["resolved_at"]) if row["status"] == "resolved" else None,
        "top_hypothesis": load(row["top_hypothesis"]),
    }


def alert_row(incident_id: str, alert: Alert, service_label: str) -> tuple[Any, ...]:
    """Return the incident_alerts values for one alert."""
    url = None if alert.generator_url is None else str(alert.generator_url)
    return (
        incident_id, alert.fingerprint, alert.name, alert.service(service_label),
        json.dumps(alert.labels), json.dumps(alert.annotations), url, alert.status,
        alert.starts_at, alert.ends_at,
    )  # fmt: skip


def alert_public(row: sqlite3.Row) -> dict[str, Any]:
    """Rebuild `Alert.public()` from a stored row."""
    return Alert(
        name=row["alertname"],
        status=row["status"],
        labels=json.loads(row["labels"]),
        annotations=json.loads(row["annotations"]),
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        fingerprint=row["fingerprint"],
        generator_url=row["generator_url"],
    ).public()


def dump(value: Any) -> str:
    """Serialise a report as strict JSON; reports may carry datetimes, paths or NaN scores."""
    try:
        return json.dumps(value, default=str, allow_nan=False)
    except ValueError:  # NaN/inf would make every later JSON response fail
        return json.dumps(_finite(value), default=str, allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def load(text: str | None) -> Any:
    """Parse a stored JSON column."""
    return None if text is None else json.loads(text)
