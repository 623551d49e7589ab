"""opsloop as an MCP client: a published server (prometheus-mcp-server) against the test
Prometheus, and a small server of our own for slow, crashing, failing and destructive tools."""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from langchain_core.utils.function_calling import convert_to_openai_tool
from typer.testing import CliRunner

from opsloop.agent.approvals.decide import decide
from opsloop.agent.assistant import Assistant
from opsloop.agent.cli.main import app as cli
from opsloop.agent.config import Settings
from opsloop.agent.factory import build_deps
from opsloop.agent.llm.scripted import ScriptedChatModel, tool_call

FAKE = str(Path(__file__).with_name("mcp_fake_server.py"))
PROM_MCP = shutil.which("prometheus-mcp-server", path=str(Path(sys.executable).parent))


def fake(name: str, log: Path, *extra: str, **more: Any) -> dict[str, Any]:
    """A [[mcp_servers]] entry starting the test server."""
    entry = {"name": name, "command": sys.executable, "args": [FAKE, *extra],
             "env": {"FAKE_MCP_LOG": str(log)}, "timeout_s": 3, "start_timeout_s": 20}  # fmt: skip
    return entry | more


def wait_until(done: Any, deadline_s: float = 15.0) -> None:
    stop = time.monotonic() + deadline_s
    while not done():
        assert time.monotonic() < stop, "timed out"
        time.sleep(0.1)


@pytest.fixture
def world(tmp_path):
    """Yield (assistant, model, log): two copies of the test server and one that fails."""
    log = tmp_path / "calls.jsonl"
    log.touch()
    servers = [
        fake("graf", log, allow=["delete_dashboard"]),
        fake("other", log),
        fake("broken", log, "--fail"),
    ]
    policy = {"roles": {"oncall": {"actions": ["graf__delete_dashboard"]}},
              "users": {"alice": ["oncall"]}}  # fmt: skip
    settings = Settings(
        home=tmp_path / "home", prometheus_url="http://127.0.0.1:9", mcp_servers=servers,
        policy=policy, tool_output_chars=2000,
    )  # fmt: skip
    model = ScriptedChatModel()
    assistant = Assistant(build_deps(settings, llm=model))
    try:
        yield assistant, model, log
    finally:
        assistant.close()


