"""The deterministic brain: intents, entities and time ranges from a question, and a plan."""
