"""Plumbing for the stores: per-thread SQLite connections, JSON columns, PostgreSQL switch.

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

# What a store raises when it cannot be reached or is locked: the caller answers 503.
STORE_UNAVAILABLE: tuple[type[Exception], ...] = (
    sqlite3.OperationalError,
    psycopg.OperationalError,  # PostgreSQL down, pool exhausted (PoolTimeout), ...
)


class Database:
    """One SQLite file; each thread gets its own connection."""

    single_writer = True  # writes queue for one lock: intake batches them (group commit)
    skip_locked = ""  # BEGIN IMMEDIATE already makes a claim exclusive
    for_update = ""  # and a read inside it already holds every row still

    def __init__(self, path: Path | str, busy_timeout_s: float, schema: str) -> None:
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._lock = threading.Lock()
        # This process's writers queue here rather than in SQLite's busy handler, which
        # polls with sleeps of up to 100 ms and so turned a short wait into a long tail.
        self._writer = threading.RLock()
        self._conns: list[tuple[threading.Thread, sqlite3.Connection]] = []
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
            # FULL: every commit syncs the WAL, so an accepted alert survives power loss and
            # OS crashes. NORMAL (safe in WAL) would survive an application crash, not those:
            # the last commits may roll back. Intake batches commits (group commit), so FULL
            # costs one fsync per batch, not per notification; the storm bench is bound by
            # HTTP, not by it.
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
            with self._lock:
                # Pool threads retire when idle: close their connections, or every burst of
                # requests would leave file handles and a page cache behind for good.
                gone = [c for t, c in self._conns if not t.is_alive()]
                self._conns = [(t, c) for t, c in self._conns if t.is_alive()]
                self._conns.append((threading.current_thread(), conn))
            for old in gone:
                old.close()
        return conn

    def lock(self, db: sqlite3.Connection, key: str | None) -> None:
        """Lock `key` (None: the whole store) until the transaction ends: a no-op here."""
        # BEGIN IMMEDIATE already holds the only write lock; PostgreSQL needs the call.

    @contextmanager
    def tx(
        self, write: bool = True, exclusive: bool = False, lock: str | None = None
    ) -> Iterator[sqlite3.Connection]:
        """Run a transaction: IMMEDIATE for writes, a consistent snapshot for reads.

        Every write transaction is exclusive in SQLite; `exclusive` and `lock` matter for
        PostgreSQL.
        """
        if not write:
            with self._run(write=False) as db:
                yield db
            return
        with self._writer, self._run(write=True) as db:
            yield db

    @contextmanager
    def _run(self, write: bool) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes the write lock up front, so a transaction never fails half-way with
        # SQLITE_BUSY when a read would have to upgrade to a write.
        db = self.conn()
        db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        try:
            db.execute("COMMIT")
        except BaseException:
            # A failed COMMIT (deferred constraint, disk full, busy) leaves the transaction
            # open: roll it back, or this thread's next BEGIN fails on the same connection.
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Close every connection (threads reopen on next use)."""
        with self._lock:
            conns, self._conns = self._conns, []
            self._local = threading.local()
        for _thread, conn in conns:
            conn.close()


def open_database(
    target: Path | str,
    *,
    sqlite_schema: str,
    pg_schema: str,
    name: str,
    busy_timeout_s: float = 30.0,
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
