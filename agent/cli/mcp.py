"""`opsloop mcp`: serve opsloop to MCP hosts over stdio; list the MCP servers it borrows from."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import typer

from opsloop.agent.cli.common import JsonFlag, assistant_for, fail, load_settings, out
from opsloop.agent.config import ConfigError

mcp_app = typer.Typer(
    help="The Model Context Protocol: opsloop as an MCP server, and the MCP servers it uses.",
    no_args_is_help=True,
)


@mcp_app.command("serve")
def mcp_serve() -> None:
    """Serve opsloop over MCP on stdin/stdout (for Claude Desktop, Cursor, any MCP host).

    Read tools run at once; `ask` and `investigate` return the --json contracts; write
    tools only return a dry run and an approval id, decided by a person with `opsloop
    approve ID`, Slack or POST /approvals/ID; `approval_status` polls the outcome. Over
    HTTP, `opsloop serve` mounts the same server at /mcp (token required).
    """
    import anyio

    from opsloop.agent.factory import open_queue
    from opsloop.agent.mcp.server import build_server, serve_stdio

    # stdout is the protocol's: log lines go to stderr, opsloop's warnings and others' errors.
    logging.basicConfig(stream=sys.stderr, level=logging.ERROR)
    logging.getLogger("opsloop").setLevel(logging.WARNING)
    settings = load_settings()
    assistant = assistant_for(settings)
    server = build_server(assistant, incidents=lambda: open_queue(settings))
    try:
        anyio.run(serve_stdio, server)
    except KeyboardInterrupt:
        pass
    finally:
        assistant.close()


@mcp_app.command("list")
def mcp_list(as_json: JsonFlag = False) -> None:
    """Start the MCP servers of opsloop.toml (mcp_servers); show their tools and which are on.

    A tool is enabled as a read when its server marks it read-only and not destructive;
    any other tool only when the server's `allow` list names it, and then as a write that
    waits for approval. Exit 2 when a server did not start.
    """
    from opsloop.agent.mcp.registry import close_all, connect_all
    from opsloop.agent.mcp.remote import offered

    logging.basicConfig(stream=sys.stderr, level=logging.ERROR)
    settings = load_settings()
    try:
        connections = connect_all(settings.mcp_servers, settings.state_dir)
    except ConfigError as exc:
        raise fail(f"invalid configuration: {exc}") from None
    try:
        rows: list[dict[str, Any]] = []
        for connection in connections:
            spec = connection.spec
            rows.append(
                {
                    "name": spec.name,
                    "transport": "stdio" if spec.command else "http",
                    "target": " ".join([spec.command, *spec.args]) if spec.command else spec.url,
                    "status": "up" if connection.alive else "down",
                    "error": connection.error,
                    "tools": [
                        {
                            "name": o.name,
                            "remote_name": o.tool.name,
                            "risk": o.risk,
                            "enabled": o.enabled,
                            "why": o.why,
                        }
                        for o in offered(connection)
                    ],
                }
            )
    finally:
        close_all(connections)
    _show(rows, as_json)
    if any(r["status"] == "down" for r in rows):
        raise typer.Exit(2)


def _show(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        out.print("no [[mcp_servers]] configured (see README: MCP)")
        return
    from rich.table import Table

    for row in rows:
        state = "[green]up[/]" if row["status"] == "up" else f"[red]down[/] ({row['error']})"
        out.print(f"[bold]{row['name']}[/] {row['transport']} {row['target']} · {state}")
        table = Table(box=None, header_style="bold")
        for column in ("tool", "risk", "enabled", "why"):
            table.add_column(column)
        for tool in row["tools"]:
            on = "[green]yes[/]" if tool["enabled"] else "[dim]no[/]"
            table.add_row(tool["name"], tool["risk"], on, tool["why"])
        if row["tools"]:
            out.print(table)
