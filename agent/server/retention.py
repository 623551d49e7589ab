"""Retention: find what is old enough to go and prune it, once or every few minutes.

What an open incident or a pending approval still needs always stays: their notifications,
graph checkpoints, answer records and Slack links. Incidents themselves stay unless
`incidents_days` is set, and the approvals audit log is never pruned.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from opsloop.agent.db.checkpoints import checkpoint_threads, open_checkpointer
from opsloop.agent.db.sqlite import Database
from opsloop.agent.server import prune
from opsloop.agent.server.retention_settings import Retention

log = logging.getLogger(__name__)


@dataclass
class Stores:
    """The databases one pruning round works on (None: not used here)."""

    incidents: Any
    checkpoints: BaseCheckpointSaver | None = None
    audit: Any = None
    answers: Any = None
    jobs: Any = None
    slack: Any = None
    pagerduty: Any = None
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        """Close what `open_stores` opened (never a database the caller passed in)."""
        for close in self.closers:
            try:
                close()
            except Exception:
                log.exception("retention: could not close a store")
        self.closers = []


def open_stores(settings: Any, incidents: Any = None, checkpoints: Any = None) -> Stores:
    """Open the databases `settings` name; a local file not created yet has nothing to prune.

    `incidents` and `checkpoints` reuse the server's own (one SQLite writer, not two).
    """
    from opsloop.agent.approvals.audit import AuditLog
    from opsloop.agent.server.pagerduty_notes import NoteOutbox
    from opsloop.agent.server.schema import open_incidents_db
    from opsloop.agent.slack.store import SlackStore
    from opsloop.agent.stores.answers import SCHEMA as ANSWERS
    from opsloop.tools.backends.jobs import SCHEMA as JOBS

    shared, state = getattr(settings, "database_url", None), Path(settings.state_dir)

    def where(name: str, explicit: Any = None) -> Any:
        path = Path(explicit) if explicit else state / name
        return shared or (path if path.exists() else None)

    closers: list[Callable[[], None]] = []
    if incidents is None:
        target = where("incidents.sqlite", getattr(settings, "incident_store_path", None))
        incidents = open_incidents_db(target) if target else None
        if incidents is not None:
            closers.append(incidents.close)
    stores = Stores(incidents, closers=closers)
    if checkpoints is not None:
        stores.checkpoints = checkpoints
    elif target := where("checkpoints.sqlite"):
        stores.checkpoints, close = open_checkpointer(target)
        closers.append(close)
    if target := where("audit.sqlite"):
        stores.audit = AuditLog(target).db
    # In a shared database, Slack's and PagerDuty's tables exist only where they are set up.
    slack_on = getattr(settings, "slack_bot_token", None) is not None
    if (target := where("slack.sqlite")) and (slack_on or not shared):
        stores.slack = SlackStore(target).db
    notes_on = getattr(settings, "pagerduty_api_token", None) is not None
    if (target := where("pagerduty.sqlite")) and (notes_on or not shared):
        stores.pagerduty = NoteOutbox(target).db
    # Answer records and jobs are always local SQLite files.
    if (path := state / "answers.sqlite").exists():
        stores.answers = Database(path, 30.0, ANSWERS)
    if (path := state / "jobs.sqlite").exists():
        stores.jobs = Database(path, 30.0, JOBS)
    closers += [db.close for db in (stores.audit, stores.slack, stores.pagerduty) if db]
    closers += [db.close for db in (stores.answers, stores.jobs) if db]
    return stores


class Pruner:
    """One pruning round over `stores` by the ages in `policy`, timed by `clock`."""

    def __init__(
        self,
        stores: Stores,
        policy: Retention,
        *,
        clock: Callable[[], float] = time.time,
        pause_s: float = 0.0,
    ) -> None:
        self.stores, self.policy, self.clock, self.pause_s = stores, policy, clock, pause_s
        self.errors: dict[str, str] = {}  # what the last round could not prune, and why
        self._indexed = False

    def run(self, dry_run: bool = False) -> dict[str, int]:
        """Prune (or with `dry_run` only count) what is past its age; return counts by kind."""
        stores, now, batch = self.stores, self.clock(), self.policy.batch
        counts: dict[str, int] = {}
        self.errors = {}
        if not self._indexed and not dry_run:
            self._step("indexes", self._ensure_indexes)
        found = self._step("audit", prune.pending_approvals, stores.audit)
        open_ids = (
            set()
            if stores.incidents is None
            else self._step("incidents", prune.open_incidents, stores.incidents)
        )
        if found is None or open_ids is None:  # cannot tell what is in use: prune nothing
            return counts
        pending = sorted(found)
        keep = sorted(open_ids | found)

        def cutoff(name: str) -> float | None:
            age = self.policy.age_s(name)
            return None if age is None else now - age

        pause = self.pause_s
        if stores.incidents is not None and (at := cutoff("notifications")) is not None:
            counts["notifications"] = self._step(
                "notifications", prune.notifications, stores.incidents, at, pending, batch,
                dry_run, pause,
            )  # fmt: skip
        if stores.checkpoints is not None and (at := cutoff("checkpoints")) is not None:
            counts["checkpoints"] = self._step("checkpoints", self._checkpoints, at, keep, dry_run)
        if stores.answers is not None and (at := cutoff("answers")) is not None:
            found = self._step(
                "answers", prune.answers, stores.answers, at, keep, batch, dry_run, pause
            )
            counts.update(found or {})
        if stores.jobs is not None and (at := cutoff("jobs")) is not None:
            counts["jobs"] = self._step("jobs", prune.jobs, stores.jobs, at, batch, dry_run, pause)
        if stores.slack is not None:
            slack = self._step(
                "slack", prune.slack, stores.slack, events_cutoff=cutoff("slack_events"),
                links_cutoff=cutoff("deliveries"), keep=keep, batch=batch, dry_run=dry_run,
                pause_s=pause,
            )  # fmt: skip
            counts.update(slack or {})
        if stores.pagerduty is not None and (at := cutoff("deliveries")) is not None:
            counts["pagerduty_notes"] = self._step(
                "pagerduty_notes", prune.pagerduty_notes, stores.pagerduty, at, batch, dry_run,
                pause,
            )  # fmt: skip
        if stores.incidents is not None and (at := cutoff("incidents")) is not None:
            counts["incidents"] = self._step(
                "incidents", prune.resolved_incidents, stores.incidents, at, pending, batch,
                dry_run, pause,
            )  # fmt: skip
        return {k: int(v or 0) for k, v in counts.items()}

    def _step(self, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one part; a failing store is logged and skipped, the others still pruned."""
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            self.errors[name] = f"{type(exc).__name__}: {exc}"
            log.warning("retention: cannot prune %s: %s", name, exc)
            return None

    def _ensure_indexes(self) -> None:
        if self.stores.incidents is not None:
            prune.ensure_indexes(self.stores.incidents, prune.INCIDENT_INDEXES)
        if self.stores.answers is not None:
            prune.ensure_indexes(self.stores.answers, prune.ANSWER_INDEXES)
        self._indexed = True

    def _checkpoints(self, cutoff: float, keep: Sequence[str], dry_run: bool) -> int:
        """Delete the graph threads whose incident resolved, or last answer came, before cutoff."""
        saver = self.stores.checkpoints
        assert saver is not None
        kept = set(keep)
        stale = self._stale([t for t in checkpoint_threads(saver) if t not in kept], cutoff)
        if dry_run:
            return len(stale)
        for thread in stale:
            saver.delete_thread(thread)
            if self.pause_s:
                time.sleep(self.pause_s)
        return len(stale)

    def _stale(self, threads: list[str], cutoff: float) -> list[str]:
        """Return the threads past `cutoff`; a thread of unknown age stays."""
        incidents: dict[str, tuple[str, float | None]] = {}
        for part in prune.chunks(threads if self.stores.incidents is not None else []):
            rows = self.stores.incidents.conn().execute(
                "SELECT id, status, resolved_at FROM incidents"
                f" WHERE id IN ({', '.join('?' * len(part))})",
                list(part),
            )
            incidents.update({r[0]: (r[1], r[2]) for r in rows})
        stale = [
            t
            for t, (status, resolved_at) in incidents.items()
            if status == "resolved" and resolved_at is not None and resolved_at < cutoff
        ]
        others = [t for t in threads if t not in incidents]  # Slack, CLI conversations
        if others and self.stores.answers is not None:
            stamp = prune.iso_utc(cutoff)
            for part in prune.chunks(others):
                rows = self.stores.answers.conn().execute(
                    "SELECT thread_id FROM answers"
                    f" WHERE thread_id IN ({', '.join('?' * len(part))})"
                    " GROUP BY thread_id HAVING max(at) < ?",
                    [*part, stamp],
                )
                stale += [r[0] for r in rows]
        return stale


