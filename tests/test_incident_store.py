"""The incident store: dedup, grouping, correlation, resolution, leases, processes."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from opsloop.agent.rca.alerts import Notification, parse_alertmanager
from opsloop.agent.server.incidents import IncidentStore
from opsloop.tools.callgraph import CallGraph, hops

TOPOLOGY = {"gateway": ["checkout"], "checkout": ["fraud-api"], "fraud-api": ["feature-store"]}
LIST_KEYS = {"id", "group_key", "status", "alerts", "opened_at", "resolved_at", "top_hypothesis"}


def am_payload(
    group: str,
    alerts: list[tuple[str, str, str]],
    status: str | None = None,
    starts: str = "2024-05-01T12:00:00Z",
    **extra: Any,
) -> dict[str, Any]:
    """Return an Alertmanager v4 payload; `alerts` holds (alertname, service, status)."""
    items = [
        {
            "status": state,
            "labels": {"alertname": name, "service": service, "severity": "page"},
            "annotations": {"summary": f"{name} on {service}"},
            "startsAt": starts,
            "endsAt": "0001-01-01T00:00:00Z" if state == "firing" else "2024-05-01T12:30:00Z",
            "fingerprint": f"{group}-{name}-{service}",
            "generatorURL": "http://prometheus:9090/graph",
        }
        for name, service, state in alerts
    ]
    firing = any(state == "firing" for _, _, state in alerts)
    return {
        "version": "4",
        "groupKey": f'{{}}:{{group="{group}"}}',
        "status": status or ("firing" if firing else "resolved"),
        "receiver": "opsloop",
        "groupLabels": {"group": group},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "truncatedAlerts": 0,
        "alerts": items,
        **extra,
    }


def note(group: str, *alerts: tuple[str, str, str], **kw: Any) -> Notification:
    return parse_alertmanager(am_payload(group, list(alerts), **kw))


class Clock:
    """A settable clock, so windows, leases and backoff need no sleeping."""

    def __init__(self, now: float = 1_714_564_800.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the store lives: every test runs on a SQLite file and on a real PostgreSQL."""
    if request.param == "postgres":
        return request.getfixturevalue("pg_url")
    return str(tmp_path / "incidents.sqlite")


@pytest.fixture
def store(target: str, clock: Clock) -> IncidentStore:
    s = IncidentStore(target, topology=TOPOLOGY, clock=clock, max_attempts=3, retry_backoff_s=10)
    yield s
    s.close()


def test_accept_persists_in_one_commit_and_lists_in_the_contract_shape(store, target):
    accepted = store.accept(note("a", ("HighErrorRate", "checkout", "firing")), b'{"raw": 1}')
    assert accepted.created and not accepted.duplicate
    assert accepted.incident_id.startswith("inc-") and len(accepted.incident_id) == 16

    # Another connection (as another process would) sees it already committed.
    other = IncidentStore(target)
    rows = other.db.conn().execute("SELECT source, status, raw FROM notifications").fetchall()
    assert [tuple(r) for r in rows] == [("alertmanager", "firing", '{"raw": 1}')]
    [row] = other.list_incidents()
    other.close()
    assert set(row) == LIST_KEYS
    assert row["id"] == accepted.incident_id
    assert row["status"] == "investigating"
    assert row["alerts"] == 1
    assert row["opened_at"] == "2024-05-01T12:00:00Z"
    assert row["resolved_at"] is None and row["top_hypothesis"] is None


def test_duplicate_notification_changes_nothing(store):
    n = note("a", ("HighErrorRate", "checkout", "firing"))
    first = store.accept(n, "{}")
    again = store.accept(n, '{"retry": true}')
    assert again.duplicate and not again.created and again.incident_id == first.incident_id
    assert len(store.list_incidents()) == 1
    assert store.db.conn().execute("SELECT count(*) FROM notifications").fetchone()[0] == 1


def test_same_group_joins_its_incident_and_a_new_kind_of_alert_redoes_the_report(store):
    first = store.accept(note("a", ("HighErrorRate", "checkout", "firing")), "{}")
    item = store.claim("w1", 60)
    assert store.complete(item["id"], "w1", {"answer": "x", "hypotheses": []})
    assert store.mark_delivered(first.incident_id)
    again = note("a", ("HighErrorRate", "checkout", "firing"), starts="2024-05-01T12:00:30Z")
    store.accept(again, "{}")
    assert store.claim("w1", 60) is None  # the same kind of alert again: nothing new to say
    more = note("a", ("HighErrorRate", "checkout", "firing"), ("HighLatency", "checkout", "firing"))
    joined = store.accept(more, "{}")
    assert joined.incident_id == first.incident_id and not joined.created
    assert store.get(first.incident_id)["alerts"][1]["name"] == "HighLatency"
    redo = store.claim("w1", 60)  # a new kind of alert: the report is redone once
    assert redo["id"] == first.incident_id
    assert {a["name"] for a in redo["alerts"]} == {"HighErrorRate", "HighLatency"}
    assert store.complete(redo["id"], "w1", {"answer": "y", "hypotheses": []})
    assert store.mark_delivered(first.incident_id)  # the update goes out, once
    assert not store.mark_delivered(first.incident_id)
    assert store.claim("w1", 60) is None


