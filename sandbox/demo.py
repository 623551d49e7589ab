"""`make demo`: bring up the sandbox with an incident, wait for the alert, ask opsloop about it."""

from __future__ import annotations

import argparse
import sys
import time

import httpx
from rich.console import Console
from rich.panel import Panel
from rich.rule import Rule

from agent.config import Settings
from agent.render import Progress, show_answer
from agent.session import Assistant
from sandbox.manager import SandboxError, down, up

QUESTIONS = (
    "how's fraud-api doing?",
    "model_online_auc for fraud-detector over the last 15m",
    "model_serving_info for fraud-detector right now",
    "which service has the highest error rate in the last 30m",
)
ALERT_DEADLINE_S = 120.0


def wait_for_alert(alertmanager: str, console: Console) -> dict | None:
    """Poll Alertmanager until an alert is active; return it (or None after the deadline)."""
    stop = time.monotonic() + ALERT_DEADLINE_S
    with console.status("waiting for Prometheus to fire an alert through Alertmanager…"):
        while time.monotonic() < stop:
            try:
                alerts = httpx.get(f"{alertmanager}/api/v2/alerts", timeout=5).json()
            except httpx.HTTPError:
                alerts = []
            active = [a for a in alerts if a.get("status", {}).get("state") == "active"]
            if active:
                return active[0]
            time.sleep(1)
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the demo; return an exit code."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", default="bad-model-release", help="scenario to play")
    parser.add_argument("--down", action="store_true", help="stop the sandbox at the end")
    args = parser.parse_args(argv)
    console = Console(highlight=False)
    settings = Settings()
    console.print(Rule("opsloop demo"))
    if stopped := down(settings.home):  # a previous demo's sandbox: start afresh
        console.print(f"stopped the previous sandbox ({', '.join(stopped)})")
    try:
        with console.status("starting the sandbox…") as status:
            state = up(
                settings.home, args.scenario, progress=lambda text: status.update(text + "…")
            )
    except SandboxError as exc:
        console.print(f"[red]{exc}[/]")
        return 2
    console.print(
        f"sandbox up in {state['timings']['total_s']:.1f} s: Prometheus "
        f"{state['urls']['prometheus']}, Alertmanager {state['urls']['alertmanager']}, "
        f"{state['series']} series, {state['history_hours']:g} h of history, "
        f"logs in {state['logs_dir']}"
    )
    alert = wait_for_alert(state["urls"]["alertmanager"], console)
    if alert is None:
        console.print("[yellow]no alert fired within two minutes[/]")
    else:
        labels, notes = alert["labels"], alert["annotations"]
        console.print(
            Panel(
                f"[bold]{labels['alertname']}[/] {labels.get('severity', '')}\n"
                f"{notes.get('summary', '')}\n{notes.get('description', '')}\n"
                f"runbook: {notes.get('runbook_url', '-')}",
                title="alert firing",
                border_style="red",
            )
        )
    assistant = Assistant.from_settings(Settings())  # now pointing at the sandbox
    for question in QUESTIONS:
        console.print(Rule(f"opsloop ask {question!r}"))
        with Progress(console, console.is_terminal) as live:
            result = assistant.ask(question, on_step=live.on_step)
        show_answer(console, result)
    console.print(Rule())
    if args.down:
        down(settings.home)
        console.print("sandbox stopped.")
    else:
        console.print(
            "The sandbox keeps running. Explore with `opsloop chat`, see the ground truth with "
            "`opsloop sandbox status --reveal`, stop it with `opsloop sandbox down`."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
