"""`opsloop incidents postmortem`: a draft built only from an incident's records, and its
round trip through `opsloop memory import`."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from typer.testing import CliRunner

from opsloop.agent.approvals.audit import AuditLog
from opsloop.agent.cli.main import app
from opsloop.agent.config import Settings
from opsloop.agent.rca.alerts import parse_alertmanager
from opsloop.agent.rca.postmortem import build
from opsloop.agent.server.incidents import IncidentStore
from opsloop.agent.server.postmortem import load_sources
from opsloop.tools.backends.changelog import ChangeEvent, ChangeLog

runner = CliRunner()
SECTIONS = ("Summary", "Impact window", "Timeline", "Root cause", "Resolution")
SECTIONS += ("What went well", "What went badly", "Action items", "Missing data")


def stamp(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z")


def notification(status: str, starts: float, ends: float | None = None) -> dict[str, Any]:
    """Return an Alertmanager v4 payload: the model's quality alert on its service."""
    labels = {"alertname": "ModelQualityDrop", "service": "payments", "model": "scorer"}
    return {
        "version": "4",
        "groupKey": '{}:{alertname="ModelQualityDrop"}',
        "status": status,
        "receiver": "opsloop",
        "groupLabels": {"alertname": "ModelQualityDrop"},
        "commonLabels": {},
        "alerts": [
            {
                "status": status,
                "labels": {**labels, "severity": "page"},
                "annotations": {"summary": "scorer AUC dropped"},
                "startsAt": stamp(starts),
                "endsAt": stamp(ends) if ends else "0001-01-01T00:00:00Z",
                "fingerprint": "q1",
                "generatorURL": "http://prometheus:9090/graph?g0.expr=auc",
            }
        ],
    }


REPORT = {
    "answer": "# ModelQualityDrop on payments\n**Most likely cause: scorer** [E3]",
    "title": "ModelQualityDrop on payments",
    "hypotheses": [
        {"kind": "model_version", "target": "scorer", "score": 0.82, "evidence": ["E2", "E3"]},
        {"kind": "data", "target": "scorer", "score": 0.2, "evidence": ["E3"]},
    ],
    "why": {"model_version:scorer": ["scorer's alias moved to v4 5 min before the onset"]},
    "evidence": [
        {
            "id": "E1",
            "tool": "scan_signals",
            "query": "auc",
            "summary": "scorer AUC down",
            "link": "http://grafana/explore?auc",
        },
        {
            "id": "E2",
            "tool": "recent_changes",
            "query": "changes",
            "summary": "scorer 3 → 4",
            "link": "http://mlflow/#/models/scorer",
        },
        {
            "id": "E3",
            "tool": "rca",
            "query": "rank",
            "summary": "ranking of 2 hypotheses",
            "link": None,
        },
    ],
    "tool_calls": [
        {"name": "scan_signals", "args": {}, "status": "ok"},
        {"name": "search_logs", "args": {}, "status": "error"},
    ],
    "actions": [{"name": "rollback_model", "args": {"model": "scorer"}, "status": "ok"}],
    "false_alarm": False,
    "confidence": 0.8,
    "error": None,
}


def stored_incident(*, resolve: bool = True) -> tuple[str, float]:
    """Store an incident the way `opsloop serve` does; return (id, first alert start)."""
    settings = Settings()
    first = time.time() - 1200
    store = IncidentStore(settings.state_dir / "incidents.sqlite")
    incident = store.accept(parse_alertmanager(notification("firing", first)), "{}").incident_id
    assert incident is not None
    store.claim("w", 60)
    store.complete(incident, "w", REPORT)
    changes = ChangeLog.open(settings.state_dir / "changes.sqlite")
    changes.record(
        ChangeEvent(
            first - 300,
            "ci",
            "alias_move",
            "scorer",
            "scorer champion 3 → 4",
            {"alias": "champion", "from": "3", "to": "4"},
        )
    )
    changes.close()
    audit = AuditLog(settings.state_dir / "audit.sqlite")
    request = {
        "thread_id": incident,
        "requested_by": "opsloop-rca",
        "action": "rollback_model",
        "args": {"model": "scorer", "version": "3"},
        "preview": "4 → 3",
        "evidence": ["E2"],
    }
    audit.append(**request, decision="requested", status="pending")
    audit.append(
        **request,
        approver="alice",
        decision="approved",
        status="ok",
        result="scorer champion 4 → 3",
    )
    if resolve:
        body = notification("resolved", first, time.time() + 1)
        store.accept(parse_alertmanager(body), "{}")
    store.close()
    return incident, first