def test_resolved_notification_closes_an_open_incident(store, clock):
    first = store.accept(note("a", ("HighErrorRate", "checkout", "firing")), "{}")
    item = store.claim("w1", 60)
    store.complete(item["id"], "w1", {"answer": "x", "hypotheses": [{"kind": "service"}]})
    assert not store.mark_resolved_notified(first.incident_id)  # not resolved yet
    clock.now += 120
    store.accept(note("a", ("HighErrorRate", "checkout", "resolved")), "{}")
    got = store.get(first.incident_id)
    assert got["status"] == "resolved"
    assert got["resolved_at"] == "2024-05-01T12:02:00Z"
    assert got["alerts"][0]["status"] == "resolved"
    assert got["top_hypothesis"] == {"kind": "service"}
    assert store.mark_delivered(first.incident_id)
    assert store.mark_resolved_notified(first.incident_id)
    assert not store.mark_resolved_notified(first.incident_id)
    # The group fires again later: a new incident, the resolved one stays closed.
    clock.now += 3600
    refire = note("a", ("HighErrorRate", "checkout", "firing"), starts="2024-05-01T13:02:00Z")
    again = store.accept(refire, "{}")
    assert again.created and again.incident_id != first.incident_id


def test_resolution_during_investigation_closes_after_the_report(store):
    first = store.accept(note("a", ("HighErrorRate", "checkout", "firing")), "{}")
    item = store.claim("w1", 60)
    store.accept(note("a", ("HighErrorRate", "checkout", "resolved")), "{}")
    assert store.get(item["id"])["status"] == "investigating"  # the RCA still finishes
    assert store.complete(item["id"], "w1", {"answer": "self-healed", "hypotheses": []})
    got = store.get(first.incident_id)
    assert got["status"] == "resolved" and got["resolved_at"] is not None


def test_resolved_for_an_unknown_group_opens_nothing(store):
    accepted = store.accept(note("zz", ("HighErrorRate", "checkout", "resolved")), "{}")
    assert accepted.incident_id is None and not accepted.created
    assert store.list_incidents() == []


def test_hops_are_undirected_and_bounded():
    assert hops(TOPOLOGY, ["fraud-api"]) == {
        "fraud-api": 0, "checkout": 1, "feature-store": 1, "gateway": 2
    }  # fmt: skip
    assert "feature-store" not in hops(TOPOLOGY, ["gateway"])


def test_connected_groups_within_the_window_share_one_incident(store, clock):
    first = store.accept(note("a", ("HighErrorRate", "checkout", "firing")), "{}")
    clock.now += 60
    second = store.accept(note("b", ("ModelLatency", "feature-store", "firing")), "{}")
    assert second.incident_id == first.incident_id and not second.created
    got = store.get(first.incident_id)
    assert got["group_keys"] == ['{}:{group="a"}', '{}:{group="b"}']
    assert [a["labels"]["service"] for a in got["alerts"]] == ["checkout", "feature-store"]
    # A later notification of group b lands in the same incident through its group key.
    third = store.accept(note("b", ("ModelLatency", "feature-store", "resolved")), "{}")
    assert third.incident_id == first.incident_id
    assert store.claim("w", 60)["id"] == first.incident_id
    assert store.claim("w", 60) is None


@pytest.mark.parametrize(
    ("service", "delay_s"),
    [("feature-store", 301), ("postgres", 10), ("recommender", 10)],
    ids=["outside-window", "unknown-service", "unconnected"],
)
def test_unrelated_groups_open_separate_incidents(store, clock, service, delay_s):
    first = store.accept(note("a", ("HighErrorRate", "gateway", "firing")), "{}")
    store.call_graph = CallGraph({**TOPOLOGY, "recommender": ["postgres"]})
    clock.now += delay_s
    second = store.accept(note("b", ("Other", service, "firing")), "{}")
    assert second.created and second.incident_id != first.incident_id
    assert len(store.list_incidents()) == 2


def test_lease_is_exclusive_and_only_the_holder_completes(store, clock):
    inc = store.accept(note("a", ("HighErrorRate", "checkout", "firing")), "{}").incident_id
    item = store.claim("w1", 60)
    assert item["id"] == inc and item["attempt"] == 1
    assert item["alerts"][0]["labels"]["service"] == "checkout"
    assert set(item["alerts"][0]) == {"name", "status", "labels", "annotations", "starts_at",
                                      "ends_at", "fingerprint", "generator_url"}  # fmt: skip
    assert store.claim("w2", 60) is None
    assert store.renew(inc, "w1", 60)
    assert not store.complete(inc, "w2", {"answer": "no"})
    assert store.complete(inc, "w1", {"answer": "yes", "hypotheses": [{"kind": "data"}]})
    assert not store.complete(inc, "w1", {"answer": "again"})
    [row] = store.list_incidents(status="open")
    assert row["top_hypothesis"] == {"kind": "data"}
    assert store.list_incidents(status="investigating") == []


