"""Show answers, evidence, approvals and progress in the terminal with rich."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from opsloop.agent.graph.steps import step_label


class Progress:
    """A live spinner fed by graph steps; paused while a person is asked something."""

    def __init__(self, console: Console, enabled: bool) -> None:
        self._status = console.status("thinking…", spinner="dots") if enabled else None

    def on_step(self, node: str, update: dict[str, Any]) -> None:
        """Show the step the graph just finished and what comes next."""
        if self._status is not None:
            self._status.update(step_label(node, update) + "…")

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Hide the spinner for the duration of a prompt."""
        if self._status is not None:
            self._status.stop()
        try:
            yield
        finally:
            if self._status is not None:
                self._status.start()

    def __enter__(self) -> Progress:
        if self._status is not None:
            self._status.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.stop()


def show_answer(console: Console, result: dict[str, Any]) -> None:
    """Print the answer, an evidence table with links, and a one-line footer."""
    console.print(escape(result["answer"]))
    evidence = result.get("evidence", [])
    if evidence:
        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        table.add_column("id", style="cyan", no_wrap=True)
        table.add_column("tool", no_wrap=True)
        table.add_column("evidence", overflow="fold")
        for ev in evidence:
            summary = escape(ev["summary"])
            if ev.get("link") and console.is_terminal:
                summary += f" [link={ev['link']}]open ↗[/link]"
            table.add_row(ev["id"], ev["tool"], summary)
        console.print()
        console.print(table)
        if not console.is_terminal:
            for ev in evidence:
                if ev.get("link"):
                    console.print(f"{ev['id']}: {ev['link']}", soft_wrap=True, markup=False)
    console.print(footer(result), style="dim")


def footer(result: dict[str, Any]) -> str:
    """Return "✓ grounded · 1 tool call · 0.05 s · thread abc"."""
    evals, usage = result.get("evals", {}), result.get("usage", {})
    mark = "✓ grounded" if evals.get("grounded", True) else "⚠ unverified"
    parts = [
        mark,
        f"{len(result.get('tool_calls', []))} tool call(s)",
        f"{usage.get('latency_s', 0):.2f} s",
    ]
    if usage.get("input_tokens") or usage.get("output_tokens"):
        parts.append(f"{usage['input_tokens']}→{usage['output_tokens']} tokens")
    parts.append(f"thread {result['thread_id']}")
    return " · ".join(parts)


def show_approval(console: Console, request: dict[str, Any]) -> None:
    """Show what a write action would do before asking for a decision."""
    body = (
        f"[bold]{escape(request['tool'])}[/bold] "
        f"{escape(json.dumps(request['args'], default=str))}\n\n"
        f"{escape(str(request.get('preview', '')))}\n\n"
        f"requested by {escape(str(request.get('requested_by')))} · evidence "
        f"{', '.join(request.get('evidence', [])) or 'none'}"
    )
    console.print(Panel(body, title="approval required", border_style="yellow"))
