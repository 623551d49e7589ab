"""Small hardening fixes: label values in PromQL, failed COMMITs, tool-call ids across processes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import httpx
import pytest

from opsloop.agent.db.sqlite import open_database
from opsloop.tools.toolsets.scan import _one

HOSTILE = 'a"b\\c$1 }) or vector(1) #'


def test_a_label_value_cannot_break_or_extend_the_evidence_query(prometheus):
    query = _one("up", {"service": HOSTILE, "model": "m"}, "service")
    got = httpx.get(f"{prometheus}/api/v1/query", params={"query": query}, timeout=10).json()
    assert got["status"] == "success", got  # it parses: the value stayed one string
    assert "$$1" in query  # `$1` would be a capture group in label_replace's replacement
    shown = httpx.get(
        f"{prometheus}/api/v1/query",
        params={"query": 'label_replace(vector(1), "service", "a$$1", "", "")'},
        timeout=10,
    ).json()
    assert shown["data"]["result"][0]["metric"]["service"] == "a$1"


def test_a_failed_commit_leaves_no_open_transaction(tmp_path):
    schema = """
    CREATE TABLE IF NOT EXISTS parent (id INTEGER PRIMARY KEY);
    CREATE TABLE IF NOT EXISTS child (
        id INTEGER PRIMARY KEY,
        parent INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED
    );
    """
    db = open_database(tmp_path / "t.sqlite", sqlite_schema=schema, pg_schema="", name="t")
    db.conn().execute("PRAGMA foreign_keys = ON")
    # The deferred check fails at COMMIT, not at the INSERT.
    with pytest.raises(sqlite3.IntegrityError), db.tx() as conn:
        conn.execute("INSERT INTO child (id, parent) VALUES (1, 42)")
    assert not db.conn().in_transaction
    with db.tx() as conn:  # the next transaction on this thread's connection works
        conn.execute("INSERT INTO parent (id) VALUES (42)")
    assert db.conn().execute("SELECT count(*) FROM child").fetchone()[0] == 0
    db.close()


def test_tool_call_ids_differ_across_processes():
    code = "from opsloop.agent.graph.execute import new_call_id; print(new_call_id('r'))"
    ids = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    }
    assert len(ids) == 2 and all(i.startswith("call_r") for i in ids)
