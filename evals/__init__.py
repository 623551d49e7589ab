"""Eval suites: datasets as YAML, runners that score opsloop against them."""
