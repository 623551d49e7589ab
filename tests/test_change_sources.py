"""Change sources: kube-state-metrics rollouts (real Prometheus), CI/CD events posted to
`/changes`, registry changes made outside opsloop, one shared log (SQLite or PostgreSQL)."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from opsloop.agent.config import Settings
from opsloop.agent.server.app import create_app
from opsloop.agent.server.auth import WebhookAuth
from opsloop.agent.server.change_events import ChangeError, parse_change
from opsloop.agent.server.changes import changes_routes
from opsloop.agent.server.incidents import IncidentStore
from opsloop.agent.server.worker import WorkerPool
from opsloop.tools.backends.changelog import ChangeEvent, ChangeLog
from opsloop.tools.backends.prometheus.client import PromClient
from opsloop.tools.backends.prometheus.rollouts import rollouts
from opsloop.tools.toolsets.changes import ChangesContext, changes_tools, merge_rollouts

END = float(int(time.time()) + 60)
DEPLOYED = END - 1800  # checkout rolled out half an hour before the history ends


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Prometheus whose history holds one rollout of checkout."""
    from opsloop.sandbox.history import start_prometheus_with_history

    proc, url = start_prometheus_with_history(
        tmp_path_factory.mktemp("rollouts"), hours=2, end=END, seed=11,
        deploys={"checkout": [DEPLOYED]},
    )  # fmt: skip
    try:
        yield url
    finally:
        proc.stop()


def test_a_generation_step_with_a_new_replicaset_is_a_rollout(prom: str) -> None:
    client = PromClient(prom)
    found = rollouts(client, END - 7200, END, lambda ns, name: f"svc:{name}")
    assert [(e.target, e.kind) for e in found] == [("svc:checkout", "deploy")]
    event = found[0]
    assert abs(event.at - DEPLOYED) <= 1  # the ReplicaSet's creation time, not the scrape grid
    assert event.detail["generation"] == {"from": 12, "to": 13}
    assert event.detail["replicaset"].startswith("checkout-")
    assert "rolled out" in event.summary and event.source == "kubernetes"
    assert rollouts(client, END - 7200, DEPLOYED - 600, lambda ns, name: name) == []


def test_recent_changes_merges_the_rollout_into_the_ci_event(prom: str, tmp_path: Path) -> None:
    log = ChangeLog(tmp_path / "changes.sqlite")
    log.record(ChangeEvent(DEPLOYED - 40, "alice", "deploy", "checkout", "checkout 2.8.0 deployed"))
    client = PromClient(prom)
    k8s = {"kube-state-metrics rollouts": lambda a, b: rollouts(client, a, b, lambda ns, n: n)}
    ctx = ChangesContext(log, k8s, now=lambda: END)
    tool = changes_tools(ctx)[0]
    result = tool.invoke({"range": "2h"})
    changes = result.data["changes"]
    assert len(changes) == 1, changes  # one change, not a deploy and a rollout
    assert changes[0]["who"] == "alice" and changes[0]["detail"]["revision"] == "13"
    assert "checkout 2.8.0 deployed by alice (revision 13)" in result.summary
    assert "kube-state-metrics rollouts" in result.evidence[0].query


def test_an_unreadable_source_is_named_not_hidden(tmp_path: Path) -> None:
    from opsloop.tools.errors import BackendUnavailable

    def down(since: float, until: float) -> list[ChangeEvent]:
        raise BackendUnavailable("Prometheus", "http://127.0.0.1:9", "refused", "Start it.")

    ctx = ChangesContext(
        ChangeLog(tmp_path / "c.sqlite"), {"kube-state-metrics rollouts": down}, now=lambda: END
    )
    result = changes_tools(ctx)[0].invoke({"range": "1h"})
    assert "could not read kube-state-metrics rollouts" in result.summary


def test_a_scale_is_not_a_rollout() -> None:
    scale = ChangeEvent(100.0, "", "scale", "checkout", "scaled 3 → 5", {}, "kubernetes")
    events = [ChangeEvent(90.0, "bob", "deploy", "checkout", "deployed")]
    assert merge_rollouts(events, [scale]) == [scale]


# -- the log -----------------------------------------------------------------------------


