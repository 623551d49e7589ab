"""The `opsloop` command line."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from opsloop import __version__
from opsloop.agent.cli.answers import answers_app
from opsloop.agent.cli.audit import audit_app, jobs_app
from opsloop.agent.cli.common import (
    EXIT_APPROVAL,
    EXIT_FAILED,
    JsonFlag,
    err,
    fail,
    load_settings,
    out,
)
from opsloop.agent.cli.evals import eval_app
from opsloop.agent.cli.investigate import investigate
from opsloop.agent.cli.memory import memory_app
from opsloop.agent.cli.rca import app as rca_app
from opsloop.agent.cli.serve import incidents_app, serve
from opsloop.agent.cli.slack import slack_app
from opsloop.agent.config import ConfigError, Settings, config_file

app = typer.Typer(
    help="opsloop: an on-call assistant for teams running ML models in production.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
config_app = typer.Typer(help="Inspect the effective configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")
sandbox_app = typer.Typer(
    help="Run the demo world: a simulated ML platform on real Prometheus, Alertmanager and "
    "MLflow, with incident scenarios.",
    no_args_is_help=True,
)
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(audit_app, name="audit", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs", no_args_is_help=True)
app.add_typer(memory_app, name="memory", no_args_is_help=True)
app.command()(investigate)
app.command("serve")(serve)
app.add_typer(incidents_app, name="incidents", no_args_is_help=True)
app.add_typer(rca_app, name="rca", no_args_is_help=True)
app.add_typer(slack_app, name="slack", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
app.add_typer(answers_app, name="answers")


def _assistant(settings: Settings) -> Any:
    from opsloop.agent.assistant import Assistant  # heavy imports only for commands that need them

    try:
        return Assistant.from_settings(settings)
    except ConfigError as exc:  # a bad [policy] or orchestrator setting
        raise fail(f"invalid configuration: {exc}") from None


def _finish(result: dict[str, Any], as_json: bool) -> None:
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
    from opsloop.agent.cli.chat import approver_for
    from opsloop.agent.cli.render import Progress

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
    interrupt_id = snapshot.interrupts[0].id
    if not assistant.deps.audit.claim_decision(thread_id, interrupt_id, settings.user):
        raise fail(f"thread {thread_id} is being decided by someone else (Slack or another CLI)")
    try:
        result = assistant.resume(thread_id, decision)
    except BaseException:
        assistant.deps.audit.release_decision(thread_id, interrupt_id)
        raise
    _finish(result, as_json)


@app.command()
def chat() -> None:
    """Start an interactive chat with live steps and approval prompts."""
    from opsloop.agent.cli.chat import run_chat

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
def detect(
    csv_path: Annotated[
        Path, typer.Option("--csv", help="A `timestamp,value` table (the NAB convention).")
    ],
    as_json: JsonFlag = False,
) -> None:
    """Score every row for anomaly in [0,1], each from that row and earlier rows only."""
    from opsloop.tools.analysis.detectors.streaming import read_nab_csv, score_series

    try:
        timestamps, values = read_nab_csv(csv_path)
    except OSError as exc:
        raise fail(f"cannot read {csv_path}: {exc.strerror}") from None
    except (ValueError, IndexError) as exc:
        raise fail(f"{csv_path} is not a `timestamp,value` table: {exc}") from None
    scores = score_series(timestamps, values)
    if as_json:
        print(json.dumps({"scores": [round(float(s), 6) for s in scores]}))
        return
    with csv_path.open(newline="") as handle:
        rows = [row for row in csv.reader(handle) if row][1:]
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["timestamp", "value", "anomaly_score"])
    for row, score in zip(rows, scores, strict=True):
        writer.writerow([row[0], row[1] if len(row) > 1 else "", f"{float(score):.6f}"])


logs_app = typer.Typer(help="Work with log files.", no_args_is_help=True)
app.add_typer(logs_app, name="logs")


@logs_app.command("templates")
def logs_templates(
    path: Annotated[Path, typer.Argument(help="A log file, any common format or JSON lines.")],
    as_json: JsonFlag = False,
) -> None:
    """Mine message templates: print each line's template id and template."""
    from opsloop.tools.analysis.logtemplates import mine

    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror}") from None
    ids, templates = mine(lines)
    text = {t.id: t.text for t in templates}
    if as_json:
        print(
            json.dumps(
                {
                    "lines": [
                        {"line": i + 1, "template_id": tid, "template": text[tid]}
                        for i, tid in enumerate(ids)
                    ],
                    "templates": [
                        {"id": t.id, "template": t.text, "count": t.count} for t in templates
                    ],
                }
            )
        )
        return
    sys.stdout.writelines(f"{tid}\t{text[tid]}\n" for tid in ids)


