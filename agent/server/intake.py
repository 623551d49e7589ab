"""Intake: dedup, route and store one notification, alone (PostgreSQL) or in a batch (SQLite).

PostgreSQL: each notification is its own transaction under its group's advisory lock, so
replicas and threads route different groups at once (see routing.py for the lock order).
SQLite has one writer: concurrent notifications share a transaction (group commit), each
inside a savepoint so one that fails is rolled back alone and answered with its error.
"""

from __future__ import annotations

from dataclasses import dataclass
from string import hexdigits
from typing import Any

from opsloop.agent.rca.alerts import Notification
from opsloop.agent.server.routing import Locks, Router, Tx, Widen
from opsloop.tools.callgraph import Topology


@dataclass(frozen=True)
class Accepted:
    """What `accept` did with a notification."""

    incident_id: str | None
    duplicate: bool
    created: bool


@dataclass(frozen=True)
class Intake:
    """One notification to store, with what was read before its transaction began."""

    note: Notification
    raw: str
    key: str  # dedup key
    now: float


@dataclass(frozen=True)
class Intaker:
    """Store notifications in a database (`db`: its `tx`, `lock` and `for_update`)."""

    db: Any
    router: Router

    def one(self, item: Intake, topology: Topology) -> Accepted:
        """Store one notification in a transaction of its own (PostgreSQL)."""
        if not all(c in hexdigits for c in item.key):  # inlined below: never anything else
            raise ValueError(f"dedup key {item.key!r} is not hexadecimal")
        # BEGIN, the group's lock and the dedup read go in one round trip.
        then = f"SELECT incident_id FROM notifications WHERE dedup_key = '{item.key}'"
        group = item.note.group_key
        try:
            with self.db.tx(lock=group, then=then) as db:
                if db.first:  # half a storm is repeats: answered in that one round trip
                    return Accepted(db.first[0]["incident_id"], duplicate=True, created=False)
                return self._accept(db, item, topology, wide=False, locked=True, deduped=True)
        except Widen:  # rare: its incident resolved under us; the rollback freed the row
            with self.db.tx(lock=group) as db:
                return self._accept(db, item, topology, wide=True, locked=True)

    def batch(self, items: list[Intake], topology: Topology) -> list[Accepted | BaseException]:
        """Store several notifications in one transaction; one failing fails alone."""
        with self.db.tx() as db:
            return [self._savepoint(db, item, topology) for item in items]

    def _savepoint(self, db: Tx, item: Intake, topology: Topology) -> Accepted | BaseException:
        db.execute("SAVEPOINT intake")
        try:
            try:
                accepted = self._accept(db, item, topology, wide=False)
            except Widen:
                db.execute("ROLLBACK TO intake")
                accepted = self._accept(db, item, topology, wide=True)
        except Exception as exc:
            db.execute("ROLLBACK TO intake")
            db.execute("RELEASE intake")
            return exc
        db.execute("RELEASE intake")
        return accepted

    def _accept(
        self, db: Tx, item: Intake, topology: Topology, wide: bool,
        locked: bool = False, deduped: bool = False,
    ) -> Accepted:  # fmt: skip
        locks: Locks = self.db
        note = item.note
        if not locked:
            locks.lock(db, note.group_key)  # one notification of a group at a time
        if wide:
            locks.lock(db, None)
        seen = None if deduped else self._seen(db, item.key)  # under the group's lock
        if seen is not None:
            return seen
        incident_id, created = self.router.route(db, locks, note, item.now, topology, wide)
        db.execute(
            "INSERT INTO notifications (dedup_key, received_at, source, group_key, status,"
            " incident_id, raw) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (item.key, item.now, note.source, note.group_key, note.status, incident_id,
             item.raw),
        )  # fmt: skip
        return Accepted(incident_id, duplicate=False, created=created)

    def _seen(self, db: Tx, key: str) -> Accepted | None:
        row = db.execute(
            "SELECT incident_id FROM notifications WHERE dedup_key = ?", (key,)
        ).fetchone()
        return None if row is None else Accepted(row["incident_id"], duplicate=True, created=False)
