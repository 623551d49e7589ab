"""Incident reports added back to PagerDuty incidents as notes, through a durable outbox.

The report hook only queues the note (a row in SQLite, or the shared PostgreSQL) and returns,
so a slow or failing PagerDuty never holds up the report or the hooks after it. A sender
thread posts queued notes with the `pagerduty` client (`POST /incidents/{id}/notes`), retries
transient failures with backoff, and gives up on refusals a retry cannot fix.
"""

from __future__ import annotations

import logging
import secrets
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from opsloop.agent.db.sqlite import open_database
from opsloop.agent.rca.pagerduty import incident_ids

log = logging.getLogger("opsloop.agent.pagerduty")

# PagerDuty caps a note's content; stay well inside it, the full report is one command away.
MAX_NOTE_CHARS = 20_000
MAX_BACKOFF_S = 900.0
SCHEMA = """
CREATE TABLE IF NOT EXISTS pagerduty_notes (
    id TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL,
    pd_incident TEXT NOT NULL,
    content TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at DOUBLE PRECISION NOT NULL,
    last_error TEXT,
    created_at DOUBLE PRECISION NOT NULL,
    sent_at DOUBLE PRECISION,
    failed_at DOUBLE PRECISION
);
CREATE INDEX IF NOT EXISTS pagerduty_notes_due ON pagerduty_notes (sent_at, failed_at, next_at);
"""
Poster = Callable[[str, str], Any]  # (PagerDuty incident id, content) → the created note


def note_text(incident: dict[str, Any], report: dict[str, Any], limit: int = MAX_NOTE_CHARS) -> str:
    """Return the note for one report: headline, the report text, evidence links; bounded."""
    incident_id = incident.get("id", "?")
    full = f"Full report: opsloop incidents show {incident_id}"
    names = sorted({str(a.get("name", "?")) for a in incident.get("alerts") or []})
    head = f"opsloop investigation of incident {incident_id}"
    head += f" ({len(names)} alert(s): {', '.join(names)})" if names else ""
    parts = [head, str(report.get("answer") or report.get("error") or "(no report text)")]
    links = [
        f"[{e.get('id', '?')}] {e.get('summary', '')} {e.get('link') or ''}".rstrip()
        for e in report.get("evidence") or []
        if isinstance(e, dict)
    ]
    if links:
        parts.append("Evidence:\n" + "\n".join(links))
    text = "\n\n".join([*parts, full])
    if len(text) <= limit:
        return text
    tail = f"\n\n… (trimmed to fit a PagerDuty note) {full}"
    return text[: max(0, limit - len(tail))].rstrip() + tail


class NoteOutbox:
    """Notes waiting to be posted, claimed with a short lease so replicas post each once."""

    def __init__(self, target: Path | str, clock: Callable[[], float] = time.time) -> None:
        self.db = open_database(target, sqlite_schema=SCHEMA, pg_schema=SCHEMA, name="pagerduty")
        self.clock = clock

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    def add(self, incident_id: str, pd_incident: str, content: str) -> str:
        """Queue a note; return its id."""
        note_id, now = secrets.token_hex(8), self.clock()
        with self.db.tx() as db:
            db.execute(
                "INSERT INTO pagerduty_notes (id, incident_id, pd_incident, content, next_at,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (note_id, incident_id, pd_incident, content, now, now),
            )
        return note_id

    def claim(self, lease_s: float, limit: int = 10) -> list[dict[str, Any]]:
        """Take the notes due now, each for `lease_s` (a crashed sender's come back after it)."""
        now, taken = self.clock(), []
        rows = (
            self.db.conn()
            .execute(
                "SELECT id, pd_incident, content, attempts, next_at FROM pagerduty_notes"
                " WHERE sent_at IS NULL AND failed_at IS NULL AND next_at <= ?"
                " ORDER BY next_at LIMIT ?",
                (now, limit),
            )
            .fetchall()
        )
        for row in rows:
            with self.db.tx() as db:  # compare-and-set: another sender may have taken it
                cur = db.execute(
                    "UPDATE pagerduty_notes SET next_at = ?, attempts = attempts + 1"
                    " WHERE id = ? AND next_at = ? AND sent_at IS NULL AND failed_at IS NULL",
                    (now + lease_s, row["id"], row["next_at"]),
                )
            if cur.rowcount == 1:
                taken.append({**dict(row), "attempts": row["attempts"] + 1})
        return taken

    def sent(self, note_id: str) -> None:
        """Record a posted note."""
        with self.db.tx() as db:
            db.execute(
                "UPDATE pagerduty_notes SET sent_at = ?, last_error = NULL WHERE id = ?",
                (self.clock(), note_id),
            )

    def retry(self, note_id: str, error: str, delay_s: float) -> None:
        """Put a note back for another attempt after `delay_s`."""
        with self.db.tx() as db:
            db.execute(
                "UPDATE pagerduty_notes SET next_at = ?, last_error = ? WHERE id = ?",
                (self.clock() + delay_s, error, note_id),
            )

    def give_up(self, note_id: str, error: str) -> None:
        """Stop trying a note (kept, with its error, for whoever looks)."""
        with self.db.tx() as db:
            db.execute(
                "UPDATE pagerduty_notes SET failed_at = ?, last_error = ? WHERE id = ?",
                (self.clock(), error, note_id),
            )

    def notes(self) -> list[dict[str, Any]]:
        """Return every note, oldest first."""
        rows = self.db.conn().execute("SELECT * FROM pagerduty_notes ORDER BY created_at, id")
        return [dict(r) for r in rows]


