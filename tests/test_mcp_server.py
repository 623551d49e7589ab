"""opsloop as an MCP server, driven by the SDK's own client over stdio and streamable HTTP.

Reads run against the test Prometheus; writes only ever return a dry run and an approval
id, decided by a person (decide(), or POST /approvals/ID) and polled with approval_status.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
import uvicorn
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp_types import Implementation

from opsloop.agent.approvals.decide import decide
from opsloop.agent.approvals.people import new_token
from opsloop.agent.assistant import Assistant
from opsloop.agent.cli.serve import build_server
from opsloop.agent.config import Settings
from opsloop.agent.factory import build_deps
from opsloop.sandbox.procs import free_port
from tests import test_alert_tools
from tests.test_alert_tools import POLICY as SILENCE_POLICY
from tests.test_alert_tools import _silences
from tests.test_approval import POLICY as RESTART_POLICY
from tests.test_approval import restart_tool

alertmanager = test_alert_tools.alertmanager  # its real Alertmanager fixture, for this module
DEADLINE_S = 120.0
ALICE, ALICE_SHA = new_token()
READ_TOKEN = "read-secret-for-tests"


def _client(server: Any, name: str) -> Client:
    return Client(
        server, client_info=Implementation(name=name, version="1"), read_timeout_seconds=60
    )


def _run(steps: Any) -> Any:
    """Run an async test body with a deadline (a hung server fails the test, never the run)."""

    async def bounded() -> Any:
        with anyio.fail_after(DEADLINE_S):
            return await steps()

    return anyio.run(bounded)


@pytest.fixture
def stdio_env(prometheus: str, alertmanager: str, opsloop_home) -> dict[str, str]:
    """The environment of a spawned `opsloop mcp serve`."""
    return {
        "OPSLOOP_HOME": str(opsloop_home),
        "OPSLOOP_PROMETHEUS_URL": prometheus,
        "OPSLOOP_ALERTMANAGER_URL": alertmanager,
        "OPSLOOP_POLICY": json.dumps(SILENCE_POLICY),
        "PATH": os.environ.get("PATH", ""),
    }


def test_stdio_server_lists_reads_gates_writes_and_reports_the_decision(
    stdio_env,
    alertmanager,
    opsloop_home,
):
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "opsloop.agent.cli.main", "mcp", "serve"], env=stdio_env
    )
    before = len(_silences(alertmanager))

    async def session() -> dict[str, Any]:
        async with _client(params, "test-desktop") as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            read = await client.call_tool("golden_signals", {"service": "checkout"})
            write = await client.call_tool(
                "silence_alert", {"alertname": "HighLatency", "service": "checkout"}
            )
            approval_id = write.structured_content["approval_id"]
            pending = await client.call_tool("approval_status", {"approval_id": approval_id})
            # A person decides from another process (the CLI path): the same state directory.
            settings = Settings(
                home=opsloop_home, alertmanager_url=stdio_env["OPSLOOP_ALERTMANAGER_URL"],
                prometheus_url=stdio_env["OPSLOOP_PROMETHEUS_URL"], policy=SILENCE_POLICY,
            )  # fmt: skip
            person = Assistant.from_settings(settings)
            try:
                await anyio.to_thread.run_sync(
                    decide, person, approval_id, "alice", True, "ok from the CLI", "cli"
                )
                audit = person.deps.audit.for_thread(approval_id)
            finally:
                person.close()
            done = await client.call_tool("approval_status", {"approval_id": approval_id})
            return {"tools": tools, "read": read, "write": write, "pending": pending,
                    "done": done, "audit": audit}  # fmt: skip

    got = _run(session)
    tools = got["tools"]
    assert {"golden_signals", "query_metrics", "ask", "investigate", "approval_status"} <= set(
        tools
    )
    hints = tools["golden_signals"].annotations
    assert (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint) == (
        True, False, True
    )  # fmt: skip
    assert tools["golden_signals"].input_schema["required"] == ["service"]
    assert tools["silence_alert"].annotations.destructive_hint is True
    assert "approval id" in tools["silence_alert"].description

    read = got["read"].structured_content
    assert read["status"] == "ok" and read["evidence"], read
    assert read["evidence"][0]["link"].startswith(stdio_env["OPSLOOP_PROMETHEUS_URL"])

    write = got["write"].structured_content
    assert write["status"] == "approval_required" and write["requested_by"] == "mcp:test-desktop"
    assert "create a silence" in write["dry_run"]
    assert got["pending"].structured_content["status"] == "pending"

    done = got["done"].structured_content
    assert (done["status"], done["approver"], done["result_status"]) == ("approved", "alice", "ok")
    assert "Silenced" in done["result"]
    assert len(_silences(alertmanager)) == before + 1
    assert [(e["decision"], e["requested_by"]) for e in got["audit"]] == [
        ("requested", "mcp:test-desktop"), ("approved", "mcp:test-desktop"),
    ]  # fmt: skip


@pytest.fixture
def http_server(settings) -> Iterator[tuple[str, Assistant, list[str]]]:
    """Run `opsloop serve`'s app on a free loopback port; yield (base URL, assistant, ran)."""
    ran: list[str] = []
    people = {"alice": {"token_sha256": ALICE_SHA}}
    update = {"policy": RESTART_POLICY, "people": people, "read_token": READ_TOKEN}
    settings = settings.model_copy(update=update)
    assistant = Assistant(build_deps(settings, extra_tools=[restart_tool(ran)]))
    app, store, _pool = build_server(settings, workers=1, assistant=assistant)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    stop = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < stop, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", assistant, ran
    finally:
        server.should_exit = True
        thread.join(30)
        store.close()
        assistant.close()


