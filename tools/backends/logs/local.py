"""The embedded log store: JSON-lines and plain-text files ingested into SQLite FTS5."""

from __future__ import annotations

import glob
import json
import os
import re
import threading
from pathlib import Path
from typing import Any

from opsloop.tools.analysis.logtemplates import strip_header
from opsloop.tools.backends.db import connect
from opsloop.tools.backends.logs.base import (
    LogQuery,
    LogRecord,
    LogResult,
    at_least,
    level_in_text,
    normalise_level,
)
from opsloop.tools.backends.logs.base import parse_time as _parse_time

SCHEMA = """
CREATE TABLE IF NOT EXISTS logs (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    level TEXT NOT NULL,
    service TEXT NOT NULL,
    pod TEXT NOT NULL,
    msg TEXT NOT NULL,
    fields TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS logs_service_ts ON logs(service, ts);
CREATE INDEX IF NOT EXISTS logs_ts ON logs(ts);
CREATE VIRTUAL TABLE IF NOT EXISTS logs_fts USING fts5(msg, content='logs', content_rowid='id');
CREATE TRIGGER IF NOT EXISTS logs_ai AFTER INSERT ON logs BEGIN
    INSERT INTO logs_fts(rowid, msg) VALUES (new.id, new.msg);
END;
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, inode INTEGER, offset INTEGER);
"""
_LEADING_TIME = re.compile(
    r"^\[?(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?)\]?\s*"
)
_MSG_KEYS = ("msg", "message", "log", "text")
_TIME_KEYS = ("timestamp", "time", "ts", "@timestamp")
BATCH = 5000


class LocalLogStore:
    """Search log files through a SQLite index that only reads what was appended since."""

    name = "local"

    def __init__(self, db_path: Path, paths: list[str]) -> None:
        self.paths = paths
        self._conn = connect(db_path)
        self._conn.executescript(SCHEMA)
        self._lock = threading.Lock()

    def ingest(self) -> int:
        """Read new lines from every configured file (rotation and truncation aware)."""
        added = 0
        for pattern in self.paths:
            for path in sorted(glob.glob(os.path.expanduser(pattern))):
                added += self._ingest_file(Path(path))
        return added

    def _ingest_file(self, path: Path) -> int:
        try:
            stat = path.stat()
        except OSError:
            return 0
        with self._lock:
            row = self._conn.execute(
                "SELECT inode, offset FROM files WHERE path = ?", (str(path),)
            ).fetchone()
        offset = row["offset"] if row and row["inode"] == stat.st_ino else 0
        if offset > stat.st_size:  # truncated in place: start over
            offset = 0
        if offset == stat.st_size:
            return 0
        rows: list[tuple] = []
        with path.open("rb") as handle:
            handle.seek(offset)
            for raw in handle:
                if not raw.endswith(b"\n"):
                    break  # a line still being written: read it next time
                offset += len(raw)
                record = parse_line(raw.decode("utf-8", "replace").rstrip("\r\n"), path.stem)
                if record is not None:
                    rows.append(
                        (
                            record.ts,
                            record.level,
                            record.service,
                            record.pod,
                            record.msg,
                            json.dumps(record.fields, default=str),
                        )
                    )
        with self._lock:
            self._conn.execute("BEGIN")
            for start in range(0, len(rows), BATCH):
                self._conn.executemany(
                    "INSERT INTO logs (ts, level, service, pod, msg, fields)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    rows[start : start + BATCH],
                )
            self._conn.execute(
                "INSERT INTO files (path, inode, offset) VALUES (?, ?, ?) ON CONFLICT(path)"
                " DO UPDATE SET inode = excluded.inode, offset = excluded.offset",
                (str(path), stat.st_ino, offset),
            )
            self._conn.execute("COMMIT")
        return len(rows)

    def search(self, query: LogQuery) -> LogResult:
        """Return matching lines, oldest first."""
        self.ingest()
        where = ["l.ts >= ?", "l.ts <= ?"]
        args: list[Any] = [query.start, query.end]
        if query.service:
            where.append("l.service = ?")
            args.append(query.service)
        levels = at_least(query.level)
        if query.level:
            where.append(f"l.level IN ({', '.join('?' * len(levels))})")
            args += list(levels)
        source = "logs l"
        if query.text:
            source = "logs_fts JOIN logs l ON l.id = logs_fts.rowid"
            where.append("logs_fts MATCH ?")
            args.append(fts_phrase(query.text))
        sql = (
            f"SELECT l.* FROM {source} WHERE {' AND '.join(where)} "
            f"ORDER BY l.ts LIMIT {int(query.limit) + 1}"
        )
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        records = [
            LogRecord(
                r["ts"], r["level"], r["service"], r["pod"], r["msg"], json.loads(r["fields"])
            )
            for r in rows[: query.limit]
        ]
        return LogResult(records, len(rows) > query.limit, describe(query))


def fts_phrase(text: str) -> str:
    """Quote user text as FTS5 phrases so operators in it cannot change the query."""
    words = re.findall(r"\w+", text)
    return " ".join('"' + w.replace('"', '""') + '"' for w in words) or '""'


def describe(query: LogQuery) -> str:
    """Render the local query the way a person would write it."""
    parts = [f"ts in [{query.start:.0f}, {query.end:.0f}]"]
    if query.service:
        parts.append(f'service="{query.service}"')
    if query.level:
        parts.append(f"level>={normalise_level(query.level)}")
    if query.text:
        parts.append(f"msg MATCH {fts_phrase(query.text)}")
    return "local: " + " AND ".join(parts)


def parse_line(line: str, default_service: str) -> LogRecord | None:
    """Parse a JSON line (timestamp/level/service/pod/msg) or a plain-text line."""
    if not line.strip():
        return None
    if line.lstrip().startswith("{"):
        try:
            data = json.loads(line)
        except ValueError:
            data = None
        if isinstance(data, dict):
            ts = next((_parse_time(data[k]) for k in _TIME_KEYS if k in data), None)
            msg = next((str(data[k]) for k in _MSG_KEYS if k in data), line)
            extra = {
                k: v
                for k, v in data.items()
                if k not in (*_TIME_KEYS, *_MSG_KEYS, "level", "severity", "service", "pod")
            }
            return LogRecord(
                ts=ts if ts is not None else 0.0,
                level=normalise_level(data.get("level", data.get("severity"))),
                service=str(data.get("service") or default_service),
                pod=str(data.get("pod") or ""),
                msg=msg,
                fields=extra,
            )
    match = _LEADING_TIME.match(line)
    ts = _parse_time(match.group(1).replace(",", ".")) if match else None
    return LogRecord(
        ts=ts or 0.0,
        level=level_in_text(line),
        service=default_service,
        pod="",
        msg=strip_header(line) or line,
    )