def calls(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_tools_are_namespaced_reads_unless_destructive_and_a_failed_server_is_dropped(world):
    assistant, _model, _log = world
    tools = assistant.deps.tools
    assert {"graf__echo", "graf__big", "graf__slow", "other__echo"} <= set(tools)
    assert tools["graf__echo"].risk == "read"
    assert tools["graf__delete_dashboard"].risk == "write"  # allowed, and gated
    assert "other__delete_dashboard" not in tools  # destructive, not allowed
    assert "graf__annotate" not in tools  # not marked read-only, not allowed
    assert not any(n.startswith("broken__") for n in tools)
    assert "query_metrics" in tools  # opsloop's own tools are all still there
    spec = convert_to_openai_tool(tools["graf__echo"])  # what an OpenAI-compatible LLM sees
    assert spec["function"]["name"] == "graf__echo"
    assert spec["function"]["parameters"]["properties"]["text"]["type"] == "string"


def test_a_read_answers_with_evidence_naming_server_and_tool(world):
    assistant, model, log = world
    model.enqueue([tool_call("graf__echo", text="hello")], "The server said hello [E1].")
    result = assistant.ask("ask graf to echo hello")
    assert result["tool_calls"] == [
        {"name": "graf__echo", "args": {"text": "hello"}, "status": "ok"}
    ]
    evidence = result["evidence"][0]
    assert evidence["tool"] == "graf__echo" and evidence["summary"] == "graf/echo: echo: hello"
    assert evidence["query"].startswith("MCP graf/echo") and evidence["link"].startswith("https://")
    assert calls(log) == [{"tool": "echo", "args": {"text": "hello"}}]


def test_output_is_bounded_and_a_slow_tool_times_out_without_blocking_the_rest(world):
    assistant, _model, _log = world
    tools = assistant.deps.tools
    from opsloop.agent.graph.execute import run_tool

    big = run_tool(tools["graf__big"], {}, 30, 2000)
    assert big.truncated and len(big.summary) <= 2000
    started = time.monotonic()
    slow = run_tool(tools["graf__slow"], {}, 30, 2000)
    assert slow.status == "error" and "timed out" in slow.summary
    assert time.monotonic() - started < 10
    assert run_tool(tools["graf__echo"], {"text": "still"}, 30, 2000).summary == "echo: still"


def test_a_destructive_tool_waits_for_a_person_then_runs_once(world):
    assistant, model, log = world
    model.enqueue([tool_call("graf__delete_dashboard", uid="abc")], "Deleted it.")
    paused = assistant.ask("delete dashboard abc with graf", user="bob")
    assert paused["approval"]["tool"] == "graf__delete_dashboard"
    assert "call delete_dashboard on MCP server graf" in paused["approval"]["preview"]
    assert calls(log) == []  # nothing reached the server before the approval
    offered = {t.name for t in model.bound_tools}
    assert "graf__delete_dashboard" in offered  # the question names the server
    done = decide(assistant, paused["thread_id"], "alice", True, "ok", "cli")
    assert done["tool_calls"][-1]["status"] == "ok"
    assert calls(log) == [{"tool": "delete_dashboard", "args": {"uid": "abc"}}]
    entries = assistant.deps.audit.for_thread(paused["thread_id"])
    assert [(e["decision"], e["approver"]) for e in entries][-1] == ("approved", "alice")


def test_a_server_that_dies_is_reported_once_and_its_tools_dropped(world, caplog):
    assistant, _model, _log = world
    tools = assistant.deps.tools
    from opsloop.agent.graph.execute import run_tool

    crash = tools["other__crash"]
    assert run_tool(crash, {}, 30, 2000).status == "error"
    wait_until(lambda: "other__echo" not in tools)
    assert not any(n.startswith("other__") for n in tools)
    downs = [r for r in caplog.records if "MCP server other" in r.getMessage()]
    assert len(downs) == 1
    assert run_tool(tools["graf__echo"], {"text": "alive"}, 30, 2000).summary == "echo: alive"


def test_mcp_list_shows_servers_tools_and_what_is_enabled(tmp_path, monkeypatch):
    log = tmp_path / "calls.jsonl"
    servers = [fake("graf", log, allow=["delete_dashboard"]), fake("broken", log, "--fail")]
    monkeypatch.setenv("OPSLOOP_MCP_SERVERS", json.dumps(servers))
    result = CliRunner().invoke(cli, ["mcp", "list", "--json"])
    assert result.exit_code == 2, result.output  # one server is down
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["broken"]["status"] == "down"
    assert "closed the connection" in rows["broken"]["error"]
    log_file = rows["broken"]["error"].split("its stderr: ")[1].rstrip(")")
    assert "cannot start: no such backend" in Path(log_file).read_text()
    tools = {t["name"]: t for t in rows["graf"]["tools"]}
    assert tools["graf__echo"]["enabled"] and tools["graf__echo"]["risk"] == "read"
    assert tools["graf__delete_dashboard"]["enabled"]
    assert tools["graf__delete_dashboard"]["risk"] == "write"
    assert not tools["graf__annotate"]["enabled"]
    assert CliRunner().invoke(cli, ["mcp", "list", "--help"]).exit_code == 0
    assert CliRunner().invoke(cli, ["mcp", "serve", "--help"]).exit_code == 0


@pytest.mark.skipif(PROM_MCP is None, reason="prometheus-mcp-server (dev extra) not installed")
def test_prometheus_mcp_server_lends_its_query_tool(prometheus, tmp_path):
    server = {"name": "prom", "command": PROM_MCP, "env": {"PROMETHEUS_URL": prometheus},
              "start_timeout_s": 60}  # fmt: skip
    settings = Settings(home=tmp_path / "home", prometheus_url=prometheus, mcp_servers=[server])
    model = ScriptedChatModel()
    assistant = Assistant(build_deps(settings, llm=model))
    try:
        tools = assistant.deps.tools
        assert tools["prom__execute_query"].risk == "read"
        model.enqueue([tool_call("prom__execute_query", query="up")], "Targets are up [E1].")
        result = assistant.ask("is everything up according to prom?")
    finally:
        assistant.close()
    assert result["tool_calls"][0] == {
        "name": "prom__execute_query", "args": {"query": "up"}, "status": "ok"
    }  # fmt: skip
    evidence = result["evidence"][0]
    assert evidence["tool"] == "prom__execute_query"
    assert evidence["summary"].startswith("prom/execute_query: ")
    assert "prom__execute_query" in {t.name for t in model.bound_tools}


def test_server_secrets_are_masked_and_redacted_and_bad_entries_refused(tmp_path):
    from opsloop.agent.config import ConfigError
    from opsloop.agent.factory import secret_values
    from opsloop.agent.mcp.config import server_specs

    entry = {
        "name": "grafana",
        "url": "https://g.example/mcp",
        "headers": {"Authorization": "Bearer glsa_secret"},
        "env": {"TOKEN": "t0ps3cret"},
    }
    settings = Settings(home=tmp_path, mcp_servers=[entry])
    shown = settings.masked()["mcp_servers"][0]
    assert "glsa_secret" not in json.dumps(shown) and shown["url"] == entry["url"]
    assert {"Bearer glsa_secret", "t0ps3cret"} <= set(secret_values(settings))
    for bad in ({"name": "x"}, {"name": "a__b", "command": "c"},
                {"name": "x", "command": "c", "url": "http://u"}):  # fmt: skip
        with pytest.raises(ConfigError):
            server_specs([bad])


def test_a_server_that_never_answers_is_given_up_and_its_process_stopped(tmp_path):
    import os

    from opsloop.agent.mcp.registry import close_all, connect_all

    log = tmp_path / "calls.jsonl"
    started = time.monotonic()
    connections = connect_all([fake("mute", log, "--hang", start_timeout_s=2)])
    assert time.monotonic() - started < 10
    assert not connections[0].alive and "did not start within 2s" in connections[0].error
    pid = calls(log)[0]["pid"]
    close_all(connections)

    def gone() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    wait_until(gone)
