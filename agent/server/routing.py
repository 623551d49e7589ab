"""Route a notification inside the intake transaction: dedup is the caller's; here it joins
its group's open incident, correlates with a neighbouring service's, or opens a new one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from opsloop.agent.db.sqlite import load
from opsloop.agent.rca.alerts import Alert, Notification
from opsloop.agent.server.schema import alert_row
from opsloop.tools.callgraph import Topology, hops

Tx = Any  # inside a transaction: a sqlite3.Connection, or an opsloop.agent.db.postgres.Session


@dataclass(frozen=True)
class Router:
    """How notifications become incidents: by group, else by call-graph distance in time."""

    service_label: str = "service"
    correlate_window_s: float = 300.0

    def route(
        self, db: Tx, note: Notification, now: float, topology: Topology
    ) -> tuple[str | None, bool]:
        """Return (incident id, created) for `note`, writing its alerts and the incident's state."""
        incident_id = self._active_for_group(db, note.group_key)
        created = False
        if incident_id is None:
            if not note.firing:  # resolved news about a group with nothing open: keep it only
                row = db.execute(
                    "SELECT incident_id FROM incident_groups WHERE group_key = ?"
                    " ORDER BY joined_at DESC LIMIT 1",
                    (note.group_key,),
                ).fetchone()
                return (row["incident_id"] if row else None), False
            incident_id = self._correlate(db, note.firing, now, topology)
            if incident_id is None:
                incident_id, created = "inc-" + secrets.token_hex(6), True
                db.execute(
                    "INSERT INTO incidents (id, group_key, status, opened_at)"
                    " VALUES (?, ?, 'investigating', ?)",
                    (incident_id, note.group_key, now),
                )
            db.execute(
                "INSERT INTO incident_groups (incident_id, group_key, joined_at)"
                " VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (incident_id, note.group_key, now),
            )
        self._upsert_alerts(db, incident_id, note.alerts)
        self._settle(db, incident_id, now)
        if not created and note.firing:
            self._maybe_rerun(db, incident_id, note.firing)
        return incident_id, created

    def _maybe_rerun(self, db: Tx, incident_id: str, alerts: list[Alert]) -> None:
        """Investigate again when an alert of a kind the report has not seen joins.

        The first alert to fire is not always the telling one (a traffic alert, then the
        error alert a minute later); the report is redone with every alert, and delivered
        again as an update. Repeats of alerts it has seen change nothing.
        """
        row = db.execute(
            "SELECT status, investigated_names, attempts FROM incidents WHERE id = ?",
            (incident_id,),
        ).fetchone()
        seen = set(load(row["investigated_names"]) or [])
        if row["status"] == "resolved" or not seen or {a.name for a in alerts} <= seen:
            return
        db.execute(
            "UPDATE incidents SET rerun = 1, attempts = 0, retry_at = 0,"
            " status = 'investigating' WHERE id = ?",
            (incident_id,),
        )

    def _active_for_group(self, db: Tx, group_key: str) -> str | None:
        row = db.execute(
            "SELECT i.id FROM incidents i JOIN incident_groups g ON g.incident_id = i.id"
            " WHERE g.group_key = ? AND i.status != 'resolved'"
            " ORDER BY i.opened_at DESC LIMIT 1",
            (group_key,),
        ).fetchone()
        return row["id"] if row else None

    def _correlate(self, db: Tx, alerts: list[Alert], now: float, topology: Topology) -> str | None:
        """Return the recent unresolved incident nearest in the topology to `alerts`, if any."""
        services = {s for a in alerts if (s := a.service(self.service_label))}
        if not services:
            return None
        near = hops(topology, services)
        rows = db.execute(
            "SELECT i.id, a.service FROM incidents i JOIN incident_alerts a"
            " ON a.incident_id = i.id WHERE i.status != 'resolved' AND i.opened_at >= ?"
            " AND a.service IS NOT NULL ORDER BY i.opened_at DESC, i.rowid DESC",
            (now - self.correlate_window_s,),
        ).fetchall()
        best: tuple[int, int, str] | None = None  # (distance, recency rank, id)
        for rank, row in enumerate(rows):
            distance = near.get(row["service"])
            if distance is not None and (best is None or (distance, rank) < best[:2]):
                best = (distance, rank, row["id"])
        return best[2] if best else None

    def _upsert_alerts(self, db: Tx, incident_id: str, alerts: list[Alert]) -> None:
        db.executemany(
            "INSERT INTO incident_alerts (incident_id, fingerprint, alertname, service, labels,"
            " annotations, generator_url, status, starts_at, ends_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (incident_id, fingerprint) DO UPDATE SET status = excluded.status,"
            " labels = excluded.labels, annotations = excluded.annotations,"
            " generator_url = excluded.generator_url, starts_at = excluded.starts_at,"
            " ends_at = excluded.ends_at",
            [alert_row(incident_id, a, self.service_label) for a in alerts],
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
