"""The `opsloop` command line: every command group assembled, and the crash-safe entry point."""

from __future__ import annotations

import json
import sys

import typer

from opsloop import __version__
from opsloop.agent.cli.answers import answers_app
from opsloop.agent.cli.ask import approve, ask, chat
from opsloop.agent.cli.audit import audit_app, jobs_app
from opsloop.agent.cli.common import EXIT_FAILED, JsonFlag, err, load_settings, out
from opsloop.agent.cli.evals import eval_app
from opsloop.agent.cli.incidents import incidents_app
from opsloop.agent.cli.investigate import investigate
from opsloop.agent.cli.mcp import mcp_app
from opsloop.agent.cli.memory import memory_app
from opsloop.agent.cli.offline import detect, logs_app
from opsloop.agent.cli.prune import prune
from opsloop.agent.cli.rca import app as rca_app
from opsloop.agent.cli.sandbox import sandbox_app
from opsloop.agent.cli.serve import serve
from opsloop.agent.cli.slack import slack_app
from opsloop.agent.cli.token import token_app
from opsloop.agent.config import Settings, config_file

app = typer.Typer(
    help="opsloop: an on-call assistant for teams running ML models in production.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
config_app = typer.Typer(help="Inspect the effective configuration.", no_args_is_help=True)
# In the order an on-call engineer reaches for them.
app.command()(ask)
app.command()(chat)
app.command()(approve)
app.command()(investigate)
app.command("serve")(serve)
app.add_typer(incidents_app, name="incidents", no_args_is_help=True)
app.command()(prune)
app.command()(detect)
app.add_typer(logs_app, name="logs")
app.add_typer(rca_app, name="rca", no_args_is_help=True)
app.add_typer(memory_app, name="memory", no_args_is_help=True)
app.add_typer(audit_app, name="audit", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs", no_args_is_help=True)
app.add_typer(answers_app, name="answers")
app.add_typer(eval_app, name="eval")
app.add_typer(slack_app, name="slack", no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(config_app, name="config")
app.add_typer(token_app, name="token", no_args_is_help=True)
app.add_typer(mcp_app, name="mcp", no_args_is_help=True)


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
    """Console-script entry point: a bug becomes one line and a crash log, not a traceback."""
    try:
        app()  # typer handles usage errors, --help and exits itself
    except KeyboardInterrupt:
        err.print("aborted")
        sys.exit(130)
    except Exception as exc:
        log = _crash_log(exc)
        err.print(
            f"[bold red]error:[/] internal error: {type(exc).__name__}: {exc} "
            f"(traceback in {log}; please report it)",
            soft_wrap=True,
        )
        sys.exit(EXIT_FAILED)


def _crash_log(exc: Exception) -> str:
    """Append the traceback to $OPSLOOP_HOME/crash.log and return its path."""
    import traceback
    from datetime import UTC, datetime

    from opsloop.agent.config import default_home

    path = default_home() / "crash.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as handle:
            handle.write(f"--- {datetime.now(UTC).isoformat()} {' '.join(sys.argv)}\n")
            handle.write("".join(traceback.format_exception(exc)))
    except OSError:
        return "(unwritable)"
    return str(path)


if __name__ == "__main__":
    main()
