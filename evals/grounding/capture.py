"""Capture real tool results from the sandbox for the grounding corpus.

Run once (`python -m opsloop.evals.grounding.capture`): it starts the sandbox's
bad-model-release scenario, asks read-only questions through the deterministic brain, and
writes each turn's question, tool calls, full evidence records (values and facts included)
and known names to `evidence.json`. The corpus's answers are written against these records.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

QUESTIONS = (
    "what is the request rate of gateway over the last 30m",
    "checkout p99 last 30m",
    "p50 latency of gateway last 1h",
    "p95 latency of fraud-api over the last 6h",
    "5xx rate of fraud-api last 15m",
    "error ratio of checkout last 1h",
    "which service has the highest error ratio right now",
    "cpu of feature-store past hour",
    "memory usage of recommender last 2h",
    "restarts of postgres today",
    "how's fraud-api doing",
    "health of checkout last 1h",
    "any errors in fraud-api logs last 30m",
    "most common errors in checkout logs last hour",
    "is fraud-api anomalous",
    "anything unusual in gateway traffic",
    "is fraud-detector drifting",
    "when will feature-store run out of memory",
    "which version of fraud-detector is serving",
    "compare v3 and v4 of fraud-detector",
    "what changed in the last hour?",
    "scan every service's signals for what moved",
    "any similar past incidents for fraud-api quality drops?",
)


def capture(out: Path, scenario: str = "bad-model-release", alert: str = "ModelQualityDrop") -> int:
    """Ask every question in a fresh sandbox; write the turns to `out`; return their count."""
    from opsloop.agent.assistant import Assistant
    from opsloop.agent.config import Settings
    from opsloop.agent.factory import build_deps
    from opsloop.evals.answers import sandbox

    turns: list[dict[str, Any]] = []
    with sandbox(scenario, alert, seed=1) as state:
        assistant = Assistant(build_deps(Settings(home=Path(state["home"]))))
        try:
            known = assistant.deps.catalog.services() + assistant.deps.catalog.models()
            for i, question in enumerate(QUESTIONS, 1):
                result = assistant.ask(question)
                values = assistant.graph.get_state(
                    {"configurable": {"thread_id": result["thread_id"]}}
                ).values
                turns.append(
                    {
                        "id": f"T{i:02d}",
                        "question": question,
                        "tool_calls": [
                            {k: c.get(k) for k in ("name", "args", "status", "summary", "evidence")}
                            for c in values.get("tool_calls", [])
                        ],
                        "evidence": values.get("evidence", []),
                        "answer": result["answer"],
                        "evals": result["evals"],
                    }
                )
                print(f"{i:2d}/{len(QUESTIONS)} {question}", flush=True)
        finally:
            assistant.close()
    out.write_text(
        json.dumps(
            {"scenario": scenario, "known_names": known, "turns": turns}, indent=1, default=str
        )
        + "\n"
    )
    return len(turns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("evidence.json"))
    args = parser.parse_args()
    print(f"{capture(args.out)} turns written to {args.out}")


if __name__ == "__main__":
    main()
