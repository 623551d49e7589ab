"""A scripted chat model: enqueue replies (text or tool calls), read back what it was sent.

Drives the LLM brain in tests and evals without a network, in the manner of simonw/llm's
fake model. Unlike langchain-core's fake models it supports `bind_tools`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

_ids = itertools.count(1)


def tool_call(name: str, /, **args: Any) -> dict[str, Any]:
    """Build one tool call for a scripted reply."""
    return {"name": name, "args": args, "id": f"call_{next(_ids)}", "type": "tool_call"}


class ScriptedChatModel(BaseChatModel):
    """Reply from a queue; each reply is a string, an AIMessage, a list of tool calls, an
    Exception to raise (a failing endpoint), or a callable given the messages that returns
    one of those (a reply that depends on tool results)."""

    replies: list[Any] = Field(default_factory=list)
    calls: list[list[BaseMessage]] = Field(default_factory=list)
    bound_tools: list[Any] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def enqueue(self, *replies: Any) -> ScriptedChatModel:
        """Append replies to the queue; return self for chaining."""
        self.replies.extend(replies)
        return self

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:  # type: ignore[override]
        """Record the tools; the script decides which to call."""
        self.bound_tools = list(tools)
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.calls.append(list(messages))
        if not self.replies:
            raise RuntimeError("ScriptedChatModel: no reply left in the script")
        reply = self.replies.pop(0)
        if callable(reply) and not isinstance(reply, BaseMessage):
            reply = reply(messages)
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, str):
            message = AIMessage(content=reply)
        elif isinstance(reply, list):
            message = AIMessage(content="", tool_calls=reply)
        else:
            message = reply
        prompt_chars = sum(len(str(m.content)) for m in messages)
        message.usage_metadata = {
            "input_tokens": prompt_chars // 4,
            "output_tokens": max(1, len(str(message.content)) // 4),
            "total_tokens": prompt_chars // 4 + max(1, len(str(message.content)) // 4),
        }
        return ChatResult(generations=[ChatGeneration(message=message)])
