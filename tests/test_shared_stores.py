"""Replicas share PostgreSQL and a Chroma server: each store works across two instances.

Everything here runs on a real PostgreSQL and a real Chroma server on loopback (bench/engines.py).
The incident store's whole contract also runs on PostgreSQL in tests/test_incident_store.py.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import psycopg
import pytest
from starlette.testclient import TestClient

from bench.engines import chroma_server, free_port, postgres_server
from opsloop.agent.approvals.audit import AuditLog
from opsloop.agent.assistant import Assistant
from opsloop.agent.config import Settings
from opsloop.agent.factory import build_deps
from opsloop.agent.llm.scripted import ScriptedChatModel, tool_call
from opsloop.agent.server.app import create_app
from opsloop.agent.server.incidents import IncidentStore
from opsloop.agent.server.worker import WorkerPool
from opsloop.agent.slack.store import SlackStore
from opsloop.agent.stores.memory import Incident, IncidentMemory
from tests.test_approval import POLICY, restart_tool
from tests.test_incident_store import note
from tests.test_server import AM, FIRING, FakeInvestigator, Hooks, wait_for


@pytest.fixture(scope="module")
def chroma() -> Iterator[str]:
    with chroma_server() as url:
        yield url


def test_a_claim_skips_the_incident_another_replica_is_claiming(pg_url):
    store = IncidentStore(pg_url)
    first = store.accept(note("a", ("A", "svc-a", "firing")), "{}").incident_id
    second = store.accept(note("b", ("A", "svc-b", "firing")), "{}").incident_id
    with psycopg.connect(pg_url) as other, other.transaction():
        # Another replica is mid-claim on the oldest incident: it holds that row's lock.
        other.execute("SELECT id FROM incidents WHERE id = %s FOR UPDATE", (first,))
        item = store.claim("replica-b", 60)  # does not wait for the lock: skips the row
        assert item is not None and item["id"] == second
        assert store.claim("replica-b", 60) is None
    assert store.claim("replica-b", 60)["id"] == first  # released: claimable now
    store.close()


def test_two_replicas_receiving_one_group_at_once_open_one_incident(pg_url):
    replicas = [IncidentStore(pg_url), IncidentStore(pg_url)]
    groups = 25
    barrier = threading.Barrier(2 * groups)
    errors: list[BaseException] = []

    def deliver(store: IncidentStore, group: int, alertname: str) -> None:
        try:
            barrier.wait(30)
            store.accept(note(f"g{group}", (alertname, f"svc-{group}", "firing")), "{}")
        except BaseException as exc:
            errors.append(exc)

    # Each group's first two notifications (different alerts, so not duplicates) reach
    # the two replicas at the same moment, as behind a load balancer.
    threads = [
        threading.Thread(target=deliver, args=(replicas[i], g, f"Alert{i}"))
        for g in range(groups)
        for i in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    rows = replicas[0].list_incidents(limit=100)
    assert len(rows) == groups and {r["alerts"] for r in rows} == {2}
    for store in replicas:
        store.close()


def test_a_thread_paused_on_one_replica_is_approved_on_the_other(settings, pg_url):
    ran: list[str] = []
    settings = settings.model_copy(update={"policy": POLICY, "database_url": pg_url})

    def replica(model: ScriptedChatModel) -> Assistant:
        return Assistant(build_deps(settings, llm=model, extra_tools=[restart_tool(ran)]))

    model_a, model_b = ScriptedChatModel(), ScriptedChatModel()
    model_a.enqueue([tool_call("restart_service", service="checkout")])
    model_b.enqueue("Restarted checkout.")
    a, b = replica(model_a), replica(model_b)
    paused = a.ask("restart checkout", user="bob")
    assert ran == [] and paused["tool_calls"][-1]["status"] == "approval_required"

    done = b.resume(paused["thread_id"], {"approved": True, "by": "alice"})
    assert ran == ["checkout"] and done["answer"].startswith("Restarted checkout.")
    # One audit trail for both replicas, in PostgreSQL.
    assert [e["decision"] for e in a.deps.audit.entries()] == ["approved", "requested"]
    with psycopg.connect(pg_url) as conn:
        threads = conn.execute("SELECT count(DISTINCT thread_id) FROM checkpoints").fetchone()
    assert threads[0] == 1
    a.close()
    b.close()


def test_the_audit_log_in_postgres_refuses_changes(pg_url):
    log = AuditLog(pg_url)
    entry = log.append(
        thread_id="t1", requested_by="bob", action="rollback_model", args={}, preview="p",
        evidence=[], decision="requested", status="pending",
    )  # fmt: skip
    assert entry >= 1 and AuditLog(pg_url).entries()[0]["action"] == "rollback_model"
    with psycopg.connect(pg_url) as conn, pytest.raises(psycopg.errors.RaiseException):
        conn.execute("UPDATE audit SET decision = 'approved'")
    with psycopg.connect(pg_url) as conn, pytest.raises(psycopg.errors.RaiseException):
        conn.execute("DELETE FROM audit")
    assert len(log.entries()) == 1


def test_slack_state_is_shared_by_replicas(pg_url):
    a, b = SlackStore(pg_url), SlackStore(pg_url)
    assert a.first_time("Ev1") and not b.first_time("Ev1")  # a retry on the other replica
    a.save_report("inc-1", "C1", "1700000000.000100", "open", {"answer": "x"})
    posted = b.report("inc-1")
    assert posted is not None and (posted.channel, posted.ts) == ("C1", "1700000000.000100")
    assert b.graph_thread("C1", "1700000000.000100") == "inc-1"
    assert a.graph_thread("C2", "1.2") == b.graph_thread("C2", "1.2")
    a.close()
    b.close()


def test_incident_memory_on_a_chroma_server_is_shared(chroma):
    writer = IncidentMemory.open(url=chroma)
    writer.add(Incident(id="INC-9", title="fraud-detector v8 approved everything",
                        text="ModelQualityDrop on fraud-api after fraud-detector v8",
                        services=["fraud-api"], cause_kind="model_version",
                        cause_target="fraud-detector", outcome="resolved"))  # fmt: skip
    reader = IncidentMemory.open(url=chroma)
    [match] = reader.search("ModelQualityDrop fraud-api", k=1)
    assert match.incident.id == "INC-9" and match.incident.cause_target == "fraud-detector"
    reader.update("INC-9", feedback="confirmed")
    assert writer.get("INC-9").feedback == "confirmed"


def test_postgres_down_is_a_503_and_intake_resumes_when_it_is_back(tmp_path):
    with postgres_server() as pg:
        store = IncidentStore(pg.database(), busy_timeout_s=2.0, retry_backoff_s=0.0)
        investigator, hooks = FakeInvestigator(), Hooks()
        pool = WorkerPool(store, investigator, on_report=hooks.on_report, workers=1,
                          lease_s=5.0, poll_s=0.05)  # fmt: skip
        app = create_app(Settings(home=tmp_path / "home"), store, pool)
        with TestClient(app) as client:
            pg.stop()
            down = client.post(AM, json=FIRING)
            assert down.status_code == 503 and down.headers["Retry-After"] == "5"
            assert "incident store unavailable" in down.json()["error"]
            assert client.get("/healthz").status_code == 503
            pg.start()  # same port and data: the pool reconnects by itself, with backoff
            # Alertmanager retries a 503; so does this, until the pool is back.
            wait_for(lambda: client.post(AM, json=FIRING).status_code == 200, deadline_s=60,
                     what="intake to accept again")  # fmt: skip
            wait_for(lambda: hooks.reports, deadline_s=30, what="the report")
            assert pool.alive == 1  # the worker rode out the outage
        assert [r["status"] for r in store.list_incidents()] == ["open"]
        store.close()


def test_incidents_cli_reads_the_shared_database_and_names_a_bad_url(pg_url, monkeypatch):
    from typer.testing import CliRunner

    from opsloop.agent.cli.main import app

    store = IncidentStore(pg_url)
    opened = store.accept(note("cli", ("A", "checkout", "firing")), "{}").incident_id
    store.close()
    monkeypatch.setenv("OPSLOOP_DATABASE_URL", pg_url)
    result = CliRunner().invoke(app, ["incidents", "list", "--json"])
    assert result.exit_code == 0, result.output
    assert [i["id"] for i in json.loads(result.output)] == [opened]

    port = free_port()  # nothing listens there
    monkeypatch.setenv("OPSLOOP_DATABASE_URL", f"postgresql://u:hunter2@127.0.0.1:{port}/x")
    result = CliRunner().invoke(app, ["incidents", "list"])
    assert result.exit_code != 0
    assert "cannot connect to PostgreSQL" in result.output and "Connection refused" in result.output
    assert "hunter2" not in result.output and "OPSLOOP_DATABASE_URL" in result.output


def test_approve_clicked_on_two_replicas_at_once_runs_the_action_once(settings, pg_url):
    from opsloop.agent.slack import blocks
    from opsloop.agent.slack.actions import decide
    from opsloop.agent.slack.app import SlackOps
    from tests.slack_server import block_action, fake_slack
    from tests.test_slack import CHANNEL, slack_settings

    ran: list[str] = []
    with fake_slack() as slack:
        cfg = slack_settings(settings, slack, database_url=pg_url)
        replicas = []
        for _ in range(2):
            model = ScriptedChatModel()
            model.enqueue([tool_call("restart_service", service="checkout")], "Restarted.")
            deps = build_deps(cfg, llm=model, extra_tools=[restart_tool(ran)])
            replicas.append(SlackOps(cfg, Assistant(deps), SlackStore(pg_url)))
        paused = replicas[0].assistant.ask("restart checkout", user="UBOB")
        assert paused["tool_calls"][-1]["status"] == "approval_required"
        value = json.dumps({"thread": paused["thread_id"]})
        barrier = threading.Barrier(2)

        def click(ops: SlackOps, user: str) -> None:
            body = block_action(blocks.APPROVE, value, user, CHANNEL, "1.000100")
            barrier.wait(10)
            decide(ops, body, body["actions"][0], approved=True)

        clicks = [
            threading.Thread(target=click, args=(ops, "UALICE")) for ops in replicas
        ]  # the same person double-clicks; Slack sends each click to another replica
        for t in clicks:
            t.start()
        for t in clicks:
            t.join(60)
        assert ran == ["checkout"]
        told = [p["text"] for p in slack.named("chat.postEphemeral")]
        assert len(told) == 1 and "already decided" in told[0]
        decisions = [e["decision"] for e in replicas[1].assistant.deps.audit.entries()]
        assert decisions.count("approved") == 1
        for ops in replicas:
            ops.store.close()
            ops.assistant.close()
