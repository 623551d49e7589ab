"""Two `opsloop serve` replicas share PostgreSQL and a Chroma server; one is killed mid-storm.

Everything is real and on loopback: PostgreSQL from Debian's binaries and a Chroma server
(bench/engines.py), the test Prometheus the investigations query, and the local Slack stand-in
that counts every post. The replicas have separate homes, so whatever they share goes
through PostgreSQL (incident queue, graph checkpoints, Slack state, audit) and Chroma
(incident memory). A sender plays Alertmanager behind a load balancer: each group's
notifications in order, round-robin over the replicas, and on a refused connection the
other replica.
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from bench.engines import chroma_server, free_port
from bench.storm import storm
from opsloop.agent.stores.memory import IncidentMemory
from tests.slack_server import fake_slack
from tests.test_crash import CHANNEL, SERVICES, start

NOTIFICATIONS, GROUPS, SENDERS = 240, 24, 4
LEASE_S = 5.0  # how soon the survivor takes over what the killed replica held
COMPLETED = re.compile(r"investigation (inc-[0-9a-f]+) completed")


@pytest.fixture(scope="module")
def chroma() -> Iterator[str]:
    with chroma_server() as url:
        yield url


def notifications() -> list[dict[str, Any]]:
    """The bench's storm, on the test Prometheus's services and at its time."""
    starts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 600))
    notes = storm(NOTIFICATIONS, GROUPS, seed=11)
    for note in notes:
        group = int(note["groupLabels"]["group"])
        service = SERVICES[group % len(SERVICES)]
        note["commonLabels"]["service"] = service
        for alert in note["alerts"]:
            alert["labels"]["service"] = service
            alert["labels"]["instance"] = alert["labels"]["instance"].replace("svc", service)
            alert["startsAt"] = starts
    return notes


class Sender:
    """Alertmanager behind a load balancer: per-group order, fail over on a dead replica."""

    def __init__(self, urls: list[str], token: str) -> None:
        self.urls = urls
        self.headers = {"Authorization": f"Bearer {token}"}
        self.sent = 0
        self.failovers = 0
        self.lock = threading.Lock()
        self.go_on = threading.Event()  # the first notifications go, the rest wait for this

    def send(self, i: int, note: dict[str, Any]) -> None:
        deadline = time.monotonic() + 60
        order = [self.urls[i % 2], self.urls[(i + 1) % 2]]
        while time.monotonic() < deadline:
            for url in order:
                try:
                    resp = httpx.post(url, json=note, headers=self.headers, timeout=10)
                except httpx.TransportError:  # refused, reset: the replica is gone
                    with self.lock:
                        self.failovers += 1
                    continue
                if resp.status_code == 200:
                    with self.lock:
                        self.sent += 1
                    return
                assert resp.status_code == 503, resp.text  # only "retry later" is retried
            time.sleep(0.2)
        pytest.fail(f"notification {i} was never accepted")

    def run(self, notes: list[dict[str, Any]], first: int) -> list[threading.Thread]:
        """Send `notes[:first]`, then the rest once `go_on` is set; return the threads."""
        lanes: list[list[tuple[int, dict[str, Any]]]] = [[] for _ in range(SENDERS)]
        for i, note in enumerate(notes):  # a group always goes down the same lane, in order
            lanes[int(note["groupLabels"]["group"]) % SENDERS].append((i, note))

        def lane_loop(lane: list[tuple[int, dict[str, Any]]]) -> None:
            for i, note in lane:
                if i >= first:
                    self.go_on.wait(120)
                self.send(i, note)

        threads = [threading.Thread(target=lane_loop, args=(lane,)) for lane in lanes]
        for t in threads:
            t.start()
        return threads


def held_by(url: str, pid: int) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT id FROM incidents WHERE status = 'investigating' AND lease_owner LIKE %s",
            (f"%:{pid}:%",),
        ).fetchall()
    return [r[0] for r in rows]


def test_two_replicas_one_killed_mid_storm_lose_nothing_and_do_nothing_twice(
    prometheus, pg_url: str, chroma: str, tmp_path: Path
):
    token = "storm-token"
    notes = notifications()
    with fake_slack() as slack:
        base = {
            **os.environ,
            "OPSLOOP_PROMETHEUS_URL": prometheus,
            "OPSLOOP_TOPOLOGY": "{}",
            "OPSLOOP_CORRELATE_WINDOW_S": "0",  # no merging: one incident per group episode
            "OPSLOOP_DATABASE_URL": pg_url,
            "OPSLOOP_MEMORY_URL": chroma,
            "OPSLOOP_INVESTIGATION_LEASE_S": str(LEASE_S),
            "OPSLOOP_WEBHOOK_TOKEN": token,
            "OPSLOOP_SLACK_BOT_TOKEN": "xoxb-test-token",
            "OPSLOOP_SLACK_API_URL": slack.url,
            "OPSLOOP_SLACK_CHANNEL": CHANNEL,
        }
        ports = [free_port(), free_port()]
        logs = [tmp_path / "a.log", tmp_path / "b.log"]
        replicas = [
            start({**base, "OPSLOOP_HOME": str(tmp_path / name)}, port, log)
            for name, port, log in zip(("a", "b"), ports, logs, strict=True)
        ]
        victim, survivor = replicas
        sender = Sender([f"http://127.0.0.1:{p}/alerts/alertmanager" for p in ports], token)
        try:
            # Every group fires first (the storm opens its incidents), then the rest of the
            # storm flows while replica A is killed in the middle of an investigation.
            threads = sender.run(notes, first=GROUPS)
            deadline = time.monotonic() + 120
            while sender.sent < GROUPS or not held_by(pg_url, victim.pid):
                assert time.monotonic() < deadline, "replica A never held an investigation"
                time.sleep(0.02)
            sender.go_on.set()
            while sender.sent < GROUPS + SENDERS or not held_by(pg_url, victim.pid):
                assert time.monotonic() < deadline, "replica A held nothing mid-storm"
                time.sleep(0.01)  # requests in flight to A as it dies: they fail over to B
            victim.send_signal(signal.SIGKILL)
            victim.wait(10)
            orphans = held_by(pg_url, victim.pid)
            for t in threads:
                t.join(120)
            assert sender.sent == NOTIFICATIONS

            deadline = time.monotonic() + 300
            while (rows := _incidents(pg_url)) and not all(
                r["report"] and r["report_delivered_at"] for r in rows
            ):
                assert survivor.poll() is None, logs[1].read_text()[-3000:]
                assert time.monotonic() < deadline, f"not every incident was reported: {rows}"
                time.sleep(0.5)
        finally:
            for proc in replicas:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                    proc.wait(30)

        rows = _incidents(pg_url)
        ids = {r["id"] for r in rows}
        # Nothing lost: every distinct notification stored once (retries were duplicates),
        # every firing group in an incident, every incident reported.
        distinct = {json.dumps(n, sort_keys=True) for n in notes}
        with psycopg.connect(pg_url) as conn:
            stored = conn.execute("SELECT count(*) FROM notifications").fetchone()[0]
            grouped = {r[0] for r in conn.execute("SELECT group_key FROM incident_groups")}
            threads_saved = {r[0] for r in conn.execute("SELECT thread_id FROM checkpoints")}
        assert stored == len(distinct)
        assert {n["groupKey"] for n in notes if n["status"] == "firing"} <= grouped
        assert {r["status"] for r in rows} <= {"open", "resolved"}

        # Nothing twice: one completed investigation per incident over both replicas' logs,
        # and one report message per incident in the channel.
        completed = Counter(m for log in logs for m in COMPLETED.findall(log.read_text()))
        assert set(completed) == ids and set(completed.values()) == {1}, completed
        # Which message is which incident's report is in the shared Slack state; a second
        # post of a report would be a message that no incident points to.
        posts = [p for p in slack.named("chat.postMessage")
                 if p.get("channel") == CHANNEL and not p.get("thread_ts")
                 and not p["text"].startswith(":white_check_mark:")]  # fmt: skip
        with psycopg.connect(pg_url) as conn:
            posted = dict(conn.execute("SELECT ts, incident_id FROM slack_reports").fetchall())
        top = Counter(p["_answer"]["ts"] for p in posts)
        assert set(top.values()) == {1} and set(top) == set(posted), (top, posted)
        assert set(posted.values()) <= ids
        assert len(posted) >= len(ids) - len(orphans)  # a kill between mark and post may lose one

        # What the killed replica held was finished by the survivor, on a second attempt.
        assert orphans, "the kill came after replica A's investigation had finished"
        attempts = {r["id"]: r["attempts"] for r in rows}
        assert all(attempts[i] >= 2 for i in orphans)
        assert any(COMPLETED.search(line) and orphans[0] in line
                   for line in logs[1].read_text().splitlines())  # fmt: skip

        print(f"scale-out: {len(ids)} incidents, {stored} notifications stored of"
              f" {NOTIFICATIONS} sent, {sender.failovers} failovers, taken over {orphans},"
              f" posts {len(posts)}")  # fmt: skip
        # The shared engines hold the rest: graph checkpoints and incident memory.
        assert ids <= threads_saved
        memory = IncidentMemory.open(url=chroma)
        assert all(memory.get(i) is not None for i in ids)


def _incidents(url: str) -> list[dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(
            "SELECT id, status, attempts, report IS NOT NULL AS report, report_delivered_at"
            " FROM incidents"
        ).fetchall()
