"""Registry, retraining and rollback on a live sandbox: approvals, roles, audit, gate.

One sandbox (bad-model-release: fraud-detector v4 is promoted at onset and breaks) serves the
module; the tests run in file order and each starts from the state the previous one left,
as an on-call engineer's session would.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsloop.agent.assistant import Assistant
from opsloop.agent.config import Settings, current_user
from opsloop.agent.factory import build_deps
from opsloop.sandbox.manager import down, up
from opsloop.tools.backends.changelog import ChangeLog
from opsloop.tools.backends.mlflow_registry import Registry

pytestmark = pytest.mark.integration
MODEL = "fraud-detector"
# The sandbox lets whoever started it approve its writes (see its policy); nobody else.
ADMIN = current_user()


def wait_for(check: Callable[[], Any], deadline_s: float = 90.0, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy; fail after the deadline."""
    stop = time.monotonic() + deadline_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > stop:
            pytest.fail(f"timed out after {deadline_s:.0f} s waiting for {what}")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("mlops")
    state = up(home, "bad-model-release", webhook="http://127.0.0.1:9/unused")
    try:
        settings = dict(state["settings"])
        registry = Registry(settings["mlflow_tracking_uri"])
        wait_for(lambda: registry.alias(MODEL, "champion") == "4", what="the bad release")
        yield {"home": home, "state": state, "settings": settings, "registry": registry}
    finally:
        down(home)


@pytest.fixture
def assistant(world, tmp_path) -> Iterator[Assistant]:
    settings = Settings(home=tmp_path / "opsloop", user="bob", **world["settings"])
    a = Assistant(build_deps(settings))
    try:
        yield a
    finally:
        a.close()


def approve_as(who: str, approved: bool = True) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda request: {"approved": approved, "by": who, "reason": "test"}


def champion(world) -> str | None:
    return world["registry"].alias(MODEL, "champion")


def serving_version(world) -> str | None:
    """Return the version label of fraud-detector's live online-AUC series."""
    url = world["state"]["urls"]["prometheus"] + "/api/v1/query"
    result = httpx.get(
        url, params={"query": f'model_quality{{model="{MODEL}",metric="auc"}}'}
    ).json()
    series = result["data"]["result"]
    return series[0]["metric"].get("version") if series else None


def test_which_version_is_serving(world, assistant):
    result = assistant.ask("which fraud-detector version is serving?")
    assert [c["name"] for c in result["tool_calls"]] == ["model_status"]
    assert "champion v4" in result["answer"] and result["evals"]["grounded"], result
    links = [e["link"] for e in result["evidence"] if e["link"]]
    assert any(link.endswith(f"/#/models/{MODEL}/versions/4") for link in links)


def test_compare_versions_shows_metric_deltas(world, assistant):
    result = assistant.ask("compare v3 and v4 of fraud-detector")
    call = result["tool_calls"][0]
    assert call["name"] == "compare_model_versions" and call["status"] == "ok"
    assert "v3 → v4" in result["answer"] and "auc" in result["answer"]
    assert result["evals"]["grounded"], result


def test_rollback_without_approval_changes_nothing_and_is_audited(world, assistant):
    result = assistant.ask("roll back fraud-detector")
    assert result["tool_calls"][-1]["status"] == "approval_required"
    assert "v4 → v3" in result["approval"]["preview"]
    assert result["approval"]["args"] == {"model": MODEL, "version": "3", "from_version": "4"}
    assert champion(world) == "4"
    [entry] = assistant.deps.audit.entries()
    assert (entry["action"], entry["decision"], entry["requested_by"]) == (
        "rollback_model",
        "requested",
        "bob",
    )


def test_denied_or_unauthorised_rollback_changes_nothing(world, assistant):
    denied = assistant.ask("roll back fraud-detector", approver=approve_as(ADMIN, False))
    assert denied["tool_calls"][-1]["status"] == "denied"
    stranger = assistant.ask("roll back fraud-detector", approver=approve_as("mallory"))
    assert stranger["tool_calls"][-1]["status"] == "denied"
    assert "mallory holds no role" in stranger["answer"]
    assert champion(world) == "4"
    decisions = [e["decision"] for e in assistant.deps.audit.entries()]
    assert decisions[:4] == ["unauthorized", "requested", "rejected", "requested"]
    events = ChangeLog(Path(world["settings"]["changelog_path"])).events(target=MODEL)
    assert events[-1].detail["to"] == "4"  # no alias move was recorded


def test_expired_approval_changes_nothing(world, tmp_path):
    settings = Settings(home=tmp_path / "o", user="bob", approval_ttl=0.001, **world["settings"])
    assistant = Assistant(build_deps(settings))
    result = assistant.ask("roll back fraud-detector", approver=approve_as(ADMIN))
    assert result["tool_calls"][-1]["status"] == "denied" and "expired" in result["answer"]
    assert champion(world) == "4"


def test_approved_rollback_moves_the_alias_and_serving_follows(world, assistant):
    result = assistant.ask("roll back fraud-detector", approver=approve_as(ADMIN))
    assert result["tool_calls"][-1]["status"] == "ok", result
    assert champion(world) == "3"
    entry = assistant.deps.audit.entries()[0]
    assert (entry["decision"], entry["approver"], entry["status"]) == ("approved", ADMIN, "ok")
    assert entry["args"] == {"model": MODEL, "version": "3", "from_version": "4"}
    event = ChangeLog(Path(world["settings"]["changelog_path"])).events(target=MODEL)[-1]
    assert (event.kind, event.who, event.detail["from"], event.detail["to"]) == (
        "alias_move",
        ADMIN,
        "4",
        "3",
    )
    wait_for(lambda: serving_version(world) == "3", what="serving to follow the alias")


