"""Start the configured MCP servers side by side and hand their tools to the assistant."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from opsloop.agent.mcp.client import McpConnection
from opsloop.agent.mcp.config import server_specs
from opsloop.agent.mcp.remote import remote_tools
from opsloop.tools.base import OpsTool


def connect_all(raw: list[dict[str, Any]], log_dir: Path | None = None) -> list[McpConnection]:
    """Start every configured server at once (a slow one delays none of the others); a
    started server's stderr goes to `log_dir`/mcp-<name>.log when given."""
    specs = server_specs(raw)
    if not specs:
        return []

    def start(spec: Any) -> McpConnection:
        log = log_dir / f"mcp-{spec.name}.log" if log_dir else None
        return McpConnection(spec, log_path=log).start()

    with ThreadPoolExecutor(max_workers=min(8, len(specs)), thread_name_prefix="mcp-start") as pool:
        return list(pool.map(start, specs))


def borrowed_tools(connections: list[McpConnection]) -> list[OpsTool]:
    """Return the enabled tools of every server that started."""
    return [t for c in connections if c.alive for t in remote_tools(c)]


def drop_when_down(connections: list[McpConnection], tools: dict[str, Any]) -> None:
    """Take a server's tools out of `tools` when it stops, so the model is no longer offered
    them (the failure itself is reported once, by the connection)."""
    for connection in connections:
        names = [n for n, t in tools.items() if (t.metadata or {}).get("mcp_server")
                 == connection.spec.name]  # fmt: skip

        def drop(_why: str, names: list[str] = names) -> None:
            for name in names:
                tools.pop(name, None)

        connection.on_down = drop
        if not connection.alive:
            drop(connection.error or "down")


def close_all(connections: list[McpConnection]) -> None:
    """Stop every session and server process."""
    for connection in connections:
        connection.close()
