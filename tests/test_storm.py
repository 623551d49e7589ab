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


def test_the_soak_day_has_new_groups_each_hour_and_resolves_them_all():
    from bench.soak import hour_of_alerts, table

    first, second = hour_of_alerts(200, 40, 0), hour_of_alerts(200, 40, 1)
    assert len(first) >= 200
    groups = [{n["groupKey"] for n in notes} for notes in (first, second)]
    assert len(groups[0]) == len(groups[1]) == 40 and not groups[0] & groups[1]
    last = {n["groupKey"]: n["status"] for n in first}
    assert set(last.values()) == {"resolved"}  # every incident can close within its hour
    row = {"hour": 2, "sent": 10, "rss_mb": 100.0, "db_mb": 2.0, "notifications": 5,
           "checkpoints": 6, "answers": 1, "incidents": 1}  # fmt: skip
    text = table([row, {**row, "hour": 4}], [row, {**row, "hour": 4, "db_mb": 4.0}])
    assert "retention off: hour 2 → 4:" in text and "db_mb x2.00" in text
