"""The incident console: pages for browsers, the JSON API unchanged, sign-in, CSRF, approvals."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from opsloop.agent.approvals.people import new_token
from opsloop.agent.assistant import Assistant
from opsloop.agent.config import Settings
from opsloop.agent.factory import build_deps
from opsloop.agent.llm.scripted import ScriptedChatModel, tool_call
from opsloop.agent.rca.alerts import parse_alertmanager
from opsloop.agent.server.app import create_app
from opsloop.agent.server.console.charts import Chart, svg
from opsloop.agent.server.console.pages import Console
from opsloop.agent.server.incidents import IncidentStore
from opsloop.agent.server.worker import WorkerPool
from tests.test_approval import POLICY, restart_tool
from tests.test_incident_store import TOPOLOGY, am_payload

ALICE, ALICE_SHA = new_token()
BOB, BOB_SHA = new_token()
PEOPLE = {"alice": {"token_sha256": ALICE_SHA}, "bob": {"token_sha256": BOB_SHA}}
HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
T0 = 1714564800.0  # 2024-05-01T12:00:00Z, the payload's startsAt
EXPR = 'sum(rate(http_requests_total{service="checkout",code=~"5.."}[5m]))'


class FakeProm:
    """Answers range queries with a step at T0 (the page's only Prometheus call)."""

    def __init__(self) -> None:
        self.queries: list[str] = []

    def range(self, query: str, start: Any, end: Any, step_s: float) -> list[dict[str, Any]]:
        self.queries.append(query)
        t, values = start.timestamp(), []
        while t <= end.timestamp():
            values.append([t, "0.5" if t >= T0 else "0.01"])
            t += step_s
        return [{"metric": {}, "values": values}]


class World:
    """A store with one investigated incident whose rollback-like write waits for approval."""

    def __init__(self, tmp_path: Any, **settings_kw: Any) -> None:
        self.ran: list[str] = []
        model = ScriptedChatModel()
        self.settings = Settings(
            home=tmp_path, prometheus_url="http://127.0.0.1:9", policy=POLICY, people=PEOPLE,
            **settings_kw,
        )  # fmt: skip
        self.assistant = Assistant(
            build_deps(self.settings, llm=model, extra_tools=[restart_tool(self.ran)])
        )
        self.store = IncidentStore(tmp_path / "incidents.sqlite", topology=TOPOLOGY)
        note = parse_alertmanager(am_payload("g", [("HighErrorRate", "checkout", "firing")]))
        self.id = self.store.accept(note, b"{}").incident_id
        model.enqueue([tool_call("restart_service", service="checkout")], "Restarted.")
        self.assistant.ask("restart checkout", thread_id=self.id, user="opsloop-rca")
        claimed = self.store.claim("test-owner", 60)
        assert claimed and claimed["id"] == self.id
        link = "http://prometheus:9090/graph?g0.expr=" + EXPR.replace(" ", "+")
        report = {
            "answer": "checkout's 5xx ratio rose at 12:00 [E1]",
            "title": "Errors on checkout",
            "severity": "page",
            "t0": T0,
            "hypotheses": [{"kind": "service", "target": "checkout", "score": 0.8,
                            "evidence": ["E1"]}],
            "evidence": [{"id": "E1", "tool": "query_metrics", "query": EXPR,
                          "summary": "5xx ratio 0.01 → 0.5", "link": link}],
            "actions": [{"name": "restart_service", "args": {"service": "checkout"},
                         "status": "approval_required"}],
            "ruled_out": [],
        }  # fmt: skip
        assert self.store.complete(self.id, "test-owner", report)
        self.prom = FakeProm()
        self.console = Console(self.settings, self.store, self.assistant, self.prom, None)
        pool = WorkerPool(self.store, lambda i: {}, workers=1)
        self.app = create_app(
            self.settings, self.store, pool, manage_pool=False, extra_routes=self.console.routes()
        )
        self.app.state.console = self.console


@pytest.fixture
def world(tmp_path) -> Iterator[World]:
    w = World(tmp_path)
    yield w
    w.store.close()


def _sign_in(client: TestClient, token: str) -> None:
    response = client.post(
        "/console/login", data={"token": token, "next": "/"}, follow_redirects=False
    )
    assert response.status_code == 303, response.text


def _csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def test_browsers_get_pages_and_scripts_keep_the_json(world):
    client = TestClient(world.app)
    listing = client.get("/", headers=HTML)
    assert listing.status_code == 200 and "Errors on checkout" in listing.text
    assert world.id in listing.text and "service: <strong>checkout</strong>" in listing.text
    assert client.get("/incidents")
    as_json = client.get(f"/incidents/{world.id}")
    assert as_json.headers["content-type"].startswith("application/json")
    assert as_json.json()["id"] == world.id
    page = client.get(f"/incidents/{world.id}", headers=HTML)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    text = page.text
    assert '<svg class="chart" role="img"' in text and 'class="onset"' in text
    assert 'class="band"' in text and world.prom.queries == [EXPR]
    assert "would restart all pods of checkout" in text  # the dry run
    assert "Sign in</a> to approve" in text  # anonymous: no buttons
    for kind in ("onset", "alert", "incident", "action"):
        assert f'<li class="{kind}">' in text, kind
    assert 'lang="en"' in text and 'name="viewport"' in text


def test_filters_and_an_unknown_incident(world):
    client = TestClient(world.app)
    assert world.id in client.get("/?service=checkout", headers=HTML).text
    assert world.id not in client.get("/?service=payments", headers=HTML).text
    assert world.id not in client.get("/?status=resolved", headers=HTML).text
    missing = client.get("/incidents/inc-nope", headers=HTML)
    assert missing.status_code == 404 and "No incident inc-nope" in missing.text


def test_sign_in_needs_a_known_token(world):
    client = TestClient(world.app)
    wrong = client.post("/console/login", data={"token": "opl_nope"}, follow_redirects=False)
    assert wrong.status_code == 401 and "opsloop_session" not in wrong.headers.get("set-cookie", "")
    _sign_in(client, ALICE)
    page = client.get(f"/incidents/{world.id}", headers=HTML).text
    assert "Signed in as <strong>alice</strong>" in page and 'value="approve"' in page
    cookie = client.cookies.get("opsloop_session") or ""
    assert ALICE not in cookie  # the token never lives in the browser


def test_approving_from_the_page_needs_the_csrf_token_and_acts_once(world):
    client = TestClient(world.app)
    _sign_in(client, ALICE)
    url = f"/incidents/{world.id}/decision"
    forged = client.post(url, data={"decision": "approve"}, follow_redirects=False)
    assert forged.status_code == 403 and world.ran == []
    csrf = _csrf(client.get(f"/incidents/{world.id}", headers=HTML).text)
    evil = {"Origin": "http://evil.example"}
    cross = client.post(url, data={"decision": "approve", "csrf": csrf}, headers=evil)
    assert cross.status_code == 403 and world.ran == []
    done = client.post(url, data={"decision": "approve", "csrf": csrf, "reason": "page"},
                       follow_redirects=False)  # fmt: skip
    assert done.status_code == 303 and world.ran == ["checkout"]
    page = client.get(done.headers["location"], headers=HTML).text
    assert "Approved" in page and "restart_service approved by alice" in page
    again = client.post(url, data={"decision": "approve", "csrf": csrf})
    assert again.status_code == 409 and world.ran == ["checkout"]
    entry = world.assistant.deps.audit.entries()[0]
    assert (entry["decision"], entry["approver"], entry["reason"]) == ("approved", "alice", "page")


def test_a_person_without_the_role_sees_why_and_the_request_waits(world):
    client = TestClient(world.app)
    _sign_in(client, BOB)
    csrf = _csrf(client.get(f"/incidents/{world.id}", headers=HTML).text)
    refused = client.post(f"/incidents/{world.id}/decision",
                          data={"decision": "approve", "csrf": csrf})  # fmt: skip
    assert refused.status_code == 403 and "not allowed" in refused.text and world.ran == []
    assert 'value="approve"' in refused.text  # still waiting, still decidable


def test_protected_reads_send_browsers_to_sign_in(tmp_path):
    w = World(tmp_path, read_token=SecretStr("r3ad"))
    client = TestClient(w.app)
    first = client.get("/", headers=HTML, follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"].startswith("/console/login")
    assert client.get("/incidents").status_code == 401  # the API still wants its token
    _sign_in(client, BOB)
    assert client.get("/", headers=HTML).status_code == 200
    w.store.close()


def test_a_trusted_proxy_header_signs_people_in(tmp_path):
    w = World(tmp_path, console_user_header="X-Forwarded-User")
    client = TestClient(w.app)
    page = client.get(f"/incidents/{w.id}", headers={**HTML, "X-Forwarded-User": "alice"})
    assert "Signed in as <strong>alice</strong>" in page.text
    csrf = _csrf(page.text)
    done = client.post(f"/incidents/{w.id}/decision", data={"decision": "approve", "csrf": csrf},
                       headers={"X-Forwarded-User": "alice"}, follow_redirects=False)  # fmt: skip
    assert done.status_code == 303 and w.ran == ["checkout"]
    w.store.close()


def test_no_open_redirect_after_sign_in(world):
    client = TestClient(world.app)
    response = client.post("/console/login", data={"token": ALICE, "next": "//evil.example/x"},
                           follow_redirects=False)  # fmt: skip
    assert response.headers["location"] == "/"


def test_a_chart_marks_the_onset_and_shades_the_baseline():
    points = [(float(t), 1.0 + (t % 3) * 0.01) for t in range(0, 600, 10)]
    points += [(float(t), 5.0) for t in range(600, 900, 10)]
    drawn = svg(Chart("p99 latency", points, onset=600.0, changes=[(590.0, "deploy v2")]))
    assert drawn.count('class="onset"') == 1 and drawn.count('class="change"') == 1
    assert 'class="band"' in drawn and "<title>p99 latency</title>" in drawn
    assert "onset at 00:10 UTC" in drawn
    assert "no data" in svg(Chart("empty", []))


def test_services_are_named_by_the_same_label_conventions_as_rca(world):
    incident = {"alerts": [{"labels": {"service_name": "fraud-api", "alertname": "X"}},
                           {"labels": {"job": "gateway"}}]}  # fmt: skip
    assert world.console._services(incident) == ["fraud-api", "gateway"]


def test_an_onset_newer_than_the_last_sample_is_still_marked():
    # A fresh incident: the last scrape predates the onset the investigation found.
    points = [(float(t), 1.0 + (t % 3) * 0.01) for t in range(0, 590, 10)]
    chart = Chart("error ratio", points, onset=600.0, start=0.0, end=900.0)
    assert 'class="onset"' in svg(chart)
    from opsloop.agent.server.console.png import png

    assert png(chart) is not None


def test_charts_start_with_the_top_suspects_own_signals():
    from opsloop.agent.server.console.data import decisive

    def record(ident: str, summary: str) -> dict:
        return {"id": ident, "summary": summary, "link": "http://p/graph?g0.expr=up"}

    report = {
        "hypotheses": [{"kind": "model_version", "target": "fraud-detector", "evidence": ["E9"]}],
        "evidence": [record("E1", "checkout p99 up"), record("E2", "fraud-detector auc down"),
                     {"id": "E9", "summary": "ranking", "link": None}],
    }  # fmt: skip
    assert [e["id"] for e in decisive(report)] == ["E2", "E1"]
