"""Durable incident queue: notifications, incidents and their alerts, with leases.

A notification is stored and routed (dedup, join its group's incident, correlate with a
neighbouring service's incident, or open a new one) in one transaction before the webhook is
answered. Workers lease incidents to investigate; a dead worker's lease expires and another
process picks the incident up. The store is a SQLite file, or PostgreSQL shared by several
`opsloop serve` replicas (claims then lock the row they take, `FOR UPDATE SKIP LOCKED`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from opsloop.agent.db.group_commit import GroupCommit
from opsloop.agent.db.sqlite import dump, iso, load
from opsloop.agent.rca.alerts import Notification
from opsloop.agent.server.intake import Accepted, Intake, Intaker
from opsloop.agent.server.routing import Router, Tx
from opsloop.agent.server.schema import alert_public, open_incidents_db, summary
from opsloop.tools.callgraph import CallGraph, Topology

STATUSES = ("investigating", "open", "resolved")
MAX_BACKOFF_S = 600.0


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
        topology: Topology | CallGraph | None = None,
        correlate_window_s: float = 300.0,
        service_label: str = "service",
        max_attempts: int = 3,
        retry_backoff_s: float = 10.0,
        busy_timeout_s: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        # Correlation walks the same call graph as RCA: configured, else discovered.
        self.call_graph = topology if isinstance(topology, CallGraph) else CallGraph(topology)
        self.router = Router(service_label, correlate_window_s)
        self.max_attempts = max(1, max_attempts)
        self.retry_backoff_s = retry_backoff_s
        self.clock = clock
        self.db = open_incidents_db(path, busy_timeout_s)  # file or postgresql://
        self.intaker = Intaker(self.db, self.router)
        # One writer in SQLite: concurrent notifications share its transaction and commit.
        # PostgreSQL routes them side by side under per-group locks instead.
        self.group_commit: GroupCommit[Intake, Accepted] | None = (
            GroupCommit(self.accept_batch) if self.db.single_writer else None
        )

    @classmethod
    def from_settings(
        cls, settings: Any, path: Path | str | None = None, call_graph: CallGraph | None = None
    ) -> IncidentStore:
        """Open the store named by `settings`: OPSLOOP_DATABASE_URL, else a SQLite file
        (default $OPSLOOP_HOME/state/incidents.sqlite). Correlation uses `call_graph`, else
        the configured topology."""
        path = getattr(settings, "database_url", None) or path
        path = path or getattr(settings, "incident_store_path", None)
        return cls(
            path or settings.state_dir / "incidents.sqlite",
            topology=call_graph or dict(getattr(settings, "topology", None) or {}),
            correlate_window_s=float(getattr(settings, "correlate_window_s", 300.0)),
            service_label=getattr(settings, "service_label", "service"),
            max_attempts=int(getattr(settings, "investigation_max_attempts", 3)),
        )

    def close(self) -> None:
        """Close every connection this store opened."""
        self.db.close()

    # -- intake -------------------------------------------------------------------------------

    def accept(self, notification: Notification, raw: bytes | str) -> Accepted:
        """Persist a notification and route it to an incident; return once it is committed."""
        item = self.prepare(notification, raw)
        if self.group_commit is not None:
            return self.group_commit.submit(item)
        return self.intaker.one(item, self.call_graph.edges())

    def prepare(self, notification: Notification, raw: bytes | str) -> Intake:
        """Return what `accept_batch` stores for a notification received now."""
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        return Intake(notification, text, notification.dedup_key(), self.clock())

    def accept_batch(self, items: list[Intake]) -> list[Accepted | BaseException]:
        """Store notifications in one transaction (group commit); one failing fails alone."""
        topology = self.call_graph.edges()  # may ask Prometheus: not inside the transaction
        return self.intaker.batch(items, topology)

    # -- work queue ---------------------------------------------------------------------------

    def claim(self, owner: str, lease_s: float) -> dict[str, Any] | None:
        """Lease the oldest incident waiting for investigation; return its work item."""
        now = self.clock()
        if not self._claimable(now):  # a plain read: idle polls take no write lock
            return None
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

    def _claimable(self, now: float) -> bool:
        sql = (
            "SELECT 1 FROM incidents WHERE status = 'investigating'"
            " AND (report IS NULL OR rerun = 1) AND lease_until < ? AND retry_at <= ? LIMIT 1"
        )
        return self.db.conn().execute(sql, (now, now)).fetchone() is not None

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
