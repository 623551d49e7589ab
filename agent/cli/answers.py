"""`opsloop answers …`: review stored answer records (evals, usage, prompt versions, feedback)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from opsloop.agent.cli.common import JsonFlag, fail, load_settings, out

answers_app = typer.Typer(
    help="Review stored answers: self-check verdicts, tokens, cost, people's feedback.",
    no_args_is_help=True,
)


def _store() -> Any:
    from opsloop.agent.stores.answers import AnswerStore

    path = load_settings().state_dir / "answers.sqlite"
    if not path.exists():
        raise fail(f"no answers recorded yet ({path} does not exist)")
    return AnswerStore(path)


@answers_app.command("list")
def answers_list(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many, newest first.")] = 20,
    unverified: Annotated[
        bool, typer.Option("--unverified", help="Only answers the self-check did not verify.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """List recent answers with their self-check verdict, tools, latency and tokens."""
    store = _store()
    rows = store.recent(limit if not unverified else 1000)
    if unverified:
        rows = [r for r in rows if not r["evals"].get("grounded", True)][:limit]
    for row in rows:
        row["feedback"] = store.feedback(row["thread_id"])
    if as_json:
        print(json.dumps(rows, indent=2, default=str))
        return
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in ("id", "at", "brain", "checked", "tools", "s", "tokens", "question"):
        table.add_column(column, overflow="fold" if column == "question" else "ellipsis")
    for row in rows:
        usage, evals = row["usage"], row["evals"]
        checked = "✓" if evals.get("grounded", True) else "⚠"
        table.add_row(
            str(row["id"]),
            row["at"][5:16],
            row["brain"],
            checked,
            str(len(row["tool_calls"])),
            f"{float(usage.get('latency_s', 0.0)):.2f}",
            str(int(usage.get("input_tokens", 0)) + int(usage.get("output_tokens", 0))),
            escape(row["question"][:80] or "(alert)"),
        )
    out.print(table)
