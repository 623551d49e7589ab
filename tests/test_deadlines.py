"""Deadlines: a hung backend costs its own tool's threads, a turn ends on time with a partial
answer naming what did not answer, and queue time is not counted as a tool's own (issue 22)."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import pytest
from pydantic import BaseModel

from opsloop.agent.graph.execute import configure_pools, run_reads, run_tool
from opsloop.tools.base import ToolResult, ToolStatus, ops_tool
from opsloop.tools.deadline import deadline


class NoArgs(BaseModel):
    """No arguments."""


def tool(name: str, gate: threading.Event | None = None, timeout_s: float = 30.0) -> Any:
    def call() -> ToolResult:
        """Answer, or hang until the gate opens (a backend that never replies)."""
        if gate is not None:
            gate.wait(30)
        return ToolResult(status=ToolStatus.OK, summary=f"{name} answered")

    return ops_tool(call, name=name, args_schema=NoArgs, timeout_s=timeout_s)


def test_a_hung_call_ends_at_the_deadline_and_says_so():
    gate = threading.Event()
    try:
        clock = time.monotonic()
        with deadline(0.5):
            result = run_tool(tool("hangs_a", gate), {}, 30.0, 4000)
        assert time.monotonic() - clock < 5
        assert result.status is ToolStatus.ERROR
        assert "deadline" in result.summary and "OPSLOOP_TURN_DEADLINE_S" in result.summary
        with deadline(0.0):  # past it already: not even started
            late = run_tool(tool("fine_a"), {}, 30.0, 4000)
        assert "was not run" in late.summary
    finally:
        gate.set()


def test_a_hung_backend_holds_only_its_own_tools_threads():
    configure_pools(1)  # four threads per tool
    gate = threading.Event()
    hung = tool("hangs_b", gate, timeout_s=0.3)
    try:
        for _ in range(4):  # every thread of this tool stuck on the backend
            assert "timed out after 0.3s" in run_tool(hung, {}, 30.0, 4000).summary
        with deadline(0.5):
            queued = run_tool(hung, {}, 30.0, 4000)
        with deadline(0.5):
            other = run_tool(tool("fine_b"), {}, 30.0, 4000)
        assert "queued" in queued.summary and "may hang" in queued.summary
        assert other.status is ToolStatus.OK  # another backend's tool is not held up
    finally:
        gate.set()


def test_queue_time_does_not_count_against_a_tools_own_timeout():
    configure_pools(1)
    gates = [threading.Event() for _ in range(4)]
    slow = [tool("busy_c", g, timeout_s=5.0) for g in gates]
    results: list[ToolResult] = []
    threads = [
        threading.Thread(target=lambda t=t: results.append(run_tool(t, {}, 30.0, 4000)))
        for t in slow
    ]
    for t in threads:
        t.start()
    time.sleep(0.05)
    # A fifth call waits for a thread ~0.6 s, then answers at once: not a timeout of 0.5 s.
    threading.Timer(0.6, lambda: [g.set() for g in gates]).start()
    fifth = run_tool(tool("busy_c", timeout_s=0.5), {}, 30.0, 4000)
    for t in threads:
        t.join(10)
    assert fifth.status is ToolStatus.OK, fifth.summary


class FakeDeps:
    def __init__(self, tools: dict[str, Any]) -> None:
        self.tools = tools
        self.settings = type("S", (), {"tool_timeout": 30.0, "tool_output_chars": 4000})()
        self.catalog = None
        self.secrets: list[str] = []


def test_the_deadline_reaches_the_parallel_reads_of_a_step():
    gate = threading.Event()
    deps: Any = FakeDeps({"hangs_d": tool("hangs_d", gate), "fine_d": tool("fine_d")})
    calls = [
        {"id": "1", "name": "hangs_d", "args": {}},
        {"id": "2", "name": "fine_d", "args": {}},
    ]
    try:
        clock = time.monotonic()
        with deadline(0.5):
            update = run_reads({}, deps, calls)
        assert time.monotonic() - clock < 5
        statuses = [r["status"] for r in update["tool_calls"]]
        assert statuses == ["error", "ok"]
        assert "deadline" in update["tool_calls"][0]["error"]
    finally:
        gate.set()


def test_an_investigation_against_a_backend_that_never_answers_ends_on_time(tmp_path):
    from opsloop.agent.assistant import Assistant
    from opsloop.agent.config import Settings

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)  # accepts connections (the kernel does), never reads or replies
    try:
        settings = Settings(
            prometheus_url=f"http://127.0.0.1:{server.getsockname()[1]}",
            prometheus_timeout=60,
            turn_deadline_s=2,
            home=tmp_path / "home",
        )
        assistant = Assistant.from_settings(settings)
        alert = {
            "name": "HighErrorRatio",
            "status": "firing",
            "labels": {"alertname": "HighErrorRatio", "service": "checkout"},
            "annotations": {},
            "starts_at": time.time() - 60,
            "ends_at": None,
            "fingerprint": "f",
        }
        clock = time.monotonic()
        try:
            result = assistant.investigate([alert], thread_id="hung")
        finally:
            assistant.close()
        assert time.monotonic() - clock < 30  # the backend's own timeout is 60 s
        assert "Could not check:" in result["answer"]
        assert "deadline passed" in result["answer"]
    finally:
        server.close()


def test_http_backends_on_httpx_stop_at_the_deadline():
    import httpx

    from opsloop.tools.deadline import DeadlineTransport

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)  # accepts, never answers: a hung Loki or Elasticsearch
    url = f"http://127.0.0.1:{server.getsockname()[1]}/"
    try:
        with httpx.Client(timeout=60, transport=DeadlineTransport()) as client:
            clock = time.monotonic()
            with deadline(0.5), pytest.raises(httpx.TimeoutException):
                client.get(url)
            assert time.monotonic() - clock < 5  # not the client's own 60 s
            with deadline(0.0), pytest.raises(httpx.ConnectTimeout, match="not sent"):
                client.get(url)
    finally:
        server.close()


def test_no_llm_request_starts_once_the_turn_deadline_has_nearly_passed(tmp_path):
    from types import SimpleNamespace

    from langchain_core.messages import HumanMessage

    from opsloop.agent.config import Settings
    from opsloop.agent.llm.chat import TurnBudgetSpent, invoke
    from opsloop.agent.llm.scripted import ScriptedChatModel

    model = ScriptedChatModel()
    model.enqueue("fine")
    deps = SimpleNamespace(settings=Settings(home=tmp_path))
    state = {"started_at": time.time()}  # the LLM's own budget is untouched
    with deadline(1.0), pytest.raises(TurnBudgetSpent, match="OPSLOOP_TURN_DEADLINE_S"):
        invoke(model, [HumanMessage("hi")], {}, state=state, deps=deps)
    reply, _usage = invoke(model, [HumanMessage("hi")], {}, state=state, deps=deps)
    assert reply.content == "fine"


def _pool_with(tmp_path, investigator, **store_kw):
    from opsloop.agent.rca.alerts import parse_alertmanager
    from opsloop.agent.server.incidents import IncidentStore
    from opsloop.agent.server.worker import WorkerPool
    from tests.test_incident_store import TOPOLOGY, am_payload

    store = IncidentStore(tmp_path / "i.sqlite", topology=TOPOLOGY, retry_backoff_s=0.0, **store_kw)
    reports: list[tuple[str, dict]] = []
    pool = WorkerPool(
        store, investigator, workers=1, lease_s=30.0, deadline_s=0.5, poll_s=0.02,
        on_report=lambda incident, report: reports.append((incident["id"], report)),
    )  # fmt: skip
    payload = am_payload("g", [("HighErrorRate", "checkout", "firing")])
    accepted = store.accept(parse_alertmanager(payload), b"{}")
    return store, pool, reports, accepted.incident_id


def _until(check: Any, what: str, deadline_s: float = 20.0) -> Any:
    end = time.monotonic() + deadline_s
    while not (found := check()):
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.02)
    return found


def test_a_stuck_attempt_is_given_up_retried_by_a_fresh_worker_and_its_late_result_dropped(
    tmp_path,
):
    gate, calls = threading.Event(), []

    def investigate(incident: dict) -> dict:
        calls.append(incident["id"])
        if len(calls) == 1:
            gate.wait(30)  # stuck in a call the turn deadline cannot reach
            return {"answer": "late", "hypotheses": [], "actions": []}
        return {"answer": "checkout is failing", "hypotheses": [], "actions": []}

    store, pool, reports, incident = _pool_with(tmp_path, investigate)
    pool.start()
    try:
        _until(lambda: reports, "the retried report")
        assert [r["answer"] for _i, r in reports] == ["checkout is failing"]
        assert pool.outcomes["retry"] == 1 and pool.outcomes["completed"] == 1
        assert len(calls) == 2 and store.leases() == []
        gate.set()  # the stuck call returns at last: nothing changes
        _until(lambda: not pool.busy, "the late attempt to return")
        assert (store.get(incident) or {})["report"]["answer"] == "checkout is failing"
        assert len(reports) == 1
    finally:
        gate.set()
        pool.stop(5)
        store.close()


def test_retries_of_an_attempt_that_always_hangs_are_bounded(tmp_path):
    gate = threading.Event()

    def investigate(incident: dict) -> dict:
        gate.wait(30)
        return {"answer": "late", "hypotheses": [], "actions": []}

    store, pool, reports, incident = _pool_with(tmp_path, investigate, max_attempts=2)
    pool.start()
    try:
        _until(lambda: reports, "the failure report")
        report = reports[0][1]
        assert "failed after 2 attempt(s)" in report["answer"]
        assert "OPSLOOP_INVESTIGATION_DEADLINE_S" in report["answer"]
        assert pool.outcomes["retry"] == 1 and pool.outcomes["failed"] == 1
        assert (store.get(incident) or {})["status"] == "open" and store.leases() == []
    finally:
        gate.set()
        pool.stop(5)
        store.close()