def test_a_retried_delivery_records_once_and_old_files_gain_the_columns(tmp_path: Path) -> None:
    old = sqlite3.connect(tmp_path / "old.sqlite")
    old.executescript(
        "CREATE TABLE changes (id INTEGER PRIMARY KEY, at REAL NOT NULL, who TEXT NOT NULL,"
        " kind TEXT NOT NULL, target TEXT NOT NULL, summary TEXT NOT NULL, detail TEXT NOT NULL);"
        "INSERT INTO changes VALUES (1, 5.0, 'bob', 'config', 'x', 'old', '{}');"
    )
    old.commit()
    old.close()
    log = ChangeLog(tmp_path / "old.sqlite")
    event = ChangeEvent(6.0, "ci", "deploy", "x", "new", {}, "github", "github:1")
    assert log.record(event) is not None
    assert log.record(event) is None
    assert [(e.summary, e.source) for e in log.events()] == [("old", "opsloop"), ("new", "github")]


def test_replicas_share_the_log_in_postgresql(pg_url: str) -> None:
    a, b = ChangeLog.open(pg_url), ChangeLog.open(pg_url)
    a.record(ChangeEvent(1.0, "ci", "deploy", "checkout", "deployed", {"revision": "9"}, "ci", "k"))
    b.record(ChangeEvent(1.0, "ci", "deploy", "checkout", "deployed", {}, "ci", "k"))  # retry
    a.record(ChangeEvent(2.0, "me", "alias_move", "m", "moved", {"alias": "champion", "to": "3"}))
    assert [(e.target, e.detail) for e in b.events(target="checkout")] == [
        ("checkout", {"revision": "9"})
    ]
    assert b.aliases_seen() == {("m", "champion"): "3"}
    a.close()
    b.close()


# -- the registry ------------------------------------------------------------------------


def test_alias_moves_made_outside_opsloop_are_found_by_polling(tmp_path: Path) -> None:
    from mlflow import MlflowClient

    from opsloop.tools.backends.aliases import move_alias
    from opsloop.tools.backends.mlflow_registry import Registry
    from opsloop.tools.backends.registry_changes import new_versions, poll_aliases

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model("churn")
    for _ in range(3):
        client.create_model_version("churn", source=str(tmp_path), run_id=None)
    client.set_registered_model_alias("churn", "champion", "1")
    registry, log = Registry(uri), ChangeLog(tmp_path / "changes.sqlite")
    assert poll_aliases(registry, log, now=100.0) == 0  # the first poll only looks
    client.set_registered_model_alias("churn", "champion", "2")  # someone, in the MLflow UI
    assert poll_aliases(registry, log, now=200.0) == 1
    assert poll_aliases(registry, log, now=300.0) == 0
    move_alias(registry, log, "churn", "champion", "3", who="opsloop", reason="promote")
    assert poll_aliases(registry, log, now=400.0) == 0  # opsloop's own move is not "outside"
    moves = [(e.who, e.detail["from"], e.detail["to"]) for e in log.events()]
    assert moves == [("outside opsloop", "1", "2"), ("opsloop", "2", "3")]
    versions = new_versions(registry, time.time() - 600, time.time() + 60)
    assert sorted(e.detail["version"] for e in versions) == ["1", "2", "3"]


# -- POST /changes -------------------------------------------------------------------------


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[TestClient, ChangeLog]]:
    settings = Settings(webhook_token=SecretStr("s3cret"), state_dir=tmp_path)
    store = IncidentStore(tmp_path / "incidents.sqlite")
    pool = WorkerPool(store, lambda incident: {}, workers=1)
    log = ChangeLog(tmp_path / "changes.sqlite")
    routes = changes_routes(log, WebhookAuth(settings), 65536)
    app = create_app(settings, store, pool, extra_routes=routes, manage_pool=False)
    with TestClient(app) as client:
        yield client, log
    store.close()


AUTH = {"Authorization": "Bearer s3cret"}


def test_changes_need_the_webhook_credentials(server: Any) -> None:
    client, log = server
    body = {"service": "checkout", "summary": "checkout 2.8.0"}
    assert client.post("/changes", json=body).status_code == 401
    assert (
        client.post("/changes", json=body, headers={"Authorization": "Bearer no"}).status_code
        == 401
    )
    assert log.events() == []
    reply = client.post("/changes", json=body, headers=AUTH)
    assert reply.status_code == 201 and reply.json()["target"] == "checkout"