@sandbox_app.command("up")
def sandbox_up(
    scenario: Annotated[
        str, typer.Option(help="Built-in scenario name (see `sandbox scenarios`) or a spec file.")
    ] = "healthy",
    seed: Annotated[int | None, typer.Option(help="Change noise and timing.")] = None,
    webhook: Annotated[
        str | None, typer.Option(help="Where Alertmanager sends alerts (default: opsloop serve).")
    ] = None,
    prometheus_port: Annotated[int | None, typer.Option(help="Instead of a free port.")] = None,
    alertmanager_port: Annotated[int | None, typer.Option(help="Instead of a free port.")] = None,
    exporter_port: Annotated[int | None, typer.Option(help="Instead of a free port.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Build the sandbox (registry, history, logs) and start its processes on free ports."""
    from opsloop.sandbox.manager import SandboxError, up
    from opsloop.sandbox.procs import MissingBinary
    from opsloop.sandbox.scenario import ScenarioError

    settings = load_settings()
    hook = webhook or f"http://{settings.serve_host}:{settings.serve_port}/alerts/alertmanager"
    try:
        with err.status("starting the sandbox…", spinner="dots") as status:
            state = up(
                settings.home,
                scenario,
                seed=seed,
                webhook=hook,
                ports={
                    name: port
                    for name, port in (
                        ("prometheus", prometheus_port),
                        ("alertmanager", alertmanager_port),
                        ("exporter", exporter_port),
                    )
                    if port
                },
                progress=lambda text: status.update(text + "…"),
            )
    except (SandboxError, ScenarioError, MissingBinary) as exc:
        raise fail(str(exc)) from None
    if as_json:
        print(json.dumps({k: v for k, v in state.items() if k != "ground_truth"}, indent=2))
        return
    _show_sandbox(state)
    out.print(
        f"\nready in {state['timings']['total_s']:.1f} s · scenario [bold]{state['scenario']}"
        "[/] · opsloop now points at this sandbox. Try:\n"
        '  opsloop ask "how is fraud-api doing?"\n  opsloop sandbox status --reveal'
    )


@sandbox_app.command("down")
def sandbox_down(as_json: JsonFlag = False) -> None:
    """Stop every sandbox process."""
    from opsloop.sandbox.manager import down

    stopped = down(load_settings().home)
    if as_json:
        print(json.dumps({"stopped": stopped}))
    else:
        out.print(f"stopped {', '.join(stopped)}" if stopped else "no sandbox was running")


@sandbox_app.command("status")
def sandbox_status(
    as_json: JsonFlag = False,
    reveal: Annotated[bool, typer.Option(help="Include the scenario's ground truth.")] = False,
) -> None:
    """Show PIDs, ports, URLs, the scenario and (with --reveal) its ground truth."""
    from opsloop.sandbox.manager import status

    state = status(load_settings().home, reveal=reveal)
    if as_json:
        print(json.dumps(state, indent=2))
        return
    if "processes" not in state:
        out.print("no sandbox; start one with `opsloop sandbox up --scenario bad-model-release`")
        raise typer.Exit(1)
    _show_sandbox(state)
    if reveal:
        truth = state["ground_truth"]
        out.print(
            f"ground truth: {truth['kind']} · {truth['target']} · fix: "
            f"{truth['remediation']['action']} {json.dumps(truth['remediation']['args'])}",
            markup=False,
        )


@sandbox_app.command("scenarios")
def sandbox_scenarios(as_json: JsonFlag = False) -> None:
    """List the built-in scenarios."""
    from opsloop.sandbox.scenario import builtin_names, load_scenario

    specs = [load_scenario(name) for name in builtin_names()]
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "name": s.name,
                        "fault": s.fault.type,
                        "target": s.fault.target,
                        "description": s.description.strip(),
                    }
                    for s in specs
                ],
                indent=2,
            )
        )
        return
    from rich.table import Table

    table = Table("scenario", "fault", "target", "what happens", box=None, header_style="bold")
    for s in specs:
        table.add_row(s.name, s.fault.type, s.fault.target or "-", s.description.strip())
    out.print(table)


def _show_sandbox(state: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table("component", "pid", "where", box=None, header_style="bold")
    for name, proc in state["processes"].items():
        alive = "" if proc.get("alive", True) else " (not running)"
        where = state["urls"].get(name, proc.get("log", ""))
        table.add_row(name, f"{proc['pid']}{alive}", where)
    table.add_row("mlflow", "-", state["mlflow"]["tracking_uri"])
    table.add_row("logs", "-", state["logs_dir"])
    out.print(table)
    out.print(f"MLflow UI: {state['mlflow']['ui_command']}", markup=False, style="dim")


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
