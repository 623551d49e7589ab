"""The `opsloop` command line."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console

from agent import __version__
from agent.config import ConfigError, Settings, config_file

app = typer.Typer(
    help="opsloop: an on-call assistant for teams running ML models in production.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
config_app = typer.Typer(help="Inspect the effective configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

EXIT_FAILED, EXIT_APPROVAL = 2, 3
JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def fail(message: str, code: int = EXIT_FAILED) -> typer.Exit:
    """Print a one-line error to stderr and return the Exit to raise."""
    err.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    return typer.Exit(code)


def load_settings() -> Settings:
    """Load Settings, turning validation problems into one readable line."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = "OPSLOOP_" + str(first["loc"][0]).upper() if first.get("loc") else "config"
        raise fail(f"invalid configuration: {field}: {first['msg']}") from None
    except ConfigError as exc:
        raise fail(str(exc)) from None


def _assistant(settings: Settings) -> Any:
    from agent.session import Assistant  # heavy imports only for commands that need them

    return Assistant.from_settings(settings)


def _finish(result: dict[str, Any], as_json: bool) -> None:
    """Print a result and exit with 0 (answered), 2 (failed) or 3 (awaiting approval)."""
    from agent.render import show_answer

    if as_json:
        print(json.dumps(result, indent=2, default=str))
    elif not result.get("error"):
        show_answer(out, result)
    if result.get("error"):
        raise fail(result["error"])
    if result.get("approval"):
        thread = result["thread_id"]
        if not as_json:
            out.print(result["answer"], markup=False)
        err.print(
            f"Waiting for approval. Approve with `opsloop approve {thread}` "
            f"or reject with `opsloop approve {thread} --reject`."
        )
        raise typer.Exit(EXIT_APPROVAL)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="Your question, in plain words.")],
    as_json: JsonFlag = False,
    thread: Annotated[str | None, typer.Option(help="Continue this conversation thread.")] = None,
) -> None:
    """Answer one question from live backends, citing evidence.

    Exit codes: 0 answered, 2 could not answer (e.g. backend unreachable), 3 waiting for
    approval of a write action.
    """
    from agent.chat import approver_for
    from agent.render import Progress

    settings = load_settings()
    assistant = _assistant(settings)
    interactive = sys.stdin.isatty() and not as_json
    with Progress(err, err.is_terminal and not as_json) as live:
        approver = approver_for(out, settings.user, live) if interactive else None
        result = assistant.ask(question, thread_id=thread, approver=approver, on_step=live.on_step)
    _finish(result, as_json)


@app.command()
def approve(
    thread_id: Annotated[str, typer.Argument(help="Thread waiting for approval.")],
    reject: Annotated[bool, typer.Option("--reject", help="Reject instead of approve.")] = False,
    reason: Annotated[str, typer.Option(help="Why; stored in the audit log.")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Approve (or reject) the write action a thread is waiting for."""
    settings = load_settings()
    assistant = _assistant(settings)
    snapshot = assistant.graph.get_state({"configurable": {"thread_id": thread_id}})
    if not snapshot.interrupts:
        raise fail(f"thread {thread_id} is not waiting for an approval")
    decision = {
        "approved": not reject,
        "by": settings.user,
        "reason": reason or ("rejected" if reject else "approved"),
    }
    _finish(assistant.resume(thread_id, decision), as_json)


@app.command()
def chat() -> None:
    """Start an interactive chat with live steps and approval prompts."""
    from agent.chat import run_chat

    settings = load_settings()
    raise typer.Exit(run_chat(_assistant(settings), out))


@config_app.command("show")
def config_show(as_json: JsonFlag = False) -> None:
    """Print the effective configuration with secrets masked."""
    settings = load_settings()
    values = settings.masked()
    if as_json:
        print(json.dumps(values, indent=2, default=str))
        return
    from rich.table import Table

    source = config_file()
    out.print(f"config file: {source or 'none'} · env prefix OPSLOOP_", style="dim")
    table = Table(box=None, header_style="bold")
    table.add_column("setting", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_column("meaning")
    for name, value in values.items():
        field = Settings.model_fields[name]
        shown = json.dumps(value) if isinstance(value, list | dict) else str(value)
        table.add_row(f"OPSLOOP_{name.upper()}", shown, field.description or "")
    out.print(table)


@app.command()
def version() -> None:
    """Print the opsloop version."""
    out.print(f"opsloop {__version__} (Python {sys.version.split()[0]})")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
