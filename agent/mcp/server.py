"""opsloop as an MCP server: its read tools, `ask`, `investigate`, writes behind the gate.

Handlers are async (the SDK runs on anyio); the assistant is synchronous, so each call
runs in a worker thread, under the same timeouts and output budgets as in the graph.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError

from opsloop import __version__
from opsloop.agent.mcp.expose import json_result, run_read, served_tools, tool_spec
from opsloop.agent.mcp.gate import approval_status, request_write
from opsloop.agent.mcp.tasks import TASK_TOOLS, run_task

INSTRUCTIONS = (
    "opsloop answers on-call questions about services and ML models from live metrics, logs "
    "and the model registry, citing evidence. Read tools run at once. Write tools (rollback, "
    "promote, retrain, silences) never act from here: they return a dry run and an approval id "
    "for a person to decide; poll approval_status with that id."
)


def build_server(assistant: Any, incidents: Callable[[], Any] | None = None) -> Server[Any]:
    """Return the MCP server over `assistant`; `incidents` opens the incident store, if any."""
    deps = assistant.deps

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        specs = [tool_spec(t) for t in served_tools(deps).values()]
        return types.ListToolsResult(tools=[*specs, *TASK_TOOLS])

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        name, args = params.name, dict(params.arguments or {})
        tools = served_tools(deps)
        if name == "approval_status":
            return await _status(args)
        if name in {t.name for t in TASK_TOOLS}:
            return await anyio.to_thread.run_sync(run_task, assistant, name, args, client_name(ctx))
        if name not in tools:
            known = ", ".join(sorted([*tools, *(t.name for t in TASK_TOOLS)]))
            raise MCPError(types.INVALID_PARAMS, f"unknown tool {name!r}; there are {known}")
        if tools[name].risk == "write":
            data = await anyio.to_thread.run_sync(
                request_write, assistant, name, args, client_name(ctx)
            )
            text = (
                f"{name} waits for approval {data['approval_id']}: {data.get('dry_run')}\n"
                f"Approve with {data.get('approve_with')}; poll approval_status."
                if data["status"] == "approval_required"
                else f"{name} refused before any approval: {data.get('answer')}"
            )
            return json_result(data, text, error=data["status"] != "approval_required")
        return await anyio.to_thread.run_sync(run_read, deps, name, args)

    async def _status(args: dict[str, Any]) -> types.CallToolResult:
        approval_id = str(args.get("approval_id") or "")
        data = await anyio.to_thread.run_sync(approval_status, assistant, approval_id)
        text = f"approval {approval_id}: {data['status']}"
        if data.get("result"):
            text += f"; result: {data['result']}"
        return json_result(data, text, error=data["status"] == "unknown")

    async def list_resources(ctx: Any, params: Any) -> types.ListResourcesResult:
        store = incidents() if incidents else None
        if store is None:
            return types.ListResourcesResult(resources=[])
        rows = await anyio.to_thread.run_sync(store.list_incidents, 50, None)
        listed = [
            types.Resource(
                uri="opsloop://incidents",
                name="incidents",
                description="Incidents opened from alerts: status and top hypothesis.",
                mime_type="application/json",
            )
        ]
        listed += [
            types.Resource(
                uri=f"opsloop://incidents/{row['id']}",
                name=f"incident {row['id']}",
                description=f"{row['status']}: its alerts and report",
                mime_type="application/json",
            )
            for row in rows
            if row.get("status") != "resolved"
        ]
        return types.ListResourcesResult(resources=listed)

    async def read_resource(
        ctx: Any, params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        uri = str(params.uri)
        store = incidents() if incidents else None
        if store is None or not uri.startswith("opsloop://incidents"):
            raise MCPError(types.INVALID_PARAMS, f"no resource {uri!r}")
        ident = uri.removeprefix("opsloop://incidents").strip("/")
        if ident:
            data = await anyio.to_thread.run_sync(store.get, ident)
            if data is None:
                raise MCPError(types.INVALID_PARAMS, f"no incident {ident!r}")
        else:
            data = await anyio.to_thread.run_sync(store.list_incidents, 50, None)
        text = json.dumps(data, default=str)
        return types.ReadResourceResult(
            contents=[types.TextResourceContents(uri=uri, text=text, mime_type="application/json")]
        )

    return Server(
        "opsloop",
        version=__version__,
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_read_resource=read_resource,
    )


def client_name(ctx: Any) -> str:
    """Return the calling MCP client's name (from the handshake, or the request's _meta)."""
    info: Any = None
    meta = getattr(ctx, "meta", None) or {}
    if isinstance(meta, dict):
        info = meta.get(types.CLIENT_INFO_META_KEY)
    if info is None:
        params = getattr(getattr(ctx, "session", None), "client_params", None)
        info = getattr(params, "client_info", None)
    name = info.get("name") if isinstance(info, dict) else getattr(info, "name", None)
    return str(name or "unknown")[:80]


async def serve_stdio(server: Server[Any]) -> None:
    """Serve MCP over this process's stdin and stdout until the client closes them."""
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())
