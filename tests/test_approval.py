"""Write tools pause the graph for a person's approval; every decision is audited."""

import sqlite3

import pytest
from pydantic import BaseModel

from opsloop.agent.approvals.policy import Policy
from opsloop.agent.assistant import Assistant
from opsloop.agent.config import ConfigError
from opsloop.agent.factory import build_deps
from opsloop.agent.llm.scripted import ScriptedChatModel, tool_call
from opsloop.tools.base import ToolResult, ToolStatus, ops_tool


class RestartArgs(BaseModel):
    """Arguments of the test-only write tool."""

    service: str


def restart_tool(log: list[str]):
    """A test-only write tool that records what it did."""

    def restart_service(service: str) -> ToolResult:
        """Restart every pod of a service (test-only write tool)."""
        log.append(service)
        return ToolResult(status=ToolStatus.OK, summary=f"restarted {service}")

    return ops_tool(
        restart_service,
        name="restart_service",
        args_schema=RestartArgs,
        risk="write",
        preview=lambda a: f"would restart all pods of {a['service']}",
    )


POLICY = {
    "roles": {"oncall": {"actions": ["restart_service"]}},
    "users": {"alice": ["oncall"], "dave": ["oncall"], "erin": ["oncall"], "bob": ["viewer"]},
}


@pytest.fixture
def setup(settings):
    ran: list[str] = []
    model = ScriptedChatModel()
    settings = settings.model_copy(update={"policy": POLICY})
    deps = build_deps(settings, llm=model, extra_tools=[restart_tool(ran)])
    return Assistant(deps), model, ran


def test_write_pauses_for_approval_and_runs_when_approved(setup):
    assistant, model, ran = setup
    model.enqueue([tool_call("restart_service", service="checkout")], "Restarted checkout.")
    seen = []

    def approver(request):
        seen.append(request)
        return {"approved": True, "by": "alice", "reason": "on-call lead"}

    result = assistant.ask("restart checkout", user="bob", approver=approver)
    assert ran == ["checkout"]
    assert seen[0]["tool"] == "restart_service"
    assert seen[0]["preview"] == "would restart all pods of checkout"
    assert seen[0]["requested_by"] == "bob"
    assert result["tool_calls"] == [
        {"name": "restart_service", "args": {"service": "checkout"}, "status": "ok"}
    ]
    assert result["evals"]["writes_without_approval"] == 0
    entry, requested = assistant.deps.audit.entries()
    assert requested["decision"] == "requested"
    assert (
        entry["action"],
        entry["requested_by"],
        entry["approver"],
        entry["decision"],
        entry["status"],
    ) == ("restart_service", "bob", "alice", "approved", "ok")


def test_rejected_write_changes_nothing_and_is_audited(setup):
    assistant, model, ran = setup
    model.enqueue([tool_call("restart_service", service="checkout")], "Not restarted.")
    result = assistant.ask(
        "restart checkout",
        approver=lambda r: {"approved": False, "by": "carol", "reason": "not during peak"},
    )
    assert ran == []
    assert result["tool_calls"][0]["status"] == "denied"
    entry = assistant.deps.audit.entries()[0]
    assert entry["decision"] == "rejected" and entry["reason"] == "not during peak"


def test_approval_without_an_approver_name_is_refused(setup):
    assistant, model, ran = setup
    model.enqueue([tool_call("restart_service", service="gateway")], "ok")
    result = assistant.ask("restart gateway", approver=lambda r: {"approved": True})
    assert ran == [] and result["tool_calls"][0]["status"] == "denied"


def test_without_an_approver_the_thread_waits_and_resumes_later(setup):
    assistant, model, ran = setup
    model.enqueue([tool_call("restart_service", service="fraud-api")], "Done.")
    paused = assistant.ask("restart fraud-api")
    assert ran == [] and paused["approval"]["tool"] == "restart_service"
    assert paused["tool_calls"][-1]["status"] == "approval_required"
    [requested] = assistant.deps.audit.entries()
    assert (requested["decision"], requested["status"]) == ("requested", "pending")
    done = assistant.resume(paused["thread_id"], {"approved": True, "by": "dave"})
    assert ran == ["fraud-api"] and done["answer"].startswith("Done.")
    assert [e["decision"] for e in assistant.deps.audit.entries()] == ["approved", "requested"]


