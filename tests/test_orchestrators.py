"""Retraining adapters against a loopback server that speaks each orchestrator's REST shapes."""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from opsloop.tools.backends.orchestrators import (
    AirflowTrigger,
    ArgoTrigger,
    KubeflowTrigger,
    Orchestrator,
    OrchestratorError,
    RemoteJob,
    make_orchestrator,
)

USER, PASSWORD, TOKEN = "opsbot", "pw-s3cret-4711", "tok-ABCDEF-0815"
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
SECRETS = (PASSWORD, TOKEN, BASIC.split()[1])


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: Any  # parsed JSON, or None when there was no body


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list -> JSON, str -> sent as-is
    headers: dict[str, str] | None = None


Route = Reply | Callable[[Seen], Reply]


class FakeServer:
    """Records every request; answers from routes scripted per test, else 404."""

    def __init__(self) -> None:
        self.url = ""
        self.seen: list[Seen] = []
        self.routes: dict[tuple[str, str], Route] = {}
        self.lock = threading.Lock()

    def on(self, method: str, path: str, route: Route) -> None:
        self.routes[(method, path)] = route

    def answer(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        seen = Seen(method, path, headers, json.loads(raw) if raw else None)
        with self.lock:
            self.seen.append(seen)
            route = self.routes.get((method, path))
        if route is None:
            return Reply(404, {"detail": f"no route {method} {path}"})
        return route(seen) if callable(route) else route

    def only(self) -> Seen:
        """Return the single request received; fail if there were more or none."""
        with self.lock:
            assert len(self.seen) == 1, [(s.method, s.path) for s in self.seen]
            return self.seen[0]


def _handler(fake: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = fake.answer(self.command, self.path, headers, raw)
            text = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
            payload = text.encode()
            self.send_response(reply.status)
            kind = "text/plain" if isinstance(reply.body, str) else "application/json"
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (reply.headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _serve

    return Handler


@pytest.fixture
def server(request: pytest.FixtureRequest) -> FakeServer:
    fake = FakeServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    # A short poll interval keeps shutdown() from adding half a second to every test.
    serve = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02})
    serve.daemon = True
    serve.start()

    def stop() -> None:
        httpd.shutdown()
        httpd.server_close()
        serve.join(timeout=5)

    request.addfinalizer(stop)
    fake.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    return fake


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A loopback port that is bound but not listening, so connects are refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A port that accepts connections (kernel backlog) but never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


# Per kind: the target make_orchestrator takes, and where submit and status go.
TARGETS = {"airflow": "retrain_fraud", "argo": "retrain", "kubeflow": "p-123:v-9"}
SUBMIT = {
    "airflow": "/api/v1/dags/retrain_fraud/dagRuns",
    "argo": "/api/v1/workflows/ml/submit",
    "kubeflow": "/apis/v2beta1/runs",
}
STATUS = {
    "airflow": "/api/v1/dags/retrain_fraud/dagRuns/run-1",
    "argo": "/api/v1/workflows/ml/run-1",
    "kubeflow": "/apis/v2beta1/runs/run-1",
}
KINDS = list(TARGETS)


def build(kind: str, url: str, **kw: Any) -> Orchestrator:
    """Build an adapter with credentials (basic for airflow, bearer for the others)."""
    creds = {"username": USER, "password": PASSWORD} if kind == "airflow" else {}
    creds = {**creds, **({} if kind == "airflow" else {"bearer_token": TOKEN}), **kw}
    return make_orchestrator(kind, url, TARGETS[kind], namespace="ml", **creds)


def assert_no_secrets(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def run_body(kind: str, run_id: str = "run-1", state: str | None = None) -> dict[str, Any]:
    """A minimal documented response object for one run of `kind`."""
    if kind == "airflow":
        return {"dag_id": "retrain_fraud", "dag_run_id": run_id, "state": state or "queued"}
    if kind == "argo":
        return {"metadata": {"name": run_id, "namespace": "ml"}, "status": {"phase": state}}
    return {"run_id": run_id, "display_name": "x", "state": state or "PENDING"}


# --- submit request shapes -------------------------------------------------------------


def test_airflow_submit_sends_documented_request(server: FakeServer) -> None:
    def echo(seen: Seen) -> Reply:
        return Reply(
            200,
            {
                "dag_id": "retrain_fraud",
                "dag_run_id": seen.body["dag_run_id"],
                "state": "queued",
                "conf": seen.body["conf"],
            },
        )

    server.on("POST", SUBMIT["airflow"], echo)
    trigger = AirflowTrigger(server.url, "retrain_fraud", username=USER, password=PASSWORD)
    job = trigger.submit("fraud-v2", {"lr": "0.01", "epochs": "3"})

    seen = server.only()
    assert (seen.method, seen.path) == ("POST", SUBMIT["airflow"])
    assert seen.headers["authorization"] == BASIC
    assert seen.headers["content-type"] == "application/json"
    assert set(seen.body) == {"dag_run_id", "conf", "note"}
    assert seen.body["conf"] == {"model": "fraud-v2", "lr": "0.01", "epochs": "3"}
    assert seen.body["note"] == "triggered by opsloop"
    match = re.fullmatch(r"opsloop-fraud-v2-(\d{8}T\d{6})-[0-9a-f]{6}", seen.body["dag_run_id"])
    assert match, seen.body["dag_run_id"]
    stamp = datetime.strptime(match[1], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 300
    run_id = seen.body["dag_run_id"]
    assert job == RemoteJob(
        "airflow",
        run_id,
        "queued",
        "queued",
        f"{server.url}/dags/retrain_fraud/grid?dag_run_id={run_id}",
    )


def test_airflow_bearer_token_and_two_runs_get_distinct_ids(server: FakeServer) -> None:
    server.on(
        "POST", SUBMIT["airflow"], lambda s: Reply(200, run_body("airflow", s.body["dag_run_id"]))
    )
    trigger = AirflowTrigger(server.url, "retrain_fraud", bearer_token=TOKEN)
    first, second = trigger.submit("fraud", {}), trigger.submit("fraud", {})
    assert first.external_id != second.external_id
    assert all(s.headers["authorization"] == f"Bearer {TOKEN}" for s in server.seen)


def test_airflow_rejects_ambiguous_credentials() -> None:
    with pytest.raises(ValueError, match="not both"):
        AirflowTrigger("http://x", "d", username=USER, password=PASSWORD, bearer_token=TOKEN)
    with pytest.raises(ValueError, match="both username and password"):
        AirflowTrigger("http://x", "d", username=USER)


def test_argo_submit_sends_documented_request(server: FakeServer) -> None:
    # Right after submit the Workflow has no status yet.
    server.on("POST", SUBMIT["argo"], Reply(200, {"metadata": {"name": "retrain-x7k2p"}}))
    job = ArgoTrigger(server.url, "ml", "retrain", bearer_token=TOKEN).submit(
        "fraud", {"lr": "0.01"}
    )

    seen = server.only()
    assert (seen.method, seen.path) == ("POST", SUBMIT["argo"])
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"
    assert seen.body == {
        "namespace": "ml",
        "resourceKind": "WorkflowTemplate",
        "resourceName": "retrain",
        "submitOptions": {
            "generateName": "retrain-",
            "parameters": ["model=fraud", "lr=0.01"],
            "labels": "opsloop.io/model=fraud",
        },
    }
    assert job == RemoteJob(
        "argo", "retrain-x7k2p", "queued", "", f"{server.url}/workflows/ml/retrain-x7k2p"
    )


def test_kubeflow_submit_sends_documented_request(server: FakeServer) -> None:
    server.on("POST", SUBMIT["kubeflow"], Reply(200, {"run_id": "r-42", "state": "PENDING"}))
    trigger = KubeflowTrigger(server.url, "p-123", "v-9", experiment_id="e-1", bearer_token=TOKEN)
    job = trigger.submit("fraud", {"lr": "0.01"})

    seen = server.only()
    assert (seen.method, seen.path) == ("POST", SUBMIT["kubeflow"])
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"
    body = dict(seen.body)
    assert re.fullmatch(
        r"opsloop retrain fraud \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body.pop("display_name")
    )
    assert body == {
        "pipeline_version_reference": {"pipeline_id": "p-123", "pipeline_version_id": "v-9"},
        "runtime_config": {"parameters": {"model": "fraud", "lr": "0.01"}},
        "experiment_id": "e-1",
    }
    assert job == RemoteJob(
        "kubeflow", "r-42", "queued", "PENDING", f"{server.url}/#/runs/details/r-42"
    )


def test_kubeflow_submit_omits_unset_version_and_experiment(server: FakeServer) -> None:
    server.on("POST", SUBMIT["kubeflow"], Reply(200, {"run_id": "r-42", "state": "PENDING"}))
    KubeflowTrigger(server.url, "p-123").submit("fraud", {})
    body = server.only().body
    assert body["pipeline_version_reference"] == {"pipeline_id": "p-123"}
    assert "experiment_id" not in body
    assert "authorization" not in server.only().headers


# --- status mapping --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "state"),
    [
        ("queued", "queued"),
        ("running", "running"),
        ("success", "succeeded"),
        ("failed", "failed"),
        ("restarting", "running"),
    ],
)
def test_airflow_status_maps_states(server: FakeServer, word: str, state: str) -> None:
    server.on("GET", STATUS["airflow"], Reply(200, run_body("airflow", state=word)))
    job = build("airflow", server.url).status("run-1")
    assert (job.state, job.raw_state, job.external_id) == (state, word, "run-1")
    assert server.only().headers["authorization"] == BASIC


@pytest.mark.parametrize(
    ("word", "state"),
    [
        (None, "queued"),
        ("Pending", "queued"),
        ("Running", "running"),
        ("Succeeded", "succeeded"),
        ("Failed", "failed"),
        ("Error", "failed"),
    ],
)
def test_argo_status_maps_phases(server: FakeServer, word: str | None, state: str) -> None:
    body = run_body("argo", state=word)
    body["status"]["message"] = "child 'train' failed" if state == "failed" else None
    server.on("GET", STATUS["argo"], Reply(200, body))
    job = build("argo", server.url).status("run-1")
    assert (job.state, job.raw_state) == (state, word or "")
    assert job.detail == ("child 'train' failed" if state == "failed" else "")
    assert job.url == f"{server.url}/workflows/ml/run-1"


@pytest.mark.parametrize(
    ("word", "state"),
    [
        ("PENDING", "queued"),
        ("RUNTIME_STATE_UNSPECIFIED", "queued"),
        ("RUNNING", "running"),
        ("PAUSED", "running"),
        ("CANCELING", "running"),
        ("SUCCEEDED", "succeeded"),
        ("SKIPPED", "succeeded"),
        ("FAILED", "failed"),
        ("CANCELED", "failed"),
    ],
)
def test_kubeflow_status_maps_states(server: FakeServer, word: str, state: str) -> None:
    body = run_body("kubeflow", state=word)
    if state == "failed":
        body["error"] = {"code": 9, "message": "train step OOMKilled"}
    server.on("GET", STATUS["kubeflow"], Reply(200, body))
    job = build("kubeflow", server.url).status("run-1")
    assert (job.state, job.raw_state) == (state, word)
    assert job.detail == ("train step OOMKilled" if state == "failed" else "")
    assert job.url == f"{server.url}/#/runs/details/run-1"


# --- base URLs -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_path_prefix_and_trailing_slash(server: FakeServer, kind: str) -> None:
    prefix = "/pipeline"
    server.on("POST", prefix + SUBMIT[kind], lambda s: Reply(200, run_body(kind)))
    server.on("GET", prefix + STATUS[kind], Reply(200, run_body(kind)))
    adapter = build(kind, f"{server.url}{prefix}/")
    submitted, fetched = adapter.submit("fraud", {}), adapter.status("run-1")
    assert [s.path for s in server.seen] == [prefix + SUBMIT[kind], prefix + STATUS[kind]]
    ui = {
        "airflow": "/dags/retrain_fraud/grid?dag_run_id=run-1",
        "argo": "/workflows/ml/run-1",
        "kubeflow": "/#/runs/details/run-1",
    }[kind]
    assert submitted.url == fetched.url == f"{server.url}{prefix}{ui}"


def test_ids_are_quoted_as_single_path_segments(server: FakeServer) -> None:
    path = "/api/v1/dags/retrain_fraud/dagRuns/manual__2024-01-01T00%3A00%3A00%2B00%3A00"
    server.on("GET", path, Reply(200, run_body("airflow", "manual__2024-01-01T00:00:00+00:00")))
    job = build("airflow", server.url).status("manual__2024-01-01T00:00:00+00:00")
    assert server.only().path == path
    assert job.url is not None and job.url.endswith(
        "dag_run_id=manual__2024-01-01T00%3A00%3A00%2B00%3A00"
    )


# --- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("code", [401, 403])
def test_auth_refusal_mentions_credentials_without_leaking_them(
    server: FakeServer, kind: str, code: int
) -> None:
    server.on("POST", SUBMIT[kind], Reply(code, {"error": "unauthorized"}))
    with pytest.raises(OrchestratorError, match="credentials") as err:
        build(kind, server.url).submit("fraud", {})
    assert f"HTTP {code}" in str(err.value)
    assert_no_secrets(str(err.value))


@pytest.mark.parametrize(
    ("kind", "named"),
    [
        ("airflow", "DAG 'retrain_fraud'"),
        ("argo", "WorkflowTemplate 'retrain' in namespace 'ml'"),
        ("kubeflow", "pipeline 'p-123' version 'v-9'"),
    ],
)
def test_not_found_names_the_target(server: FakeServer, kind: str, named: str) -> None:
    server.on("POST", SUBMIT[kind], Reply(404, {"detail": "not found"}))
    with pytest.raises(OrchestratorError, match="HTTP 404") as err:
        build(kind, server.url).submit("fraud", {})
    assert named in str(err.value)
    with pytest.raises(OrchestratorError, match="run-1"):  # no status route: the run is unknown
        build(kind, server.url).status("run-1")


@pytest.mark.parametrize("kind", KINDS)
def test_server_error_quotes_a_short_body_excerpt(server: FakeServer, kind: str) -> None:
    body = "Traceback: database is locked " + "x" * 2000
    server.on("POST", SUBMIT[kind], Reply(500, body))
    with pytest.raises(OrchestratorError) as err:
        build(kind, server.url).submit("fraud", {})
    message = str(err.value)
    assert "HTTP 500" in message and "database is locked" in message
    assert "x" * 300 not in message and len(message) < 500


def test_error_bodies_echoing_credentials_are_scrubbed(server: FakeServer) -> None:
    echo = Reply(400, f"bad request; you sent password={PASSWORD} header={BASIC}")
    server.on("POST", SUBMIT["airflow"], echo)
    with pytest.raises(OrchestratorError, match="HTTP 400") as err:
        build("airflow", server.url).submit("fraud", {})
    assert_no_secrets(str(err.value))


@pytest.mark.parametrize("kind", KINDS)
def test_connection_refused_says_where_and_what_to_check(refused_url: str, kind: str) -> None:
    with pytest.raises(OrchestratorError) as err:
        build(kind, refused_url).submit("fraud", {})
    message = str(err.value)
    assert message.startswith(f"cannot reach {kind} at {refused_url}: ")
    assert message.endswith("check OPSLOOP_RETRAIN_URL")
    assert_no_secrets(message)


def test_short_token_does_not_mangle_our_own_wording(refused_url: str) -> None:
    # Masking applies to text from the far side only, so a one-letter token leaves ours intact.
    with pytest.raises(OrchestratorError, match=r"check OPSLOOP_RETRAIN_URL$"):
        make_orchestrator("argo", refused_url, "retrain", bearer_token="T").submit("fraud", {})


def test_timeout_is_reported_as_unreachable(silent_url: str) -> None:
    trigger = ArgoTrigger(silent_url, "ml", "retrain", bearer_token=TOKEN, timeout=0.3)
    with pytest.raises(
        OrchestratorError, match=r"cannot reach argo .*timed out.*OPSLOOP_RETRAIN_URL"
    ):
        trigger.status("run-1")


def test_password_in_url_is_used_but_never_shown(server: FakeServer) -> None:
    server.on("POST", SUBMIT["airflow"], Reply(500, "boom"))
    userinfo_url = server.url.replace("http://", f"http://{USER}:{PASSWORD}@")
    trigger = AirflowTrigger(userinfo_url, "retrain_fraud")
    with pytest.raises(OrchestratorError) as err:
        trigger.submit("fraud", {})
    assert server.only().headers["authorization"] == BASIC
    assert_no_secrets(str(err.value))
    assert_no_secrets(trigger.describe("fraud", {}))


def test_login_redirect_is_reported_as_an_auth_problem(server: FakeServer) -> None:
    server.on("POST", SUBMIT["kubeflow"], Reply(302, "", {"Location": "/dex/auth?client_id=kf"}))
    with pytest.raises(OrchestratorError, match=r"HTTP 302.*login page.*credentials"):
        build("kubeflow", server.url).submit("fraud", {})


@pytest.mark.parametrize(
    ("kind", "body", "missing"),
    [
        ("airflow", {}, "dag_run_id"),
        ("airflow", {"dag_run_id": "r"}, "state"),
        ("argo", {"status": {"phase": "Running"}}, "metadata.name"),
        ("argo", {"metadata": {}}, "metadata.name"),
        ("kubeflow", {"state": "RUNNING"}, "run_id"),
    ],
)
def test_missing_fields_in_response(
    server: FakeServer, kind: str, body: dict, missing: str
) -> None:
    server.on("GET", STATUS[kind], Reply(200, body))
    with pytest.raises(OrchestratorError, match=f"no '{re.escape(missing)}'"):
        build(kind, server.url).status("run-1")


@pytest.mark.parametrize("body", ["<html>login</html>", ["not", "an", "object"]])
def test_non_object_response_is_an_error(server: FakeServer, body: Any) -> None:
    server.on("GET", STATUS["argo"], Reply(200, body))
    with pytest.raises(OrchestratorError, match="no JSON object"):
        build("argo", server.url).status("run-1")


# --- describe --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_describe_shows_the_request_without_sending_it(server: FakeServer, kind: str) -> None:
    text = build(kind, server.url).describe("fraud", {"lr": "0.01"})
    assert server.seen == []
    first, auth, *rest = text.splitlines()
    assert first == f"POST {server.url}{SUBMIT[kind]}"
    assert auth == (
        "Authorization: Basic ***" if kind == "airflow" else "Authorization: Bearer ***"
    )
    body = json.loads("\n".join(rest))
    params = {
        "airflow": lambda b: b["conf"],
        "argo": lambda b: b["submitOptions"]["parameters"],
        "kubeflow": lambda b: b["runtime_config"]["parameters"],
    }[kind](body)
    assert params in ({"model": "fraud", "lr": "0.01"}, ["model=fraud", "lr=0.01"])
    assert_no_secrets(text)


# --- make_orchestrator -----------------------------------------------------------------


def test_make_orchestrator_dispatches_by_kind() -> None:
    airflow = make_orchestrator(
        "Airflow", "http://af:8080", "retrain_fraud", username="u", password="p"
    )
    assert isinstance(airflow, AirflowTrigger) and airflow.dag_id == "retrain_fraud"
    argo = make_orchestrator("argo", "https://argo:2746", "retrain", namespace="ml")
    assert isinstance(argo, ArgoTrigger) and (argo.namespace, argo.template) == ("ml", "retrain")
    kfp = make_orchestrator("kubeflow", "http://kfp/pipeline", "p-123:v-9", bearer_token=TOKEN)
    assert isinstance(kfp, KubeflowTrigger)
    assert (kfp.pipeline_id, kfp.pipeline_version_id) == ("p-123", "v-9")
    latest = make_orchestrator("kubeflow", "http://kfp", "p-123")
    assert isinstance(latest, KubeflowTrigger) and latest.pipeline_version_id is None
    assert [o.name for o in (airflow, argo, kfp)] == ["airflow", "argo", "kubeflow"]


def test_make_orchestrator_rejects_unknown_kind_and_misplaced_credentials() -> None:
    with pytest.raises(ValueError, match="airflow, argo, kubeflow") as err:
        make_orchestrator("jenkins", "http://ci", "job")
    assert "jenkins" in str(err.value)
    with pytest.raises(ValueError, match="bearer token"):
        make_orchestrator("argo", "http://argo", "retrain", username=USER, password=PASSWORD)
    with pytest.raises(ValueError, match="http"):
        make_orchestrator("argo", "argo.example.com", "retrain")
