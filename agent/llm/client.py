"""Build the chat model for the LLM brain: any OpenAI-compatible endpoint."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from langchain_core.language_models import BaseChatModel

from opsloop.agent.config import Settings

NO_KEY = "not-needed"  # local servers (vLLM, Ollama, llama.cpp) accept any key
OPENAI_HOSTS = ("api.openai.com",)


def make_llm(settings: Settings) -> BaseChatModel | None:
    """Return a chat model bound to the configured endpoint, or None when no LLM is set."""
    if not settings.llm_enabled:
        return None
    # Imported lazily: the CLI starts faster without it.
    from langchain_openai import ChatOpenAI

    class CompatChatOpenAI(ChatOpenAI):
        """ChatOpenAI whose requests the stricter OpenAI-compatible servers accept too."""

        def _get_request_payload(self, input_: Any, *, stop: Any = None, **kw: Any) -> dict:
            return compatible(super()._get_request_payload(input_, stop=stop, **kw), self)

    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else NO_KEY
    return CompatChatOpenAI(
        model=settings.llm_model,
        base_url=settings.llm_base_url,
        api_key=key,
        timeout=settings.llm_timeout,
        max_tokens=settings.llm_max_tokens,
        temperature=settings.llm_temperature,
        max_retries=settings.llm_max_retries,
    )


def compatible(payload: dict[str, Any], llm: Any) -> dict[str, Any]:
    """Adjust a chat-completions payload for servers other than OpenAI's own."""
    for message in payload.get("messages", []):
        # OpenAI allows a null content beside tool_calls; llama-cpp-python's schema does not.
        if message.get("role") == "assistant" and message.get("content") is None:
            message["content"] = ""
    host = urlparse(str(getattr(llm, "openai_api_base", "") or "")).hostname
    if host and host not in OPENAI_HOSTS and "max_completion_tokens" in payload:
        # langchain-openai renames max_tokens for OpenAI's newer models; local servers
        # (llama.cpp, older vLLM and Ollama) read only the old name and ignore the cap.
        payload["max_tokens"] = payload.pop("max_completion_tokens")
    return payload
