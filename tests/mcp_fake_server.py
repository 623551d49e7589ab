"""A small MCP server for the client tests: a read, a slow read, writes, and a crash.

Run as `python tests/mcp_fake_server.py`; every call it receives is appended to the file
$FAKE_MCP_LOG, so tests see what actually reached it. `crash` exits the process.
"""

from __future__ import annotations

import json
import os
import sys

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

READ = types.ToolAnnotations(read_only_hint=True, destructive_hint=False)
TOOLS = [
    types.Tool(
        name="echo",
        description="Echo the text back.",
        input_schema={"type": "object", "properties": {"text": {"type": "string"}}},
        annotations=READ,
    ),
    types.Tool(
        name="big",
        description="Return a long text.",
        input_schema={"type": "object"},
        annotations=READ,
    ),
    types.Tool(
        name="slow",
        description="Answer after 30 s.",
        input_schema={"type": "object"},
        annotations=READ,
    ),
    types.Tool(
        name="crash",
        description="Exit the server.",
        input_schema={"type": "object"},
        annotations=READ,
    ),
    types.Tool(
        name="delete_dashboard",
        description="Delete a dashboard.",
        input_schema={"type": "object", "properties": {"uid": {"type": "string"}}},
        annotations=types.ToolAnnotations(read_only_hint=False, destructive_hint=True),
    ),
    types.Tool(  # no annotations at all: not read-only, so off unless allowed
        name="annotate", description="Add an annotation.", input_schema={"type": "object"}
    ),
]


async def list_tools(ctx, params) -> types.ListToolsResult:
    return types.ListToolsResult(tools=TOOLS)


async def call_tool(ctx, params: types.CallToolRequestParams) -> types.CallToolResult:
    with open(os.environ["FAKE_MCP_LOG"], "a") as log:
        log.write(json.dumps({"tool": params.name, "args": params.arguments}) + "\n")
    if params.name == "slow":
        await anyio.sleep(30)
    if params.name == "crash":
        os._exit(3)
    text = {
        "echo": f"echo: {(params.arguments or {}).get('text', '')}",
        "big": "\n".join(f"line {i} " + "x" * 80 for i in range(500)),
        "delete_dashboard": f"deleted {(params.arguments or {}).get('uid')}",
    }.get(params.name, "done")
    link = types.ResourceLink(uri="https://grafana.example/d/abc", name="dashboard")
    return types.CallToolResult(content=[types.TextContent(text=text), link])


async def main() -> None:
    server = Server("fake", on_list_tools=list_tools, on_call_tool=call_tool)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    if "--fail" in sys.argv:
        sys.exit("cannot start: no such backend")
    if "--hang" in sys.argv:  # never answers the handshake
        with open(os.environ["FAKE_MCP_LOG"], "a") as log:
            log.write(json.dumps({"pid": os.getpid()}) + "\n")
        anyio.run(anyio.sleep_forever)
    anyio.run(main)
