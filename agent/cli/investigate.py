"""`opsloop investigate --alert FILE`: run the RCA playbook on an alert payload."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from opsloop.agent.cli.common import (
    JsonFlag,
    approver_name,
    assistant_for,
    err,
    fail,
    finish,
    load_settings,
    out,
)
from opsloop.agent.rca.alerts import AlertError, parse_notification


def investigate(
    alert: Annotated[
        Path,
        typer.Option(
            "--alert",
            help="Alertmanager webhook payload (version 4) or Grafana alert payload, as JSON; "
            "- reads standard input.",
        ),
    ],
    as_json: JsonFlag = False,
    thread: Annotated[
        str | None, typer.Option(help="Thread id for the investigation (default: a new one).")
    ] = None,
) -> None:
    """Investigate an alert: scope it, gather evidence, rank root causes, suggest a fix.

    The suggested write action (rollback, retrain) is never run without approval: at a
    terminal you are asked; otherwise the thread waits for `opsloop approve THREAD`.
    Exit codes: 0 done, 2 could not investigate, 3 waiting for approval.
    """
    from opsloop.agent.cli.chat import approver_for
    from opsloop.agent.cli.render import Progress

    notification = _read(alert)
    settings = load_settings()
    assistant = assistant_for(settings)
    alerts = [a.public() for a in notification.alerts]
    interactive = sys.stdin.isatty() and not as_json and str(alert) != "-"
    with Progress(err, err.is_terminal and not as_json) as live:
        approver = approver_for(out, approver_name(settings), live) if interactive else None
        result = assistant.investigate(
            alerts, thread_id=thread, user=settings.user, approver=approver, on_step=live.on_step
        )
    finish(result, as_json)


def _read(path: Path) -> Any:
    """Read and parse the payload, turning every problem into one line."""
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text()
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise fail(f"{path} is not JSON: {exc.msg} at line {exc.lineno}") from None
    try:
        return parse_notification(payload)
    except AlertError as exc:
        raise fail(f"{path}: {exc}") from None
