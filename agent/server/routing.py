"""Route a notification inside the intake transaction: dedup is the caller's; here it joins
its group's open incident, correlates with a neighbouring service's, or opens a new one.

Locks (PostgreSQL; SQLite's single writer holds them all): the caller holds the group's lock,
so one group routes at a time. An incident is written only under its row lock, taken first
and checked still unresolved, so a notification of another group in the same incident cannot
resolve it in between. Only a group with no active incident (correlate or create) takes the
store-wide lock, so two neighbours firing at once still end up in one incident. Order: group,
then store, then one incident row; a transaction never asks for the store lock while it holds
a row (it raises `Widen` to start again with the store lock first), so none can deadlock.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Protocol

from opsloop.agent.db.sqlite import load
from opsloop.agent.rca.alerts import Alert, Notification
from opsloop.agent.server.schema import alert_row
from opsloop.tools.callgraph import Topology, hops

UPSERT_CHUNK = 500  # alerts per INSERT
Tx = Any  # inside a transaction: a sqlite3.Connection, or an opsloop.agent.db.postgres.Session
Row = Any  # an incidents row: id, status, resolved_at, investigated_names


class Locks(Protocol):
    """What routing needs from the database: key locks and a row-locking read suffix."""

    for_update: str

    def lock(self, db: Tx, key: str | None) -> None:
        """Lock `key` (None: the whole store) until the transaction ends."""


class Widen(Exception):
    """The group's incident resolved while we waited for it: route again, store lock first."""


