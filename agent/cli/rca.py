"""`opsloop rca …`: offline root-cause ranking on RCAEval-style wide metric tables."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from opsloop.agent.cli.common import JsonFlag, err, fail, out
from opsloop.tools.analysis.rca_peers import rank_by_peers
from opsloop.tools.analysis.rca_rank import RankedTarget, load_wide_csv, rank_services, split_column


class Method(StrEnum):
    """The ranking methods `opsloop rca rank` offers."""

    peers = "peers"
    robust_z = "robust-z"


app = typer.Typer(
    name="rca",
    help="Offline root-cause analysis on exported metric tables (the RCAEval layout).",
    no_args_is_help=True,
)


@app.callback()
def _group() -> None:
    # A callback keeps `rank` a sub-command even while it is the only one (Typer would
    # otherwise collapse a one-command app into that command).
    pass


def _when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def _clock(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%H:%M:%S")


def _table(ranked: list[RankedTarget], anomaly_time: float, services: int, metrics: int) -> Table:
    table = Table(
        title=f"likely root causes of the anomaly at {_when(anomaly_time)} UTC "
        f"({services} services, {metrics} metrics)",
        header_style="bold",
    )
    for column, justify in (
        ("rank", "right"),
        ("service", "left"),
        ("score", "right"),
        ("strongest metric", "left"),
        ("z", "right"),
        ("onset (UTC)", "left"),
    ):
        table.add_column(column, justify=justify, overflow="fold")
    for rank, r in enumerate(ranked, 1):
        onset = "-" if r.onset is None else f"{_clock(r.onset)} (+{r.onset - anomaly_time:.0f} s)"
        table.add_row(
            str(rank), r.target, f"{r.score:.3f}", split_column(r.metric)[1], f"{r.z:.1f}", onset
        )
    return table


@app.command("rank")
def rank(
    csv: Annotated[
        Path,
        typer.Option(
            "--csv",
            help="Wide metrics CSV: a `time` column (Unix seconds) and one numeric column per "
            "`<service>_<metric>`, e.g. `checkout_cpu`, `ts-order-service_latency-90`.",
        ),
    ],
    anomaly_time: Annotated[
        float,
        typer.Option(
            "--anomaly-time",
            help="When the anomaly began, in Unix seconds: earlier rows are the normal period.",
        ),
    ],
    top: Annotated[int, typer.Option("--top", min=1, help="How many services to list.")] = 10,
    method: Annotated[
        Method,
        typer.Option(
            "--method",
            help="peers: relative shifts against the other services, weighted by what each "
            "metric says about the service itself (works from 1 normal row); robust-z: BARO's "
            "robust z per metric with onset and call-graph tie-breaks (needs 3 normal rows).",
        ),
    ] = Method.peers,
    as_json: JsonFlag = False,
) -> None:
    """Rank the services most likely to have caused an anomaly, best first."""
    try:
        frame = load_wide_csv(csv)
        ranker = rank_by_peers if method is Method.peers else rank_services
        ranked = ranker(frame, anomaly_time)
    except ValueError as exc:
        raise fail(escape(str(exc))) from None  # column names may hold [brackets]
    for note in frame.attrs.get("notes", []):
        err.print(f"note: {note}", style="dim", markup=False, soft_wrap=True)
    shown = ranked[:top]
    if as_json:
        print(json.dumps([{"target": r.target, "score": r.score} for r in shown], indent=2))
        return
    metrics = frame.shape[1] - 1
    out.print(_table(shown, anomaly_time, len(ranked), metrics))