class PagerDutyNotes:
    """The `on_report` hook and the sender thread (start()/stop(), run by the app lifespan)."""

    def __init__(
        self,
        outbox: NoteOutbox,
        post: Poster,
        *,
        retry_s: float = 30.0,
        max_attempts: int = 12,
        poll_s: float = 5.0,
        lease_s: float = 120.0,
    ) -> None:
        self.outbox, self.post = outbox, post
        self.retry_s, self.max_attempts = retry_s, max(1, max_attempts)
        self.poll_s, self.lease_s = poll_s, lease_s
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None

    def on_report(self, incident: dict[str, Any], report: dict[str, Any]) -> None:
        """Queue the report as a note on each PagerDuty incident behind `incident`."""
        targets = incident_ids(incident)
        if not targets:
            return
        content = note_text(incident, report)
        for pd_incident in targets:
            self.outbox.add(incident["id"], pd_incident, content)
        self._wake.set()

    def start(self) -> None:
        """Start the sender thread (idempotent)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="opsloop-pagerduty", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the sender; queued notes stay for the next start."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.send_due()
            except Exception:  # a broken store must not end the thread: try again later
                log.exception("pagerduty: cannot read the note outbox")
            self._wake.wait(self.poll_s)
            self._wake.clear()

    def send_due(self) -> int:
        """Post every note due now; return how many went out."""
        posted = 0
        for note in self.outbox.claim(self.lease_s):
            try:
                self.post(note["pd_incident"], note["content"])
            except Exception as exc:
                self._failed(note, exc)
                continue
            self.outbox.sent(note["id"])
            posted += 1
            log.info("pagerduty: note added to incident %s", note["pd_incident"])
        return posted

    def _failed(self, note: dict[str, Any], exc: Exception) -> None:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        error = f"{type(exc).__name__}: {exc}"[:500]
        # A 4xx other than a timeout or rate limit (bad token, unknown incident, bad From)
        # fails the same way on every retry; network errors and 5xx may pass later.
        permanent = status is not None and 400 <= status < 500 and status not in (408, 429)
        if permanent or note["attempts"] >= self.max_attempts:
            self.outbox.give_up(note["id"], error)
            log.error("pagerduty: gave up on the note for incident %s after %d attempt(s): %s",
                      note["pd_incident"], note["attempts"], error)  # fmt: skip
            return
        delay = min(self.retry_s * 2 ** (note["attempts"] - 1), MAX_BACKOFF_S)
        self.outbox.retry(note["id"], error, delay)
        log.warning("pagerduty: note for incident %s failed (%s); retrying in %.3g s",
                    note["pd_incident"], error, delay)  # fmt: skip


def rest_poster(settings: Any) -> Poster:
    """Return a function that adds a note through PagerDuty's REST API v2 client."""
    import pagerduty

    token = settings.pagerduty_api_token.get_secret_value()
    options: dict[str, Any] = {}
    if getattr(settings, "pagerduty_ca_bundle", None):
        options["verify"] = ssl.create_default_context(cafile=str(settings.pagerduty_ca_bundle))
    client = pagerduty.RestApiV2Client(
        token,
        default_from=getattr(settings, "pagerduty_from_email", None) or None,
        base_url=str(getattr(settings, "pagerduty_api_url", "") or "https://api.pagerduty.com"),
        **options,
    )
    # The outbox retries with its own backoff: the client must not sleep in the sender.
    client.timeout = 15.0
    client.max_network_attempts = 0
    client.retry = {429: 1}
    lock = threading.Lock()  # one client, used by the sender thread and by tests alike

    def post(pd_incident: str, content: str) -> Any:
        with lock:
            return client.rpost(f"/incidents/{pd_incident}/notes", json={"content": content})

    return post


def build_notes(settings: Any, **options: Any) -> PagerDutyNotes | None:
    """Return the note hook and sender when a PagerDuty API token is configured, else None."""
    token = getattr(settings, "pagerduty_api_token", None)
    if token is None or not token.get_secret_value().strip():
        return None
    target = getattr(settings, "database_url", None) or settings.state_dir / "pagerduty.sqlite"
    return PagerDutyNotes(NoteOutbox(target), rest_poster(settings), **options)
