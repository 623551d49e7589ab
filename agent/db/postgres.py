"""PostgreSQL behind the same small interface as the SQLite stores, for several replicas.

The stores write portable SQL with `?` placeholders; here they become psycopg's `%s`. Rows
read by name or position, as `sqlite3.Row` does. A write transaction may take the store's
advisory lock (`exclusive`), which serialises it across every replica the way SQLite's
single writer does; queue claims instead lock one row with `FOR UPDATE SKIP LOCKED`.
"""

from __future__ import annotations

import contextlib
import functools
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg

from opsloop.agent.config import mask_url

URL_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(target: object) -> bool:
    """Return True when `target` is a PostgreSQL connection URL."""
    return isinstance(target, str) and target.startswith(URL_SCHEMES)


class Row(tuple):
    """A result row readable as `row["name"]` or `row[0]`, like `sqlite3.Row`."""

    _index: dict[str, int]

    def __new__(cls, values: Sequence[Any], index: dict[str, int]) -> Row:
        row = super().__new__(cls, values)
        row._index = index
        return row

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        """Return the column names (so `dict(row)` works)."""
        return list(self._index)


def _row_factory(cursor: Any) -> Any:
    names = [c.name for c in cursor.description or ()]
    index = {name: i for i, name in enumerate(names)}
    return lambda values: Row(values, index)


@functools.lru_cache(maxsize=512)
def translate(sql: str) -> str:
    """Turn a `?`-placeholder statement into psycopg's `%s` form."""
    return sql.replace("%", "%%").replace("?", "%s")


class Result:
    """What one statement returned, fetched eagerly so the connection goes back at once."""

    def __init__(self, rows: list[Row], rowcount: int) -> None:
        self._rows = rows
        self._pos = 0
        self.rowcount = rowcount

    def fetchone(self) -> Row | None:
        """Return the next row, or None."""
        if self._pos >= len(self._rows):
            return None
        self._pos += 1
        return self._rows[self._pos - 1]

    def fetchall(self) -> list[Row]:
        """Return the remaining rows."""
        rows, self._pos = self._rows[self._pos :], len(self._rows)
        return rows

    def __iter__(self) -> Iterator[Row]:
        return iter(self.fetchall())


class Session:
    """One connection inside a transaction, with the sqlite3-style `execute`."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self.first: list[Row] = []  # the rows of `tx(then=...)`

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        """Run one statement; return its rows (if any) and rowcount."""
        cur = self._conn.execute(translate(sql), tuple(params))
        rows = cur.fetchall() if cur.description else []
        return Result(rows, cur.rowcount)

    def executemany(self, sql: str, seq: Iterable[Sequence[Any]]) -> Result:
        """Run one statement for each parameter tuple."""
        with self._conn.cursor() as cur:
            cur.executemany(translate(sql), [tuple(p) for p in seq])
            return Result([], cur.rowcount)


class Autocommit:
    """`conn()` for reads outside a transaction: each statement borrows a pooled connection."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        """Run one statement in its own transaction."""
        with self._db.pool.connection() as conn:
            return Session(conn).execute(sql, params)


class PostgresDatabase:
    """A PostgreSQL database shared by replicas: a connection pool, a schema, a lock."""

    exclusive_lock_sql = "SELECT pg_advisory_xact_lock(%s)"
    single_writer = False  # transactions run side by side, each under the locks it takes

    def __init__(
        self, url: str, schema: str, *, name: str, max_size: int = 10, timeout_s: float = 30.0
    ) -> None:
        """Connect, create the schema if needed; callers wait up to `timeout_s` for a
        connection (then get `PoolTimeout`, an OperationalError: the server answers 503)."""
        import psycopg
        from psycopg_pool import ConnectionPool

        try:  # fail fast with libpq's reason, not a pool timeout 30 s later
            psycopg.connect(url, connect_timeout=max(2, int(min(timeout_s, 10)))).close()
        except psycopg.OperationalError as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise psycopg.OperationalError(
                f"cannot connect to PostgreSQL at {mask_url(url)}: {reason}"
            ) from None
        self.url = url
        self.path = mask_url(url)  # shown where a SQLite store shows its file
        # One advisory lock per store (its name), so stores sharing a database do not
        # serialise each other.
        self.lock_key = zlib.crc32(f"opsloop:{name}".encode())
        self.lock_space = _int4(f"opsloop:{name}")
        self.pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max_size,
            kwargs={"autocommit": True, "row_factory": _row_factory},
            check=ConnectionPool.check_connection,  # a server restart must not break us
            timeout=timeout_s,
            open=False,
            name=f"opsloop-{name}",
        )
        self.pool.open(wait=True, timeout=max(timeout_s, 10.0))
        with self.pool.connection() as conn, conn.transaction():
            # Replicas start together: CREATE ... IF NOT EXISTS alone races in PostgreSQL.
            conn.execute(self.exclusive_lock_sql, (self.lock_key,))
            conn.execute(schema)

    # Queue claims lock the row they take, and skip rows other replicas hold.
    skip_locked = " FOR UPDATE SKIP LOCKED"
    for_update = " FOR UPDATE"

    def lock(self, session: Session, key: str | None) -> None:
        """Lock `key` (None: the whole store) until the transaction ends, in every replica."""
        if key is None:
            session.execute("SELECT pg_advisory_xact_lock(?)", (self.lock_key,))
            return
        # The two-int form is a key space apart from the one-bigint store lock; two keys
        # sharing a hash only wait for each other.
        session.execute("SELECT pg_advisory_xact_lock(?, ?)", (self.lock_space, _int4(key)))

    def conn(self) -> Autocommit:
        """Return a handle for single statements outside a transaction."""
        return Autocommit(self)

    @contextmanager
    def tx(
        self, write: bool = True, exclusive: bool = False, lock: str | None = None, then: str = ""
    ) -> Iterator[Session]:
        """Run a transaction; `exclusive` also takes the store's advisory lock, `lock` the
        lock of that key (as `lock()` does, without a round trip of its own), and `then`
        runs a parameterless statement after it whose rows `Session.first` returns."""
        if lock is None:
            with self.pool.connection() as conn, conn.transaction():
                if exclusive:
                    conn.execute(self.exclusive_lock_sql, (self.lock_key,))
                yield Session(conn)
            return
        with self.pool.connection() as conn:
            # One round trip: without parameters (two ints, nothing to quote) psycopg sends
            # the statements as one simple query; each still reads after the lock is held.
            locking = f"SELECT pg_advisory_xact_lock({self.lock_space}, {_int4(lock)})"
            cur = conn.execute(f"BEGIN; {locking}" + (f"; {then}" if then else ""))
            session = Session(conn)
            while then and cur.nextset():
                session.first = cur.fetchall()
            try:
                yield session
            except BaseException:
                with contextlib.suppress(psycopg.Error):  # broken: the pool discards it
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        """Close the pool."""
        self.pool.close()


def _int4(text: str) -> int:
    """Hash `text` to a signed 32-bit int, as the two-key advisory locks take."""
    value = zlib.crc32(text.encode())
    return value - (1 << 32) if value >= 1 << 31 else value
