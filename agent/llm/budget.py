"""Keep what the model is sent inside a token budget, and each turn inside a time budget.

Tokens are estimated (about four characters a token for English and JSON): counting
exactly would need the model's tokenizer, which local servers do not expose and which
must not be downloaded at run time. When a conversation is over budget the oldest tool
results are replaced by a one-line note first; the system prompt, the newest question and
everything after it are never cut.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD = 4  # role and separators, per message
MIN_REQUEST_S = 2.0  # below this, another LLM request is not worth starting


def estimate_tokens(messages: Sequence[BaseMessage], tools: Sequence[object] = ()) -> int:
    """Estimate the prompt tokens of `messages` plus the tool schemas offered with them."""
    chars = 0
    for m in messages:
        chars += len(json.dumps(m.content))  # as sent: quotes, escaped newlines
        if isinstance(m, AIMessage) and m.tool_calls:
            chars += len(json.dumps(m.tool_calls, default=str))
    for tool in tools:
        chars += len(getattr(tool, "name", "")) + len(getattr(tool, "description", ""))
        schema = getattr(tool, "args_schema", None)
        if schema is not None and hasattr(schema, "model_json_schema"):
            chars += len(json.dumps(schema.model_json_schema()))
    return chars // CHARS_PER_TOKEN + MESSAGE_OVERHEAD * len(messages)


def fit(
    messages: Sequence[BaseMessage], budget: int, tools: Sequence[object] = ()
) -> tuple[list[BaseMessage], int]:
    """Return `messages` within `budget` tokens and how many tool results were trimmed.

    The oldest tool results go first, each replaced by a note that says it was trimmed, so
    the model knows to call the tool again rather than guess. Tool-call pairs stay intact.
    """
    out = list(messages)
    humans = [i for i, m in enumerate(out) if isinstance(m, HumanMessage)]
    protected_from = humans[-1] if humans else len(out)
    trimmed = 0
    for i, message in enumerate(out):
        if estimate_tokens(out, tools) <= budget:
            break
        if i >= protected_from:
            break
        if isinstance(message, ToolMessage) and not str(message.content).startswith("[trimmed"):
            size = len(str(message.content)) // CHARS_PER_TOKEN
            note = (
                f"[trimmed: this older {message.name or 'tool'} result (~{size} tokens) was "
                "dropped to fit the context budget; its evidence ids still stand. Call the "
                "tool again if you need its figures.]"
            )
            out[i] = message.model_copy(update={"content": note})
            trimmed += 1
    return out, trimmed


class TurnClock:
    """One time budget for a whole turn: every LLM request gets what is left of it."""

    def __init__(self, started_at: float, budget_s: float, per_request_s: float) -> None:
        self.deadline = started_at + budget_s
        self.per_request_s = per_request_s

    def remaining(self) -> float:
        """Seconds left in the turn."""
        return self.deadline - time.time()

    def request_timeout(self) -> float | None:
        """The timeout for the next request; None when the turn has no time left for one."""
        left = self.remaining()
        if left < MIN_REQUEST_S:
            return None
        return min(self.per_request_s, left)
