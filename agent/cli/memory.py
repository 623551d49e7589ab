"""`opsloop memory …`: search, list, import, annotate and forget remembered incidents."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from opsloop.agent.cli.common import JsonFlag, fail, load_settings, out

memory_app = typer.Typer(help="Incident memory: past incidents, their causes and fixes.")


def _memory() -> Any:
    from opsloop.agent.factory import open_memory

    settings = load_settings()
    try:
        return open_memory(settings)
    except Exception as exc:
        where = settings.memory_url or settings.home / "memory"
        # escape: the install hint may hold [brackets], which rich would read as markup.
        raise fail(f"cannot open incident memory at {where}: {escape(str(exc))}") from None


def _table(rows: list[tuple[Any, float | None]]) -> Table:
    table = Table(header_style="bold")
    for column in ("id", "opened", "title", "root cause", "resolution", "similarity"):
        table.add_column(column, overflow="fold")
    for inc, score in rows:
        cause = f"{inc.cause_kind} {inc.cause_target}".strip() or "-"
        table.add_row(
            inc.id,
            inc.when,
            inc.title[:80],
            cause,
            (inc.resolution or inc.outcome)[:80],
            "-" if score is None else f"{score:.2f}",
        )
    return table


@memory_app.command("search")
def memory_search(
    text: Annotated[str, typer.Argument(help="What happened, in words.")],
    k: Annotated[int, typer.Option("-k", min=1, max=50, help="How many results.")] = 5,
    as_json: JsonFlag = False,
) -> None:
    """Find past incidents similar to TEXT (above the similarity threshold)."""
    memory = _memory()
    matches = memory.search(text, k=k)
    if as_json:
        print(json.dumps([asdict(m.incident) | {"score": m.score} for m in matches], indent=2))
        return
    if not matches:
        out.print(f"No incident is similar enough (threshold {memory.threshold:.2f}).")
        return
    out.print(_table([(m.incident, m.score) for m in matches]))


@memory_app.command("list")
def memory_list(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many.")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """List stored incidents."""
    memory = _memory()
    incidents = memory.list(limit=limit)
    if as_json:
        print(json.dumps([asdict(i) for i in incidents], indent=2))
        return
    out.print(f"{memory.count()} incident(s) stored")
    if incidents:
        out.print(_table([(i, None) for i in incidents]))


@memory_app.command("forget")
def memory_forget(incident_id: Annotated[str, typer.Argument(help="Incident id.")]) -> None:
    """Delete one incident from memory."""
    if not _memory().forget(incident_id):
        raise fail(f"no incident {incident_id} in memory (see `opsloop memory list`)")
    out.print(f"forgot {incident_id}")


@memory_app.command("import")
def memory_import(
    directory: Annotated[Path, typer.Argument(help="A Markdown postmortem, or a folder of them.")],
    as_json: JsonFlag = False,
) -> None:
    """Import Markdown postmortems (optional YAML front matter: id, date, services, models,
    alerts, root_cause_kind, root_cause_target, resolution), e.g. the draft
    `opsloop incidents postmortem ID --output FILE` writes."""
    if not directory.is_dir() and not directory.is_file():
        raise fail(f"{directory} is neither a Markdown file nor a directory")
    ids = _memory().import_markdown(directory)
    if as_json:
        print(json.dumps({"imported": ids}))
        return
    out.print(f"imported {len(ids)} postmortem(s)" + (f": {', '.join(ids)}" if ids else ""))


@memory_app.command("feedback")
def memory_feedback(
    incident_id: Annotated[str, typer.Argument(help="Incident id.")],
    text: Annotated[str, typer.Argument(help='e.g. "root cause was the feature-store deploy"')],
    kind: Annotated[str | None, typer.Option(help="Root-cause kind.")] = None,
    target: Annotated[str | None, typer.Option(help="Root-cause target.")] = None,
    resolution: Annotated[str | None, typer.Option(help="What resolved it.")] = None,
) -> None:
    """Record what a person says about an incident: its real cause, its fix."""
    memory = _memory()
    try:
        memory.update(
            incident_id,
            feedback=text,
            cause_kind=kind,
            cause_target=target,
            resolution=resolution,
            outcome="resolved" if resolution else None,
        )
    except KeyError:
        raise fail(f"no incident {incident_id} in memory (see `opsloop memory list`)") from None
    out.print(f"updated {incident_id}")
