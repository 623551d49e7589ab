"""Foundation benchmark: planner latency, answer latency and prompt tokens per answer.

    python -m bench.foundation [--json]

Starts a real Prometheus over backfilled history and a local OpenAI-compatible server.
Prompt tokens are counted the way the local server reports them (request JSON characters / 4,
system prompt and tool schemas included), side by side with a baseline that puts the raw
Prometheus query_range JSON into the prompt instead of opsloop's bounded summary.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from opsloop.agent.assistant import Assistant
from opsloop.agent.config import Settings
from opsloop.agent.planner.deterministic import plan_question
from opsloop.evals.routing import CATALOG, NOW, load_cases
from opsloop.sandbox.history import start_prometheus_with_history
from opsloop.tools.backends.prometheus.client import PromClient
from opsloop.tools.backends.prometheus.signals import build_signal
from tests.openai_server import openai_server, prompt_token_estimate

LLM_SERVICES = ("checkout", "fraud-api", "gateway", "recommender")
LLM_SIGNALS = ("latency_p99", "error_ratio", "request_rate", "memory")


def _median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 3)


def planner_latency(repeat: int = 20) -> dict[str, Any]:
    """Time the deterministic planner over the routing questions (median of `repeat` runs)."""
    per_question = []
    for case in load_cases():
        runs = []
        for _ in range(repeat):
            start = time.perf_counter()
            plan_question(case["q"], CATALOG, NOW, tz=UTC)
            runs.append(time.perf_counter() - start)
        per_question.append(statistics.median(runs))
    return {
        "questions": len(per_question),
        "median_ms": _median_ms(per_question),
        "p95_ms": round(sorted(per_question)[int(0.95 * len(per_question)) - 1] * 1000, 3),
    }


def answer_latency(assistant: Assistant) -> dict[str, Any]:
    """Time whole deterministic answers (graph, Prometheus queries, self-check)."""
    questions = [c["q"] for c in load_cases() if c["tool"] in ("query_metrics", "golden_signals")]
    times = []
    for q in questions:
        start = time.perf_counter()
        assistant.ask(q)
        times.append(time.perf_counter() - start)
    return {
        "questions": len(times),
        "median_ms": _median_ms(times),
        "p95_ms": round(sorted(times)[int(0.95 * len(times)) - 1] * 1000, 3),
    }


def llm_prompt_tokens(prom_url: str, home: Path) -> dict[str, Any]:
    """Prompt tokens per answer on the LLM path, against a raw-JSON baseline."""
    from opsloop.agent.planner.catalog import LiveCatalog
    from opsloop.tools.backends.prometheus.discovery import Discovery

    prom = PromClient(prom_url)
    catalog = LiveCatalog(Discovery(prom))
    opsloop_tokens, baseline_tokens = [], []
    for service in LLM_SERVICES:
        for signal in LLM_SIGNALS:
            built = build_signal(signal, service, catalog.metric_map(service))
            if built is None:
                continue
            args = {"query": built.promql, "range": "1h"}
            replies = [
                {"tool_calls": [("query_metrics", args)]},
                {"content": f"{service} {signal}: see [E1]."},
            ]
            with openai_server(replies) as (base, script):
                settings = Settings(
                    prometheus_url=prom_url,
                    home=home,
                    llm_base_url=base,
                    llm_api_key="k",
                    llm_max_retries=0,
                )
                result = Assistant.from_settings(settings).ask(f"{signal} of {service}, 1h?")
                requests = list(script.requests)
            opsloop_tokens.append(result["usage"]["input_tokens"])
            baseline_tokens.append(_baseline(requests, prom, built.promql))
    ratio = statistics.median(b / o for b, o in zip(baseline_tokens, opsloop_tokens, strict=True))
    return {
        "answers": len(opsloop_tokens),
        "opsloop_median": statistics.median(opsloop_tokens),
        "raw_json_baseline_median": statistics.median(baseline_tokens),
        "baseline_over_opsloop": round(ratio, 2),
    }


def _baseline(requests: list[dict[str, Any]], prom: PromClient, promql: str) -> int:
    """Re-count the same two requests with the tool message replaced by raw Prometheus JSON."""
    end = datetime.now(UTC)
    raw = prom.range(promql, end - timedelta(hours=2), end, 30.0)
    total = 0
    for request in requests:
        messages = [dict(m) for m in request["messages"]]
        for message in messages:
            if message.get("role") == "tool":
                message["content"] = json.dumps(raw)
        total += prompt_token_estimate({**request, "messages": messages})
    return total


def main() -> int:
    """Run every measurement and print a table (or JSON)."""
    report: dict[str, Any] = {"planner": planner_latency()}
    with tempfile.TemporaryDirectory(prefix="opsloop-bench-") as tmp:
        proc, url = start_prometheus_with_history(
            Path(tmp) / "prom", hours=3, end=time.time() + 1800
        )
        try:
            home = Path(tmp) / "home"
            report["answer"] = answer_latency(
                Assistant.from_settings(Settings(prometheus_url=url, home=home))
            )
            report["llm_prompt_tokens"] = llm_prompt_tokens(url, home)
        finally:
            proc.stop()
    if "--json" in sys.argv:
        print(json.dumps(report, indent=2))
        return 0
    p, a, t = report["planner"], report["answer"], report["llm_prompt_tokens"]
    print(
        f"deterministic planner, {p['questions']} questions: median {p['median_ms']} ms, "
        f"p95 {p['p95_ms']} ms"
    )
    print(
        f"whole answer (graph + Prometheus + self-check), {a['questions']} questions: "
        f"median {a['median_ms']} ms, p95 {a['p95_ms']} ms"
    )
    print(
        f"LLM path prompt tokens per answer ({t['answers']} answers, 2 LLM calls each): "
        f"opsloop {t['opsloop_median']:.0f} vs raw-JSON baseline "
        f"{t['raw_json_baseline_median']:.0f} → baseline/opsloop = {t['baseline_over_opsloop']}×"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
