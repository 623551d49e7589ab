"""Retention: old rows go, new ones and whatever an open incident or a pending approval
needs stay, on SQLite and PostgreSQL; every in-process cache stays under its cap."""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.base import empty_checkpoint
from typer.testing import CliRunner

from opsloop.agent.approvals.audit import AuditLog
from opsloop.agent.config import Settings
from opsloop.agent.db.checkpoints import checkpoint_threads, open_checkpointer
from opsloop.agent.db.sqlite import Database
from opsloop.agent.server.incidents import IncidentStore
from opsloop.agent.server.retention import Pruner, RetentionService, Stores, open_stores
from opsloop.agent.server.retention_settings import DAY_S, Retention
from opsloop.agent.slack.store import SlackStore
from opsloop.agent.stores.answers import SCHEMA as ANSWERS
from opsloop.agent.stores.answers import AnswerStore
from opsloop.tools.backends.jobs import JobStore
from opsloop.tools.backends.lru import LruCache
from tests.test_incident_store import Clock, note

T0 = 1_714_564_800.0


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every store test runs on SQLite files and on a real PostgreSQL."""
    if request.param == "postgres":
        return request.getfixturevalue("pg_url")
    return str(tmp_path / "incidents.sqlite")


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


def _other(target: str, name: str) -> str:
    """Return where another store lives: the same PostgreSQL, or a file beside the first."""
    return target if target.startswith("postgres") else str(Path(target).with_name(name))


def resolved(store: IncidentStore, clock: Clock, group: str) -> str:
    """Open, investigate and resolve one incident; return its id."""
    first = store.accept(note(group, ("HighErrorRate", f"svc-{group}", "firing")), "{}")
    item = store.claim("w", 60)
    assert item is not None and item["id"] == first.incident_id
    store.complete(item["id"], "w", {"answer": "x", "hypotheses": []})
    clock.now += 60
    store.accept(note(group, ("HighErrorRate", f"svc-{group}", "resolved")), "{}")
    assert store.get(first.incident_id)["status"] == "resolved"
    return str(first.incident_id)


def opened(store: IncidentStore, group: str) -> str:
    """Open and investigate one incident that stays open; return its id."""
    first = store.accept(note(group, ("Latency", f"svc-{group}", "firing")), "{}")
    item = store.claim("w", 60)
    assert item is not None and item["id"] == first.incident_id
    store.complete(item["id"], "w", {"answer": "x", "hypotheses": []})
    return str(first.incident_id)


def rows(db: Any, table: str, where: str = "1 = 1", args: tuple = ()) -> int:
    return int(db.conn().execute(f"SELECT count(*) FROM {table} WHERE {where}", args).fetchone()[0])


def request_approval(audit: AuditLog, thread: str) -> None:
    audit.append(thread_id=thread, requested_by="ana", action="rollback_model", args={},
                 preview="-", evidence=[], decision="requested", status="pending")  # fmt: skip


def test_old_notifications_go_while_new_ones_and_an_open_incidents_stay(target, clock):
    store = IncidentStore(target, clock=clock)
    gone = resolved(store, clock, "a")
    still_open = opened(store, "b")
    clock.now += 8 * DAY_S
    fresh = resolved(store, clock, "c")
    pruner = Pruner(Stores(store.db), Retention(notifications_days=7, batch=1), clock=clock)

    assert pruner.run(dry_run=True)["notifications"] == 2
    assert rows(store.db, "notifications") == 5
    assert pruner.run()["notifications"] == 2  # batches of one row each

    assert rows(store.db, "notifications", "incident_id = ?", (gone,)) == 0
    assert rows(store.db, "notifications", "incident_id = ?", (still_open,)) == 1
    assert rows(store.db, "notifications", "incident_id = ?", (fresh,)) == 2
    assert store.get(gone)["status"] == "resolved"  # the incident itself is the record
    assert pruner.run()["notifications"] == 0
    store.close()


def put_checkpoint(saver: Any, thread: str) -> None:
    config = {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}
    saver.put(config, empty_checkpoint(), {"source": "input", "step": 0}, {})


def test_checkpoints_of_a_resolved_incident_go_while_an_open_ones_stay(target, clock, tmp_path):
    store = IncidentStore(target, clock=clock)
    gone, waiting = resolved(store, clock, "a"), resolved(store, clock, "p")
    still_open = opened(store, "b")
    saver, close = open_checkpointer(_other(target, "checkpoints.sqlite"))
    audit = AuditLog(_other(target, "audit.sqlite"))
    answers = Database(tmp_path / "answers.sqlite", 30.0, ANSWERS)
    record = AnswerStore(tmp_path / "answers.sqlite", clock=clock)
    request_approval(audit, waiting)  # resolved, but a write waits for a person
    record.add({"thread_id": "slack-old", "question": "q", "answer": "a", "brain": "x"})
    clock.now += 8 * DAY_S
    fresh = resolved(store, clock, "c")
    record.add({"thread_id": "slack-new", "question": "q", "answer": "a", "brain": "x"})
    threads = [gone, waiting, still_open, fresh, "slack-old", "slack-new", "unknown"]
    for thread in threads:
        put_checkpoint(saver, thread)
    stores = Stores(store.db, checkpoints=saver, audit=audit.db, answers=answers)
    pruner = Pruner(stores, Retention(checkpoints_days=7), clock=clock)

    assert pruner.run(dry_run=True)["checkpoints"] == 2
    assert pruner.run()["checkpoints"] == 2
    assert sorted(checkpoint_threads(saver)) == sorted(set(threads) - {gone, "slack-old"})
    assert pruner.run()["checkpoints"] == 0
    close()
    audit.db.close()
    answers.close()
    store.close()


def test_a_pending_approvals_incident_and_its_notifications_stay(target, clock):
    store = IncidentStore(target, clock=clock)
    waiting, gone = resolved(store, clock, "p"), resolved(store, clock, "a")
    audit = AuditLog(_other(target, "audit.sqlite"))
    request_approval(audit, waiting)
    clock.now += 8 * DAY_S
    policy = Retention(notifications_days=7, incidents_days=7)
    counts = Pruner(Stores(store.db, audit=audit.db), policy, clock=clock).run()
    assert counts == {"notifications": 2, "incidents": 1}
    assert store.get(gone) is None
    assert rows(store.db, "incident_alerts", "incident_id = ?", (gone,)) == 0
    assert store.get(waiting)["status"] == "resolved"
    assert rows(store.db, "notifications", "incident_id = ?", (waiting,)) == 2
    # Once decided, the request is no longer pending and its incident may go too.
    audit.append(thread_id=waiting, requested_by="ana", action="rollback_model", args={},
                 preview="-", evidence=[], decision="rejected", status="denied")  # fmt: skip
    assert Pruner(Stores(store.db, audit=audit.db), policy, clock=clock).run()["incidents"] == 1
    assert store.get(waiting) is None
    audit.db.close()
    store.close()


def test_resolved_incidents_are_kept_by_default(target, clock):
    store = IncidentStore(target, clock=clock)
    kept = resolved(store, clock, "a")
    clock.now += 400 * DAY_S
    counts = Pruner(Stores(store.db), Retention(), clock=clock).run()
    assert "incidents" not in counts and store.get(kept)["status"] == "resolved"
    store.close()


def test_old_answer_records_go_unless_an_open_incident_holds_them(tmp_path, clock):
    store = IncidentStore(tmp_path / "incidents.sqlite", clock=clock)
    still_open = opened(store, "b")
    record = AnswerStore(tmp_path / "answers.sqlite", clock=clock)
    for thread in ("old-thread", still_open):
        record.add({"thread_id": thread, "question": "why checkout latency", "answer": "a",
                    "brain": "x"})  # fmt: skip
    record.add_feedback("old-thread", "ana", rating="helpful")
    clock.now += 91 * DAY_S
    record.add({"thread_id": "new", "question": "why checkout errors", "answer": "b", "brain": "x"})
    answers = Database(tmp_path / "answers.sqlite", 30.0, ANSWERS)
    counts = Pruner(Stores(store.db, answers=answers), Retention(), clock=clock).run()
    assert counts["answers"] == 1 and counts["feedback"] == 1
    assert sorted(r["thread_id"] for r in record.recent()) == sorted([still_open, "new"])
    # The search index forgot the pruned record too.
    assert {r["thread_id"] for r in record.similar("checkout latency")} == {still_open, "new"}
    answers.close()
    store.close()


def test_finished_jobs_go_with_their_logs_and_running_ones_stay(tmp_path, clock):
    jobs = JobStore(tmp_path / "jobs.sqlite")
    log = tmp_path / "jobs" / "done.log"
    log.parent.mkdir()
    log.write_text("trained\n")
    done, running, recent = (jobs.create("m", "7d", "local", "ana") for _ in range(3))
    jobs.update(done.id, status="succeeded", finished_at=T0, log_path=str(log))
    jobs.update(running.id, status="running", started_at=T0)
    jobs.update(recent.id, status="failed", finished_at=T0 + 29 * DAY_S)
    clock.now += 31 * DAY_S
    db = Database(tmp_path / "jobs.sqlite", 30.0, "")
    counts = Pruner(Stores(None, jobs=db), Retention(), clock=clock).run()
    assert counts == {"jobs": 1}
    assert jobs.get(done.id) is None and not log.exists()
    assert jobs.get(running.id) is not None and jobs.get(recent.id) is not None
    db.close()


def test_slack_events_and_old_links_go_while_an_open_incidents_stay(target, clock):
    store = IncidentStore(target, clock=clock)
    still_open, gone = opened(store, "b"), resolved(store, clock, "a")
    slack = SlackStore(_other(target, "slack.sqlite"))
    for event, at in (("Ev-old", T0 - 3 * DAY_S), ("Ev-new", T0)):
        sql = "INSERT INTO slack_events (event_id, at) VALUES (?, ?)"
        slack.db.conn().execute(sql, (event, at))
    slack.save_report(gone, "C1", f"{T0 - 40 * DAY_S:.6f}", "resolved", {})
    slack.save_report(still_open, "C1", f"{T0 - 40 * DAY_S + 1:.6f}", "open", {})
    slack.db.conn().execute("UPDATE slack_reports SET updated_at = ?", (T0 - 40 * DAY_S,))
    slack.graph_thread("C1", f"{T0 - 1:.6f}")  # a recent conversation
    counts = Pruner(Stores(store.db, slack=slack.db), Retention(), clock=clock).run()
    assert counts == {"notifications": 0, "slack_events": 1, "slack_reports": 1,
                      "slack_threads": 1}  # fmt: skip
    assert slack.report(gone) is None and slack.report(still_open) is not None
    assert rows(slack.db, "slack_threads") == 2
    slack.close()
    store.close()


def test_open_stores_and_the_prune_command(tmp_path, monkeypatch, clock):
    from opsloop.agent.cli.main import app

    monkeypatch.setenv("OPSLOOP_HOME", str(tmp_path))
    settings = Settings(home=tmp_path)
    assert open_stores(settings).incidents is None  # nothing received yet: nothing created
    assert not (tmp_path / "state" / "incidents.sqlite").exists()
    clock.now = 1_000.0  # 1970: everything is older than any age
    store = IncidentStore(tmp_path / "state" / "incidents.sqlite", clock=clock)
    resolved(store, clock, "a")
    store.close()
    runner = CliRunner()
    dry = runner.invoke(app, ["prune", "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.output) == {"dry_run": True, "counts": {"notifications": 2},
                                      "errors": {}}  # fmt: skip
    done = runner.invoke(app, ["prune", "--json"])
    assert json.loads(done.output)["counts"] == {"notifications": 2}
    assert json.loads(runner.invoke(app, ["prune", "--json"]).output)["counts"] == {
        "notifications": 0
    }


def test_the_service_prunes_on_demand_and_closes_what_it_opened(tmp_path, clock):
    store = IncidentStore(tmp_path / "incidents.sqlite", clock=clock)
    resolved(store, clock, "a")
    clock.now += 8 * DAY_S
    closed: list[str] = []
    stores = Stores(store.db, closers=[lambda: closed.append("x")])
    service = RetentionService(lambda: Pruner(stores, Retention(), clock=clock), interval_s=300)
    seen: list[dict[str, int]] = []
    service.listeners.append(seen.append)
    assert service.run_once() == {"notifications": 2} and seen == [{"notifications": 2}]
    service.stop()
    assert closed == ["x"] and service.rounds == 1
    store.close()


def test_serve_runs_retention_unless_it_is_turned_off(tmp_path):
    from opsloop.agent.cli.serve import build_server

    def investigate(incident: dict[str, Any]) -> dict[str, Any]:
        return {"answer": "-", "hypotheses": []}

    settings = Settings(home=tmp_path)
    app, store, _pool = build_server(settings, investigator=investigate)
    assert isinstance(app.state.retention, RetentionService)
    assert app.state.retention.pruner.stores.incidents is store.db
    app.state.retention.listeners[-1]({"notifications": 3})
    value = app.state.registry.get_sample_value(
        "opsloop_retention_pruned_total", {"kind": "notifications"}
    )
    assert value == 3
    app.state.retention.stop()
    store.close()
    off = Settings(home=tmp_path, retention={"enabled": False})
    app, store, _pool = build_server(off, investigator=investigate)
    assert app.state.retention is None
    store.close()


def test_retention_is_read_from_the_config_file_and_the_environment(tmp_path, monkeypatch):
    config = tmp_path / "opsloop.toml"
    config.write_text("[retention]\nnotifications_days = 1\nincidents_days = 365\n")
    monkeypatch.setenv("OPSLOOP_CONFIG", str(config))
    got = Settings(home=tmp_path).retention
    assert (got.notifications_days, got.incidents_days, got.answers_days) == (1, 365, 90)
    assert got.age_s("notifications") == DAY_S and Retention(jobs_days=0).age_s("jobs") is None
    monkeypatch.setenv("OPSLOOP_RETENTION", '{"enabled": false}')
    assert Settings(home=tmp_path).retention.enabled is False


# -- bounded caches ------------------------------------------------------------------------------


def test_the_lru_cache_stays_under_its_cap_and_forgets_expired_entries(clock):
    cache: LruCache[int] = LruCache(3, ttl_s=60, clock=clock)
    for i in range(10):
        cache.put(f"k{i}", i)
        assert len(cache) <= 3
    assert cache.get("k0") is None and cache.get("k9") == 9
    cache.get("k7")  # used: survives the next eviction
    cache.put("k10", 10)
    assert cache.get("k7") == 7 and cache.get("k8") is None
    clock.now += 61
    assert cache.get("k7") is None and len(cache) == 2


def test_the_prometheus_discovery_cache_is_bounded():
    from opsloop.tools.backends.prometheus.client import PromClient

    client = PromClient("http://127.0.0.1:9", cache_size=4)
    calls: list[str] = []
    for i in range(50):  # matchers are arbitrary: each is a new key
        client._cached(("values", "pod", f'{{service="s{i}"}}'), lambda i=i: calls.append(i) or [i])
    assert len(client._cache) == 4 and len(calls) == 50
    assert client._cached(("values", "pod", '{service="s49"}'), lambda: ["miss"]) == [49]


def test_slack_thread_locks_live_only_while_in_use(tmp_path):
    from opsloop.agent.slack.app import SlackOps

    settings = Settings(home=tmp_path, slack_bot_token="xoxb-test")
    ops = SlackOps(settings, None, SlackStore(tmp_path / "slack.sqlite"))
    held = ops.lock("thread-0")
    with held:
        assert ops.lock("thread-0") is held and held.locked()  # one lock per thread
        for i in range(1, 1000):
            with ops.lock(f"thread-{i}"):
                pass
        gc.collect()
        assert list(ops._locks) == ["thread-0"]
    del held
    gc.collect()
    assert len(ops._locks) == 0
    ops.store.close()


def test_a_finished_threads_sqlite_connection_is_closed_not_kept(tmp_path):
    """The server's thread pool retires idle threads; their connections must not pile up."""
    import threading

    store = IncidentStore(tmp_path / "incidents.sqlite")
    for _ in range(50):
        thread = threading.Thread(target=store.queue_depth)
        thread.start()
        thread.join()
    store.queue_depth()  # a new connection closes those of the finished threads
    assert len(store.db._conns) <= 2
    store.close()
