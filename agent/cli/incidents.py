"""`opsloop incidents …`: list and show incidents, and draft a postmortem of one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from opsloop.agent.cli.common import JsonFlag, fail, load_settings, out
from opsloop.agent.config import Settings
from opsloop.agent.server.incidents import STATUSES, IncidentStore


def store_path(settings: Settings) -> Path:
    """Return where the incident store lives."""
    explicit = getattr(settings, "incident_store_path", None)
    return Path(explicit) if explicit else settings.state_dir / "incidents.sqlite"


incidents_app = typer.Typer(
    name="incidents",
    help="Incidents opened from alerts (from OPSLOOP_DATABASE_URL, else the local store).",
)


def _store() -> IncidentStore | None:
    settings = load_settings()
    path = store_path(settings)
    shared = settings.database_url
    if not shared and not path.exists():  # nothing received yet; create no file to list it
        return None
    try:
        return IncidentStore.from_settings(settings, path)
    except Exception as exc:
        if shared:  # the error names the (masked) URL
            raise fail(
                f"cannot open the incident store: {exc}; check OPSLOOP_DATABASE_URL"
            ) from None
        raise fail(f"cannot open the incident store {path}: {exc}") from None


@incidents_app.command("list")
def incidents_list(
    status: Annotated[
        str | None, typer.Option("--status", help=f"Only this status: {', '.join(STATUSES)}.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000, help="How many.")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """List incidents, newest first."""
    if status is not None and status not in STATUSES:
        raise fail(f"--status must be one of {', '.join(STATUSES)}, not {status!r}")
    store = _store()
    rows = store.list_incidents(limit, status) if store else []
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        out.print("No incidents." + ("" if store else " (`opsloop serve` has received nothing)"))
        return
    table = Table(header_style="bold")
    for column in ("id", "status", "alerts", "opened", "resolved", "top hypothesis"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row["id"],
            row["status"],
            str(row["alerts"]),
            row["opened_at"],
            row["resolved_at"] or "-",
            _hypothesis(row["top_hypothesis"]),
        )
    out.print(table)


@incidents_app.command("show")
def incidents_show(
    incident_id: Annotated[str, typer.Argument(help="Incident id (inc-…).")],
    as_json: JsonFlag = False,
) -> None:
    """Show one incident: its alerts and the investigation report."""
    store = _store()
    incident = store.get(incident_id) if store else None
    if incident is None:
        raise fail(f"no incident {incident_id!r}; `opsloop incidents list` shows them")
    if as_json:
        print(json.dumps(incident, indent=2))
        return
    resolved = f"  resolved {incident['resolved_at']}" if incident["resolved_at"] else ""
    out.print(
        f"[bold]{incident['id']}[/]  {incident['status']}  opened {incident['opened_at']}{resolved}"
    )
    out.print(f"groups: {', '.join(incident['group_keys'])}", soft_wrap=True)
    for alert in incident["alerts"]:
        service = alert["labels"].get("service") or alert["labels"].get("job") or "-"
        out.print(f"  {alert['status']:<8} {alert['name']}  service={service}")
    out.print(f"top hypothesis: {_hypothesis(incident['top_hypothesis'])}")
    report = incident["report"] or {}
    if not report:
        out.print(f"investigation in progress (attempt {incident['attempts']})")
        return
    out.print(report.get("report") or report.get("answer") or "", soft_wrap=True)
    if report.get("error"):  # a failed investigation, or a backend the RCA could not reach
        out.print(f"[red]error:[/] {report['error']}", soft_wrap=True)


def _hypothesis(top: Any) -> str:
    if not isinstance(top, dict):
        return "-"
    score = top.get("score")
    shown = f"{score:.2f}" if isinstance(score, int | float) else "?"
    return f"{top.get('kind')}:{top.get('target')} {shown}"


@incidents_app.command("postmortem")
def incidents_postmortem(
    incident_id: Annotated[str, typer.Argument(help="Incident id (inc-…).")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the Markdown here.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Draft a Markdown postmortem of one incident from its records.

    Sections: summary, impact window, timeline (alerts, changes, onsets, decisions,
    actions), root cause with evidence, resolution, what went well and badly, action
    items. The YAML front matter is what `opsloop memory import` reads.
    """
    from opsloop.agent.server.postmortem import postmortem

    store = _store()
    pm = postmortem(load_settings(), store, incident_id) if store else None
    if pm is None:
        raise fail(f"no incident {incident_id!r}; `opsloop incidents list` shows them")
    if output is not None:
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(pm["markdown"])
        except OSError as exc:
            raise fail(f"cannot write {output}: {exc}") from None
    if as_json:
        print(json.dumps(pm | {"output": None if output is None else str(output)}, indent=2))
    elif output is not None:
        out.print(f"wrote the postmortem of {incident_id} to {output}", soft_wrap=True)
    else:
        print(pm["markdown"], end="")