@dataclass(frozen=True)
class Router:
    """How notifications become incidents: by group, else by call-graph distance in time."""

    service_label: str = "service"
    correlate_window_s: float = 300.0

    def route(
        self, db: Tx, locks: Locks, note: Notification, now: float, topology: Topology,
        wide: bool = False,
    ) -> tuple[str | None, bool]:  # fmt: skip
        """Return (incident id, created) for `note`, writing its alerts and the incident's state.

        The caller holds the group's lock, and the store lock too when `wide`.
        """
        active = self._hold_active(db, locks, note.group_key)
        row = active if active is not None and active["status"] != "resolved" else None
        if active is not None and row is None and not wide:
            raise Widen(active["id"])  # we hold its row now: the store lock could deadlock
        if row is not None:
            self._join(db, row, note, now)
            return row["id"], False
        if not note.firing:  # resolved news about a group with nothing open: keep it only
            found = db.execute(
                "SELECT incident_id FROM incident_groups WHERE group_key = ?"
                " ORDER BY joined_at DESC LIMIT 1",
                (note.group_key,),
            ).fetchone()
            return (found["incident_id"] if found else None), False
        if not wide:
            locks.lock(db, None)  # no row held yet: safe to wait for the store lock
        row = self._correlate(db, locks, note.firing, now, topology)
        if row is None:
            return self._create(db, note, now), True
        self._add_group(db, row["id"], note.group_key, now)
        self._join(db, row, note, now)
        return row["id"], False

    def _create(self, db: Tx, note: Notification, now: float) -> str:
        incident_id = "inc-" + secrets.token_hex(6)
        db.execute(
            "INSERT INTO incidents (id, group_key, status, opened_at)"
            " VALUES (?, ?, 'investigating', ?)",
            (incident_id, note.group_key, now),
        )
        self._add_group(db, incident_id, note.group_key, now)
        self._upsert_alerts(db, incident_id, note.alerts)  # some fire: nothing to settle
        return incident_id

    def _add_group(self, db: Tx, incident_id: str, group_key: str, now: float) -> None:
        db.execute(
            "INSERT INTO incident_groups (incident_id, group_key, joined_at)"
            " VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (incident_id, group_key, now),
        )

    def _join(self, db: Tx, row: Row, note: Notification, now: float) -> None:
        """Add `note`'s alerts to the held incident, settle it, and maybe investigate again."""
        self._upsert_alerts(db, row["id"], note.alerts)
        if note.firing:
            if row["resolved_at"] is not None:
                db.execute("UPDATE incidents SET resolved_at = NULL WHERE id = ?", (row["id"],))
            self._maybe_rerun(db, row, note.firing)
        else:
            self._settle(db, row["id"], now)

    def _maybe_rerun(self, db: Tx, row: Row, alerts: list[Alert]) -> None:
        """Investigate again when an alert of a kind the report has not seen joins.

        The first alert to fire is not always the telling one (a traffic alert, then the
        error alert a minute later); the report is redone with every alert, and delivered
        again as an update. Repeats of alerts it has seen change nothing.
        """
        seen = set(load(row["investigated_names"]) or [])
        if row["status"] == "resolved" or not seen or {a.name for a in alerts} <= seen:
            return
        db.execute(
            "UPDATE incidents SET rerun = 1, attempts = 0, retry_at = 0,"
            " status = 'investigating' WHERE id = ?",
            (row["id"],),
        )

    def _hold_active(self, db: Tx, locks: Locks, group_key: str) -> Row | None:
        """Lock and return the group's unresolved incident (resolved if it was, meanwhile)."""
        # The subquery reads once; the row lock then waits for a writer of that incident and
        # returns its row as that writer left it, so the caller checks the status again.
        return db.execute(
            "SELECT id, status, resolved_at, investigated_names FROM incidents WHERE id ="
            " (SELECT i.id FROM incidents i JOIN incident_groups g ON g.incident_id = i.id"
            " WHERE g.group_key = ? AND i.status != 'resolved'"
            " ORDER BY i.opened_at DESC LIMIT 1)" + locks.for_update,
            (group_key,),
        ).fetchone()

    def _hold(self, db: Tx, locks: Locks, incident_id: str) -> Row | None:
        """Lock the incident's row; return it, or None if it is resolved by now."""
        row = db.execute(
            "SELECT id, status, resolved_at, investigated_names FROM incidents WHERE id = ?"
            + locks.for_update,
            (incident_id,),
        ).fetchone()
        return row if row is not None and row["status"] != "resolved" else None

    def _correlate(
        self, db: Tx, locks: Locks, alerts: list[Alert], now: float, topology: Topology
    ) -> Row | None:
        """Hold and return the recent unresolved incident nearest in the topology to `alerts`."""
        services = {s for a in alerts if (s := a.service(self.service_label))}
        if not services:
            return None
        near = hops(topology, services)
        marks = ", ".join("?" * len(near))
        rows = db.execute(
            "SELECT DISTINCT i.id, a.service, i.opened_at, i.rowid FROM incidents i"
            " JOIN incident_alerts a ON a.incident_id = i.id WHERE i.status != 'resolved'"
            f" AND i.opened_at >= ? AND a.service IN ({marks})"
            " ORDER BY i.opened_at DESC, i.rowid DESC",
            (now - self.correlate_window_s, *near),
        ).fetchall()
        # Nearest first, then most recent; a candidate resolved since the read is skipped.
        ranked = sorted((near[r["service"]], rank, r["id"]) for rank, r in enumerate(rows))
        for incident_id in dict.fromkeys(c[2] for c in ranked):
            row = self._hold(db, locks, incident_id)
            if row is not None:
                return row
        return None

    def _upsert_alerts(self, db: Tx, incident_id: str, alerts: list[Alert]) -> None:
        """Insert or update the alerts, many per statement (the last of a fingerprint wins)."""
        rows = list({a.fingerprint: alert_row(incident_id, a, self.service_label)
                     for a in alerts}.values())  # fmt: skip
        for start in range(0, len(rows), UPSERT_CHUNK):  # SQLite takes 32766 parameters
            chunk = rows[start : start + UPSERT_CHUNK]
            db.execute(
                "INSERT INTO incident_alerts (incident_id, fingerprint, alertname, service,"
                " labels, annotations, generator_url, status, starts_at, ends_at) VALUES "
                + ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(chunk))
                + " ON CONFLICT (incident_id, fingerprint) DO UPDATE SET status = excluded.status,"
                " labels = excluded.labels, annotations = excluded.annotations,"
                " generator_url = excluded.generator_url, starts_at = excluded.starts_at,"
                " ends_at = excluded.ends_at",
                [value for row in chunk for value in row],
            )

    def _settle(self, db: Tx, incident_id: str, now: float) -> None:
        """Resolve the incident when no alert fires; reopen its resolution when one does.

        While investigating, only resolved_at is recorded: the RCA still runs (a self-healed
        incident deserves an explanation) and `complete` closes it afterwards.
        """
        firing = db.execute(
            "SELECT count(*) FROM incident_alerts WHERE incident_id = ? AND status = 'firing'",
            (incident_id,),
        ).fetchone()[0]
        if firing:
            db.execute("UPDATE incidents SET resolved_at = NULL WHERE id = ?", (incident_id,))
            return
        db.execute(
            "UPDATE incidents SET resolved_at = coalesce(resolved_at, ?),"
            " status = CASE status WHEN 'open' THEN 'resolved' ELSE status END WHERE id = ?",
            (now, incident_id),
        )
