"""Prompt size of the LLM path: a first question, and a follow-up in an alert's thread.

Runs the real `openai` client against a local chat-completions server (tests/openai_server)
over a real Prometheus with backfilled history, and reports the prompt tokens of each
request as providers estimate them (messages plus tool schemas, ~4 characters a token).

    python -m bench.prompt_tokens            # this checkout
    PYTHONPATH=/path/to/pkg python -m bench.prompt_tokens   # another checkout, for a baseline

Follow-ups are where prompts grow: each one in a thread adds its tool results, and the next
request carries the last few turns' results unless the context budget trims them.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from opsloop.agent.assistant import Assistant
from opsloop.agent.config import Settings
from opsloop.sandbox.history import start_prometheus_with_history
from tests.openai_server import openai_server, prompt_token_estimate
from tests.test_investigate import alerts_of, payload

ANSWER = {"content": "Checked [E1]."}


FOLLOWUPS = 4
READS = [
    ("golden_signals", {"service": s, "range": "1h"}) for s in ("checkout", "gateway", "fraud-api")
]


def measure(prometheus: str, home: Path) -> dict[str, int]:
    """Return the prompt tokens of the first question and of follow-ups in an alert thread."""
    replies = [
        {"tool_calls": [("golden_signals", {"service": "checkout", "range": "1h"})]},
        ANSWER,
        *([{"content": "No further reads needed."}] * 2),  # the investigation's LLM asks
    ]
    for _ in range(FOLLOWUPS):
        replies += [{"tool_calls": READS}, ANSWER]
    with openai_server(replies) as (base, script):
        settings = Settings(
            prometheus_url=prometheus,
            home=home,
            llm_base_url=base,
            llm_api_key="sk-bench",
            llm_model="scripted-1",
            llm_max_retries=0,
            llm_timeout=30,
        )
        assistant = Assistant.from_settings(settings)
        assistant.ask("how is checkout doing?", thread_id="q-bench")
        first = [prompt_token_estimate(r) for r in script.requests]
        assistant.investigate(alerts_of(payload(time.time() - 1800)), thread_id="inc-bench")
        for i in range(FOLLOWUPS):
            asked = len(script.requests)
            assistant.ask(f"and how do checkout, gateway and fraud-api look now? ({i})",
                          thread_id="inc-bench")  # fmt: skip
        last = [prompt_token_estimate(r) for r in script.requests[asked:]]
    return {
        "first question, 1st request": first[0],
        "first question, after the tool result": first[-1],
        f"alert thread, follow-up {FOLLOWUPS}, 1st request": last[0],
        f"alert thread, follow-up {FOLLOWUPS}, after its tool results": last[-1],
    }


def main() -> int:
    """Print the prompt tokens per request as a table and JSON."""
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_prometheus_with_history(
            Path(tmp) / "prom", hours=3.0, end=time.time() + 3600, seed=7
        )
        try:
            figures = measure(url, Path(tmp) / "home")
        finally:
            proc.stop()
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value:>7,} tokens")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
