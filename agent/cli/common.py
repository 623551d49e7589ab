"""What every `opsloop` sub-command shares: consoles, exit codes, errors, settings."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

from opsloop.agent.config import ConfigError, Settings

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
