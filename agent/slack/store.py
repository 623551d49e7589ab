"""What the Slack app must remember across retries and restarts, in SQLite.

- Event ids already handled: Slack retries an event it thinks went unanswered (same
  `event_id`, header `X-Slack-Retry-Num`), and a retry must not answer twice.
- Where each incident's report was posted (channel, ts), to update it in place and thread
  replies under it, and which Slack thread continues which graph thread.

With OPSLOOP_DATABASE_URL the tables live in PostgreSQL, so every replica sees what the
others posted (a report redone on another replica updates the same message).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsloop.agent.db.sqlite import open_database

SCHEMA = """
CREATE TABLE IF NOT EXISTS slack_events (
    event_id TEXT PRIMARY KEY,
    at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS slack_reports (
    incident_id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    ts TEXT NOT NULL,
    status TEXT NOT NULL,
    result TEXT NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS slack_threads (
    channel TEXT NOT NULL,
    thread_ts TEXT NOT NULL,
    graph_thread TEXT NOT NULL,
    PRIMARY KEY (channel, thread_ts)
);
"""
EVENT_TTL_S = 24 * 3600.0  # Slack retries within minutes; a day is plenty


@dataclass(frozen=True)
class Posted:
    """An incident report's Slack message and the result it last rendered."""

    channel: str
    ts: str
    status: str
    result: dict[str, Any]


class SlackStore:
    """Seen event ids, posted reports and Slack-thread → graph-thread links."""

    def __init__(self, target: Path | str) -> None:
        """Open a SQLite file, or PostgreSQL when `target` is a postgresql:// URL."""
        self.db = open_database(target, sqlite_schema=SCHEMA, pg_schema=SCHEMA, name="slack")

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    def first_time(self, event_id: str) -> bool:
        """Record an event id; return False if it was handled before (a retry)."""
        now = time.time()
        with self.db.tx() as db:
            db.execute("DELETE FROM slack_events WHERE at < ?", (now - EVENT_TTL_S,))
            cur = db.execute(
                "INSERT INTO slack_events (event_id, at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (event_id, now),
            )
            return cur.rowcount == 1

    def report(self, incident_id: str) -> Posted | None:
        """Return where an incident's report was posted and what it last showed, or None."""
        row = (
            self.db.conn()
            .execute("SELECT * FROM slack_reports WHERE incident_id = ?", (incident_id,))
            .fetchone()
        )
        if row is None:
            return None
        return Posted(row["channel"], row["ts"], row["status"], json.loads(row["result"]))

    def save_report(
        self, incident_id: str, channel: str, ts: str, status: str, result: dict[str, Any]
    ) -> None:
        """Remember where an incident's report is, and link its thread to the incident."""
        with self.db.tx() as db:
            db.execute(
                "INSERT INTO slack_reports (incident_id, channel, ts, status, result, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(incident_id) DO UPDATE SET "
                "status = excluded.status, result = excluded.result, "
                "updated_at = excluded.updated_at",
                (incident_id, channel, ts, status, json.dumps(result, default=str), time.time()),
            )
            db.execute(
                "INSERT INTO slack_threads (channel, thread_ts, graph_thread) "
                "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (channel, ts, incident_id),
            )

    def graph_thread(self, channel: str, thread_ts: str) -> str:
        """Return the graph thread a Slack thread continues (new threads get their own)."""
        thread = f"slack-{channel}-{thread_ts}".replace(".", "-")
        with self.db.tx() as db:
            db.execute(
                "INSERT INTO slack_threads (channel, thread_ts, graph_thread) "
                "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (channel, thread_ts, thread),
            )
            row = db.execute(
                "SELECT graph_thread FROM slack_threads WHERE channel = ? AND thread_ts = ?",
                (channel, thread_ts),
            ).fetchone()
        return str(row["graph_thread"])
