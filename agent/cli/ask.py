"""`opsloop ask`, `opsloop approve` and `opsloop chat`: questions and approvals."""

from __future__ import annotations

import sys
from typing import Annotated

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
    assistant = assistant_for(settings)
    interactive = sys.stdin.isatty() and not as_json
    with Progress(err, err.is_terminal and not as_json) as live:
        approver = approver_for(out, approver_name(settings), live) if interactive else None
        result = assistant.ask(question, thread_id=thread, approver=approver, on_step=live.on_step)
    finish(result, as_json)


def approve(
    thread_id: Annotated[str, typer.Argument(help="Thread waiting for approval.")],
    reject: Annotated[bool, typer.Option("--reject", help="Reject instead of approve.")] = False,
    reason: Annotated[str, typer.Option(help="Why; stored in the audit log.")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Approve (or reject) the write action a thread is waiting for.

    With OPSLOOP_SERVER_URL set, the decision goes through that `opsloop serve` as the
    person whose OPSLOOP_TOKEN it is; otherwise it is taken here as your OS account.
    """
    from opsloop.agent.approvals.decide import DecisionError, decide

    settings = load_settings()
    if settings.server_url:
        from opsloop.agent.cli.remote import approve_remote

        finish(approve_remote(settings, thread_id, not reject, reason), as_json)
        return
    assistant = assistant_for(settings)
    try:
        result = decide(assistant, thread_id, approver_name(settings), not reject, reason, "cli")
    except DecisionError as exc:
        raise fail(exc.message) from None
    finish(result, as_json)


def chat() -> None:
    """Start an interactive chat with live steps and approval prompts."""
    from opsloop.agent.cli.chat import run_chat

    settings = load_settings()
    raise typer.Exit(run_chat(assistant_for(settings), out))
