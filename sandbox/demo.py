"""`make demo`: start Prometheus over the sandbox world's history and ask it on-call questions."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.rule import Rule

from agent.config import Settings
from agent.render import Progress, show_answer
from agent.session import Assistant
from sandbox.history import start_prometheus_with_history

QUESTIONS = (
    "what is the p99 latency of checkout over the last hour?",
    "how's fraud-api doing?",
    "which service has the highest error rate in the last 30m",
    "mem usage of recommender rn",
    "p99 of payments-svc",
)


def main(argv: list[str] | None = None) -> int:
    """Run the demo; return an exit code."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hours", type=float, default=6.0, help="hours of history")
    parser.add_argument("--seed", type=int, default=7, help="noise seed")
    args = parser.parse_args(argv)
    console = Console(highlight=False)
    with tempfile.TemporaryDirectory(prefix="opsloop-demo-") as tmp:
        console.print(
            f"Backfilling {args.hours:g} h of metrics with promtool and starting Prometheus…",
            style="bold",
        )
        started = time.monotonic()
        proc, url = start_prometheus_with_history(Path(tmp), hours=args.hours, seed=args.seed)
        console.print(f"Prometheus ready at {url} in {time.monotonic() - started:.1f} s\n")
        try:
            assistant = Assistant.from_settings(Settings(prometheus_url=url))
            for question in QUESTIONS:
                console.print(Rule(f"opsloop ask {question!r}"))
                with Progress(console, console.is_terminal) as live:
                    result = assistant.ask(question, on_step=live.on_step)
                show_answer(console, result)
                console.print()
        finally:
            proc.stop()
    console.print(
        "Done. Point opsloop at your own Prometheus with OPSLOOP_PROMETHEUS_URL and "
        "run `opsloop chat`."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
