"""The LLM brain's parts: the chat model client, prompts and history, usage, a scripted model."""
