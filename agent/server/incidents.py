"""Durable incident queue: notifications, incidents and their alerts, with leases.

A notification is stored and routed (dedup, join its group's incident, correlate with a
neighbouring service's incident, or open a new one) in one transaction before the webhook is
answered. Workers lease incidents to investigate; a dead worker's lease expires and another
process picks the incident up. The store is a SQLite file, or PostgreSQL shared by several
`opsloop serve` replicas (claims then lock the row they take, `FOR UPDATE SKIP LOCKED`).
"""

from __future__ import annotations

import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsloop.agent.db.sqlite import alert_public, alert_row, dump, iso, load, open_database, summary
from opsloop.agent.rca.alerts import Alert, Notification

Tx = Any  # inside a transaction: a sqlite3.Connection, or an opsloop.agent.db.postgres.Session
STATUSES = ("investigating", "open", "resolved")
MAX_BACKOFF_S = 600.0


@dataclass(frozen=True)
class Accepted:
    """What `accept` did with a notification."""

    incident_id: str | None
    duplicate: bool
    created: bool


def hops(topology: dict[str, list[str]], start: Iterable[str], limit: int = 2) -> dict[str, int]:
    """Return services within `limit` calls of any of `start`, edges taken both ways."""
    graph: dict[str, set[str]] = {}
    for caller, callees in topology.items():
        for callee in callees:
            graph.setdefault(caller, set()).add(callee)
            graph.setdefault(callee, set()).add(caller)
    seen = {s: 0 for s in start}
    queue = deque(seen)
    while queue:
        node = queue.popleft()
        if seen[node] >= limit:
            continue
        for nxt in graph.get(node, ()):
            if nxt not in seen:
                seen[nxt] = seen[node] + 1
                queue.append(nxt)
    return seen


def failure_report(error: str, attempts: int) -> dict[str, Any]:
    """Return the report stored when an investigation gives up (readable like a real one)."""
    answer = f"Investigation failed after {attempts} attempt(s): {error}"
    return {"error": error, "attempts": attempts, "answer": answer, "hypotheses": [], "actions": []}


