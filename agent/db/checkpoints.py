"""The graph's checkpointer: a SQLite file, or PostgreSQL shared by `opsloop serve` replicas.

Paused threads (an approval waiting for a person) live here, so with PostgreSQL a write
suggested by one replica can be approved through another.
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Callable
from pathlib import Path

from langgraph.checkpoint.base import BaseCheckpointSaver

from opsloop.agent.db.postgres import is_postgres

_SETUP_LOCK = zlib.crc32(b"opsloop:checkpoints")


def open_checkpointer(
    target: Path | str, *, max_size: int = 8
) -> tuple[BaseCheckpointSaver, Callable[[], None]]:
    """Return (checkpointer, close) for a SQLite path or a postgresql:// URL."""
    if is_postgres(target):
        return _postgres(str(target), max_size)
    from langgraph.checkpoint.sqlite import SqliteSaver

    conn = sqlite3.connect(target, check_same_thread=False)
    return SqliteSaver(conn), conn.close


def _postgres(url: str, max_size: int) -> tuple[BaseCheckpointSaver, Callable[[], None]]:
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg.rows import dict_row
    from psycopg_pool import ConnectionPool

    # The saver's documented connection settings; prepared statements off so a pooler
    # in front of PostgreSQL (PgBouncer in transaction mode) works too.
    pool = ConnectionPool(
        url,
        min_size=1,
        max_size=max(2, max_size),  # setup() takes one beside the lock's
        kwargs={"autocommit": True, "row_factory": dict_row, "prepare_threshold": None},
        check=ConnectionPool.check_connection,
        open=False,
        name="opsloop-checkpoints",
    )
    pool.open(wait=True, timeout=30)
    saver = PostgresSaver(pool)  # type: ignore[arg-type]
    with pool.connection() as conn:
        # Replicas start together; the migrations must run once, not side by side.
        conn.execute("SELECT pg_advisory_lock(%s)", (_SETUP_LOCK,))
        try:
            saver.setup()
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK,))
    return saver, pool.close


def checkpoint_threads(saver: BaseCheckpointSaver) -> list[str]:
    """Return every thread id that has a checkpoint (the set retention ages)."""
    sql = "SELECT DISTINCT thread_id FROM checkpoints"
    cursor = getattr(saver, "cursor", None)
    if cursor is not None:  # SqliteSaver: its lock, and its tables made on first use
        with cursor(transaction=False) as cur:
            return [str(r[0]) for r in cur.execute(sql).fetchall()]
    with saver._cursor() as cur:  # type: ignore[attr-defined]  # PostgresSaver
        cur.execute(sql)
        return [str(r["thread_id"]) for r in cur.fetchall()]
