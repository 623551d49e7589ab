"""opsloop's tools as MCP tools: their JSON schemas, hints and structured results."""

from __future__ import annotations

from typing import Any

import mcp_types as types

from opsloop.agent.graph.deps import Deps
from opsloop.agent.graph.execute import execute_call, new_call_id, record
from opsloop.tools.base import OpsTool, ToolStatus

GATE_NOTE = (
    "\n\nOver MCP this never acts by itself: the call returns the dry run and an approval id; "
    "a person approves it (opsloop approve ID, Slack, or POST /approvals/ID) and "
    "approval_status(approval_id) gives the outcome."
)
READ_HINTS = types.ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True
)
WRITE_HINTS = types.ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True
)


def served_tools(deps: Deps) -> dict[str, OpsTool]:
    """Return opsloop's own tools: those borrowed from other MCP servers are not passed on."""
    return {n: t for n, t in deps.tools.items() if not (t.metadata or {}).get("mcp_server")}


def tool_spec(tool: OpsTool) -> types.Tool:
    """Describe one opsloop tool for an MCP host."""
    schema = input_schema(tool)
    write = tool.risk == "write"
    return types.Tool(
        name=tool.name,
        title=tool.name.replace("_", " "),
        description=tool.description + (GATE_NOTE if write else ""),
        input_schema=schema,
        annotations=WRITE_HINTS if write else READ_HINTS,
    )


def input_schema(tool: OpsTool) -> dict[str, Any]:
    """Return the tool's arguments as a JSON Schema object."""
    schema = tool.args_schema
    found = schema if isinstance(schema, dict) else schema.model_json_schema()  # type: ignore[union-attr]
    return {"type": "object", "properties": {}, **found}


def run_read(deps: Deps, name: str, args: dict[str, Any]) -> types.CallToolResult:
    """Run a read tool the way the graph does (timeout, budget); return its evidence too."""
    call = {"id": new_call_id("m"), "name": name, "args": args}
    result = execute_call(call, deps)
    rec, evidence, _message = record(call, result, 0, deps)
    structured = {
        "status": rec["status"],
        "summary": result.summary,
        "error": result.error,
        "truncated": result.truncated,
        "evidence": [
            {k: e.get(k) for k in ("id", "tool", "query", "summary", "link")} for e in evidence
        ],
    }
    lines = [result.summary] + [
        f"[{e['id']}] {e['summary']}" + (f" ({e['link']})" if e.get("link") else "")
        for e in evidence
    ]
    return types.CallToolResult(
        content=[types.TextContent(text="\n".join(lines))],
        structured_content=structured,
        is_error=result.status == ToolStatus.ERROR,
    )


def json_result(data: dict[str, Any], text: str, error: bool = False) -> types.CallToolResult:
    """Return `data` as structured content with `text` for hosts that show only text."""
    return types.CallToolResult(
        content=[types.TextContent(text=text)], structured_content=data, is_error=error
    )
