"""`opsloop sandbox up|down|status|scenarios`: the demo world on real Prometheus and MLflow."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from opsloop.agent.cli.common import JsonFlag, err, fail, load_settings, out

sandbox_app = typer.Typer(
    help="Run the demo world: a simulated ML platform on real Prometheus, Alertmanager and "
    "MLflow, with incident scenarios.",
    no_args_is_help=True,
)


@sandbox_app.command("up")
def sandbox_up(
    scenario: Annotated[
        str,
        typer.Option(
            help="Built-in scenario name (see `sandbox scenarios`), NAME@TARGET to move its "
            "fault to another eligible service or model (memory-leak@checkout), or a spec file."
        ),
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