class IncidentStore:
    """Incidents opened from alert notifications, with a leased work queue."""

    def __init__(
        self,
        path: Path | str,
        *,
        topology: dict[str, list[str]] | None = None,
        correlate_window_s: float = 300.0,
        service_label: str = "service",
        max_attempts: int = 3,
        retry_backoff_s: float = 10.0,
        busy_timeout_s: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.topology = topology or {}
        self.correlate_window_s = correlate_window_s
        self.service_label = service_label
        self.max_attempts = max(1, max_attempts)
        self.retry_backoff_s = retry_backoff_s
        self.clock = clock
        self.db = open_database(path, busy_timeout_s=busy_timeout_s)  # file or postgresql://

    @classmethod
    def from_settings(cls, settings: Any, path: Path | str | None = None) -> IncidentStore:
        """Open the store named by `settings`: OPSLOOP_DATABASE_URL, else a SQLite file
        (default $OPSLOOP_HOME/state/incidents.sqlite)."""
        path = getattr(settings, "database_url", None) or path
        path = path or getattr(settings, "incident_store_path", None)
        return cls(
            path or settings.state_dir / "incidents.sqlite",
            topology=dict(getattr(settings, "topology", None) or {}),
            correlate_window_s=float(getattr(settings, "correlate_window_s", 300.0)),
            service_label=getattr(settings, "service_label", "service"),
            max_attempts=int(getattr(settings, "investigation_max_attempts", 3)),
        )

    def close(self) -> None:
        """Close every connection this store opened."""
        self.db.close()

    # -- intake -------------------------------------------------------------------------------

    def accept(self, notification: Notification, raw: bytes | str) -> Accepted:
        """Persist a notification and route it to an incident, all in one transaction."""
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        key = notification.dedup_key()
        now = self.clock()
        # Exclusive: routing reads other incidents (group, correlation), so two replicas
        # must not route at once or both would open an incident for one group.
        with self.db.tx(exclusive=True) as db:
            seen = db.execute(
                "SELECT incident_id FROM notifications WHERE dedup_key = ?", (key,)
            ).fetchone()
            if seen is not None:
                return Accepted(seen["incident_id"], duplicate=True, created=False)
            incident_id, created = self._route(db, notification, now)
            db.execute(
                "INSERT INTO notifications (dedup_key, received_at, source, group_key, status,"
                " incident_id, raw) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, now, notification.source, notification.group_key, notification.status,
                 incident_id, text),
            )  # fmt: skip
        return Accepted(incident_id, duplicate=False, created=created)

    def _route(self, db: Tx, note: Notification, now: float) -> tuple[str | None, bool]:
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
            incident_id = self._correlate(db, note.firing, now)
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

    def _correlate(self, db: Tx, alerts: list[Alert], now: float) -> str | None:
        """Return the recent unresolved incident nearest in the topology to `alerts`, if any."""
        services = {s for a in alerts if (s := a.service(self.service_label))}
        if not services:
            return None
        near = hops(self.topology, services)
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

    # -- work queue ---------------------------------------------------------------------------

    def claim(self, owner: str, lease_s: float) -> dict[str, Any] | None:
        """Lease the oldest incident waiting for investigation; return its work item."""
        now = self.clock()
        with self.db.tx() as db:
            while True:
                row = db.execute(
                    "SELECT id, attempts FROM incidents WHERE status = 'investigating'"
                    " AND (report IS NULL OR rerun = 1) AND lease_until < ? AND retry_at <= ?"
                    " ORDER BY opened_at, rowid LIMIT 1" + self.db.skip_locked,
                    (now, now),
                ).fetchone()
                if row is None:
                    return None
                if row["attempts"] >= self.max_attempts:
                    # Every lease expired unfinished: the investigation kills its worker.
                    error = f"investigation did not finish in {row['attempts']} attempts"
                    self._give_up(db, row["id"], error)
                    continue
                names = db.execute(
                    "SELECT DISTINCT alertname FROM incident_alerts WHERE incident_id = ?",
                    (row["id"],),
                ).fetchall()
                db.execute(
                    "UPDATE incidents SET lease_owner = ?, lease_until = ?,"
                    " attempts = attempts + 1, rerun = 0, investigated_names = ? WHERE id = ?",
                    (owner, now + lease_s, dump(sorted(n[0] for n in names)), row["id"]),
                )
                return self._work_item(db, row["id"])

    def renew(self, incident_id: str, owner: str, lease_s: float) -> bool:
        """Extend a lease `owner` still holds."""
        with self.db.tx() as db:
            cur = db.execute(
                "UPDATE incidents SET lease_until = ? WHERE id = ? AND lease_owner = ?"
                " AND status = 'investigating'",
                (self.clock() + lease_s, incident_id, owner),
            )
            return cur.rowcount == 1

    def complete(self, incident_id: str, owner: str, report: dict[str, Any]) -> bool:
        """Store the report if `owner` still holds the lease; return whether it did."""
        hypotheses = report.get("hypotheses") or []
        top = hypotheses[0] if isinstance(hypotheses, list) and hypotheses else None
        if report.get("false_alarm"):  # no root cause to show: nothing is broken
            top = None
        with self.db.tx() as db:
            cur = db.execute(
                "UPDATE incidents SET report = ?, top_hypothesis = ?, last_error = NULL,"
                " status = CASE WHEN resolved_at IS NOT NULL THEN 'resolved'"
                " WHEN rerun = 1 THEN 'investigating' ELSE 'open' END,"
                # A redone report (new alerts joined) goes out again, as an update.
                " report_delivered_at = NULL, lease_owner = NULL, lease_until = 0"
                " WHERE id = ? AND lease_owner = ? AND status = 'investigating'",
                (dump(report), None if top is None else dump(top), incident_id, owner),
            )
            return cur.rowcount == 1

    def fail(self, incident_id: str, owner: str, error: str) -> str:
        """Release a failed attempt: "retry" later with backoff, "failed" for good, or "lost"."""
        with self.db.tx() as db:
            row = db.execute(
                "SELECT attempts FROM incidents WHERE id = ? AND lease_owner = ?"
                " AND status = 'investigating'",
                (incident_id, owner),
            ).fetchone()
            if row is None:
                return "lost"
            if row["attempts"] >= self.max_attempts:
                self._give_up(db, incident_id, error)
                return "failed"
            delay = min(self.retry_backoff_s * 2 ** (row["attempts"] - 1), MAX_BACKOFF_S)
            db.execute(
                "UPDATE incidents SET lease_owner = NULL, lease_until = 0, retry_at = ?,"
                " last_error = ? WHERE id = ?",
                (self.clock() + delay, error, incident_id),
            )
            return "retry"

    def _give_up(self, db: Tx, incident_id: str, error: str) -> None:
        attempts = db.execute(
            "SELECT attempts FROM incidents WHERE id = ?", (incident_id,)
        ).fetchone()[0]
        db.execute(
            "UPDATE incidents SET report = ?, last_error = ?, lease_owner = NULL,"
            " lease_until = 0, status = CASE WHEN resolved_at IS NULL THEN 'open'"
            " ELSE 'resolved' END WHERE id = ?",
            (dump(failure_report(error, attempts)), error, incident_id),
        )

    def leases(self) -> list[tuple[str, str]]:
        """Return (incident id, owner) for every investigation currently leased."""
        rows = self.db.conn().execute(
            "SELECT id, lease_owner FROM incidents WHERE status = 'investigating'"
            " AND lease_owner IS NOT NULL AND lease_until >= ?",
            (self.clock(),),
        )
        return [(r["id"], r["lease_owner"]) for r in rows]

    def release(self, incident_id: str, owner: str) -> bool:
        """End `owner`'s lease now (its process is known dead) so the incident is resumed."""
        with self.db.tx() as db:
            cur = db.execute(
                "UPDATE incidents SET lease_owner = NULL, lease_until = 0 WHERE id = ?"
                " AND lease_owner = ? AND status = 'investigating'",
                (incident_id, owner),
            )
            return cur.rowcount == 1

    def mark_delivered(self, incident_id: str) -> bool:
        """Record that the report went out; True only the first time (at most one post)."""
        with self.db.tx() as db:
            cur = db.execute(
                "UPDATE incidents SET report_delivered_at = ? WHERE id = ?"
                " AND report IS NOT NULL AND report_delivered_at IS NULL",
                (self.clock(), incident_id),
            )
            return cur.rowcount == 1

    def mark_resolved_notified(self, incident_id: str) -> bool:
        """Record the resolution announcement; True only once, and only after the report."""
        with self.db.tx() as db:
            cur = db.execute(
                "UPDATE incidents SET resolved_notified_at = ? WHERE id = ?"
                " AND status = 'resolved' AND report_delivered_at IS NOT NULL"
                " AND resolved_notified_at IS NULL",
                (self.clock(), incident_id),
            )
            return cur.rowcount == 1

    def pending_deliveries(self, limit: int = 20) -> list[str]:
        """Return incidents whose report is stored but not yet delivered (e.g. after a crash)."""
        rows = self.db.conn().execute(
            "SELECT id FROM incidents WHERE report IS NOT NULL AND report_delivered_at IS NULL"
            " ORDER BY opened_at LIMIT ?",
            (limit,),
        )
        return [r["id"] for r in rows]

    def pending_resolutions(self, limit: int = 20) -> list[str]:
        """Return resolved incidents whose resolution has not been announced yet."""
        rows = self.db.conn().execute(
            "SELECT id FROM incidents WHERE status = 'resolved' AND resolved_notified_at IS NULL"
            " AND report_delivered_at IS NOT NULL ORDER BY opened_at LIMIT ?",
            (limit,),
        )
        return [r["id"] for r in rows]

    # -- reading ------------------------------------------------------------------------------

    def queue_depth(self) -> int:
        """Return how many incidents wait for, or are under, investigation."""
        sql = "SELECT count(*) FROM incidents WHERE status = 'investigating'"
        return int(self.db.conn().execute(sql).fetchone()[0])

    def counts(self) -> dict[str, int]:
        """Return the number of incidents per status (every status present)."""
        rows = self.db.conn().execute("SELECT status, count(*) FROM incidents GROUP BY status")
        return {s: 0 for s in STATUSES} | {r[0]: int(r[1]) for r in rows}

    def list_incidents(self, limit: int = 50, status: str | None = None) -> list[dict[str, Any]]:
        """Return incidents newest first in the DESIGN.md shape."""
        where, args = ("WHERE i.status = ?", [status]) if status else ("", [])
        rows = self.db.conn().execute(
            "SELECT i.*, (SELECT count(*) FROM incident_alerts a WHERE a.incident_id = i.id)"
            f" AS n_alerts FROM incidents i {where} ORDER BY i.opened_at DESC, i.rowid DESC"
            " LIMIT ?",
            [*args, limit],
        )
        return [summary(r) for r in rows]

    def get(self, incident_id: str) -> dict[str, Any] | None:
        """Return one incident: the list fields plus group keys, alerts and the report."""
        with self.db.tx(write=False) as db:
            row = db.execute(
                "SELECT i.*, (SELECT count(*) FROM incident_alerts a WHERE a.incident_id = i.id)"
                " AS n_alerts FROM incidents i WHERE i.id = ?",
                (incident_id,),
            ).fetchone()
            if row is None:
                return None
            item = self._work_item(db, incident_id)
        return {
            **summary(row),
            "group_keys": item["group_keys"],
            "alerts": item["alerts"],
            "attempts": row["attempts"],
            "last_error": row["last_error"],
            "report": load(row["report"]),
            "report_delivered_at": iso(row["report_delivered_at"]),
        }

    def _work_item(self, db: Tx, incident_id: str) -> dict[str, Any]:
        """Return the dict an investigator receives."""
        row = db.execute("SELECT * FROM incidents WHERE id = ?", (incident_id,)).fetchone()
        groups = db.execute(
            "SELECT group_key FROM incident_groups WHERE incident_id = ? ORDER BY joined_at, rowid",
            (incident_id,),
        )
        alerts = db.execute(
            "SELECT * FROM incident_alerts WHERE incident_id = ? ORDER BY starts_at, rowid",
            (incident_id,),
        )
        return {
            "id": incident_id,
            "group_key": row["group_key"],
            "group_keys": [g["group_key"] for g in groups],
            "alerts": [alert_public(a) for a in alerts],
            "opened_at": iso(row["opened_at"]),
            "attempt": row["attempts"],
        }
