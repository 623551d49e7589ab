"""Call-graph discovery from mesh and trace metrics."""

from __future__ import annotations

from opsloop.tools.callgraph import discover
from opsloop.tools.errors import BackendUnavailable


class FakeProm:
    def __init__(self, answers: dict[str, list[dict]], fail: bool = False) -> None:
        self.answers, self.fail, self.queries = answers, fail, []

    def instant(self, query: str, at=None) -> list[dict]:
        self.queries.append(query)
        if self.fail:
            raise BackendUnavailable("Prometheus", "http://x", "refused", "start it")
        return next((v for k, v in self.answers.items() if k in query), [])


def edge(src: str, dst: str, a: str = "source_workload", b: str = "destination_workload"):
    return {"metric": {a: src, b: dst}, "value": [0, "1"]}


def test_istio_edges_become_a_call_graph_without_unknowns_or_self_calls():
    prom = FakeProm(
        {
            "istio_requests_total": [
                edge("gateway", "checkout"),
                edge("gateway", "recommender"),
                edge("checkout", "fraud-api"),
                edge("unknown", "gateway"),
                edge("checkout", "checkout"),
            ]
        }
    )
    assert discover(prom) == {"checkout": ["fraud-api"], "gateway": ["checkout", "recommender"]}
    assert "traces_service_graph_request_total" in prom.queries[0]  # tried first


def test_the_first_source_with_edges_wins_and_none_gives_empty():
    graph = {"traces_service_graph": [edge("a", "b", "client", "server")]}
    assert discover(FakeProm(graph)) == {"a": ["b"]}
    assert discover(FakeProm({})) == {}


def test_an_unreachable_prometheus_gives_no_graph_instead_of_failing():
    assert discover(FakeProm({}, fail=True)) == {}