def test_nonsense_rollbacks_are_refused(world, assistant):
    for question, words in [
        ("roll back fraud-detector to v3", "already the champion"),
        ("roll back fraud-detector to v2", "failed its validation"),
        ("roll back fraud-detector to v9", "has no version 9"),
    ]:
        result = assistant.ask(question, approver=approve_as(ADMIN))
        assert result["tool_calls"][-1]["status"] == "error", result
        assert words in result["answer"], result["answer"]
    assert champion(world) == "3"
    assert assistant.deps.audit.entries()[0]["decision"] == "refused"


def test_replaying_an_approved_rollback_is_idempotent(world, assistant):
    tool = assistant.deps.tools["rollback_model"]
    result = tool.invoke({"model": MODEL, "version": "3", "from_version": "4"})
    assert result.status == "ok" and "nothing changed" in result.summary
    assert champion(world) == "3"


def test_a_version_rolled_back_from_is_tagged_and_never_the_default_target(world, assistant):
    tagged = world["registry"].version(MODEL, "4").rolled_back
    assert tagged and ADMIN in tagged, tagged
    again = assistant.ask("roll back fraud-detector")
    assert again["tool_calls"][-1]["status"] == "approval_required", again
    # v4 broke and was rolled back from, v3 serves, v2 failed validation: v1 is next.
    assert again["approval"]["args"]["version"] == "1", again["approval"]
    assert "⚠" not in again["approval"]["preview"]
    named = assistant.ask("roll back fraud-detector to v4")
    assert named["approval"]["args"]["version"] == "4"
    assert "⚠ v4 was rolled back from before" in named["approval"]["preview"]
    assert champion(world) == "3"


def test_retraining_registers_a_challenger_the_gate_keeps_out(world, assistant):
    result = assistant.ask("retrain fraud-detector on the last 7 days", approver=approve_as(ADMIN))
    call = result["tool_calls"][-1]
    assert call["name"] == "retrain_model" and call["status"] == "ok", result
    job_id = assistant.deps.tools["job_status"].invoke({}).data["job_id"]
    status = wait_for(
        lambda: (
            r
            if (r := assistant.deps.tools["job_status"].invoke({"job_id": job_id})).data["status"]
            in ("succeeded", "failed")
            else None
        ),
        deadline_s=180,
        what="the retraining job",
    )
    assert status.data["status"] == "succeeded", status.summary
    version = status.data["result"]["version"]
    assert world["registry"].alias(MODEL, "challenger") == version
    assert champion(world) == "3"
    info = world["registry"].version(MODEL, version)
    assert info.metrics["auc"] > 0.9 and info.tags["eval_champion_version"] == "3"
    # Trained on the same world as v3: it cannot beat it by the margin, so promotion is refused.
    promoted = assistant.ask("promote the fraud-detector challenger", approver=approve_as(ADMIN))
    assert promoted["tool_calls"][-1]["status"] == "error"
    assert "gate not passed" in promoted["answer"]
    assert champion(world) == "3" and world["registry"].alias(MODEL, "challenger") == version


def test_promotion_that_passes_the_gate_needs_approval(world, assistant):
    # A challenger evaluated against a broken champion passes the gate: move v4 back first.
    registry = world["registry"]
    registry.set_alias(MODEL, "champion", "4")
    job = assistant.deps.tools["retrain_model"].invoke({"model": MODEL, "window": "1d"})
    job_id = job.data["job_id"]
    wait_for(
        lambda: (
            assistant.deps.tools["job_status"].invoke({"job_id": job_id}).data["status"]
            in ("succeeded", "failed")
        ),
        deadline_s=180,
        what="the retraining job",
    )
    status = assistant.deps.tools["job_status"].invoke({"job_id": job_id})
    assert status.data["status"] == "succeeded", status.summary
    version = status.data["result"]["version"]
    unapproved = assistant.ask("promote the fraud-detector challenger")
    assert unapproved["tool_calls"][-1]["status"] == "approval_required"
    assert "gate: auc" in unapproved["approval"]["preview"]
    assert champion(world) == "4"
    done = assistant.ask("promote the fraud-detector challenger", approver=approve_as(ADMIN))
    assert done["tool_calls"][-1]["status"] == "ok", done
    assert champion(world) == version and registry.alias(MODEL, "challenger") is None
    wait_for(lambda: serving_version(world) == version, what="serving the promoted version")


def test_llm_brain_write_goes_through_the_same_gate(world, tmp_path):
    from opsloop.agent.llm.scripted import ScriptedChatModel, tool_call

    settings = Settings(home=tmp_path / "llm", user="bob", **world["settings"])
    model = ScriptedChatModel().enqueue(
        [tool_call("model_status", model=MODEL)],
        [tool_call("rollback_model", model=MODEL, version="1")],
        "I asked for the rollback; it was not approved.",
    )
    assistant = Assistant(build_deps(settings, llm=model))
    before = champion(world)
    result = assistant.ask("roll back fraud-detector to v1", approver=approve_as("mallory"))
    assert [c["name"] for c in result["tool_calls"]] == ["model_status", "rollback_model"]
    assert result["tool_calls"][-1]["status"] == "denied"
    assert champion(world) == before
    assert assistant.deps.audit.entries()[0]["decision"] == "unauthorized"
