"""Prompt templates as files, rendered with Jinja and versioned by content hash."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources

from jinja2 import Environment, StrictUndefined

_ENV = Environment(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)


@cache
def load(name: str) -> str:
    """Return the text of prompt `name` (file `prompts/<name>.md`)."""
    return resources.files(__package__).joinpath(f"{name}.md").read_text(encoding="utf-8")


def render(name: str, **values: object) -> str:
    """Render prompt `name` with Jinja; missing values are an error, not blanks."""
    return _ENV.from_string(load(name)).render(**values)


def prompt_hash(name: str) -> str:
    """Return the first 12 hex digits of the SHA-256 of prompt `name`."""
    return hashlib.sha256(load(name).encode()).hexdigest()[:12]


def prompt_hashes() -> dict[str, str]:
    """Return the hash of every prompt file, for answer records and eval runs."""
    names = sorted(
        p.name.removesuffix(".md")
        for p in resources.files(__package__).iterdir()
        if p.name.endswith(".md")
    )
    return {name: prompt_hash(name) for name in names}
