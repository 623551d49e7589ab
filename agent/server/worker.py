"""Investigation workers: lease incidents from the store, run the investigator, deliver once."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

from opsloop.agent.server.incidents import IncidentStore

log = logging.getLogger(__name__)

Investigator = Callable[[dict[str, Any]], dict[str, Any]]
ReportHook = Callable[[dict[str, Any], dict[str, Any]], None]
ResolvedHook = Callable[[dict[str, Any]], None]
Listener = Callable[[str, float], None]  # (outcome, seconds) per finished attempt
_LIVE_TAGS: set[str] = set()  # pools running in this process, by the tag in their owner id


class WorkerPool:
    """Threads that investigate incidents waiting in an IncidentStore.

    Each claim takes a lease that a keeper thread renews while the investigation runs, so a
    slow investigation is never taken twice, while a crashed process's incidents are taken over
    once its leases expire. Reports are posted (`on_report`) only if `mark_delivered` says so.
    """

    def __init__(
        self,
        store: IncidentStore,
        investigator: Investigator,
        *,
        workers: int = 2,
        lease_s: float = 600.0,
        deadline_s: float | None = None,
        on_report: ReportHook | None = None,
        on_resolved: ResolvedHook | None = None,
        poll_s: float = 0.2,
        sweep_s: float = 5.0,
    ) -> None:
        self.store = store
        self.investigator = investigator
        self.workers = max(1, workers)
        self.lease_s = lease_s
        self.deadline_s = deadline_s
        self.on_report = on_report
        self.on_resolved = on_resolved
        self.poll_s = poll_s
        self.sweep_s = sweep_s
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.outcomes: Counter[str] = Counter()  # completed | retry | failed | lost
        self.listeners: list[Listener] = []
        self.idle_polls = 0  # loops that found no work: shows the pool is alive and idle
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._inflight: dict[str, str] = {}  # incident id → lease owner
        self._started: dict[str, float] = {}  # incident id → monotonic start of its attempt
        self._retired: set[str] = set()  # owners whose thread hung past the deadline
        self._replacements = 0
        self._last_sweep = 0.0
        self._sweep_due = True  # deliver what a crashed run left behind, right away

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker threads and the lease keeper (idempotent)."""
        if self._threads:
            return
        self._stop.clear()
        self._sweep_due = True
        try:
            self._release_dead_owners()
        except Exception:  # their leases expire anyway; only the takeover is slower
            log.exception("could not check the leases of earlier processes")
        _LIVE_TAGS.add(self.owner.rsplit(":", 1)[1])
        for i in range(self.workers):
            self._spawn(f"opsloop-worker-{i}", self._run, f"{self.owner}:{i}")
        self._spawn("opsloop-lease-keeper", self._keep_leases)

    def _release_dead_owners(self) -> None:
        """Resume at once what a crashed process on this host held, not after its lease."""
        host, pid, _tag = self.owner.rsplit(":", 2)
        for incident_id, owner in self.store.leases():
            parts = owner.rsplit(":", 3)
            if len(parts) != 4 or parts[0] != host or not parts[1].isdigit():
                continue  # another host, or not a pool's lease: only its expiry tells
            # Our own pid with a tag no live pool here uses is a predecessor's (containers
            # restart as pid 1 again); any other pid is dead if the kernel does not know it.
            other = int(parts[1])
            dead = parts[2] not in _LIVE_TAGS if other == int(pid) else not _pid_alive(other)
            if dead and self.store.release(incident_id, owner):
                log.info("resuming %s: its worker %s is gone", incident_id, owner)

    def _spawn(self, name: str, target: Callable[..., None], *args: Any) -> None:
        # Daemon threads: a hung investigator must not keep the process alive on exit;
        # its lease simply expires and another process resumes the incident.
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> bool:
        """Ask the threads to finish their current incident; return True if all exited."""
        self._stop.set()
        self._wake.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        stopped = not any(t.is_alive() for t in self._threads)
        if stopped:
            self._threads = []
            _LIVE_TAGS.discard(self.owner.rsplit(":", 1)[1])
        return stopped

    def wake(self) -> None:
        """Look for work now (called when a notification was accepted)."""
        self._sweep_due = True  # it may have resolved an incident: announce without delay
        self._wake.set()

    @property
    def started(self) -> bool:
        """Return True between start() and a successful stop()."""
        return bool(self._threads)

    @property
    def alive(self) -> int:
        """Return how many worker threads are running."""
        return sum(t.is_alive() for t in self._threads if t.name.startswith("opsloop-worker"))

    @property
    def busy(self) -> int:
        """Return how many investigations are running in this pool."""
        with self._lock:
            return len(self._inflight)

    # -- work ---------------------------------------------------------------------------------

    def _run(self, owner: str) -> None:
        while not self._stop.is_set() and owner not in self._retired:
            try:
                self._sweep()
                incident = self.store.claim(owner, self.lease_s)
                if incident is not None:
                    self._investigate(owner, incident)
                    continue
                self.idle_polls += 1
            except Exception:  # a broken store must not end the thread; retry after a pause
                log.exception("worker %s: error while looking for work", owner)
            self._wake.wait(self.poll_s)
            self._wake.clear()

    def _investigate(self, owner: str, incident: dict[str, Any]) -> None:
        incident_id = incident["id"]
        started = time.monotonic()
        with self._lock:
            self._inflight[incident_id] = owner
            self._started[incident_id] = started
        try:
            report = self.investigator(incident)
            if not isinstance(report, dict):
                raise TypeError(f"investigator returned {type(report).__name__}, not a dict")
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            outcome = self.store.fail(incident_id, owner, error)
            log.warning("investigation %s attempt %s: %s → %s", incident_id,
                        incident.get("attempt"), error, outcome)  # fmt: skip
        else:
            outcome = "completed" if self.store.complete(incident_id, owner, report) else "lost"
        finally:
            with self._lock:
                if self._inflight.get(incident_id) == owner:
                    del self._inflight[incident_id]
                    del self._started[incident_id]
        if owner in self._retired:
            log.info("investigation %s returned after its deadline; its result is dropped",
                     incident_id)  # fmt: skip
            return
        seconds = time.monotonic() - started
        self._record(outcome, seconds)
        log.info("investigation %s %s in %.1fs%s", incident_id, outcome, seconds,
                 _top(self.store, incident_id) if outcome == "completed" else "")  # fmt: skip
        if outcome in ("completed", "failed"):
            self.deliver(incident_id)

    def _record(self, outcome: str, seconds: float) -> None:
        with self._lock:
            self.outcomes[outcome] += 1
        for listener in self.listeners:
            try:
                listener(outcome, seconds)
            except Exception:
                log.exception("metrics listener failed")

    # -- delivery -----------------------------------------------------------------------------

    def deliver(self, incident_id: str) -> None:
        """Post the report once, then the resolution once (if the incident is resolved)."""
        if self.store.mark_delivered(incident_id):
            incident = self.store.get(incident_id)
            if incident is not None and self.on_report is not None:
                self._call(self.on_report, incident, incident["report"])
        self.announce_resolved(incident_id)

    def announce_resolved(self, incident_id: str) -> None:
        """Fire on_resolved once, after the report; a no-op if not resolved or done already."""
        if self.store.mark_resolved_notified(incident_id):
            incident = self.store.get(incident_id)
            if incident is not None and self.on_resolved is not None:
                self._call(self.on_resolved, incident)

    def _call(self, hook: Callable[..., None], *args: Any) -> None:
        # Marked first, posted second: a crash in between loses one post rather than
        # posting twice, and a failing hook is logged, not retried.
        try:
            hook(*args)
        except Exception:
            log.exception("hook %s failed for incident %s", getattr(hook, "__name__", hook),
                          args[0].get("id"))  # fmt: skip

    def _sweep(self) -> None:
        """Deliver reports and resolutions left pending (by a crash, or resolved meanwhile)."""
        now = time.monotonic()
        with self._lock:  # one worker sweeps per wake, not every worker
            if not self._sweep_due and now - self._last_sweep < self.sweep_s:
                return
            self._sweep_due, self._last_sweep = False, now
        for incident_id in self.store.pending_deliveries():
            self.deliver(incident_id)
        for incident_id in self.store.pending_resolutions():
            self.announce_resolved(incident_id)

    def _keep_leases(self) -> None:
        # Renew at a third of the lease so two missed renewals still leave it held; look
        # for attempts past their deadline more often than that.
        interval = max(self.lease_s / 3, 0.05)
        tick = min(interval, max((self.deadline_s or interval) / 10, 0.05), 1.0)
        last_renewal = time.monotonic()
        while not self._stop.wait(tick):
            self._give_up_overdue()
            if time.monotonic() - last_renewal < interval:
                continue
            last_renewal = time.monotonic()
            with self._lock:
                held = list(self._inflight.items())
            for incident_id, owner in held:
                try:
                    self.store.renew(incident_id, owner, self.lease_s)
                except Exception:
                    log.exception("could not renew the lease on %s", incident_id)

    def _give_up_overdue(self) -> None:
        """Fail attempts past the deadline, and replace the worker threads they hold.

        The turn's own deadline ends tool and backend calls on time; this catches what it
        cannot reach (a call stuck in a library without a timeout). The attempt counts, so
        retries stay bounded by max_attempts; the stuck thread is left behind (daemon) and
        its result, should it ever come, is dropped.
        """
        if self.deadline_s is None:
            return
        now = time.monotonic()
        with self._lock:
            overdue = [
                (i, o) for i, o in self._inflight.items()
                if now - self._started.get(i, now) > self.deadline_s
            ]  # fmt: skip
            for incident_id, owner in overdue:
                del self._inflight[incident_id], self._started[incident_id]
                self._retired.add(owner)
        for incident_id, owner in overdue:
            error = (
                f"DeadlineExceeded: the attempt ran past {self.deadline_s:g}s "
                "(OPSLOOP_INVESTIGATION_DEADLINE_S); a backend call never returned"
            )
            try:
                outcome = self.store.fail(incident_id, owner, error)
            except Exception:  # the lease expires anyway and another worker retries
                log.exception("could not give up %s", incident_id)
                outcome = "lost"
            log.warning("investigation %s: %s → %s", incident_id, error, outcome)
            self._record(outcome, self.deadline_s)
            self._replacements += 1
            n = self._replacements
            self._spawn(f"opsloop-worker-r{n}", self._run, f"{self.owner}:r{n}")
            if outcome == "failed":
                self.deliver(incident_id)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but belongs to someone else, or cannot tell: assume alive
        return True
    return True


def _top(store: IncidentStore, incident_id: str) -> str:
    incident = store.get(incident_id) or {}
    top = incident.get("top_hypothesis")
    if not isinstance(top, dict):
        return ": no hypothesis"
    return f": {top.get('kind')}:{top.get('target')} score {top.get('score')}"
