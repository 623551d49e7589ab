"""The closed loop, end to end on real parts.

sandbox bad-model-release → Prometheus fires through a real Alertmanager → `opsloop serve`
(real uvicorn on loopback) investigates → the report names fraud-detector's new version →
a person with the role approves the rollback (`opsloop approve`) → the alert resolves →
incident memory holds the incident with its resolution, and the audit log the decision.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from opsloop.agent.cli.main import app
from opsloop.agent.cli.serve import build_server
from opsloop.agent.config import Settings, current_user
from opsloop.sandbox.manager import down, up

pytestmark = pytest.mark.integration


def poll(check: Callable[[], Any], deadline_s: float, what: str) -> Any:
    """Return check()'s first truthy value, or fail after the deadline."""
    stop = time.monotonic() + deadline_s
    while time.monotonic() < stop:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    pytest.fail(f"timed out after {deadline_s:.0f} s waiting for {what}")


def test_bad_release_is_diagnosed_rolled_back_on_approval_and_remembered(opsloop_home):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    up(opsloop_home, "bad-model-release", webhook=f"http://127.0.0.1:{port}/alerts/alertmanager")
    server = thread = None
    try:
        settings = Settings()
        assert settings.mlflow_tracking_uri  # the sandbox's settings are in effect
        asgi, store, _ = build_server(settings, workers=1)
        server = uvicorn.Server(uvicorn.Config(asgi, lifespan="on", log_level="warning"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()

        def investigated() -> dict | None:
            rows = [r for r in store.list_incidents(10) if r["top_hypothesis"]]
            return store.get(rows[0]["id"]) if rows else None

        incident = poll(investigated, 240, "an investigated incident")
        report = incident["report"]
        assert incident["top_hypothesis"]["kind"] == "model_version", report["answer"]
        assert incident["top_hypothesis"]["target"] == "fraud-detector"
        assert "ModelQualityDrop" in {a["name"] for a in incident["alerts"]}
        assert report["actions"] == [
            {
                "name": "rollback_model",
                "args": {"model": "fraud-detector"},
                "status": "approval_required",
            }
        ]
        assert report["approval"]["args"]["version"] == "3"  # pinned before anyone approves
        assert report["evals"]["writes_without_approval"] == 0

        # Whoever sets OPSLOOP_USER, $USER or $LOGNAME approves as their OS account, which
        # the policy grants (a spoofed name it does not know would be refused).
        with pytest.MonkeyPatch.context() as env:
            for name in ("OPSLOOP_USER", "USER", "LOGNAME"):
                env.setenv(name, "mallory")
            approved = CliRunner().invoke(app, ["approve", incident["id"], "--json"])
        assert approved.exit_code == 0, approved.output
        assert "recorded as" in approved.stderr and "mallory" in approved.stderr
        after = json.loads(approved.stdout)
        assert after["actions"][0]["status"] == "ok"
        assert "Outcome: approved" in after["answer"]

        poll(
            lambda: (store.get(incident["id"]) or {}).get("status") == "resolved",
            180,
            "the alert to resolve after the rollback",
        )
        from opsloop.agent.factory import open_memory

        memory = open_memory(settings)
        record = poll(
            lambda: (r := memory.get(incident["id"])) and r.outcome == "resolved" and r,
            30,
            "the incident memory record to be resolved",
        )
        assert (record.cause_kind, record.cause_target) == ("model_version", "fraud-detector")
        assert "v3" in record.resolution or "3" in record.resolution
        assert record.resolved_at

        audit = CliRunner().invoke(app, ["audit", "list", "--json"])
        entries = json.loads(audit.stdout)
        decisions = [(e["action"], e["decision"]) for e in entries]
        assert ("rollback_model", "approved") in decisions
        approvers = {e["approver"] for e in entries if e["decision"] == "approved"}
        assert approvers == {current_user()}, entries
        assert ("rollback_model", "requested") in decisions
    finally:
        if server is not None:
            server.should_exit = True
            thread.join(timeout=30)
        down(opsloop_home)
