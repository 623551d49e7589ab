"""Other MCP servers' tools as opsloop tools: name-spaced, bounded, gated when they write.

A tool is a read only when its server marks it read-only and not destructive; any other
tool is off unless the server's `allow` list names it, and then it is a write that waits
for a person's approval like opsloop's own.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import mcp_types as types

from opsloop.agent.mcp.client import McpConnection, ServerDown
from opsloop.agent.mcp.config import McpServerSpec
from opsloop.tools.base import Evidence, OpsTool, ToolResult, ToolStatus

MAX_DESCRIPTION = 1200
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class Offered:
    """One remote tool and what opsloop makes of it."""

    server: str
    tool: types.Tool
    name: str  # <server>__<tool>, as the model calls it
    risk: str  # "read" or "write"
    enabled: bool
    why: str


def local_name(server: str, tool: str) -> str:
    """Return the name-spaced tool name (OpenAI allows [A-Za-z0-9_-], 64 characters)."""
    return f"{server}__{_UNSAFE.sub('_', tool)}"[:64]


def classify(spec: McpServerSpec, tool: types.Tool) -> Offered:
    """Decide whether a remote tool is a read, an allowed write, or off."""
    hints = tool.annotations or types.ToolAnnotations()
    name = local_name(spec.name, tool.name)
    read = hints.read_only_hint is True and hints.destructive_hint is not True
    if read:
        return Offered(spec.name, tool, name, "read", True, "read-only")
    allowed = tool.name in spec.allow or name in spec.allow
    marked = "destructive" if hints.destructive_hint is not False else "not marked read-only"
    if allowed:
        return Offered(spec.name, tool, name, "write", True, f"{marked}; allowed, needs approval")
    return Offered(spec.name, tool, name, "write", False, f"{marked}; not in allow")


def offered(connection: McpConnection) -> list[Offered]:
    """Return every tool the connected server lists, classified."""
    return [classify(connection.spec, t) for t in connection.tools]


def remote_tools(connection: McpConnection) -> list[OpsTool]:
    """Return the enabled tools of one connected server as opsloop tools."""
    return [_as_tool(connection, o) for o in offered(connection) if o.enabled]


def _as_tool(connection: McpConnection, item: Offered) -> OpsTool:
    spec, remote = connection.spec, item.tool

    def run(**args: Any) -> ToolResult:
        try:
            reply = connection.call(remote.name, args, spec.timeout_s)
        except (ServerDown, TimeoutError, RuntimeError) as exc:
            return ToolResult.failure(f"{item.name} failed: {exc}")
        return as_result(item, args, reply)

    def preview(args: dict[str, Any]) -> str:
        return (
            f"call {remote.name} on MCP server {spec.name} with {_args(args)} "
            "(that server offers no dry run: this is exactly what will be sent)"
        )

    text = (remote.description or remote.title or remote.name).strip()[:MAX_DESCRIPTION]
    where = f"(tool {remote.name} of the MCP server {spec.name}"
    where += "; needs a person's approval)" if item.risk == "write" else ")"
    schema = remote.input_schema or {"type": "object", "properties": {}}
    return OpsTool(
        name=item.name,
        description=f"{text} {where}",
        func=run,
        args_schema={"type": "object", "properties": {}, **schema},
        risk=item.risk,  # type: ignore[arg-type]
        timeout_s=spec.timeout_s + 2.0,  # the connection's own timeout answers first
        output_chars=spec.output_chars,
        preview=preview if item.risk == "write" else None,
        metadata={"mcp_server": spec.name, "mcp_tool": remote.name},
    )


def as_result(item: Offered, args: dict[str, Any], reply: types.CallToolResult) -> ToolResult:
    """Turn a remote reply into a result with one evidence record naming server and tool."""
    parts = [c.text for c in reply.content if isinstance(c, types.TextContent)]
    links = [str(c.uri) for c in reply.content if isinstance(c, types.ResourceLink)]
    if not parts and reply.structured_content is not None:
        parts = [json.dumps(reply.structured_content, default=str)]
    body = "\n".join(p for p in parts if p).strip()
    if reply.is_error:
        return ToolResult.failure(f"{item.name} failed: {body[:500] or 'no detail'}")
    if not body:
        return ToolResult(status=ToolStatus.NO_DATA, summary=f"{item.name} returned nothing")
    head = body.splitlines()[0][:200]
    evidence = Evidence(
        tool=item.name,
        query=f"MCP {item.server}/{item.tool.name} {_args(args)}",
        summary=f"{item.server}/{item.tool.name}: {head}",
        link=next((u for u in links if u.startswith(("http://", "https://"))), None),
    )
    return ToolResult(status=ToolStatus.OK, summary=body, evidence=[evidence])


def _args(args: dict[str, Any]) -> str:
    return json.dumps(args, sort_keys=True, default=str)[:500]