def test_http_mcp_needs_a_token(http_server):
    base, _assistant, _ran = http_server
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = httpx.post(f"{base}/mcp", json=body, headers=headers, timeout=10)
        assert response.status_code == 401 and "token" in response.json()["error"]


def test_http_mcp_write_waits_for_a_person_and_the_client_polls_the_result(http_server):
    base, assistant, ran = http_server

    async def session() -> dict[str, Any]:
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {READ_TOKEN}"})
        transport = streamable_http_client(f"{base}/mcp", http_client=http)
        async with _client(transport, "test-cursor") as client:
            tools = [t.name for t in (await client.list_tools()).tools]
            read = await client.call_tool("list_services", {})
            write = await client.call_tool("restart_service", {"service": "checkout"})
            approval_id = write.structured_content["approval_id"]
            assert ran == []  # nothing ran from MCP alone
            async with httpx.AsyncClient(timeout=60) as web:
                decided = await web.post(
                    f"{base}/approvals/{approval_id}",
                    json={"decision": "approve", "reason": "on call"},
                    headers={"Authorization": f"Bearer {ALICE}"},
                )
            done = await client.call_tool("approval_status", {"approval_id": approval_id})
            resources = await client.list_resources()
            return {"tools": tools, "read": read, "write": write, "decided": decided,
                    "done": done, "resources": resources}  # fmt: skip

    got = _run(session)
    assert "restart_service" in got["tools"] and "list_services" in got["tools"]
    assert got["read"].structured_content["status"] == "ok"
    assert "checkout" in got["read"].content[0].text
    write = got["write"].structured_content
    assert write["status"] == "approval_required" and "restart all pods" in write["dry_run"]
    assert got["decided"].status_code == 200, got["decided"].text
    done = got["done"].structured_content
    assert (done["status"], done["approver"], done["requested_by"]) == (
        "approved", "alice", "mcp:test-cursor"
    )  # fmt: skip
    assert done["result"] == "restarted checkout" and ran == ["checkout"]
    entries = assistant.deps.audit.for_thread(write["approval_id"])
    assert [e["requested_by"] for e in entries] == ["mcp:test-cursor"] * 2
    assert [r.uri for r in got["resources"].resources] == ["opsloop://incidents"]


def test_ask_and_investigate_answer_with_the_json_contracts(http_server):
    base, _assistant, _ran = http_server

    async def session() -> tuple[Any, Any]:
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {ALICE}"})
        transport = streamable_http_client(f"{base}/mcp", http_client=http)
        async with _client(transport, "test-agent") as client:
            asked = await client.call_tool("ask", {"question": "how is checkout doing?"})
            probed = await client.call_tool(
                "investigate", {"service": "checkout", "alertname": "HighLatency"}
            )
            return asked, probed

    asked, probed = _run(session)
    answer = asked.structured_content
    assert {"answer", "tool_calls", "evidence", "evals", "usage", "thread_id"} <= set(answer)
    assert answer["tool_calls"][0]["status"] == "ok" and answer["evidence"][0]["link"]
    report = probed.structured_content
    assert {"answer", "hypotheses", "actions", "evidence", "thread_id"} <= set(report)
    assert report["thread_id"].startswith("inv-")


def test_opsloop_is_a_client_of_its_own_http_server(http_server):
    from opsloop.agent.mcp.registry import borrowed_tools, close_all, connect_all

    base, _assistant, ran = http_server
    entry = {"name": "ops", "url": f"{base}/mcp",
             "headers": {"Authorization": f"Bearer {READ_TOKEN}"}}  # fmt: skip
    connections = connect_all([entry])
    try:
        assert connections[0].alive, connections[0].error
        tools = {t.name: t for t in borrowed_tools(connections)}
        assert tools["ops__list_services"].risk == "read"
        assert "ops__restart_service" not in tools  # destructive and not allowed: off
        result = tools["ops__list_services"].invoke({})
        assert result.status == "ok" and "checkout" in result.summary
    finally:
        close_all(connections)
    assert ran == []


def test_http_mcp_is_off_until_a_token_is_configured():
    from opsloop.agent.mcp.http import TokenGate
    from opsloop.agent.server.auth import ReadAuth

    gate = TokenGate(None, ReadAuth(Settings(prometheus_url="http://127.0.0.1:9")))
    refusal = gate.refusal("Bearer anything")
    assert refusal is not None and refusal.status_code == 403
