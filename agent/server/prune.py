"""Pruning SQL: batched deletes that work on SQLite and PostgreSQL alike.

Each batch is its own short transaction, so intake and workers never wait long for the write
lock. Rows are picked by SQLite's `rowid` or PostgreSQL's `ctid`: no table needs a key of
its own for this.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opsloop.agent.db.postgres import PostgresDatabase

log = logging.getLogger(__name__)

MAX_PARAMS = 30_000  # below SQLite's 32766 and PostgreSQL's 65535 bound parameters
CHUNK = 500
# Indexes the pruning queries need (added here, so other modules' schemas stay as they are).
INCIDENT_INDEXES = (
    "CREATE INDEX IF NOT EXISTS notifications_by_time ON notifications (received_at)",
)
ANSWER_INDEXES = (
    "CREATE INDEX IF NOT EXISTS answers_by_thread ON answers (thread_id)",
    "CREATE INDEX IF NOT EXISTS answers_by_time ON answers (at)",
)


def iso_utc(seconds: float) -> str:
    """Format Unix seconds like the `at` columns of answers and feedback."""
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


def not_in(column: str, values: Sequence[str]) -> tuple[str, list[str]]:
    """Return an `AND column NOT IN (...)` clause and its parameters ('' when empty)."""
    if not values:
        return "", []
    if len(values) > MAX_PARAMS:
        raise OverflowError(f"{len(values)} rows to keep: more than one statement can bind")
    return f" AND {column} NOT IN ({', '.join('?' * len(values))})", list(values)


def sweep(
    db: Any,
    table: str,
    where: str,
    args: Sequence[Any],
    *,
    batch: int,
    dry_run: bool = False,
    pause_s: float = 0.0,
) -> int:
    """Delete the rows of `table` matching `where`, `batch` at a time; return how many."""
    if dry_run:
        sql = f"SELECT count(*) FROM {table} WHERE ({where})"
        return int(db.conn().execute(sql, list(args)).fetchone()[0])
    if isinstance(db, PostgresDatabase):
        delete = (
            f"DELETE FROM {table} WHERE ctid = ANY(ARRAY("
            f"SELECT ctid FROM {table} WHERE ({where}) LIMIT ?))"
        )
    else:
        delete = (
            f"DELETE FROM {table} WHERE rowid IN"
            f" (SELECT rowid FROM {table} WHERE ({where}) LIMIT ?)"
        )
    total = 0
    while True:
        with db.tx() as tx:
            done = tx.execute(delete, [*args, batch]).rowcount
        total += max(done, 0)
        if done < batch:
            return total
        if pause_s:
            time.sleep(pause_s)  # let a waiting writer in between two batches


def ensure_indexes(db: Any, statements: Iterable[str]) -> None:
    """Create the indexes pruning reads by (idempotent)."""
    with db.tx() as tx:
        for sql in statements:
            tx.execute(sql)


def chunks(items: Sequence[str], size: int = CHUNK) -> Iterable[Sequence[str]]:
    """Yield `items` in slices of at most `size`."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- what must stay --------------------------------------------------------------------------


def open_incidents(incidents: Any) -> set[str]:
    """Return the ids of incidents not yet resolved (their data is still in use)."""
    rows = incidents.conn().execute("SELECT id FROM incidents WHERE status <> 'resolved'")
    return {r[0] for r in rows}


def pending_approvals(audit: Any) -> set[str]:
    """Return threads whose last audit entry is an undecided request (a paused graph)."""
    if audit is None:
        return set()
    rows = audit.conn().execute(
        "SELECT a.thread_id FROM audit a WHERE a.decision = 'requested' AND a.id ="
        " (SELECT max(b.id) FROM audit b WHERE b.thread_id = a.thread_id)"
    )
    return {r[0] for r in rows}


# -- the tables --------------------------------------------------------------------------------


def notifications(
    incidents: Any,
    cutoff: float,
    pending: Sequence[str],
    batch: int,
    dry_run: bool,
    pause_s: float = 0.0,
) -> int:
    """Delete raw notifications older than `cutoff` unless an open incident holds them."""
    extra, args = not_in("incident_id", pending)
    where = (
        "received_at < ? AND (incident_id IS NULL OR (incident_id NOT IN"
        f" (SELECT id FROM incidents WHERE status <> 'resolved'){extra}))"
    )
    return sweep(
        incidents,
        "notifications",
        where,
        [cutoff, *args],
        batch=batch,
        dry_run=dry_run,
        pause_s=pause_s,
    )


