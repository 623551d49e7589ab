"""`make demo`: the closed loop on the sandbox.

A bad model release → the alert fires through Alertmanager → `opsloop serve` investigates →
the report names the release → a person approves the rollback → the alert resolves →
incident memory holds the incident with its resolution.
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.prompt import Confirm
from rich.rule import Rule

from opsloop.agent.cli.render import show_answer
from opsloop.agent.config import Settings, current_user
from opsloop.sandbox.manager import SandboxError, down, up
from opsloop.sandbox.serve import keep_serving

REPORT_DEADLINE_S = 240.0
RESOLVE_DEADLINE_S = 180.0


def wait(check: Callable[[], Any], deadline_s: float, console: Console, text: str) -> Any:
    """Poll `check` under a spinner until it returns something truthy, or None at the deadline."""
    stop = time.monotonic() + deadline_s
    with console.status(text):
        while time.monotonic() < stop:
            found = check()
            if found:
                return found
            time.sleep(0.5)
    return None


def start_server(settings: Settings, sock: socket.socket) -> tuple[Any, Any, threading.Thread]:
    """Run `opsloop serve` in this process on a bound socket; return (server, store, thread)."""
    import uvicorn

    from opsloop.agent.cli.serve import build_server

    app, store, _ = build_server(settings, workers=1)
    config = uvicorn.Config(app, lifespan="on", log_level="warning", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    return server, store, thread


def main(argv: list[str] | None = None) -> int:
    """Run the demo; return an exit code."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", default="bad-model-release", help="scenario to play")
    parser.add_argument("--down", action="store_true", help="stop the sandbox at the end")
    parser.add_argument(
        "--yes", action="store_true", help="approve the suggested action without asking"
    )
    args = parser.parse_args(argv)
    console = Console(highlight=False)
    home = Settings().home
    console.print(Rule("opsloop demo: the closed loop"))
    if stopped := down(home):  # a previous demo's sandbox: start afresh
        console.print(f"stopped the previous sandbox ({', '.join(stopped)})")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    webhook = f"http://127.0.0.1:{sock.getsockname()[1]}/alerts/alertmanager"
    try:
        with console.status("starting the sandbox…") as status:
            state = up(home, args.scenario, webhook=webhook, progress=lambda t: status.update(t))
    except SandboxError as exc:
        console.print(f"[red]{exc}[/]")
        return 2
    console.print(
        f"sandbox up in {state['timings']['total_s']:.1f} s: Prometheus "
        f"{state['urls']['prometheus']}, Alertmanager {state['urls']['alertmanager']}; "
        f"opsloop serve receives its webhooks at {webhook}"
    )
    settings = Settings()  # now pointing at the sandbox
    server, store, thread = start_server(settings, sock)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    console.print(f"incident console: {base}/ (open it in a browser)")
    try:
        return _loop(console, settings, store, args.yes, base)
    finally:
        server.should_exit = True
        thread.join(timeout=60)
        sock.close()  # uvicorn leaves a socket it was given open: free the port
        if args.down:
            down(home)
            console.print("sandbox stopped.")
        else:
            _keep_console(console, home, base)


def _keep_console(console: Console, home: Path, base: str) -> None:
    """Leave `opsloop serve` running with the sandbox, so the console URL keeps working."""
    port = int(base.rsplit(":", 1)[1])
    try:
        kept = keep_serving(home / "sandbox", port)
        where = f"the incident console stays at {kept}/ (opsloop serve, stopped with the sandbox)"
    except Exception as exc:  # the demo's result stands; only the console is gone
        where = f"could not keep the console running ({exc}); `opsloop serve` shows it again"
    console.print(
        f"The sandbox keeps running; {where}. Explore with `opsloop chat`, `opsloop incidents "
        "list`, `opsloop sandbox status --reveal`; stop it with `opsloop sandbox down`."
    )


def _loop(console: Console, settings: Settings, store: Any, yes: bool, base: str) -> int:
    # A previous demo's incidents stay in the store: wait for one this run opens.
    earlier = {r["id"] for r in store.list_incidents(1000)}

    def reported() -> dict | None:
        rows = [
            r for r in store.list_incidents(10) if r["top_hypothesis"] and r["id"] not in earlier
        ]
        return store.get(rows[0]["id"]) if rows else None

    incident = wait(
        reported,
        REPORT_DEADLINE_S,
        console,
        "waiting for the fault, the alert through Alertmanager, and the investigation…",
    )
    if incident is None:
        console.print("[yellow]no investigated incident within four minutes[/]")
        return 1
    report = incident["report"]
    alerts = ", ".join(sorted({a["name"] for a in incident["alerts"]}))
    console.print(Rule(f"incident {incident['id']}: {alerts}"))
    console.print(f"the incident, its charts and timeline: {base}/incidents/{incident['id']}")
    show_answer(console, report)
    pending = report.get("approval")
    if not pending:
        console.print("No write action was suggested; nothing to approve.")
        return 0
    console.print(Panel(pending["preview"], title=f"approval: {pending['tool']}"))
    who = current_user()  # the OS account, as `opsloop approve` records it
    if yes or not sys.stdin.isatty():
        approved, reason = True, "make demo: approved by whoever ran the demo"
        console.print(f"approving as {who} (--yes or no terminal to ask)")
    else:
        approved = Confirm.ask("Approve this action?", default=True, console=console)
        reason = "approved in make demo" if approved else "rejected in make demo"
    from opsloop.agent.assistant import Assistant

    assistant = Assistant.from_settings(settings)
    decision = {"approved": approved, "by": who, "reason": reason}
    result = assistant.resume(incident["id"], decision)
    console.print(Rule("after the decision"))
    console.print(result["answer"].split("Suggested action:")[-1].strip(), markup=False)
    if not approved:
        return 0
    closed = wait(
        lambda: (store.get(incident["id"]) or {}).get("status") == "resolved",
        RESOLVE_DEADLINE_S,
        console,
        "waiting for the alert to resolve…",
    )
    console.print(
        "[green]the alert resolved[/]" if closed else "[yellow]the alert has not resolved yet[/]"
    )
    remembered = wait(
        lambda: _remembered(assistant, incident["id"]), 30.0, console, "checking incident memory…"
    )
    if remembered:
        console.print(Rule("incident memory"))
        console.print(remembered.line(), markup=False)
        console.print(f"resolution: {remembered.resolution}", markup=False)
    return 0 if closed else 1


def _remembered(assistant: Any, incident_id: str) -> Any:
    record = assistant.deps.memory.get(incident_id)
    return record if record and record.outcome == "resolved" else None


if __name__ == "__main__":
    sys.exit(main())