def investigation_state(first: float) -> dict[str, Any]:
    """Return graph state as the alert path leaves it: scans with onsets, a timed-out tool."""
    series = [
        {
            "signal": "model_quality",
            "direction": "down",
            "z": -12.0,
            "onset": first - 120,
            "text": "scorer (payments) AUC: down",
            "evidence": 0,
            "service": "payments",
        },
        {"signal": "request_rate", "direction": "flat", "z": 0.1, "onset": None, "text": "-"},
    ]
    return {
        "mode": "alert",
        "rca": {"services": ["payments"], "models": ["scorer"], "title": REPORT["title"]},
        "evidence": REPORT["evidence"],
        "tool_calls": [
            {
                "name": "scan_signals",
                "status": "ok",
                "evidence": ["E1"],
                "started_at": first + 5,
                "duration_s": 1.5,
                "data": {"series": series},
            },
            {
                "name": "search_logs",
                "status": "error",
                "evidence": [],
                "started_at": first + 5,
                "duration_s": 10.0,
                "error": "search_logs timed out after 10s",
                "data": {},
            },
        ],
    }


def test_a_postmortem_is_built_from_the_stored_records():
    incident, first = stored_incident()
    store = IncidentStore(Settings().state_dir / "incidents.sqlite")
    src = load_sources(Settings(), store, incident)
    store.close()
    assert src is not None and src.state is None  # no checkpoint: the investigation was faked
    src.state = investigation_state(first)
    pm = build(src)

    assert pm["impact"]["start_from"] == "onset"  # the scan saw it before the alert fired
    assert pm["impact"]["start_at"] == first - 120 and pm["impact"]["end"] != "ongoing"
    kinds = [e["kind"] for e in pm["timeline"]]
    assert kinds[:3] == ["change", "evidence", "alert"], kinds
    assert {"decision", "action", "incident"} <= set(kinds)
    times = [e["at"] for e in pm["timeline"]]
    assert times == sorted(times) and all(e["time"].endswith("UTC") for e in pm["timeline"])
    onset = next(e for e in pm["timeline"] if e["kind"] == "evidence")
    assert onset["link"] == "http://grafana/explore?auc" and "[E1]" in onset["text"]
    assert any("approved by alice" in e["text"] for e in pm["timeline"])
    cause = pm["root_cause"]
    assert (cause["kind"], cause["target"], cause["score"]) == ("model_version", "scorer", 0.82)
    assert [(e["id"], e["summary"]) for e in cause["evidence"]] == [
        ("E2", "scorer 3 → 4"),
        ("E3", "ranking of 2 hypotheses"),
    ]
    assert pm["resolution"].startswith("rollback_model(model=scorer, version=3) approved by alice")
    assert any(w.startswith("rollback_model was approved by alice") for w in pm["went_well"])
    assert any("ModelQualityDrop resolved" in w for w in pm["went_well"])
    assert "tool search_logs timed out: search_logs timed out after 10s" in pm["went_badly"]
    assert any("scorer v4 failed in production" in a for a in pm["action_items"])
    assert any("Fix tool search_logs" in a for a in pm["action_items"])


