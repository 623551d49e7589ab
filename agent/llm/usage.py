"""A turn's LLM usage: which model served it, what it cost, and what one answer record adds.

Alert turns can store two answer records (the report, then the report after an approved
action), each carrying the whole turn's totals; `part_of` returns what is new in a record,
so exporters count every token, cost and tool call once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

# The deterministic brain, named the way the OTel gen_ai.* attributes name an LLM.
NO_LLM = ("opsloop", "deterministic")
_unpriced: set[str] = set()  # models already reported as having no price


def llm_identity(llm: Any, settings: Any) -> tuple[str, str]:
    """Return (gen_ai.provider.name, gen_ai.request.model) for a chat model, or NO_LLM."""
    if llm is None:
        return NO_LLM
    model = getattr(llm, "model_name", None) or getattr(llm, "model", None) or settings.llm_model
    if not settings.llm_enabled:  # a model injected in code (tests, evals): its own type
        return str(getattr(llm, "_llm_type", "_OTHER")), str(model)
    host = (urlsplit(settings.llm_base_url or "").hostname or "").lower()
    # OTel: an OpenAI-compatible endpoint is "openai" to the best of the client's knowledge.
    provider = "azure.ai.openai" if host.endswith(".openai.azure.com") else "openai"
    return provider, str(model)


def llm_used(usage: Mapping[str, Any]) -> bool:
    """Return True when a turn made at least one LLM call."""
    return bool(usage.get("llm_calls") or usage.get("input_tokens") or usage.get("output_tokens"))


def cost_usd(
    input_tokens: int, output_tokens: int, model: str, prices: Mapping[str, Any]
) -> float | None:
    """Price tokens with the configured table; None when the model has no price."""
    price = prices.get(model)
    if price is None:
        if model not in _unpriced:
            _unpriced.add(model)
            log.warning(
                "no price for model %r in llm_prices (OPSLOOP_LLM_PRICES): its cost_usd is null",
                model,
            )
        return None
    total = input_tokens * price["input_per_mtok"] + output_tokens * price["output_per_mtok"]
    return round(total / 1_000_000, 8)


def priced(usage: Mapping[str, Any], deps: Any) -> dict[str, Any]:
    """Return the usage fields that name the model and the turn's cost.

    A turn that made no LLM call was answered by the deterministic brain (none configured,
    or a fallback before the first reply) and costs 0.0; an unpriced model's cost is None,
    never a guess.
    """
    if deps.llm is None or not llm_used(usage):
        return {"provider": NO_LLM[0], "model": NO_LLM[1], "cost_usd": 0.0}
    provider, model = llm_identity(deps.llm, deps.settings)
    cost = cost_usd(
        int(usage.get("input_tokens", 0)),
        int(usage.get("output_tokens", 0)),
        model,
        deps.settings.llm_prices,
    )
    return {"provider": provider, "model": model, "cost_usd": cost}


def busy_s(usage: Mapping[str, Any]) -> float:
    """Return the seconds the graph worked on a turn: latency without approval waits."""
    latency = float(usage.get("latency_s") or 0.0)
    return max(0.0, latency - float(usage.get("approval_wait_s") or 0.0))


def counters(record: Mapping[str, Any]) -> dict[str, float]:
    """Return the running totals of a record, for the next record of the same turn."""
    usage = record.get("usage") or {}
    evals = record.get("evals") or {}
    return {
        "tool_calls": len(record.get("tool_calls") or []),
        "chat_calls": len(usage.get("chat_calls") or []),
        "input_tokens": int(usage.get("input_tokens") or 0),
        "output_tokens": int(usage.get("output_tokens") or 0),
        "cost_usd": float(usage.get("cost_usd") or 0.0),
        "busy_s": busy_s(usage),
        "writes_without_approval": int(evals.get("writes_without_approval") or 0),
        "ended_at": float(record.get("ended_at") or 0.0),
    }


@dataclass
class Part:
    """What one answer record adds to the turn's earlier records."""

    provider: str
    model: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    chat_calls: list[dict[str, Any]] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0
    busy_s: float = 0.0
    writes_without_approval: int = 0
    started_at: float = 0.0
    ended_at: float = 0.0

    @property
    def llm(self) -> bool:
        """Return True when this part made an LLM call."""
        return bool(self.chat_calls or self.input_tokens or self.output_tokens)


def part_of(record: Mapping[str, Any]) -> Part:
    """Return what `record` adds beyond `record["previous"]` (the turn's last record)."""
    usage = record.get("usage") or {}
    now = counters(record)
    before = record.get("previous") or {}
    cost = usage.get("cost_usd")
    delta = {k: now[k] - float(before.get(k, 0)) for k in now}
    started = float(before.get("ended_at") or record.get("started_at") or now["ended_at"])
    return Part(
        provider=str(usage.get("provider") or NO_LLM[0]),
        model=str(usage.get("model") or NO_LLM[1]),
        tool_calls=list(record.get("tool_calls") or [])[int(before.get("tool_calls", 0)) :],
        chat_calls=list(usage.get("chat_calls") or [])[int(before.get("chat_calls", 0)) :],
        input_tokens=max(0, int(delta["input_tokens"])),
        output_tokens=max(0, int(delta["output_tokens"])),
        cost_usd=None if cost is None else max(0.0, round(delta["cost_usd"], 8)),
        busy_s=max(0.0, delta["busy_s"]),
        writes_without_approval=max(0, int(delta["writes_without_approval"])),
        started_at=started,
        ended_at=now["ended_at"],
    )
