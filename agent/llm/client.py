"""Build the chat model for the LLM brain: any OpenAI-compatible endpoint."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel

from opsloop.agent.config import Settings

NO_KEY = "not-needed"  # local servers (vLLM, Ollama, llama.cpp) accept any key


def make_llm(settings: Settings) -> BaseChatModel | None:
    """Return a ChatOpenAI bound to the configured endpoint, or None when no LLM is set."""
    if not settings.llm_enabled:
        return None
    from langchain_openai import ChatOpenAI  # imported lazily: the CLI starts faster without it

    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else NO_KEY
    return ChatOpenAI(
        model=settings.llm_model,
        base_url=settings.llm_base_url,
        api_key=key,
        timeout=settings.llm_timeout,
        max_tokens=settings.llm_max_tokens,
        temperature=settings.llm_temperature,
        max_retries=settings.llm_max_retries,
    )