def test_cli_writes_markdown_and_json_that_memory_imports_back(tmp_path):
    incident, _ = stored_incident()
    shown = runner.invoke(app, ["incidents", "postmortem", "--help"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0 and "--output" in shown.stdout and "--json" in shown.stdout
    target = tmp_path / "pm" / f"{incident}.md"
    result = runner.invoke(app, ["incidents", "postmortem", incident, "--output", str(target)])
    assert result.exit_code == 0, result.output
    text = target.read_text()
    assert text.startswith("---\nid: " + incident)
    for section in SECTIONS:
        assert f"\n## {section}\n" in text, section
    assert "no graph checkpoint" in text  # said, not invented
    as_json = runner.invoke(app, ["incidents", "postmortem", incident, "--json"])
    pm = json.loads(as_json.stdout)
    assert pm["id"] == incident and pm["markdown"] == text and pm["output"] is None

    imported = runner.invoke(app, ["memory", "import", str(target), "--json"])
    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.stdout) == {"imported": [incident]}
    from opsloop.agent.factory import open_memory

    record = open_memory(Settings()).get(incident)
    assert record is not None and record.source == "postmortem"
    assert record.when == pm["date"][:10] and abs(record.opened_at - time.time()) < 120
    assert (record.services, record.models) == (["payments"], ["scorer"])
    assert record.alerts == ["ModelQualityDrop"]
    assert (record.cause_kind, record.cause_target) == ("model_version", "scorer")
    assert record.resolution == pm["resolution"] and record.resolved_at


def test_an_ongoing_incident_without_a_report_says_what_is_missing():
    settings = Settings()
    store = IncidentStore(settings.state_dir / "incidents.sqlite")
    body = notification("firing", time.time() - 60)
    incident = store.accept(parse_alertmanager(body), "{}").incident_id
    store.close()
    result = runner.invoke(app, ["incidents", "postmortem", incident, "--json"])
    assert result.exit_code == 0, result.output
    pm = json.loads(result.stdout)
    assert pm["impact"]["end"] == "ongoing" and pm["root_cause"]["kind"] == ""
    assert pm["resolution"] == "unresolved: the incident is ongoing"
    assert any("no investigation report yet" in m for m in pm["missing"])
    assert "Resolve the incident, then regenerate this draft" in pm["action_items"]
    assert "resolved_at" not in pm["markdown"].split("---")[1]


def test_an_unknown_incident_is_a_clear_error():
    stored_incident()
    missing = runner.invoke(app, ["incidents", "postmortem", "inc-000000000000"])
    assert missing.exit_code == 2
    assert "no incident 'inc-000000000000'" in missing.stderr
    assert "opsloop incidents list" in missing.stderr


def test_a_real_investigation_is_read_back_from_its_checkpoint(settings):
    """One investigation on the session's Prometheus (healthy history: a false alarm)."""
    from opsloop.agent.assistant import Assistant
    from opsloop.agent.server.postmortem import postmortem
    from tests.test_investigate import alerts_of, payload

    store = IncidentStore(settings.state_dir / "incidents.sqlite")
    body = payload(time.time() - 1800)  # a service the backfilled history has
    incident = store.accept(parse_alertmanager(body), "{}").incident_id
    item = store.claim("w", 600)
    assistant = Assistant.from_settings(settings)
    try:
        report = assistant.investigate(alerts_of(body), thread_id=item["id"])
    finally:
        assistant.close()
    assert store.complete(incident, "w", report)
    pm = postmortem(settings, store, incident)
    store.close()

    assert pm is not None and not any("checkpoint" in m for m in pm["missing"]), pm["missing"]
    assert pm["root_cause"]["false_alarm"] is report["false_alarm"] is True
    assert "Tune alert HighErrorRatio: it fired with no fault found" in pm["action_items"]
    assert any(w.startswith("first report ") for w in pm["went_well"] + pm["went_badly"])
    answered = [w for w in pm["went_well"] if w.startswith("all ")]
    failed = [w for w in pm["went_badly"] if w.startswith("tool ")]
    assert answered or failed  # the state's tool calls were read, with their errors if any
    assert "## Root cause\nFalse alarm" in pm["markdown"]
