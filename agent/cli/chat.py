"""`opsloop chat`: a REPL with live steps, approval prompts, history and slash commands."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.prompt import Confirm, Prompt

from opsloop.agent.assistant import Assistant
from opsloop.agent.cli.common import approver_name
from opsloop.agent.cli.render import Progress, show_answer, show_approval

HELP = """\
Ask in plain words, e.g. "p99 latency of checkout last 30m" or "how is fraud-api doing?".
/help   this text
/reset  start a new conversation thread
/thread show the current thread id
/feedback TEXT  tell incident memory about this incident ("root cause was …")
/exit   leave (Ctrl-D works too)"""


def approver_for(
    console: Console, user: str, progress: Progress | None = None
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Return an approval callback that asks the person at the terminal."""

    def approve(request: dict[str, Any]) -> dict[str, Any]:
        with progress.paused() if progress else nullcontext():
            show_approval(console, request)
            yes = Confirm.ask("Approve this action?", default=False, console=console)
            reason = Prompt.ask("Reason (optional)", default="", console=console)
        return {"approved": yes, "by": user, "reason": reason or ("approved" if yes else "")}

    return approve


def feedback(assistant: Assistant, thread: str, text: str, asked: str | None = None) -> str:
    """Add a person's words to this thread's incident record; return what happened.

    A thread that was only plain questions has no record; a person's diagnosis of what they
    asked about makes it an incident, as the root-cause button does in Slack.
    """
    from opsloop.agent.stores.memory import Incident

    if not text:
        return "usage: /feedback root cause was …"
    record = f"Q-{thread}"
    try:
        assistant.deps.memory.update(record, feedback=text)
    except KeyError:
        if not asked:
            return "this thread has no incident record yet: ask about the incident first"
        try:
            assistant.deps.memory.add(
                Incident(id=record, title=asked[:200], text=f"Q: {asked}", feedback=text,
                         source="cli", outcome="answered")
            )  # fmt: skip
        except Exception as exc:
            return f"could not update incident memory: {exc}"
        return f"noted in incident memory: this thread is now incident {record}"
    except Exception as exc:  # an unreachable memory store is reported, not fatal
        return f"could not update incident memory: {exc}"
    return f"noted in incident memory ({record})"


def _reader(history_file: Path) -> Callable[[str], str]:
    """Use prompt_toolkit (with history) on a terminal, plain input() otherwise."""
    if sys.stdin.isatty() and sys.stdout.isatty():
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory

        history_file.parent.mkdir(parents=True, exist_ok=True)
        session: PromptSession[str] = PromptSession(history=FileHistory(str(history_file)))
        return lambda prompt: session.prompt(prompt)
    return input


def run_chat(assistant: Assistant, console: Console) -> int:
    """Run the REPL until /exit or end of input; return an exit code."""
    settings = assistant.deps.settings
    approver = approver_name(settings)
    read = _reader(settings.home / "chat_history")
    thread, asked = uuid.uuid4().hex[:12], None
    brain = "LLM " + settings.llm_model if assistant.deps.llm else "deterministic planner"
    console.print(f"opsloop chat · {brain} · Prometheus {settings.prometheus_url} · /help")
    while True:
        try:
            line = read("opsloop> ").strip()
        except (EOFError, KeyboardInterrupt):
            console.print()
            return 0
        if not line:
            continue
        if line in ("/exit", "/quit", "exit", "quit"):
            return 0
        if line == "/help":
            console.print(HELP, markup=False)
            continue
        if line == "/reset":
            thread, asked = uuid.uuid4().hex[:12], None
            console.print(f"new thread {thread}")
            continue
        if line == "/thread":
            console.print(thread)
            continue
        if line.startswith("/feedback"):
            said = line.removeprefix("/feedback").strip()
            console.print(feedback(assistant, thread, said, asked))
            continue
        if line.startswith("/"):
            console.print(f"unknown command {line}; /help lists them", markup=False)
            continue
        asked = asked or line
        with Progress(console, console.is_terminal) as live:
            result = assistant.ask(
                line,
                thread_id=thread,
                on_step=live.on_step,
                approver=approver_for(console, approver, live),
            )
        show_answer(console, result)
        console.print()
