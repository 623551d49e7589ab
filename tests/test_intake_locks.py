"""Intake under per-group locks: races that a wrong lock loses, on SQLite and PostgreSQL.

Threads start together on a barrier; each test checks what any serial order would give.
PostgreSQL runs two stores (as two replicas) against one database.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from opsloop.agent.db.group_commit import AsyncGroupCommit, GroupCommit
from opsloop.agent.server.incidents import IncidentStore
from tests.test_incident_store import TOPOLOGY, Clock, note

DEADLINE_S = 60.0


def race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run `calls` in threads released at once; return their results, raising any error."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(DEADLINE_S)
            results[i] = calls[i]()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLINE_S)
    assert not any(t.is_alive() for t in threads), "a thread is stuck (deadlock?)"
    if errors:
        raise errors[0]
    return results


@pytest.fixture(params=["sqlite", "postgres"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> list[IncidentStore]:
    """Two stores on one database: one SQLite file, or one PostgreSQL (two replicas)."""
    target = (
        request.getfixturevalue("pg_url")
        if request.param == "postgres"
        else str(tmp_path / "incidents.sqlite")
    )
    clock = Clock()
    pair = [IncidentStore(target, topology=TOPOLOGY, clock=clock) for _ in range(2)]
    yield pair
    for s in pair:
        s.close()


def incidents(store: IncidentStore) -> list[dict[str, Any]]:
    return store.list_incidents(limit=1000)


def test_one_group_arriving_everywhere_at_once_opens_one_incident(stores):
    # Unrelated services: only the group's lock keeps a second incident from opening.
    calls = [
        lambda s=stores[i % 2], i=i: s.accept(note("g", (f"A{i}", f"svc-{i}", "firing")), "{}")
        for i in range(12)
    ]
    accepted = race(calls)
    assert sum(a.created for a in accepted) == 1
    assert len({a.incident_id for a in accepted}) == 1
    [row] = incidents(stores[0])
    assert row["alerts"] == 12


def test_neighbours_firing_at_once_merge_into_one_incident(stores):
    # gateway → checkout → fraud-api: each within two calls of the others, so any order
    # of arrival gives one incident.
    services = ["gateway", "checkout", "fraud-api", "checkout"]
    calls = [
        lambda s=stores[i % 2], i=i, svc=svc: s.accept(note(f"g{i}", ("Err", svc, "firing")), "{}")
        for i, svc in enumerate(services * 2)
    ]
    accepted = race(calls)
    assert sum(a.created for a in accepted) == 1
    [row] = incidents(stores[0])
    assert row["alerts"] == 8


def test_a_repeat_racing_itself_is_stored_once(stores):
    n = note("g", ("Err", "checkout", "firing"))
    accepted = race([lambda s=stores[i % 2]: s.accept(n, "{}") for i in range(10)])
    assert sum(not a.duplicate for a in accepted) == 1
    assert len({a.incident_id for a in accepted}) == 1
    count = stores[0].db.conn().execute("SELECT count(*) FROM notifications").fetchone()[0]
    assert count == 1


def test_groups_of_one_incident_resolving_at_once_resolve_it(stores):
    # Each incident holds two groups; both resolve at once, on the two stores. Without the
    # incident's row lock each sees the other's alert still firing and neither resolves it.
    pairs = 10
    ids = []
    for p in range(pairs):
        a = stores[0].accept(note(f"a{p}", ("Err", f"svc-{p}", "firing")), "{}").incident_id
        b = stores[0].accept(note(f"b{p}", ("Err", f"svc-{p}", "firing")), "{}").incident_id
        assert a == b
        ids.append(a)
        item = stores[0].claim("w", 60)
        assert stores[0].complete(item["id"], "w", {"answer": "ok", "hypotheses": []})
    resolved = [
        note(f"{g}{p}", ("Err", f"svc-{p}", "resolved")) for p in range(pairs) for g in "ab"
    ]
    calls = [lambda s=stores[i % 2], n=n: s.accept(n, "{}") for i, n in enumerate(resolved)]
    race(calls)
    assert {r["status"] for r in incidents(stores[0])} == {"resolved"}


def test_a_group_firing_again_as_its_neighbour_resolves_is_in_an_open_incident(stores):
    # a and b share an incident; b has resolved, a still fires. Then at once a resolves and
    # b fires again. Either order leaves b in an unresolved incident (its old one, or a new
    # one if a closed it first); without the row lock b can land in one a just closed.
    pairs = 10
    for p in range(pairs):
        for group, state in (("a", "firing"), ("b", "firing"), ("b", "resolved")):
            stores[0].accept(note(f"{group}{p}", ("Err", f"svc-{p}", state)), "{}")
        item = stores[0].claim("w", 60)
        assert stores[0].complete(item["id"], "w", {"answer": "ok", "hypotheses": []})
    calls = [
        lambda s=stores[0], p=p: s.accept(note(f"a{p}", ("Err", f"svc-{p}", "resolved")), "{}")
        for p in range(pairs)
    ] + [
        lambda s=stores[1], p=p: s.accept(note(f"b{p}", ("Lat", f"svc-{p}", "firing")), "{}")
        for p in range(pairs)
    ]
    race(calls)
    open_groups = {
        key
        for row in incidents(stores[0])
        if row["status"] != "resolved"
        for key in stores[0].get(row["id"])["group_keys"]
    }
    assert {f'{{}}:{{group="b{p}"}}' for p in range(pairs)} <= open_groups


def test_an_incident_resolved_while_a_group_waits_for_it_is_left_alone(pg_url):
    """The group's incident resolves while its notification waits for the row: it routes
    again under the store lock (no deadlock) and opens a new incident."""
    store = IncidentStore(pg_url, topology=TOPOLOGY, clock=Clock())
    first = store.accept(note("a", ("Err", "checkout", "firing")), "{}").incident_id
    done: list[Any] = []
    with psycopg.connect(pg_url) as other:
        with other.transaction():
            other.execute("SELECT id FROM incidents WHERE id = %s FOR UPDATE", (first,))
            thread = threading.Thread(
                target=lambda: done.append(
                    store.accept(note("a", ("Other", "checkout", "firing")), "{}")
                )
            )
            thread.start()
            _wait_for_lock_waiter(other)
            other.execute("UPDATE incidents SET status = 'resolved' WHERE id = %s", (first,))
        thread.join(DEADLINE_S)
    assert not thread.is_alive() and done
    assert done[0].created and done[0].incident_id != first
    store.close()


def _wait_for_lock_waiter(conn: psycopg.Connection) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        with psycopg.connect(conn.info.dsn, autocommit=True) as probe:
            waiting = probe.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            ).fetchone()[0]
        if waiting:
            return
        time.sleep(0.01)
    raise TimeoutError("the notification never waited for the incident's row")


def test_group_commit_shares_a_batch_and_fails_one_item_alone():
    release = threading.Event()
    seen: list[list[int]] = []

    def run(items: list[int]) -> list[int | BaseException]:
        seen.append(items)
        if items == [0]:
            release.wait(DEADLINE_S)  # the first batch runs while the others queue
        return [ValueError(i) if i == 3 else i * 10 for i in items]

    commit: GroupCommit[int, int] = GroupCommit(run)
    results: dict[int, Any] = {}

    def submit(i: int) -> None:
        try:
            results[i] = commit.submit(i)
        except ValueError as exc:
            results[i] = exc

    first = threading.Thread(target=submit, args=(0,))
    first.start()
    _wait(lambda: seen == [[0]])
    rest = [threading.Thread(target=submit, args=(i,)) for i in range(1, 6)]
    for t in rest:
        t.start()
    _wait(lambda: len(commit._queued) == 5)
    release.set()
    for t in [first, *rest]:
        t.join(DEADLINE_S)
    assert sorted(seen[1]) == [1, 2, 3, 4, 5] and len(seen) == 2  # one batch for the five
    assert isinstance(results.pop(3), ValueError)
    assert results == {0: 0, 1: 10, 2: 20, 4: 40, 5: 50}


def test_async_group_commit_answers_each_caller_from_one_batch():
    batches: list[list[int]] = []

    def run(items: list[int]) -> list[int | BaseException]:
        batches.append(items)
        return [ValueError(i) if i == 2 else -i for i in items]

    commit: AsyncGroupCommit[int, int] = AsyncGroupCommit(run)

    async def main() -> list[Any]:
        return await asyncio.gather(*(commit.submit(i) for i in range(5)), return_exceptions=True)

    out = asyncio.run(main())
    assert [o if not isinstance(o, ValueError) else "error" for o in out] == [
        0, -1, "error", -3, -4,
    ]  # fmt: skip
    assert sum(len(b) for b in batches) == 5 and len(batches) <= 2


def _wait(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.001)
