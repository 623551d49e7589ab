"""`opsloop audit list` and `opsloop jobs list`: who approved what, and retraining jobs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from opsloop.agent.cli.common import JsonFlag, load_settings, out

audit_app = typer.Typer(help="Read the append-only audit log of write actions.")
jobs_app = typer.Typer(help="Inspect retraining jobs.")

Limit = Annotated[int, typer.Option("--limit", "-n", min=1, help="How many, newest first.")]


@audit_app.command("list")
def audit_list(
    limit: Limit = 50,
    action: Annotated[
        str | None, typer.Option(help="Only this action, e.g. rollback_model.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """List audit entries: request, dry run, evidence, approver, decision and result."""
    from opsloop.agent.approvals.audit import AuditLog

    settings = load_settings()
    entries = AuditLog.from_settings(settings).entries(limit=limit * 4 if action else limit)
    if action:
        entries = [e for e in entries if e["action"] == action][:limit]
    if as_json:
        print(json.dumps(entries, indent=2, default=str))
        return
    if not entries:
        out.print("No audit entries yet.")
        return
    table = Table(show_lines=False, header_style="bold")
    for column in ("id", "at (UTC)", "action", "args", "requested by", "decision", "by", "result"):
        table.add_column(column, overflow="fold")
    for e in entries:
        args = ", ".join(f"{k}={v}" for k, v in (e["args"] or {}).items())
        result = e["result"] or e["reason"] or e["status"]
        table.add_row(
            str(e["id"]),
            e["at"].replace("T", " ").removesuffix("+00:00"),
            e["action"],
            args,
            e["requested_by"],
            _decision(e["decision"]),
            e["approver"] or "-",
            (result or "")[:120],
        )
    out.print(table)


def _decision(decision: str) -> str:
    colour = {"approved": "green", "requested": "yellow"}.get(decision, "red")
    return f"[{colour}]{decision}[/]"


@jobs_app.command("list")
def jobs_list(limit: Limit = 20, as_json: JsonFlag = False) -> None:
    """List retraining jobs, newest first."""
    from opsloop.tools.backends.jobs import JobStore

    settings = load_settings()
    jobs = JobStore(settings.state_dir / "jobs.sqlite").latest(limit=limit)
    if as_json:
        print(json.dumps([vars(j) for j in jobs], indent=2, default=str))
        return
    if not jobs:
        out.print("No retraining jobs yet.")
        return
    table = Table(header_style="bold")
    for column in ("job", "model", "window", "backend", "status", "version", "created (UTC)"):
        table.add_column(column)
    for j in jobs:
        created = datetime.fromtimestamp(j.created_at, UTC).strftime("%Y-%m-%d %H:%M:%S")
        version = str((j.result or {}).get("version", "-"))
        table.add_row(j.id, j.model, j.window, j.backend, j.status, version, created)
    out.print(table)
