"""`opsloop eval`: run eval suites, gate on thresholds, log to MLflow; `eval compare A B`."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from opsloop.agent.cli.common import JsonFlag, err, fail, load_settings, out

eval_app = typer.Typer(
    help="Evaluate opsloop's own answers (routing, memory, answers, rca) and compare runs.",
    invoke_without_command=True,
)


def _params(settings: Any) -> dict[str, Any]:
    """Return what identifies the system under test: model, planner, prompt versions."""
    from opsloop import prompts

    llm = bool(settings.llm_enabled)
    params: dict[str, Any] = {
        "model": settings.llm_model if llm else "none",
        "planner": "llm" if llm else "deterministic",
    }
    params |= {f"prompt.{name}": digest for name, digest in prompts.prompt_hashes().items()}
    return params


def tracking_uri(settings: Any, given: str | None) -> str:
    """Return where eval runs are logged: the option, the configured MLflow, or a local file."""
    if given:
        return given
    if settings.mlflow_tracking_uri:
        return str(settings.mlflow_tracking_uri)
    path = settings.state_dir / "evals.db"
    return f"sqlite:///{path}"


@eval_app.callback()
def run_eval(
    ctx: typer.Context,
    suite: Annotated[
        str,
        typer.Option("--suite", help="routing, memory, answers, rca, ci (the first three) or all."),
    ] = "ci",
    repeat: Annotated[int, typer.Option("--repeat", min=1, max=20, help="Runs per suite.")] = 1,
    seeds: Annotated[int, typer.Option("--seeds", min=1, help="rca: seeds per fault.")] = 5,
    judge_mode: Annotated[
        str, typer.Option("--judge-mode", help="LLM judge (OPSLOOP_JUDGE_MODEL): strict or loose.")
    ] = "strict",
    no_mlflow: Annotated[bool, typer.Option("--no-mlflow", help="Do not log the run.")] = False,
    mlflow_uri: Annotated[
        str | None, typer.Option("--tracking-uri", help="MLflow tracking URI for the runs.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Run eval suites; print a table (or JSON); exit 1 when a threshold is missed.

    Thresholds are in evals/thresholds.yaml. Each suite is logged to MLflow as a run
    (experiment opsloop-evals) with the model, planner and prompt hashes as params.
    """
    if ctx.invoked_subcommand is not None:
        return
    from opsloop.evals.suites import expand, gate
    from opsloop.evals.suites import repeat as run_suite

    settings = load_settings()
    try:
        names = expand(suite)
    except ValueError as exc:
        raise fail(str(exc)) from None
    if judge_mode not in ("strict", "loose"):
        raise fail(f"--judge-mode must be strict or loose, not {judge_mode!r}")
    judge = _judge(settings, judge_mode)
    params = _params(settings)
    params["judge"] = f"{settings.judge_model} ({judge_mode})" if judge else "none"
    progress = (lambda _: None) if as_json else (lambda line: err.print(line, markup=False))
    reports, failures = {}, []
    for name in names:
        report = run_suite(name, repeat, progress, seeds=seeds, judge=judge)
        report["failed_thresholds"] = gate(name, report["metrics"])
        failures += report["failed_thresholds"]
        if not no_mlflow:
            uri = tracking_uri(settings, mlflow_uri)
            try:
                report["mlflow_run_id"] = _log(uri, name, report, params)
            except Exception as exc:  # the scores still print; say why they were not logged
                err.print(f"[yellow]warning:[/] could not log {name} to MLflow at {uri}: {exc}")
        reports[name] = report
    if as_json:
        print(json.dumps({"params": params, "suites": reports}, indent=2, default=str))
    else:
        _show(reports)
        for failure in failures:
            err.print(f"[red]below threshold:[/] {failure}")
    if failures:
        raise typer.Exit(1)


def _log(uri: str, name: str, report: dict[str, Any], params: dict[str, Any]) -> str:
    from opsloop.evals.tracking import log_run

    return log_run(uri, name, report, params)


def _judge(settings: Any, mode: str) -> Any:
    """Return the LLM judge when a judge model is configured, else None."""
    if not settings.judge_model:
        return None
    if not settings.llm_enabled:
        raise fail("OPSLOOP_JUDGE_MODEL is set but no LLM endpoint is (OPSLOOP_LLM_BASE_URL)")
    from opsloop.evals.judge import Judge

    return Judge.from_settings(settings, mode)


def _show(reports: dict[str, dict[str, Any]]) -> None:
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in ("suite", "metric", "value", "spread", "threshold"):
        table.add_column(column, justify="right" if column in ("value", "spread") else "left")
    from opsloop.evals.suites import thresholds

    bounds = thresholds()
    for name, report in reports.items():
        for metric, value in report["metrics"].items():
            bound = (bounds.get(name) or {}).get(metric) or {}
            shown = f"≥ {bound['min']:g}" if "min" in bound else ""
            shown = f"≤ {bound['max']:g}" if "max" in bound else shown
            spread = report.get("spread", {}).get(metric)
            table.add_row(
                name, metric, f"{value:g}", "" if spread is None else f"{spread:g}", shown
            )
    out.print(table)
    for name, report in reports.items():
        if report.get("mlflow_run_id"):
            out.print(f"{name}: MLflow run {report['mlflow_run_id']}", soft_wrap=True)
    for name, report in reports.items():
        bad = [c for c in report.get("cases", []) if not c.get("ok", True)]
        for case in bad[:15]:
            what = case.get("q") or case.get("question") or case.get("id") or case
            why = "; ".join(case.get("problems", []))[:200]
            out.print(f"  ✗ {name}: {what} {why}", markup=False)


@eval_app.command("compare")
def compare_runs(
    run_a: Annotated[str, typer.Argument(help="The baseline run id.")],
    run_b: Annotated[str, typer.Argument(help="The run to compare with it.")],
    mlflow_uri: Annotated[
        str | None, typer.Option("--tracking-uri", help="MLflow tracking URI of the runs.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show which metrics got better or worse from RUN_A to RUN_B, and what changed."""
    from opsloop.evals.tracking import compare

    settings = load_settings()
    try:
        diff = compare(tracking_uri(settings, mlflow_uri), run_a, run_b)
    except LookupError as exc:
        raise fail(str(exc)) from None
    if as_json:
        print(json.dumps(diff, indent=2))
        return
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in ("metric", "A", "B", "change", ""):
        table.add_column(column, justify="right" if column in ("A", "B", "change") else "left")
    styles = {"better": "green", "worse": "red"}
    for row in diff["metrics"]:
        delta = "" if row["delta"] is None else f"{row['delta']:+g}"
        a = "–" if row["a"] is None else f"{row['a']:g}"
        b = "–" if row["b"] is None else f"{row['b']:g}"
        verdict = row["verdict"]
        table.add_row(row["metric"], a, b, delta, f"[{styles.get(verdict, 'dim')}]{verdict}[/]")
    out.print(table)
    for param in diff["params"]:
        out.print(f"  {param['param']}: {param['a']} → {param['b']}", markup=False)