def test_approval_by_a_user_without_the_role_runs_nothing(setup):
    assistant, model, ran = setup
    model.enqueue([tool_call("restart_service", service="checkout")], "Not run.")
    result = assistant.ask("restart checkout", approver=lambda r: {"approved": True, "by": "bob"})
    assert ran == [] and result["tool_calls"][0]["status"] == "denied"
    entry = assistant.deps.audit.entries()[0]
    assert (entry["decision"], entry["approver"]) == ("unauthorized", "bob")
    assert "may not approve restart_service" in entry["reason"]


def test_without_a_policy_nobody_can_approve(settings):
    ran: list[str] = []
    model = ScriptedChatModel().enqueue([tool_call("restart_service", service="x")], "no")
    assistant = Assistant(build_deps(settings, llm=model, extra_tools=[restart_tool(ran)]))
    result = assistant.ask("restart x", approver=lambda r: {"approved": True, "by": "alice"})
    assert ran == [] and result["tool_calls"][0]["status"] == "denied"
    assert "no approval policy is configured" in assistant.deps.audit.entries()[0]["reason"]


def test_separate_approver_keeps_requesters_from_approving_themselves(setup):
    assistant, model, ran = setup
    assistant.deps.policy = Policy.from_config({**POLICY, "separate_approver": True})
    model.enqueue([tool_call("restart_service", service="checkout")], "No.")
    approve = lambda r: {"approved": True, "by": "alice"}  # noqa: E731
    result = assistant.ask("restart checkout", user="alice", approver=approve)
    assert ran == [] and result["tool_calls"][0]["status"] == "denied"
    assert "may not approve it too" in assistant.deps.audit.entries()[0]["reason"]


def test_malformed_policy_is_a_config_error():
    with pytest.raises(ConfigError, match=r"policy\.roles"):
        Policy.from_config({"roles": {"x": {"actions": "rollback_model"}}})


def test_reads_run_before_the_write_waits(setup):
    assistant, model, ran = setup
    model.enqueue(
        [tool_call("list_services"), tool_call("restart_service", service="checkout")], "done"
    )
    paused = assistant.ask("check and restart")
    assert [c["name"] for c in paused["tool_calls"]] == ["list_services", "restart_service"]
    assert ran == []


def test_audit_log_is_append_only(setup):
    assistant, model, _ = setup
    model.enqueue([tool_call("restart_service", service="checkout")], "ok")
    assistant.ask("restart checkout", approver=lambda r: {"approved": True, "by": "erin"})
    conn = sqlite3.connect(assistant.deps.settings.state_dir / "audit.sqlite")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE audit SET approver = 'mallory'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM audit")


def test_write_tools_must_declare_a_dry_run():
    def no_preview(service: str) -> ToolResult:
        """Dangerous."""
        return ToolResult(status=ToolStatus.OK, summary="")

    with pytest.raises(ValueError, match="preview"):
        ops_tool(no_preview, name="x", args_schema=RestartArgs, risk="write")


def test_a_new_question_after_an_unanswered_approval_still_works(setup):
    assistant, model, ran = setup
    model.enqueue([tool_call("restart_service", service="checkout")])
    paused = assistant.ask("restart checkout")
    model.enqueue("nothing to report")
    later = assistant.ask("anything else?", thread_id=paused["thread_id"])
    assert later["answer"].startswith("nothing to report") and ran == []
    sent = model.calls[-1]
    calls = [c["id"] for m in sent if m.type == "ai" for c in m.tool_calls]
    results = [m.tool_call_id for m in sent if m.type == "tool"]
    assert calls == results  # no dangling tool call reaches the endpoint


def test_numpy_values_in_tool_results_are_stored(settings):
    import numpy as np

    def numbers() -> ToolResult:
        """Return numpy numbers, as detectors do."""
        return ToolResult(
            status=ToolStatus.OK, summary="x", data={"v": np.float64(1.5), "a": np.arange(3)}
        )

    class NoArgs(BaseModel):
        """No arguments."""

    tool = ops_tool(numbers, name="numbers", args_schema=NoArgs)
    model = ScriptedChatModel().enqueue([tool_call("numbers")], "done")
    assistant = Assistant(build_deps(settings, llm=model, extra_tools=[tool]))
    assert assistant.ask("numbers?")["tool_calls"][0]["status"] == "ok"
