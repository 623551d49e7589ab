"""Answer records: every answer with its tools, evidence, evals and prompt hashes, searchable."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opsloop.tools.backends.db import connect

SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    user TEXT,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    brain TEXT NOT NULL,
    prompt_hashes TEXT NOT NULL,
    tool_calls TEXT NOT NULL,
    evidence TEXT NOT NULL,
    evals TEXT NOT NULL,
    usage TEXT NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS answers_fts USING fts5(
    question, answer, content='answers', content_rowid='id'
);
CREATE TRIGGER IF NOT EXISTS answers_ai AFTER INSERT ON answers BEGIN
    INSERT INTO answers_fts(rowid, question, answer) VALUES (new.id, new.question, new.answer);
END;
-- Retention deletes old records: the search index must forget them too.
CREATE TRIGGER IF NOT EXISTS answers_ad AFTER DELETE ON answers BEGIN
    INSERT INTO answers_fts(answers_fts, rowid, question, answer)
    VALUES ('delete', old.id, old.question, old.answer);
END;
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    user TEXT NOT NULL,
    rating TEXT,
    root_cause_kind TEXT,
    root_cause_target TEXT,
    note TEXT,
    source TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_thread ON feedback (thread_id);
"""
RATINGS = ("helpful", "not_helpful")


class AnswerStore:
    """Append answers; find past answers to similar questions (BM25 over FTS5)."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._conn = connect(path)
        self._conn.executescript(SCHEMA)
        self._lock = threading.Lock()

    def _now(self) -> str:
        return datetime.fromtimestamp(self.clock(), UTC).isoformat(timespec="seconds")

    def add(self, record: dict[str, Any]) -> int:
        """Store one answer record; return its id."""
        row = (
            self._now(),
            record["thread_id"],
            record.get("user"),
            record["question"],
            record["answer"],
            record["brain"],
            *(
                json.dumps(record.get(k, {}), default=str)
                for k in ("prompt_hashes", "tool_calls", "evidence", "evals", "usage")
            ),
        )
        with self._lock:
            cur = self._conn.execute(
                "INSERT INTO answers (at, thread_id, user, question, answer, brain, prompt_hashes,"
                " tool_calls, evidence, evals, usage) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                row,
            )
            return int(cur.lastrowid or 0)

    def similar(self, text: str, k: int = 3, exclude_thread: str | None = None) -> list[dict]:
        """Return up to `k` past answers whose question or answer share words with `text`."""
        words = [w for w in re.findall(r"[a-z0-9][a-z0-9_-]{2,}", text.lower())][:20]
        if not words:
            return []
        query = " OR ".join(f'"{w}"' for w in words)
        with self._lock:
            rows = self._conn.execute(
                "SELECT a.at, a.thread_id, a.question, a.answer, bm25(answers_fts) AS rank "
                "FROM answers_fts JOIN answers a ON a.id = answers_fts.rowid "
                "WHERE answers_fts MATCH ? AND a.thread_id != ? ORDER BY rank LIMIT ?",
                (query, exclude_thread or "", k),
            ).fetchall()
        return [
            {
                "at": r["at"],
                "thread_id": r["thread_id"],
                "question": r["question"],
                "answer": r["answer"][:300],
                "score": round(-float(r["rank"]), 3),
            }
            for r in rows
        ]

    def add_feedback(
        self,
        thread_id: str,
        user: str,
        *,
        rating: str | None = None,
        root_cause: tuple[str, str] | None = None,
        note: str = "",
        source: str = "slack",
    ) -> int:
        """Store a person's verdict on a thread's answers; return its id."""
        if rating is not None and rating not in RATINGS:
            raise ValueError(f"rating must be one of {', '.join(RATINGS)}, not {rating!r}")
        kind, target = root_cause or (None, None)
        with self._lock:
            cur = self._conn.execute(
                "INSERT INTO feedback (at, thread_id, user, rating, root_cause_kind,"
                " root_cause_target, note, source) VALUES (?,?,?,?,?,?,?,?)",
                (
                    self._now(),
                    thread_id,
                    user,
                    rating,
                    kind,
                    target,
                    note,
                    source,
                ),
            )
            return int(cur.lastrowid or 0)

    def feedback(self, thread_id: str | None = None) -> list[dict]:
        """Return feedback, oldest first (one thread's, or everyone's)."""
        sql, args = "SELECT * FROM feedback", ()
        if thread_id is not None:
            sql, args = sql + " WHERE thread_id = ?", (thread_id,)
        with self._lock:
            return [dict(r) for r in self._conn.execute(sql + " ORDER BY id", args).fetchall()]

    def recent(self, limit: int = 20) -> list[dict]:
        """Return the latest answer records, newest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT * FROM answers ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        out = []
        for r in rows:
            item = dict(r)
            for key in ("prompt_hashes", "tool_calls", "evidence", "evals", "usage"):
                item[key] = json.loads(item[key])
            out.append(item)
        return out
