"""Approvals over HTTP: the caller is whoever holds the personal token, checked by the policy."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from typer.testing import CliRunner

from opsloop.agent.approvals.people import People, PeopleError, new_token
from opsloop.agent.assistant import Assistant
from opsloop.agent.cli.main import app as cli
from opsloop.agent.config import Settings
from opsloop.agent.factory import build_deps
from opsloop.agent.llm.scripted import ScriptedChatModel, tool_call
from opsloop.agent.server.approvals import approval_routes
from tests.test_approval import POLICY, restart_tool
from tests.test_server import wait_for

ALICE, ALICE_SHA = new_token()  # on-call: may restart
BOB, BOB_SHA = new_token()  # viewer: may not
PEOPLE = {"alice": {"token_sha256": ALICE_SHA}, "bob": {"token_sha256": BOB_SHA}}


@pytest.fixture
def world(tmp_path) -> Iterator[tuple[Assistant, list[str], TestClient, str]]:
    """Yield (assistant, what ran, a client of the approval routes, a paused thread)."""
    ran: list[str] = []
    model = ScriptedChatModel()
    settings = Settings(home=tmp_path, prometheus_url="http://127.0.0.1:9", policy=POLICY)
    assistant = Assistant(build_deps(settings, llm=model, extra_tools=[restart_tool(ran)]))
    model.enqueue([tool_call("restart_service", service="checkout")], "Restarted checkout.")
    paused = assistant.ask("restart checkout", user="carol")
    assert paused["approval"]["tool"] == "restart_service" and ran == []
    app = Starlette(routes=approval_routes(assistant, People(PEOPLE)))
    with TestClient(app) as client:
        yield assistant, ran, client, paused["thread_id"]


def _post(client: TestClient, thread: str, token: str | None, **body: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(f"/approvals/{thread}", json=body, headers=headers)


@pytest.mark.parametrize("token", [None, "opl_wrong", ALICE_SHA], ids=["none", "wrong", "hash"])
def test_no_or_a_wrong_token_decides_nothing(world, token):
    assistant, ran, client, thread = world
    response = _post(client, thread, token, decision="approve")
    assert response.status_code == 401 and "personal token" in response.json()["error"]
    assert client.get(f"/approvals/{thread}").status_code == 401
    assert ran == [] and [e["decision"] for e in assistant.deps.audit.entries()] == ["requested"]


def test_a_person_without_the_role_is_refused_and_the_request_still_waits(world):
    assistant, ran, client, thread = world
    # The body names alice; the token is bob's: identity comes from the token only.
    response = _post(client, thread, BOB, decision="approve", by="alice")
    assert response.status_code == 403 and "bob" in response.json()["error"]
    entry = assistant.deps.audit.entries()[0]
    assert (entry["decision"], entry["approver"]) == ("unauthorized", "bob")
    still = client.get(f"/approvals/{thread}", headers={"Authorization": f"Bearer {BOB}"})
    assert still.status_code == 200 and still.json()["pending"]["tool"] == "restart_service"
    assert ran == []


def test_the_right_person_approves_once(world):
    assistant, ran, client, thread = world
    response = _post(client, thread, ALICE, decision="approve", reason="page says so")
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["by"] == "alice" and data["result"]["answer"].startswith("Restarted")
    assert ran == ["checkout"]
    entry = assistant.deps.audit.entries()[0]
    assert (entry["decision"], entry["approver"], entry["reason"]) == (
        "approved", "alice", "page says so"
    )  # fmt: skip
    again = _post(client, thread, ALICE, decision="approve")
    assert again.status_code == 409 and ran == ["checkout"]


def test_a_rejection_runs_nothing(world):
    assistant, ran, client, thread = world
    response = _post(client, thread, BOB, decision="reject", reason="not now")
    assert response.status_code == 200 and ran == []
    entry = assistant.deps.audit.entries()[0]
    assert (entry["decision"], entry["approver"]) == ("rejected", "bob")


@pytest.mark.parametrize("body", [{}, {"decision": "yes"}, {"decision": "approve", "reason": 3}])
def test_a_malformed_decision_is_a_400(world, body):
    _assistant, ran, client, thread = world
    assert _post(client, thread, ALICE, **body).status_code == 400 and ran == []


def test_without_people_configured_http_approvals_are_off(world):
    assistant, _ran, _client, thread = world
    app = Starlette(routes=approval_routes(assistant, People({})))
    with TestClient(app) as client:
        response = _post(client, thread, ALICE, decision="approve")
    assert response.status_code == 403 and "opsloop token new" in response.json()["error"]


def test_a_malformed_people_table_is_a_clear_error():
    with pytest.raises(PeopleError, match="token_sha256"):
        People({"alice": {"token": "plain-text"}})


def test_cli_approve_goes_through_the_server_as_the_token_holder(world, monkeypatch):
    import uvicorn

    assistant, ran, client, thread = world
    app = client.app
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    sock = config.bind_socket()
    thread_run = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread_run.start()
    try:
        wait_for(lambda: server.started, what="uvicorn start")
        monkeypatch.setenv("OPSLOOP_HOME", str(assistant.deps.settings.home))
        monkeypatch.setenv("OPSLOOP_SERVER_URL", f"http://127.0.0.1:{sock.getsockname()[1]}")
        runner = CliRunner()
        missing = runner.invoke(cli, ["approve", thread])
        assert missing.exit_code != 0 and "OPSLOOP_TOKEN" in missing.output
        monkeypatch.setenv("OPSLOOP_TOKEN", BOB)
        refused = runner.invoke(cli, ["approve", thread])
        assert refused.exit_code != 0 and "403" in refused.output and ran == []
        monkeypatch.setenv("OPSLOOP_TOKEN", ALICE)
        done = runner.invoke(cli, ["approve", thread, "--json"])
        assert done.exit_code == 0, done.output
        assert ran == ["checkout"]
        assert assistant.deps.audit.entries()[0]["approver"] == "alice"
    finally:
        server.should_exit = True
        thread_run.join(10)
