"""The one call-graph module: walks that agree, on acyclic and cyclic graphs alike."""

from __future__ import annotations

import random

import pytest

from opsloop.agent.rca.hypotheses import Findings, rank
from opsloop.agent.server.incidents import IncidentStore
from opsloop.tools.analysis.detectors.window import WindowScore, callees_first
from opsloop.tools.callgraph import CallGraph, below, downstream, hops, reachable

MESH = {"gateway": ["a"], "a": ["b"], "b": ["c", "a"], "c": []}  # a ⇄ b, as meshes show


def closure(topology: dict[str, list[str]]) -> dict[str, set[str]]:
    """Transitive closure by Floyd–Warshall, the slow obvious way."""
    names = sorted(set(topology) | {c for cs in topology.values() for c in cs})
    edge = {(a, b) for a, cs in topology.items() for b in cs}
    for k in names:
        for i in names:
            for j in names:
                if (i, k) in edge and (k, j) in edge:
                    edge.add((i, j))
    return {n: {b for a, b in edge if a == n and b != n} for n in names}


def test_a_two_service_cycle_reaches_both_ways():
    assert downstream({"a": ["b"], "b": ["a"]}) == {"a": {"b"}, "b": {"a"}}


def test_reach_on_a_mesh_with_a_cycle_and_a_branch():
    assert downstream(MESH) == {
        "gateway": {"a", "b", "c"},
        "a": {"b", "c"},
        "b": {"a", "c"},
        "c": set(),
    }
    assert reachable(MESH, "b") == {"a", "c"}


@pytest.mark.parametrize("seed", range(20))
def test_reach_matches_the_transitive_closure_on_random_graphs(seed):
    rng = random.Random(seed)
    names = [f"s{i}" for i in range(rng.randint(2, 9))]
    topology = {n: rng.sample(names, rng.randint(0, min(3, len(names)))) for n in names}
    topology = {k: [c for c in v if c != k] for k, v in topology.items()}
    expected = closure(topology)
    assert downstream(topology) == {n: expected.get(n, set()) for n in downstream(topology)}
    # The order services are listed in changes nothing (the old walk cached partial results).
    shuffled = dict(rng.sample(list(topology.items()), len(topology)))
    assert downstream(shuffled) == downstream(topology)


def test_below_leaves_a_cycle_out():
    reach = downstream(MESH)
    assert below(reach, "gateway") == {"a", "b", "c"}
    assert below(reach, "a") == {"c"} and below(reach, "b") == {"c"}


def test_hops_stop_at_the_limit_on_a_cycle():
    assert hops(MESH, ["a"], limit=1) == {"a": 0, "gateway": 1, "b": 1}
    assert hops(MESH, ["c"]) == {"c": 0, "b": 1, "a": 2}


class FakeProm:
    def __init__(self) -> None:
        self.calls = 0

    def instant(self, query, at=None):
        self.calls += 1
        if query.startswith("count by (client, server)"):
            return [{"metric": {"client": "gateway", "server": "api"}, "value": [0, "1"]}]
        return []


def test_the_graph_in_use_is_configured_else_discovered_and_cached():
    prom, now = FakeProm(), [0.0]
    discovered = CallGraph(None, prom, ttl_s=60, clock=lambda: now[0])
    assert discovered.edges() == {"gateway": ["api"]}
    assert discovered.edges() == {"gateway": ["api"]} and prom.calls == 1
    now[0] = 61.0
    discovered.edges()
    assert prom.calls == 2
    configured = CallGraph({"x": ["y"]}, prom)
    assert configured.edges() == {"x": ["y"]} and prom.calls == 2
    assert CallGraph().edges() == {}


def test_incident_correlation_walks_the_discovered_graph(tmp_path):
    from opsloop.agent.rca.alerts import parse_alertmanager

    def note(service: str, group: str) -> dict:
        labels = {"alertname": "HighErrorRatio", "service": service}
        alert = {"status": "firing", "labels": labels, "annotations": {},
                 "startsAt": "2024-05-01T12:00:00Z", "fingerprint": service}  # fmt: skip
        return {"version": "4", "status": "firing", "groupKey": group, "receiver": "opsloop",
                "groupLabels": labels, "commonLabels": labels, "alerts": [alert]}  # fmt: skip

    store = IncidentStore(tmp_path / "incidents.sqlite", topology=CallGraph(None, FakeProm()))
    try:
        first = store.accept(parse_alertmanager(note("api", "g1")), "{}")
        second = store.accept(parse_alertmanager(note("gateway", "g2")), "{}")
        assert second.incident_id == first.incident_id and not second.created
    finally:
        store.close()


def _score(service: str) -> tuple:
    s = WindowScore(
        labels={"service": service},
        score=0.9,
        z=8.0,
        direction="up",
        onset=None,
        baseline=0.1,
        current=1.0,
        change=9.0,
    )
    return (s, service, "", "errors")


def test_callee_first_ordering_keeps_a_cycle_as_ranked():
    items = [_score("gateway"), _score("a"), _score("b"), _score("c")]
    order = [i[1] for i in callees_first(items, MESH)]
    assert order.index("c") < order.index("a") < order.index("gateway")
    assert order.index("a") < order.index("b")  # a ⇄ b: neither is the other's symptom


def test_rca_does_not_explain_away_both_sides_of_a_cycle():
    rows = [
        {
            "service": s,
            "signal": "error_ratio",
            "direction": "up",
            "z": 12.0,
            "current": 0.2,
            "baseline": 0.001,
            "onset": 1000.0,
            "eid": "E1",
            "text": f"{s} error ratio up",
        }
        for s in ("a", "b")
    ]
    f = Findings(
        t0=1000.0,
        alerted=["a"],
        alerted_models=[],
        alert_names=["HighErrorRatio"],
        topology={"a": ["b"], "b": ["a"]},
        served={},
        rows=rows,
    )
    scores = {h.target: h.score for h in rank(f) if h.kind != "none"}
    assert scores["a"] > 0.5 and scores["b"] > 0.5
