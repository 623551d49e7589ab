"""The tools the model calls: typed functions with docstrings written for the LLM."""
