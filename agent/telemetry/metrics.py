"""Self-monitoring on Prometheus: every answer record as OpenTelemetry GenAI metrics.

Names are the Prometheus forms of OTel's GenAI semantic conventions
(`gen_ai.client.token.usage` → `gen_ai_client_token_usage`, attribute dots → underscores),
with opsloop's own counters beside them. Labels come from configuration and fixed sets
only (brain, model, provider, tool, status) — never a thread id or a question.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from opsloop.agent.llm.usage import part_of

log = logging.getLogger(__name__)

# OTel's advised bucket boundaries for the two GenAI client histograms.
TOKEN_BUCKETS = tuple(float(4**i) for i in range(14))  # 1, 4, 16, … 67108864
DURATION_BUCKETS = tuple(0.01 * 2**i for i in range(14))  # 0.01, 0.02, … 81.92
SCORE_BUCKETS = tuple(round(0.1 * i, 1) for i in range(1, 11))  # 0.1 … 1.0
EVALUATIONS = ("groundedness", "citation_coverage", "tool_error_rate")
STATUSES = ("ok", "error", "no_data", "denied", "approval_required")
OTHER = "_OTHER"  # OTel's name for a value outside the known set


class Telemetry:
    """Register the self-monitoring series on `registry`; `observe` counts one answer record.

    `tools` names the tools label may take; any other name (a model's invented tool) is
    counted as `_OTHER`, so the label stays bounded.
    """

    def __init__(self, registry: CollectorRegistry, tools: Iterable[str] = ()) -> None:
        self.tools = set(tools)
        gen_ai = ["gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model"]
        self.tokens = Histogram(
            "gen_ai_client_token_usage",
            "Tokens used per LLM call (OTel gen_ai.client.token.usage, unit {token}).",
            [*gen_ai, "gen_ai_token_type"],
            buckets=TOKEN_BUCKETS,
            registry=registry,
        )
        self.duration = Histogram(
            "gen_ai_client_operation_duration_seconds",
            "Seconds the agent worked on one answer, approval waits excluded "
            "(OTel gen_ai.client.operation.duration).",
            gen_ai,
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.evaluation = Histogram(
            "gen_ai_evaluation_result",
            "Self-check scores of each answer (OTel gen_ai.evaluation.result), 0..1.",
            ["gen_ai_evaluation_name"],
            buckets=SCORE_BUCKETS,
            registry=registry,
        )
        self.answers = Counter(
            "opsloop_answers", "Answers given, by brain and whether the self-check passed.",
            ["brain", "grounded"], registry=registry,
        )  # fmt: skip
        self.tool_calls = Counter(
            "opsloop_tool_calls", "Tool calls made for answers, by tool and outcome.",
            ["tool", "status"], registry=registry,
        )  # fmt: skip
        self.unapproved = Counter(
            "opsloop_writes_without_approval",
            "Write actions that ran without a recorded approval (should stay 0).",
            registry=registry,
        )
        self.cost = Counter(
            "opsloop_llm_cost_usd", "LLM spend in USD, priced with llm_prices.",
            ["gen_ai_request_model"], registry=registry,
        )  # fmt: skip
        self.unpriced = Counter(
            "opsloop_llm_unpriced_answers",
            "Answers whose model has no price in llm_prices (their cost is not in the total).",
            ["gen_ai_request_model"], registry=registry,
        )  # fmt: skip
        # Zero series up front, so rate() and alerts see them before the first answer.
        for brain in ("llm", "deterministic"):
            for grounded in ("true", "false"):
                self.answers.labels(brain, grounded)
        for name in EVALUATIONS:
            self.evaluation.labels(name)

    def observe(self, record: Mapping[str, Any]) -> None:
        """Count one answer record (as `remember_node` stores it)."""
        part = part_of(record)
        evals = record.get("evals") or {}
        brain = "llm" if record.get("brain") == "llm" else "deterministic"
        self.answers.labels(brain, "true" if evals.get("grounded") else "false").inc()
        self.duration.labels("invoke_agent", part.provider, part.model).observe(part.busy_s)
        for name in EVALUATIONS:
            value = evals.get(name)
            if isinstance(value, int | float) and not isinstance(value, bool):
                self.evaluation.labels(name).observe(float(value))
        for call in part.tool_calls:
            status = call.get("status")
            self.tool_calls.labels(
                self._tool(call.get("name")), status if status in STATUSES else OTHER
            ).inc()
        if part.writes_without_approval:
            self.unapproved.inc(part.writes_without_approval)
        if not part.llm:
            return
        chat = ["chat", part.provider, part.model]
        # One observation per LLM call, as OTel defines it; totals when calls were not listed.
        calls = part.chat_calls or [
            {"input_tokens": part.input_tokens, "output_tokens": part.output_tokens}
        ]
        for call in calls:
            self.tokens.labels(*chat, "input").observe(int(call.get("input_tokens") or 0))
            self.tokens.labels(*chat, "output").observe(int(call.get("output_tokens") or 0))
        if part.cost_usd is None:
            self.unpriced.labels(part.model).inc()
        else:
            self.cost.labels(part.model).inc(part.cost_usd)

    def _tool(self, name: Any) -> str:
        if not isinstance(name, str) or (self.tools and name not in self.tools):
            return OTHER
        return name