class RetentionService:
    """Run a Pruner every `interval_s` in a daemon thread; start()/stop() for the lifespan.

    The pruner (and the stores it opens) is made on first use, so a server built but never
    started opens nothing.
    """

    def __init__(self, make: Callable[[], Pruner], interval_s: float, first_s: float = 60.0):
        self.make, self.interval_s = make, interval_s
        self.first_s = min(first_s, interval_s)  # soon after start, then every interval
        self.rounds = 0
        self.last: dict[str, int] = {}
        self.listeners: list[Callable[[dict[str, int]], None]] = []
        self._pruner: Pruner | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def pruner(self) -> Pruner:
        """Return the pruner, made on first use."""
        if self._pruner is None:
            self._pruner = self.make()
        return self._pruner

    def start(self) -> None:
        """Start the background thread (idempotent)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="opsloop-retention", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the batch in progress and close the stores it opened."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._pruner is not None:
            self._pruner.stores.close()
            self._pruner = None

    def export(self, registry: Any) -> None:
        """Count what each round prunes on `registry`: `opsloop_retention_pruned_total{kind}`."""
        from prometheus_client import Counter

        pruned = Counter(
            "opsloop_retention_pruned", "Rows pruned by retention (checkpoints: threads), by kind.",
            ["kind"], registry=registry,
        )  # fmt: skip
        for kind in ("notifications", "checkpoints", "answers", "jobs", "slack_events"):
            pruned.labels(kind)  # zero series up front, as the app's other counters

        def count(counts: dict[str, int]) -> None:
            for kind, n in counts.items():
                pruned.labels(kind).inc(n)

        self.listeners.append(count)

    def run_once(self) -> dict[str, int]:
        """Prune now; tell the listeners what went."""
        self.last = self.pruner.run()
        self.rounds += 1
        pruned = {k: v for k, v in self.last.items() if v}
        if pruned:
            log.info("retention: pruned %s", ", ".join(f"{v} {k}" for k, v in pruned.items()))
        for listener in self.listeners:
            listener(self.last)
        return self.last

    def _loop(self) -> None:
        wait = self.first_s
        while not self._stop.wait(wait):
            wait = self.interval_s
            try:
                self.run_once()
            except Exception:  # a broken store must not end the thread; try next round
                log.exception("retention round failed")


def retention_service(
    settings: Any,
    incidents: Any,
    checkpoints: Any = None,
    clock: Callable[[], float] = time.time,
) -> RetentionService | None:
    """Return the background pruning for `opsloop serve`, or None when it is turned off."""
    policy: Retention = getattr(settings, "retention", None) or Retention()
    if not policy.enabled:
        return None

    def make() -> Pruner:
        stores = open_stores(settings, incidents, checkpoints)
        return Pruner(stores, policy, clock=clock, pause_s=0.01)

    return RetentionService(make, policy.interval_s)
