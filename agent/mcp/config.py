"""`[[mcp_servers]]` in opsloop.toml: which MCP servers lend opsloop their tools."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field, ValidationError, model_validator

from opsloop.agent.config import ConfigError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,30}$")


class McpServerSpec(BaseModel):
    """One MCP server: a command to start (stdio) or a URL (streamable HTTP)."""

    name: str = Field(description="Short name; its tools are called <name>__<tool>.")
    command: str | None = Field(None, description="Program to start (stdio transport).")
    args: list[str] = Field(default_factory=list, description="Its arguments.")
    env: dict[str, str] = Field(default_factory=dict, description="Extra environment (secrets).")
    url: str | None = Field(None, description="Streamable HTTP endpoint, e.g. https://h/mcp.")
    headers: dict[str, str] = Field(default_factory=dict, description="HTTP headers (secrets).")
    allow: list[str] = Field(
        default_factory=list,
        description="Write or destructive tools to enable (each still needs approval).",
    )
    start_timeout_s: float = Field(20.0, gt=0, description="Seconds to connect and list tools.")
    timeout_s: float = Field(30.0, gt=0, description="Seconds one tool call may take.")
    output_chars: int | None = Field(None, ge=200, description="Output budget per call.")

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerSpec:
        if not _NAME.match(self.name) or "__" in self.name:
            raise ValueError(
                f"name {self.name!r}: use letters, digits, - and _ (no __), up to 31 characters"
            )
        if bool(self.command) == bool(self.url):
            raise ValueError(f"{self.name}: give either command (stdio) or url (HTTP), not both")
        return self

    def secrets(self) -> list[str]:
        """Return the values to redact from prompts and mask in `config show`."""
        return [v for v in [*self.env.values(), *self.headers.values()] if v]


def server_specs(raw: list[dict[str, Any]]) -> list[McpServerSpec]:
    """Read the configured servers; raise ConfigError naming the bad entry."""
    specs, seen = [], set()
    for index, entry in enumerate(raw or []):
        try:
            spec = McpServerSpec.model_validate(entry)
        except ValidationError as exc:
            problems = "; ".join(e["msg"] for e in exc.errors())
            raise ConfigError(f"[[mcp_servers]] entry {index + 1}: {problems}") from None
        if spec.name in seen:
            raise ConfigError(f"[[mcp_servers]] name {spec.name!r} is used twice")
        seen.add(spec.name)
        specs.append(spec)
    return specs