def resolved_incidents(
    incidents: Any,
    cutoff: float,
    pending: Sequence[str],
    batch: int,
    dry_run: bool,
    pause_s: float = 0.0,
) -> int:
    """Delete incidents resolved before `cutoff` with their alerts, groups, notifications."""
    extra, args = not_in("id", pending)
    select = f"SELECT id FROM incidents WHERE status = 'resolved' AND resolved_at < ?{extra}"
    if dry_run:
        sql = f"SELECT count(*) FROM ({select}) s"
        return int(incidents.conn().execute(sql, [cutoff, *args]).fetchone()[0])
    total = 0
    while True:
        with incidents.tx() as tx:
            ids = [r[0] for r in tx.execute(select + " LIMIT ?", [cutoff, *args, batch])]
            marks = ", ".join("?" * len(ids))
            for child in ("incident_alerts", "incident_groups", "notifications"):
                if ids:
                    tx.execute(f"DELETE FROM {child} WHERE incident_id IN ({marks})", ids)
            if ids:
                tx.execute(f"DELETE FROM incidents WHERE id IN ({marks})", ids)
        total += len(ids)
        if len(ids) < batch:
            return total
        time.sleep(pause_s)


def answers(
    db: Any, cutoff: float, keep: Sequence[str], batch: int, dry_run: bool, pause_s: float = 0.0
) -> dict[str, int]:
    """Delete answer records and feedback older than `cutoff`, except the threads in `keep`."""
    extra, args = not_in("thread_id", keep)
    stamp = iso_utc(cutoff)
    return {
        table: sweep(
            db,
            table,
            f"at < ?{extra}",
            [stamp, *args],
            batch=batch,
            dry_run=dry_run,
            pause_s=pause_s,
        )
        for table in ("answers", "feedback")
    }


def jobs(db: Any, cutoff: float, batch: int, dry_run: bool, pause_s: float = 0.0) -> int:
    """Delete retraining jobs finished before `cutoff`, and their local log files."""
    where = "status IN ('succeeded', 'failed') AND finished_at < ?"
    if dry_run:
        return sweep(db, "jobs", where, [cutoff], batch=batch, dry_run=True)
    total = 0
    while True:
        with db.tx() as tx:
            sql = f"SELECT id, log_path FROM jobs WHERE {where} LIMIT ?"
            rows = list(tx.execute(sql, [cutoff, batch]))
            for start in range(0, len(rows), CHUNK):
                ids = [r["id"] for r in rows[start : start + CHUNK]]
                tx.execute(f"DELETE FROM jobs WHERE id IN ({', '.join('?' * len(ids))})", ids)
        for row in rows:
            if row["log_path"]:
                Path(row["log_path"]).unlink(missing_ok=True)
        total += len(rows)
        if len(rows) < batch:
            return total
        time.sleep(pause_s)


def slack(
    db: Any,
    *,
    events_cutoff: float | None,
    links_cutoff: float | None,
    keep: Sequence[str],
    batch: int,
    dry_run: bool,
    pause_s: float = 0.0,
) -> dict[str, int]:
    """Delete Slack event ids past their age, and report/thread links past theirs."""
    counts: dict[str, int] = {}
    if events_cutoff is not None:
        counts["slack_events"] = sweep(
            db, "slack_events", "at < ?", [events_cutoff], batch=batch, dry_run=dry_run,
            pause_s=pause_s,
        )  # fmt: skip
    if links_cutoff is not None:
        extra, args = not_in("incident_id", keep)
        counts["slack_reports"] = sweep(
            db, "slack_reports", f"updated_at < ?{extra}", [links_cutoff, *args],
            batch=batch, dry_run=dry_run, pause_s=pause_s,
        )  # fmt: skip
        extra, args = not_in("graph_thread", keep)
        # A thread's ts is when Slack started it (Unix seconds as text).
        counts["slack_threads"] = sweep(
            db, "slack_threads", f"CAST(thread_ts AS DOUBLE PRECISION) < ?{extra}",
            [links_cutoff, *args], batch=batch, dry_run=dry_run, pause_s=pause_s,
        )  # fmt: skip
    return counts


def pagerduty_notes(db: Any, cutoff: float, batch: int, dry_run: bool, pause_s: float = 0.0) -> int:
    """Delete PagerDuty notes sent or given up before `cutoff` (queued ones always stay)."""
    where = "(sent_at IS NOT NULL AND sent_at < ?) OR (failed_at IS NOT NULL AND failed_at < ?)"
    return sweep(
        db,
        "pagerduty_notes",
        where,
        [cutoff, cutoff],
        batch=batch,
        dry_run=dry_run,
        pause_s=pause_s,
    )
