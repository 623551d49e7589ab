"""What every `opsloop` sub-command shares: consoles, exit codes, errors, settings."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console

from opsloop.agent.config import ConfigError, Settings, current_user

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


def approver_name(settings: Settings) -> str:
    """Return who approves from this terminal: the OS account, whatever OPSLOOP_USER says."""
    who = current_user()
    if settings.user != who:
        err.print(
            f"[yellow]note:[/] approvals from this terminal are recorded as {who} (the OS "
            f"account); OPSLOOP_USER={settings.user} names who asks, not who approves"
        )
    return who


def assistant_for(settings: Settings) -> Any:
    """Build the assistant for `settings`, or fail with the configuration problem."""
    from opsloop.agent.assistant import Assistant  # heavy imports only for commands that need them

    try:
        return Assistant.from_settings(settings)
    except ConfigError as exc:  # a bad [policy] or orchestrator setting
        raise fail(f"invalid configuration: {exc}") from None


def finish(result: dict[str, Any], as_json: bool) -> None:
    """Print a result and exit with 0 (answered), 2 (failed) or 3 (awaiting approval)."""
    from opsloop.agent.cli.render import show_answer

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
