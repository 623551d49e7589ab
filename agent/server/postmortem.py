"""Gather one incident's records (store, graph checkpoint, audit log, change log) for a postmortem.

Each source is read on its own: one that is missing or unreadable is named in the draft's
"Missing data" section rather than stopping the draft.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from opsloop.agent.db.postgres import is_postgres
from opsloop.agent.rca.evidence import CHANGE_WINDOW_S
from opsloop.agent.rca.postmortem import Sources, build, min_alert, seconds
from opsloop.agent.rca.postmortem_md import render
from opsloop.agent.server.incidents import IncidentStore


def postmortem(settings: Any, store: IncidentStore, incident_id: str) -> dict[str, Any] | None:
    """Return the postmortem of `incident_id` with its Markdown, or None if it is unknown."""
    src = load_sources(settings, store, incident_id)
    if src is None:
        return None
    pm = build(src)
    return {**pm, "markdown": render(pm)}


def load_sources(settings: Any, store: IncidentStore, incident_id: str) -> Sources | None:
    """Return everything recorded about `incident_id`, or None if the store has no such id."""
    incident = store.get(incident_id)
    if incident is None:
        return None
    problems: list[str] = []
    return Sources(
        incident=incident,
        state=_read(problems, "graph checkpoint", lambda: graph_state(settings, incident_id)),
        audit=_read(problems, "audit log", lambda: _audit(settings, incident_id)),
        changes=_read(problems, "change log", lambda: _changes(settings, incident)),
        problems=problems,
    )


def _read(problems: list[str], what: str, read: Any) -> Any:
    try:
        return read()
    except Exception as exc:  # one unreadable source must not stop the draft
        problems.append(f"could not read the {what}: {type(exc).__name__}: {exc}")
        return None


def _local(settings: Any, name: str) -> Path | str | None:
    """Return the shared database URL, or the local file when it exists (never create one)."""
    if getattr(settings, "database_url", None):
        return str(settings.database_url)
    path = Path(settings.state_dir) / name
    return path if path.exists() else None


def graph_state(settings: Any, thread_id: str) -> dict[str, Any] | None:
    """Return the alert investigation's state at its newest checkpoint, or None.

    The checkpointer is read directly (no graph is built): a paused investigation's state
    lives in the alert subgraph's namespace, a finished one's in the root's, so the newest
    checkpoint of the thread in any namespace that holds an alert turn is the one to read.
    """
    from opsloop.agent.db.checkpoints import open_checkpointer

    target = _local(settings, "checkpoints.sqlite")
    if target is None:
        return None
    saver, close = open_checkpointer(target)
    try:
        best: tuple[str, dict[str, Any]] | None = None
        for item in saver.list({"configurable": {"thread_id": thread_id}}):
            values = item.checkpoint.get("channel_values") or {}
            if values.get("mode") != "alert" or not values.get("rca"):
                continue
            stamp = str(item.checkpoint.get("ts", ""))
            if best is None or stamp > best[0]:
                best = (stamp, dict(values))
        return best[1] if best else None
    finally:
        close()


def _audit(settings: Any, thread_id: str) -> list[dict[str, Any]]:
    from opsloop.agent.approvals.audit import AuditLog

    target = _local(settings, "audit.sqlite")
    if target is None:  # no write was ever requested here
        return []
    log = AuditLog(target)
    try:
        return log.for_thread(thread_id)
    finally:
        log.db.close()


def _changes(settings: Any, incident: dict[str, Any]) -> list[dict[str, Any]]:
    from opsloop.agent.factory import changelog_path
    from opsloop.tools.backends.changelog import ChangeLog

    target = changelog_path(settings)
    if not is_postgres(target) and not Path(target).exists():
        return []
    start = min(min_alert(incident["alerts"]), seconds(incident["opened_at"]) or float("inf"))
    end = seconds(incident.get("resolved_at"))
    log = ChangeLog.open(target)
    try:
        return [asdict(e) for e in log.events(since=start - CHANGE_WINDOW_S, until=end)]
    finally:
        log.close()