def test_failures_back_off_then_give_up_with_the_error(store, clock):
    inc = store.accept(note("a", ("HighErrorRate", "checkout", "firing")), "{}").incident_id
    assert store.fail(store.claim("w", 60)["id"], "w", "boom 1") == "retry"
    assert store.claim("w", 60) is None  # backing off 10 s
    clock.now += 10
    assert store.fail(store.claim("w", 60)["id"], "w", "boom 2") == "retry"
    clock.now += 19
    assert store.claim("w", 60) is None  # then 20 s
    clock.now += 1
    assert store.fail(store.claim("w", 60)["id"], "w", "boom 3") == "failed"
    got = store.get(inc)
    assert got["status"] == "open" and got["attempts"] == 3
    assert got["report"]["error"] == "boom 3" and got["report"]["attempts"] == 3
    assert got["report"]["answer"] == "Investigation failed after 3 attempt(s): boom 3"
    assert store.fail(inc, "w", "late") == "lost"


def test_expired_leases_are_taken_over_and_a_poison_incident_is_given_up(store, clock):
    inc = store.accept(note("a", ("HighErrorRate", "checkout", "firing")), "{}").incident_id
    for attempt in (1, 2, 3):
        assert store.claim(f"dead-{attempt}", 5)["attempt"] == attempt
        assert store.claim("other", 5) is None
        clock.now += 6  # the holder died: its lease runs out
    assert store.claim("other", 5) is None
    got = store.get(inc)
    assert got["status"] == "open"
    assert got["report"]["error"].startswith("investigation did not finish in 3 attempts")
    assert store.pending_deliveries() == [inc]


def test_reports_are_stored_as_strict_json(store):
    inc = store.accept(note("a", ("HighErrorRate", "checkout", "firing")), "{}").incident_id
    report = {
        "answer": "x",
        "hypotheses": [{"kind": "data", "score": float("nan")}],
        "at": Path("/"),
    }
    store.complete(store.claim("w", 60)["id"], "w", report)
    got = store.get(inc)
    assert got["report"]["hypotheses"] == [{"kind": "data", "score": None}]
    assert got["report"]["at"] == "/" and got["top_hypothesis"]["score"] is None


def test_mark_delivered_is_true_once_and_only_with_a_report(store):
    inc = store.accept(note("a", ("HighErrorRate", "checkout", "firing")), "{}").incident_id
    assert not store.mark_delivered(inc)
    store.complete(store.claim("w", 60)["id"], "w", {"answer": "x"})
    assert store.mark_delivered(inc)
    assert not store.mark_delivered(inc)
    assert store.pending_deliveries() == []


def test_list_is_newest_first_and_limited(store, clock):
    ids = []
    for i in range(3):
        clock.now += 400  # beyond the correlation window
        ids.append(store.accept(note(f"g{i}", ("A", "checkout", "firing")), "{}").incident_id)
    assert [r["id"] for r in store.list_incidents()] == ids[::-1]
    assert [r["id"] for r in store.list_incidents(limit=2)] == ids[:0:-1]
    assert store.get("inc-000000000000") is None
    assert store.counts() == {"investigating": 3, "open": 0, "resolved": 0}
    assert store.queue_depth() == 3


def _process_intake(path: str, worker: int, barrier: Any) -> None:
    store = IncidentStore(path)
    barrier.wait()
    for group in range(20):
        store.accept(note(f"g{group}", ("A", f"svc-{group}", "firing")), "{}")
        store.accept(note(f"g{group}", ("A", f"svc-{group}", "firing"),
                          ("B", f"svc-{group}", "firing")), "{}")  # fmt: skip
        # Work as a worker does: claim, finish, claim again. A second alert kind joining an
        # incident another process holds marks it for a rerun, claimed once that one finishes.
        while (item := store.claim(f"p{worker}", 60)) is not None:
            store.complete(item["id"], f"p{worker}", {"answer": "ok", "hypotheses": []})


def test_several_processes_share_one_store(target):
    path = target
    IncidentStore(path).close()  # schema and WAL first, as `opsloop serve` would
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(3)
    procs = [ctx.Process(target=_process_intake, args=(path, i, barrier)) for i in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    store = IncidentStore(path)
    rows = store.list_incidents(limit=100)
    assert len(rows) == 20 and all(r["alerts"] == 2 for r in rows)
    done = store.db.conn().execute("SELECT status, report, attempts FROM incidents").fetchall()
    assert {r["status"] for r in done} == {"open"}  # every incident investigated, none lost
    assert all(r["report"] for r in done)
    assert {r["attempts"] for r in done} == {1}  # the last claim of each ran once, unraced
    assert store.db.conn().execute("SELECT count(*) FROM notifications").fetchone()[0] == 40
