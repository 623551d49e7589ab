"""Append-only audit log of write actions: request, evidence, approver, decision, result."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tools.db import connect

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
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
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
"""
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

    def __init__(self, path: Path) -> None:
        self._conn = connect(path)
        self._conn.executescript(SCHEMA)
        self._lock = threading.Lock()

    def append(self, **entry: Any) -> int:
        """Append one entry (keys: FIELDS); return its id."""
        values = [entry.get(k) for k in FIELDS]
        values = [json.dumps(v, default=str) if isinstance(v, dict | list) else v for v in values]
        with self._lock:
            cur = self._conn.execute(
                f"INSERT INTO audit (at, {', '.join(FIELDS)}) VALUES (?{', ?' * len(FIELDS)})",
                (datetime.now(UTC).isoformat(timespec="seconds"), *values),
            )
            return int(cur.lastrowid or 0)

    def entries(self, limit: int = 100) -> list[dict[str, Any]]:
        """Return the newest entries first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT * FROM audit ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        out = []
        for row in rows:
            item = dict(row)
            for key in ("args", "evidence"):
                item[key] = json.loads(item[key]) if item[key] else None
            out.append(item)
        return out
