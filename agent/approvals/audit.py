"""Append-only audit log of write actions: request, evidence, approver, decision, result.

A SQLite file, or PostgreSQL (OPSLOOP_DATABASE_URL) shared by replicas; both refuse any
UPDATE or DELETE with a trigger. Beside it, `decisions` holds who took the decision on each
paused request, so one request is decided once even when replicas receive two decisions.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opsloop.agent.db.sqlite import open_database

_COLUMNS = """
    at TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    action TEXT NOT NULL,
    args TEXT NOT NULL,
    preview TEXT NOT NULL,
    evidence TEXT NOT NULL,
    approver TEXT,
    decision TEXT NOT NULL,
    reason TEXT,
    status TEXT NOT NULL,
    result TEXT
"""
_DECISIONS = """
CREATE TABLE IF NOT EXISTS decisions (
    thread_id TEXT NOT NULL,
    interrupt_id TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (thread_id, interrupt_id)
);
"""
SCHEMA = (
    _DECISIONS
    + f"""
CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY, {_COLUMNS});
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
"""
)
PG_SCHEMA = (
    _DECISIONS
    + f"""
CREATE TABLE IF NOT EXISTS audit (id BIGSERIAL PRIMARY KEY, {_COLUMNS});
CREATE OR REPLACE FUNCTION opsloop_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN RAISE EXCEPTION 'audit log is append-only'; END $$;
CREATE OR REPLACE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
FOR EACH ROW EXECUTE FUNCTION opsloop_audit_append_only();
"""
)
FIELDS = (
    "thread_id",
    "requested_by",
    "action",
    "args",
    "preview",
    "evidence",
    "approver",
    "decision",
    "reason",
    "status",
    "result",
)


class AuditLog:
    """Record every write action decision; rows can be added, never changed or removed."""

    def __init__(self, target: Path | str) -> None:
        """Open a SQLite file, or PostgreSQL when `target` is a postgresql:// URL."""
        self.db = open_database(target, sqlite_schema=SCHEMA, pg_schema=PG_SCHEMA, name="audit")

    @classmethod
    def from_settings(cls, settings: Any) -> AuditLog:
        """Open the audit log `settings` name (the shared database, else a local file)."""
        return cls(getattr(settings, "database_url", None) or settings.state_dir / "audit.sqlite")

    def append(self, **entry: Any) -> int:
        """Append one entry (keys: FIELDS); return its id."""
        values = [entry.get(k) for k in FIELDS]
        values = [json.dumps(v, default=str) if isinstance(v, dict | list) else v for v in values]
        with self.db.tx() as db:
            row = db.execute(
                f"INSERT INTO audit (at, {', '.join(FIELDS)}) VALUES (?{', ?' * len(FIELDS)})"
                " RETURNING id",
                (datetime.now(UTC).isoformat(timespec="seconds"), *values),
            ).fetchone()
        return int(row[0])

    def claim_decision(self, thread_id: str, interrupt_id: str, by: str) -> bool:
        """Take the right to decide one paused request; False if someone already has.

        Two clicks on Approve may reach two replicas (or a click and `opsloop approve`):
        this row, not a process lock, makes the first decision the only one.
        """
        with self.db.tx() as db:
            cur = db.execute(
                "INSERT INTO decisions (thread_id, interrupt_id, decided_by, at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (thread_id, interrupt_id, by, datetime.now(UTC).isoformat(timespec="seconds")),
            )
            return cur.rowcount == 1

    def release_decision(self, thread_id: str, interrupt_id: str) -> None:
        """Give a claimed decision back (resuming failed, so someone may decide again)."""
        with self.db.tx() as db:
            db.execute(
                "DELETE FROM decisions WHERE thread_id = ? AND interrupt_id = ?",
                (thread_id, interrupt_id),
            )

    def entries(self, limit: int = 100) -> list[dict[str, Any]]:
        """Return the newest entries first."""
        rows = (
            self.db.conn().execute("SELECT * FROM audit ORDER BY id DESC LIMIT ?", (limit,))
        ).fetchall()
        return _decoded(rows)

    def for_thread(self, thread_id: str) -> list[dict[str, Any]]:
        """Return one thread's entries (an incident's, by its id), oldest first."""
        rows = self.db.conn().execute(
            "SELECT * FROM audit WHERE thread_id = ? ORDER BY id", (thread_id,)
        )
        return _decoded(rows.fetchall())


def _decoded(rows: list[Any]) -> list[dict[str, Any]]:
    """Return audit rows as dicts with their JSON columns read."""
    out = []
    for row in rows:
        item = dict(row)
        for key in ("args", "evidence"):
            item[key] = json.loads(item[key]) if item[key] else None
        out.append(item)
    return out
