"""The incident queue tools on a real incident store, and the questions that reach them."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from opsloop.agent.config import Settings
from opsloop.agent.factory import open_queue
from opsloop.agent.grounding.selfcheck import check_answer
from opsloop.agent.rca.alerts import parse_alertmanager
from opsloop.agent.server.incidents import IncidentStore
from opsloop.tools.toolsets.incident_queue import QueueContext, queue_tools
from tests.test_incident_store import am_payload

NOW = time.time()
REPORT = {
    "answer": "# ModelQualityDrop\n\n**Most likely cause: fraud-detector: a bad model version** "
    "(score 0.77, confidence 0.71) [E8]\n- fraud-detector v4 became champion [E3]",
    "hypotheses": [
        {"kind": "model_version", "target": "fraud-detector", "score": 0.77},
        {"kind": "dependency", "target": "feature-store", "score": 0.11},
    ],
    "actions": [{"name": "rollback_model", "args": {"model": "fraud-detector"}, "status": "x"}],
}


@pytest.fixture
def store(tmp_path: Path) -> Any:
    """A queue with a reported incident (fraud-api) and a newer one under investigation."""
    s = IncidentStore(tmp_path / "incidents.sqlite", clock=lambda: NOW - 600)
    first = am_payload("a", [("ModelQualityDrop", "fraud-api", "firing")])
    first["alerts"][0]["labels"]["model"] = "fraud-detector"
    first["alerts"][0]["annotations"]["runbook_url"] = "https://runbooks/model-quality"
    s.accept(parse_alertmanager(first), json.dumps(first))
    work = s.claim("w", 60)
    assert work is not None and s.complete(work["id"], "w", REPORT)
    s.clock = lambda: NOW - 60
    second = am_payload("b", [("HighLatency", "checkout", "firing")])
    s.accept(parse_alertmanager(second), json.dumps(second))
    yield s
    s.close()


def tools(store: Any, decisions: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, Any]:
    class Kept:  # the tools close what they open; the fixture closes the store
        def __getattr__(self, name: str) -> Any:
            return (lambda: None) if name == "close" else getattr(store, name)

    audit = decisions or {}
    ctx = QueueContext(open=Kept, decisions=lambda i: audit.get(i, []), now=lambda: NOW)
    return {t.name: t for t in queue_tools(ctx)}


def test_open_incidents_are_listed_newest_first_with_age_and_hypothesis(store):
    result = tools(store)["list_incidents"].invoke({})
    assert result.status == "ok", result.summary
    lines = result.summary.splitlines()
    assert lines[0] == "2 active incident(s), newest first:"
    assert "investigating" in lines[1] and "HighLatency" in lines[1] and "(1m ago)" in lines[1]
    assert "open" in lines[2] and "ModelQualityDrop" in lines[2] and "(10m ago)" in lines[2]
    assert "model version fraud-detector (score 0.77)" in lines[2]
    assert all(e.link == "http://prometheus:9090/graph" for e in result.evidence)
    only = tools(store)["list_incidents"].invoke({"service": "fraud-detector"})
    assert only.summary.count("\n- ") == 1 and "ModelQualityDrop" in only.summary
    resolved = tools(store)["list_incidents"].invoke({"status": "resolved"})
    assert resolved.status == "no_data" and "no resolved incident(s)" in resolved.summary


def test_one_incident_by_id_or_by_what_it_is_about(store):
    [reported] = store.list_incidents(10, "open")
    decisions = [
        {"id": 1, "at": "2026-12-04T17:40:00+00:00", "action": "rollback_model",
         "args": {"model": "fraud-detector"}, "decision": "requested", "requested_by": "bob"},
        {"id": 2, "at": "2026-12-04T17:42:00+00:00", "action": "rollback_model",
         "args": {"model": "fraud-detector"}, "decision": "approved", "approver": "alice"},
    ]  # fmt: skip
    status = tools(store, {reported["id"]: decisions})["incident_status"]
    by_id = status.invoke({"incident": reported["id"].upper()})
    by_name = status.invoke({"incident": "fraud-detector"})
    assert by_id.summary == by_name.summary
    text = by_id.summary
    assert "- firing ModelQualityDrop: ModelQualityDrop on fraud-api" in text
    assert "(runbook: https://runbooks/model-quality)" in text
    assert "report: Most likely cause: fraud-detector: a bad model version (score 0.77" in text
    assert "hypotheses: model version fraud-detector (score 0.77); dependency feature-store" in text
    assert "- 2026-12-04 17:40 UTC rollback_model(model=fraud-detector): requested by bob" in text
    assert "approved by alice" in text
    newest = status.invoke({})
    assert "HighLatency" in newest.summary and "actions: none requested" in newest.summary
    missing = status.invoke({"incident": "postgres"})
    assert missing.status == "no_data" and "list_incidents shows the open ones" in missing.summary
    # Every figure of the summary is checkable against its own evidence.
    evidence = [{**by_id.evidence[0].model_dump(), "id": "E1"}]
    checked = check_answer(text + " [E1]", evidence, known_names=["fraud-detector", "fraud-api"])
    assert checked.grounded, checked.problems()


def test_no_queue_yet_says_how_to_get_one(tmp_path):
    settings = Settings(home=tmp_path / "home")
    assert open_queue(settings) is None
    assert not (settings.state_dir / "incidents.sqlite").exists()  # reading creates nothing
    ctx = QueueContext(open=lambda: open_queue(settings))
    result = {t.name: t for t in queue_tools(ctx)}["list_incidents"].invoke({})
    assert result.status == "no_data" and "`opsloop serve` opens incidents" in result.summary


def test_open_incident_questions_read_the_queue_not_memory(settings, store, tmp_path):
    from opsloop.agent.assistant import Assistant
    from opsloop.agent.factory import build_deps

    here = settings.model_copy(update={"incident_store_path": store.db.path})
    assistant = Assistant(build_deps(here))
    try:
        listed = assistant.ask("show me open incidents")
        assert [c["name"] for c in listed["tool_calls"]] == ["list_incidents"]
        assert "ModelQualityDrop" in listed["answer"] and listed["evals"]["grounded"], listed
        one = assistant.ask("summarise the checkout incident")
        assert one["tool_calls"][0]["args"] == {"incident": "checkout"}
        assert "HighLatency" in one["answer"] and one["evals"]["grounded"], one
        past = assistant.ask("has this happened before with checkout")
        assert past["tool_calls"][0]["name"] == "search_incidents"
    finally:
        assistant.close()