GENERIC = {
    "service": "checkout",
    "kind": "config",
    "summary": "TIMEOUT 3000 → 0",
    "author": "bob",
    "revision": "abc123",
    "at": "2026-12-01T10:00:00Z",
    "id": "c-1",
}
ARGO_OP = {
    "phase": "Succeeded",
    "finishedAt": "2026-12-01T10:05:00Z",
    "operation": {"initiatedBy": {"username": "carol"}},
}
ARGO = {
    "app": {
        "metadata": {"name": "search"},
        "spec": {"destination": {"namespace": "shop"}},
        "status": {"sync": {"revision": "9f8e7d6c5b4a39281706"}, "operationState": ARGO_OP},
    }
}
GITHUB = {
    "deployment_status": {
        "id": 7,
        "state": "success",
        "creator": {"login": "dave"},
        "created_at": "2026-12-01T10:10:00Z",
        "environment": "prod",
    },
    "deployment": {"id": 3, "sha": "0123456789abcdef", "payload": {"service": "payments"}},
    "repository": {"name": "pay", "full_name": "acme/pay"},
}
GITHUB_HEADERS = {**AUTH, "X-GitHub-Event": "deployment_status"}


def test_generic_argo_and_github_bodies_are_recorded_with_author_and_revision(server) -> None:
    client, log = server
    generic, github = GENERIC, GITHUB
    for body, headers in ((GENERIC, AUTH), (ARGO, AUTH), (GITHUB, GITHUB_HEADERS)):
        reply = client.post("/changes", json=body, headers=headers)
        assert reply.status_code == 201, reply.text
    assert client.post("/changes", json=generic, headers=AUTH).json()["status"] == "duplicate"
    got = [(e.target, e.kind, e.who, e.detail.get("revision"), e.source) for e in log.events()]
    assert got == [
        ("checkout", "config", "bob", "abc123", "webhook"),
        ("search", "deploy", "carol", "9f8e7d6c5b4a39281706", "argocd"),
        ("payments", "deploy", "dave", "0123456789ab", "github"),
    ]
    pending = {
        **github,
        "deployment_status": {**github["deployment_status"], "state": "in_progress"},
    }
    assert client.post("/changes", json=pending, headers=AUTH).json()["status"] == "ignored"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("not json", "not valid JSON"),
        (json.dumps([1]), "JSON object"),
        (json.dumps({"summary": "x"}), '"service"'),
        (json.dumps({"service": "x", "kind": "reboot"}), "kind 'reboot'"),
        (json.dumps({"service": "x", "at": "yesterday"}), "neither ISO-8601"),
    ],
)
def test_bad_change_bodies_get_a_clear_400(server: Any, body: str, words: str) -> None:
    client, log = server
    reply = client.post(
        "/changes", content=body, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert reply.status_code == 400 and words in reply.json()["error"]
    assert log.events() == []


def test_github_deliveries_are_authenticated_by_their_signature(server: Any) -> None:
    import hashlib
    import hmac

    client, log = server
    body = json.dumps(GITHUB).encode()
    good = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    bad = "sha256=" + hmac.new(b"guess", body, hashlib.sha256).hexdigest()
    headers = {"X-GitHub-Event": "deployment_status", "Content-Type": "application/json"}
    reply = client.post("/changes", content=body, headers={**headers, "X-Hub-Signature-256": bad})
    assert reply.status_code == 401 and log.events() == []
    reply = client.post("/changes", content=body, headers={**headers, "X-Hub-Signature-256": good})
    assert reply.status_code == 201 and log.events()[0].who == "dave"


def test_parse_change_refuses_other_github_events() -> None:
    with pytest.raises(ChangeError, match="deployment_status"):
        parse_change({"ref": "main"}, "push")


def test_the_assistant_reads_rollouts_under_the_service_name(prom: str) -> None:
    from opsloop.agent.factory import build_deps

    deps = build_deps(Settings(prometheus_url=prom), llm=False)
    result = deps.tools["recent_changes"].invoke({"range": "2h", "target": "checkout"})
    assert [c["target"] for c in result.data["changes"]] == ["checkout"]
    assert "/checkout rolled out (generation 12 → 13" in result.summary
