"""`opsloop serve`: webhook intake, auth, limits, incidents API, metrics, workers, CLI."""

from __future__ import annotations

import base64
import json
import sqlite3
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient
from typer.testing import CliRunner

from opsloop.agent.config import Settings
from opsloop.agent.rca.alerts import parse_alertmanager
from opsloop.agent.server.app import create_app
from opsloop.agent.server.incidents import IncidentStore
from opsloop.agent.server.worker import WorkerPool
from tests.test_incident_store import LIST_KEYS, TOPOLOGY, am_payload

AM = "/alerts/alertmanager"


def wait_for(check: Callable[[], Any], deadline_s: float = 5.0, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy, or fail after the deadline."""
    stop = time.monotonic() + deadline_s
    while time.monotonic() < stop:
        if result := check():
            return result
        time.sleep(0.01)
    raise AssertionError(f"timed out after {deadline_s}s waiting for {what}")


def settle(pool: WorkerPool) -> None:
    """Wake the pool and wait until it has looked for work (and sweeps) after the wake."""
    seen = pool.idle_polls
    pool.wake()
    wait_for(lambda: pool.idle_polls >= seen + 2 * pool.workers, what="an idle pool")


class FakeInvestigator:
    """Records calls; can fail the first `failures` attempts or wait on a gate."""

    def __init__(self, failures: int = 0, gate: threading.Event | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.failures = failures
        self.gate = gate
        self.lock = threading.Lock()

    def __call__(self, incident: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.calls.append(incident)
            n = len(self.calls)
        if self.gate is not None:
            self.gate.wait(5)
        if n <= self.failures:
            raise RuntimeError(f"backend down (attempt {n})")
        service = incident["alerts"][0]["labels"]["service"]
        return {
            "answer": f"{service} is failing [E1]",
            "hypotheses": [
                {"kind": "service", "target": service, "score": 0.9, "evidence": ["E1"]}
            ],
            "actions": [],
            "thread_id": incident["id"],
        }

    def ids(self) -> list[str]:
        with self.lock:
            return [c["id"] for c in self.calls]


class Hooks:
    """Collects on_report / on_resolved calls."""

    def __init__(self) -> None:
        self.reports: list[tuple[str, dict[str, Any]]] = []
        self.resolved: list[str] = []

    def on_report(self, incident: dict[str, Any], report: dict[str, Any]) -> None:
        self.reports.append((incident["id"], report))

    def on_resolved(self, incident: dict[str, Any]) -> None:
        self.resolved.append(incident["id"])


class Harness:
    """A store, a pool with fake investigator and hooks, and a client for the app."""

    def __init__(self, tmp_path: Path, settings: Any = None, **app_kw: Any) -> None:
        self.path = tmp_path / "incidents.sqlite"
        self.store = IncidentStore(self.path, topology=TOPOLOGY, retry_backoff_s=0.0)
        self.investigator = FakeInvestigator()
        self.hooks = Hooks()
        self.pool = self.new_pool()
        settings = settings or Settings(home=tmp_path / "home")
        self.app = create_app(settings, self.store, self.pool, manage_pool=False, **app_kw)
        self.client = TestClient(self.app)

    def new_pool(self, **kw: Any) -> WorkerPool:
        options = {"workers": 2, "lease_s": 5.0, "poll_s": 0.02, **kw}
        return WorkerPool(self.store, self.investigator, on_report=self.hooks.on_report,
                          on_resolved=self.hooks.on_resolved, **options)  # fmt: skip

    def post(self, payload: Any, path: str = AM, **kw: Any) -> httpx.Response:
        return self.client.post(path, json=payload, **kw)

    def reported(self, n: int = 1) -> list:
        return wait_for(lambda: len(self.hooks.reports) >= n and self.hooks.reports, what="report")


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    harness = Harness(tmp_path)
    yield harness
    assert harness.pool.stop(5)
    harness.store.close()


FIRING = am_payload("a", [("HighErrorRate", "checkout", "firing")])
RESOLVED = am_payload("a", [("HighErrorRate", "checkout", "resolved")])


def test_accepted_is_committed_before_the_200(h):
    response = h.post(FIRING)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "accepted" and body["incident"].startswith("inc-")
    # No worker runs: the notification is on disk, read through a fresh connection.
    db = sqlite3.connect(h.path)
    assert db.execute("SELECT incident_id FROM notifications").fetchall() == [(body["incident"],)]
    assert db.execute("SELECT status FROM incidents").fetchall() == [("investigating",)]


def test_duplicate_and_repeat_are_investigated_once(h):
    first = h.post(FIRING).json()
    assert h.post(FIRING).json() == {"status": "duplicate", "incident": first["incident"]}
    h.pool.start()
    h.reported()
    # Alertmanager's repeat_interval re-sends the same alerts, in a differently worded body.
    repeat = {**FIRING, "receiver": "other", "commonAnnotations": {"note": "repeat"}}
    assert h.post(repeat).json()["status"] == "duplicate"
    settle(h.pool)
    assert h.investigator.ids() == [first["incident"]]
    # A new kind of alert joining the group redoes the report once, delivered as an update.
    grown = am_payload("a", [("HighErrorRate", "checkout", "firing"),
                             ("HighLatency", "checkout", "firing")])  # fmt: skip
    assert h.post(grown).json() == {"status": "accepted", "incident": first["incident"]}
    assert h.client.get(f"/incidents/{first['incident']}").json()["alerts"][1]["name"] == (
        "HighLatency"
    )
    h.pool.wake()
    wait_for(lambda: len(h.hooks.reports) == 2, what="the updated report")
    assert h.post(grown).json()["status"] == "duplicate"
    settle(h.pool)
    assert h.investigator.ids() == [first["incident"]] * 2
    assert [r[0] for r in h.hooks.reports] == [first["incident"]] * 2


def test_resolved_closes_the_incident_and_fires_on_resolved_once(h):
    h.pool.start()
    incident = h.post(FIRING).json()["incident"]
    h.reported()
    assert h.post(RESOLVED).json() == {"status": "accepted", "incident": incident}
    wait_for(lambda: h.hooks.resolved, what="on_resolved")
    assert h.post(RESOLVED).json()["status"] == "duplicate"
    got = h.client.get(f"/incidents/{incident}").json()
    assert got["status"] == "resolved" and got["resolved_at"].endswith("Z")
    settle(h.pool)
    assert h.hooks.resolved == [incident]


def test_connected_groups_become_one_incident_with_one_investigation(h):
    a = h.post(am_payload("a", [("HighErrorRate", "checkout", "firing")])).json()
    b = h.post(am_payload("b", [("FeatureLatency", "feature-store", "firing")])).json()
    assert a["incident"] == b["incident"]
    h.pool.start()
    h.reported()
    [call] = h.investigator.calls
    assert [x["labels"]["service"] for x in call["alerts"]] == ["checkout", "feature-store"]
    [row] = h.client.get("/incidents").json()
    assert row["alerts"] == 2


def test_unconnected_groups_become_two_incidents(h):
    a = h.post(am_payload("a", [("HighErrorRate", "gateway", "firing")])).json()
    b = h.post(am_payload("b", [("FeatureLatency", "feature-store", "firing")])).json()
    assert a["incident"] != b["incident"]
    h.pool.start()
    h.reported(2)
    assert sorted(h.investigator.ids()) == sorted([a["incident"], b["incident"]])


@pytest.fixture
def secured(tmp_path: Path) -> Harness:
    settings = types.SimpleNamespace(
        webhook_token=SecretStr("t0ken"), webhook_username="am", webhook_password=SecretStr("pw")
    )
    return Harness(tmp_path, settings)


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "t0ken"},
     {"Authorization": "Bearer tökén".encode("latin-1")}, _basic("am", "nope"), _basic("x", "pw"),
     {"Authorization": "Basic !!notbase64"}],
    ids=["missing", "wrong", "no-scheme", "non-ascii", "bad-password", "bad-user", "garbage"],
)  # fmt: skip
def test_wrong_or_missing_credentials_are_401(secured, headers):
    response = secured.post(FIRING, headers=headers)
    assert response.status_code == 401
    assert "Bearer" in response.json()["error"]
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="opsloop", Basic realm="opsloop"'
    assert secured.store.list_incidents() == []


@pytest.mark.parametrize(
    "headers", [{"Authorization": "Bearer t0ken"}, _basic("am", "pw")], ids=["bearer", "basic"]
)
def test_right_credentials_are_accepted(secured, headers):
    assert secured.post(FIRING, headers=headers).status_code == 200


def test_bearer_only_from_real_settings(tmp_path):
    harness = Harness(tmp_path, Settings(home=tmp_path, webhook_token="s3cret"))
    assert harness.post(FIRING).headers["WWW-Authenticate"] == 'Bearer realm="opsloop"'
    ok = harness.post(FIRING, headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200


@pytest.mark.parametrize(
    ("body", "path", "needle"),
    [
        (b"{not json", AM, "not valid JSON"),
        (b"", AM, "body is empty"),
        (b"[1, 2]", AM, "must be a JSON object"),
        (b"[" * 100_000, AM, "not valid JSON"),
        (b"\xff\xfe", AM, "not valid JSON"),
        (json.dumps({**FIRING, "version": "3"}).encode(), AM, 'expected "4"'),
        (json.dumps({k: v for k, v in FIRING.items() if k != "groupKey"}).encode(), AM,
         "groupKey is missing"),
        (json.dumps({**FIRING, "alerts": []}).encode(), AM, "alerts must be a non-empty list"),
        (json.dumps({**FIRING, "alerts": [{"labels": {}}]}).encode(), AM, "alertname"),
        (json.dumps({"status": "firing"}).encode(), "/alerts/grafana", "alerts"),
    ],
    ids=["malformed", "empty", "array", "deep", "binary", "version", "no-groupkey", "no-alerts",
         "no-alertname", "grafana"],
)  # fmt: skip
def test_bad_input_is_400_with_what_to_send(h, body, path, needle):
    response = h.client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert needle in error and "send" in error
    assert h.store.list_incidents() == []


def test_oversized_bodies_are_413_declared_or_streamed(tmp_path):
    harness = Harness(tmp_path, max_body_bytes=2000)
    big = {**FIRING, "commonAnnotations": {"pad": "x" * 3000}}
    assert harness.post(big).status_code == 413
    chunks = iter([json.dumps(big).encode()[i : i + 500] for i in range(0, 4000, 500)])
    streamed = harness.client.post(AM, content=chunks)  # chunked: no Content-Length
    assert streamed.status_code == 413 and "exceeds 2000 bytes" in streamed.json()["error"]
    assert harness.post(FIRING).status_code == 200


def test_wrong_method_and_unknown_paths_answer_json(h):
    response = h.client.get(AM)
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    error = response.json()["error"]
    assert error.startswith("Method Not Allowed: GET /alerts/alertmanager is not")
    assert "POST /alerts/alertmanager" in error  # it says what to use instead
    assert h.client.get("/nope").status_code == 404
    missing = h.client.get("/incidents/inc-000000000000")
    assert missing.status_code == 404 and "GET /incidents" in missing.json()["error"]


def test_incidents_list_has_the_contract_shape(h):
    h.pool.start()
    incident = h.post(FIRING).json()["incident"]
    h.reported()
    assert h.pool.stop(5)  # so the next one stays "investigating"
    other = h.post(am_payload("z", [("Disk", "postgres", "firing")])).json()["incident"]
    rows = h.client.get("/incidents").json()
    assert [r["id"] for r in rows] == [other, incident]  # newest first
    for row in rows:
        assert set(row) == LIST_KEYS
        assert isinstance(row["alerts"], int) and row["opened_at"].endswith("Z")
    done = next(r for r in rows if r["id"] == incident)
    assert done["status"] == "open" and done["resolved_at"] is None
    assert done["top_hypothesis"] == {"kind": "service", "target": "checkout", "score": 0.9,
                                      "evidence": ["E1"]}  # fmt: skip
    assert [r["id"] for r in h.client.get("/incidents?status=open").json()] == [incident]
    assert len(h.client.get("/incidents?limit=1").json()) == 1
    assert h.client.get("/incidents?status=closed").status_code == 400
    assert h.client.get("/incidents?limit=0").status_code == 400
    detail = h.client.get(f"/incidents/{incident}").json()
    assert detail["report"]["answer"] == "checkout is failing [E1]"
    assert detail["alerts"][0]["labels"]["service"] == "checkout"


def test_metrics_expose_the_counters(h):
    h.pool.start()
    h.post(FIRING)
    h.post(FIRING)
    h.client.post(AM, content=b"nope")
    h.reported()
    wait_for(lambda: h.pool.outcomes["completed"], what="outcome recorded")
    text = h.client.get("/metrics").text
    for line in [
        'opsloop_notifications_total{source="alertmanager",status="firing"} 2.0',
        "opsloop_notifications_duplicate_total 1.0",
        'opsloop_notifications_rejected_total{reason="bad_json"} 1.0',
        'opsloop_investigations_total{outcome="completed"} 1.0',
        "opsloop_investigation_duration_seconds_count 1.0",
        'opsloop_incidents{status="open"} 1.0',
        "opsloop_queue_depth 0.0",
    ]:
        assert line in text.splitlines(), line


def test_healthz_reports_queue_and_workers_or_503(h, monkeypatch):
    h.post(FIRING)
    assert h.client.get("/healthz").json() == {"status": "ok", "queue": 1, "workers": 0}

    def broken() -> int:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(h.store, "queue_depth", broken)
    response = h.client.get("/healthz")
    assert response.status_code == 503 and "disk I/O error" in response.json()["error"]


def test_unexpected_errors_are_a_json_500(h, monkeypatch):
    monkeypatch.setattr(h.store, "accept", lambda *a: 1 / 0)
    monkeypatch.setattr(h.store, "accept_batch", lambda *a: 1 / 0)  # SQLite's group commit
    response = h.post(FIRING)
    assert response.status_code == 500
    assert response.json() == {"error": "internal error: ZeroDivisionError; see the server log"}


def test_failing_investigator_is_retried_then_marked_failed_and_the_pool_survives(h):
    h.investigator.failures = 3  # the store's max_attempts
    h.pool.start()
    failing = h.post(FIRING).json()["incident"]
    [(rid, report)] = h.reported()
    assert rid == failing and report["error"] == "RuntimeError: backend down (attempt 3)"
    assert h.investigator.ids() == [failing] * 3
    assert h.client.get("/incidents").json()[0]["status"] == "open"
    healthy = h.post(am_payload("z", [("Disk", "postgres", "firing")])).json()["incident"]
    h.reported(2)
    assert h.hooks.reports[1][0] == healthy and "answer" in h.hooks.reports[1][1]
    assert h.pool.alive == 2
    assert h.pool.outcomes == {"retry": 2, "failed": 1, "completed": 1}


def test_a_crashed_owner_is_taken_over_and_reported_once(h):
    incident = h.post(FIRING).json()["incident"]
    assert h.store.claim("dead", 0.05)["id"] == incident  # then the process "dies"
    h.pool.start()
    wait_for(lambda: h.investigator.calls, what="takeover")  # after the lease runs out
    h.reported()
    assert not h.store.complete(incident, "dead", {"answer": "zombie"})
    assert h.pool.stop(5)
    h.pool.start()  # a restart must not post the report again
    settle(h.pool)
    assert [r[0] for r in h.hooks.reports] == [incident]
    assert h.investigator.calls[0]["attempt"] == 2


def test_a_restart_on_the_same_host_resumes_without_waiting_for_the_lease(h):
    import socket
    import subprocess

    gone = subprocess.Popen(["true"])
    gone.wait()  # a pid that no longer runs: the crashed `opsloop serve`
    incident = h.post(FIRING).json()["incident"]
    h.store.claim(f"{socket.gethostname()}:{gone.pid}:dead00:0", 600)
    h.pool.start()
    h.reported()
    assert h.investigator.ids() == [incident]


def test_a_report_stored_before_a_crash_is_delivered_on_restart(h):
    incident = h.post(FIRING).json()["incident"]
    h.store.complete(h.store.claim("dead", 60)["id"], "dead", {"answer": "done", "hypotheses": []})
    h.pool.start()
    h.reported()
    assert h.hooks.reports == [(incident, {"answer": "done", "hypotheses": []})]
    assert h.investigator.calls == []


def test_slow_investigations_keep_their_lease(h):
    gate = threading.Event()
    h.investigator.gate = gate
    pool = h.new_pool(lease_s=0.3)
    h.pool = pool
    pool.start()
    incident = h.post(FIRING).json()["incident"]
    wait_for(lambda: h.investigator.calls, what="claim")
    row = "SELECT lease_until FROM incidents WHERE id = ?"
    first = h.store.db.conn().execute(row, (incident,)).fetchone()[0]
    wait_for(lambda: h.store.db.conn().execute(row, (incident,)).fetchone()[0] > first + 0.05,
             what="lease renewal")  # fmt: skip
    assert h.store.claim("thief", 1) is None
    neighbour = h.new_pool()  # a second live pool in this process must not take it over
    neighbour.start()
    assert h.store.leases()[0][1].startswith(pool.owner)
    gate.set()
    h.reported()
    assert neighbour.stop(5)
    assert h.investigator.ids() == [incident]


def test_real_uvicorn_server_with_200_notifications_from_8_threads(tmp_path):
    import uvicorn

    harness = Harness(tmp_path)
    app = create_app(Settings(home=tmp_path), harness.store, harness.pool)  # lifespan runs it
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    sock = config.bind_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, what="uvicorn start")
        payloads = []
        for g in range(50):  # each group: a retry of each of two notifications
            one = am_payload(f"g{g}", [("A", f"svc-{g}", "firing")])
            two = am_payload(f"g{g}", [("A", f"svc-{g}", "firing"), ("B", f"svc-{g}", "firing")])
            payloads += [one, one, two, two]
        with httpx.Client(base_url=url, timeout=10) as client:
            with ThreadPoolExecutor(8) as executor:
                responses = list(executor.map(lambda p: client.post(AM, json=p), payloads))
            assert [r.status_code for r in responses] == [200] * 200
            statuses = [r.json()["status"] for r in responses]
            assert statuses.count("duplicate") == 100

            def settled() -> list[dict[str, Any]] | None:
                rows = client.get("/incidents", params={"limit": 100}).json()
                done = len(rows) == 50 and {r["status"] for r in rows} == {"open"}
                return rows if done and harness.store.queue_depth() == 0 else None

            rows = wait_for(settled, deadline_s=20, what="50 investigated incidents")
            health = client.get("/healthz").json()
            assert health == {"status": "ok", "queue": 0, "workers": 2}
        # Once per group, or twice when alert B joined after the first investigation began;
        # either way the last investigation of every group saw both alerts.
        ids = harness.investigator.ids()
        assert set(ids) == {r["id"] for r in rows}
        assert all(ids.count(i) <= 2 for i in set(ids))
        last = {
            c["id"]: frozenset(a["name"] for a in c["alerts"]) for c in harness.investigator.calls
        }
        assert set(last.values()) == {frozenset({"A", "B"})}
    finally:
        server.should_exit = True
        thread.join(10)
    assert not thread.is_alive() and not harness.pool.started  # lifespan stopped the pool


runner = CliRunner()


def test_incidents_cli_lists_and_shows():
    from opsloop.agent.cli.incidents import incidents_app

    assert runner.invoke(incidents_app, ["list", "--json"]).stdout.strip() == "[]"
    store = IncidentStore(Settings().state_dir / "incidents.sqlite")  # where serve keeps it
    incident = store.accept(parse_alertmanager(FIRING), "{}").incident_id
    item = store.claim("w", 60)
    store.complete(incident, "w", FakeInvestigator()(item))
    store.close()

    listed = runner.invoke(incidents_app, ["list", "--json", "--status", "open"])
    assert listed.exit_code == 0, listed.output
    assert [r["id"] for r in json.loads(listed.stdout)] == [incident]
    table = runner.invoke(incidents_app, ["list"], env={"COLUMNS": "200"})
    assert incident in table.stdout and "service:checkout 0.90" in table.stdout
    shown = runner.invoke(incidents_app, ["show", incident])
    assert shown.exit_code == 0 and "checkout is failing" in shown.stdout
    assert "error" not in shown.stdout
    as_json = runner.invoke(incidents_app, ["show", incident, "--json"])
    assert json.loads(as_json.stdout)["id"] == incident
    missing = runner.invoke(incidents_app, ["show", "inc-000000000000"])
    assert missing.exit_code == 2 and "no incident" in missing.output
    assert runner.invoke(incidents_app, ["list", "--status", "closed"]).exit_code == 2


def test_serve_command_help_and_investigator_wiring(monkeypatch):
    import typer

    from opsloop.agent.cli.serve import make_investigator, serve

    app = typer.Typer()
    app.command("serve")(serve)
    app.command("noop")(lambda: None)
    result = runner.invoke(app, ["serve", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "--workers" in result.stdout and "--port" in result.stdout

    seen = []

    class FakeAssistant:
        @classmethod
        def from_settings(cls, settings):
            return cls()

        def investigate(self, alerts, *, thread_id):
            seen.append((alerts, thread_id))
            return {"answer": "ok"}

    monkeypatch.setitem(
        sys.modules, "opsloop.agent.assistant", types.SimpleNamespace(Assistant=FakeAssistant)
    )
    investigate = make_investigator(Settings())
    assert investigate({"id": "inc-1", "alerts": [{"name": "A"}]}) == {"answer": "ok"}
    assert seen == [([{"name": "A"}], "inc-1")]
