"""A small alert storm through a real `opsloop serve` child: nothing lost, nothing twice.

`python -m bench.storm` runs the 10,000-notification version with figures; this runs the
same code small enough for every CI run.
"""

from __future__ import annotations

from bench.storm import run_one, storm, topology


def test_a_storm_loses_nothing_and_investigates_each_incident_once():
    notes = storm(800, 160, seed=3)
    assert len(notes) == 800
    assert {n["status"] for n in notes} == {"firing", "resolved"}
    figures = run_one(notes, senders=8, baseline=False, topo=topology(160))
    check = figures["check"]
    assert figures["statuses"] == {200: 800}
    assert check["ok"], check
    assert check["duplicates_dropped"] > 0  # the storm had repeats, and they were dropped
    assert check["incidents"] < check["firing_groups"]  # connected groups merged


def test_a_storm_into_a_postgres_queue_loses_nothing_either(pg_url):
    notes = storm(400, 80, seed=4)
    figures = run_one(notes, senders=8, baseline=False, topo=topology(80), database_url=pg_url)
    assert figures["statuses"] == {200: 400}
    assert figures["check"]["ok"], figures["check"]
    assert figures["check"]["duplicates_dropped"] > 0


def test_the_storm_generator_is_deterministic():
    assert storm(300, 50, seed=1) == storm(300, 50, seed=1)
    assert storm(300, 50, seed=1) != storm(300, 50, seed=2)
