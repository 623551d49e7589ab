"""Answers built only from evidence, and the self-check that holds them to it."""
