"""`opsloop prune`: delete what the retention ages say is old, once (serve does it by itself)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from opsloop.agent.cli.common import JsonFlag, fail, load_settings, out


def prune(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would go; delete nothing.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Prune notifications, graph checkpoints, answer records, jobs and Slack state by age.

    Ages are the retention table of opsloop.toml (OPSLOOP_RETENTION as JSON); 0 keeps a kind
    forever. What an open incident or a pending approval needs stays. Incidents stay unless
    incidents_days is set; the approvals audit log is never pruned.
    """
    from opsloop.agent.server.retention import Pruner, open_stores

    settings = load_settings()
    try:
        stores = open_stores(settings)
    except Exception as exc:
        raise fail(f"cannot open the stores to prune: {exc}") from None
    try:
        pruner = Pruner(stores, settings.retention)
        counts = pruner.run(dry_run=dry_run)
    finally:
        stores.close()
    if as_json:
        print(json.dumps({"dry_run": dry_run, "counts": counts, "errors": pruner.errors}, indent=2))
    else:
        table = Table(box=None, header_style="bold")
        table.add_column("kind")
        table.add_column("would go" if dry_run else "pruned", justify="right")
        for kind, n in counts.items():
            table.add_row(kind, str(n))
        out.print(table if counts else "nothing to prune (no store, or every age is 0)")
        for kind, error in pruner.errors.items():
            out.print(f"[yellow]warning:[/] {kind}: {error}")
    if pruner.errors:
        raise typer.Exit(1)
