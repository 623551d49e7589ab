"""Trigger model retraining on an existing orchestrator (Airflow, Argo, Kubeflow) over REST."""

from __future__ import annotations

import base64
import json
import re
import secrets
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, Protocol, cast
from urllib.parse import quote

import httpx

from opsloop.tools.deadline import DeadlineTransport

JobStateName = Literal["queued", "running", "succeeded", "failed"]

_EXCERPT_CHARS = 300
_KINDS = ("airflow", "argo", "kubeflow")


@dataclass(frozen=True)
class RemoteJob:
    """What an orchestrator says about one run."""

    backend: str  # "airflow" | "argo" | "kubeflow"
    external_id: str  # dag_run_id / workflow name / run_id
    state: JobStateName  # normalised state
    raw_state: str  # the orchestrator's own word; "" when it has not given one yet
    url: str | None  # UI link for humans when derivable, else None
    detail: str = ""  # message / error text when the orchestrator gives one


class OrchestratorError(RuntimeError):
    """An orchestrator refused or could not be reached; the message says what to do."""


class Orchestrator(Protocol):
    """A place that runs retraining jobs."""

    name: str

    def submit(self, model: str, params: dict[str, str]) -> RemoteJob: ...
    def status(self, external_id: str) -> RemoteJob: ...
    def describe(self, model: str, params: dict[str, str]) -> str: ...


def _words(**groups: str) -> dict[str, JobStateName]:
    """Map each orchestrator word to its normalised state."""
    return {w: cast(JobStateName, state) for state, words in groups.items() for w in words.split()}


_AIRFLOW_STATES = _words(queued="queued", running="running", succeeded="success", failed="failed")
_ARGO_STATES = _words(
    queued="Pending", running="Running", succeeded="Succeeded", failed="Failed Error"
)
_KUBEFLOW_STATES = _words(
    queued="PENDING RUNTIME_STATE_UNSPECIFIED",
    running="RUNNING PAUSED CANCELING",
    succeeded="SUCCEEDED SKIPPED",
    failed="FAILED CANCELED",
)

Request = tuple[str, str, dict[str, Any] | None]  # method, path under base_url, JSON body


def _seg(value: str) -> str:
    """Quote one path segment so an id holding '/' or spaces stays a single segment."""
    return quote(value, safe="")


def _slug(model: str) -> str:
    """Reduce a model name to what Airflow run ids and Kubernetes label values accept."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", model).strip("-_.")[:63] or "model"


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _EXCERPT_CHARS else flat[: _EXCERPT_CHARS - 1] + "…"


def _require(label: str, value: str) -> str:
    if not value or not value.strip():
        raise ValueError(f"{label} must not be empty")
    return value.strip()


class _RestTrigger(ABC):
    """Shared plumbing: URL joining, auth, and turning every failure into OrchestratorError."""

    name: str = ""
    _states: ClassVar[dict[str, JobStateName]] = {}

    def __init__(
        self,
        base_url: str,
        client: httpx.Client | None,
        bearer_token: str | None,
        timeout: float,
        basic: tuple[str, str] | None = None,
    ) -> None:
        try:
            url = httpx.URL(_require("base_url", base_url))
        except httpx.InvalidURL as exc:
            raise ValueError(f"invalid {self.name} URL: {exc}") from exc
        if url.scheme not in ("http", "https"):
            raise ValueError(f"{self.name} URL must start with http:// or https://")
        self.base_url = str(url).rstrip("/")
        # Messages and UI links must never echo a user:password@ from the URL.
        self._shown = str(url.copy_with(username=None, password=None)).rstrip("/")
        self._secrets = [s for s in (bearer_token, url.password, basic and basic[1]) if s]
        self._headers = {"Accept": "application/json"}
        self._auth: httpx.BasicAuth | None = None
        if bearer_token:
            self._headers["Authorization"] = f"Bearer {bearer_token}"
        elif basic:
            self._auth = httpx.BasicAuth(*basic)
            self._secrets.append(base64.b64encode(":".join(basic).encode()).decode())
        # Auth rides on each request rather than the client, so an injected client gets it too.
        self._client = client or httpx.Client(timeout=timeout, transport=DeadlineTransport())

    # Each backend fills these in.
    @abstractmethod
    def _submit_request(self, model: str, params: dict[str, str]) -> Request:
        """Return the method, path and body that start a run."""

    @abstractmethod
    def _status_path(self, external_id: str) -> str:
        """Return the path that describes one run."""

    @abstractmethod
    def _target(self, external_id: str | None) -> str:
        """Name what a 404 means is missing: the target, or one run of it."""

    @abstractmethod
    def _parse(self, data: dict[str, Any]) -> RemoteJob:
        """Turn the backend's run object into a RemoteJob."""

    def submit(self, model: str, params: dict[str, str]) -> RemoteJob:
        """Start one retraining run for `model` with `params`; return what the backend said."""
        return self._parse(self._call(*self._submit_request(model, params), self._target(None)))

    def status(self, external_id: str) -> RemoteJob:
        """Fetch the current state of one run."""
        path = self._status_path(_require("external_id", external_id))
        return self._parse(self._call("GET", path, None, self._target(external_id)))

    def describe(self, model: str, params: dict[str, str]) -> str:
        """Return the request submit would send (method, URL, JSON body); send nothing."""
        method, path, body = self._submit_request(model, params)
        lines = [f"{method} {self._shown}{path}"]
        if self._auth or "Authorization" in self._headers:
            lines.append(f"Authorization: {'Basic' if self._auth else 'Bearer'} ***")
        return "\n".join([*lines, json.dumps(body, indent=2)])

    def _scrub(self, text: str) -> str:
        """Mask our credentials in text the far side sent, should it echo them back."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _call(self, method: str, path: str, body: dict[str, Any] | None, what: str) -> dict:
        """Send one request; return its JSON object or raise a message that says what to do."""
        where = f"{self.name} at {self._shown}"
        extra: dict[str, Any] = {"auth": self._auth} if self._auth else {}
        try:
            resp = self._client.request(
                method, self.base_url + path, json=body, headers=self._headers, **extra
            )
        except httpx.TransportError as exc:  # refused, DNS, TLS, timeouts
            reason = self._scrub(str(exc)) or type(exc).__name__
            if isinstance(exc, httpx.TimeoutException):
                reason = f"timed out ({type(exc).__name__})"
            raise OrchestratorError(
                f"cannot reach {where}: {reason}; check OPSLOOP_RETRAIN_URL"
            ) from exc
        code, text = resp.status_code, _excerpt(self._scrub(resp.text)) or "(empty body)"
        if code in (401, 403):
            raise OrchestratorError(
                f"{where} rejected the credentials (HTTP {code}); "
                f"check the {self.name} username/password or bearer token"
            )
        if 300 <= code < 400:
            # Kubeflow behind Dex or oauth2-proxy redirects anonymous API calls to a login page.
            to = self._scrub(resp.headers.get("location", "?"))
            raise OrchestratorError(
                f"{where} redirected {method} {path} to {to} "
                f"(HTTP {code}), probably a login page; check the credentials and the URL"
            )
        if code == 404:
            raise OrchestratorError(f"{where} has no {what} (HTTP 404); check the name and the URL")
        if code >= 400:
            raise OrchestratorError(f"{where} answered HTTP {code} to {method} {path}: {text}")
        try:
            data = resp.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise OrchestratorError(f"{where} answered {method} {path} with no JSON object: {text}")
        return data

    def _need(self, data: dict[str, Any], *keys: str) -> str:
        """Return the value at data[k1][k2]...; raise naming the missing field."""
        node: Any = data
        for key in keys:
            node = node.get(key) if isinstance(node, dict) else None
        if node is None or node == "":
            keys_seen = self._scrub(", ".join(sorted(data))) or "none"
            raise OrchestratorError(
                f"{self.name} response has no '{'.'.join(keys)}' (top-level keys: {keys_seen})"
            )
        return str(node)

    def _job(self, external_id: str, raw: str, url: str, detail: str = "") -> RemoteJob:
        # No word yet means not started; an unknown word is likely a newer in-progress state.
        state = self._states.get(raw, "running") if raw else "queued"
        return RemoteJob(self.name, external_id, state, raw, url, detail)


class AirflowTrigger(_RestTrigger):
    """Trigger DAG runs through the Airflow 2 stable REST API."""

    name = "airflow"
    _states = _AIRFLOW_STATES

    def __init__(
        self,
        base_url: str,
        dag_id: str,
        *,
        client: httpx.Client | None = None,
        username: str | None = None,
        password: str | None = None,
        bearer_token: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        # Empty strings (an env var set to "") count as unset.
        if bool(username) != bool(password):
            raise ValueError("airflow basic auth needs both username and password")
        if bearer_token and username:
            raise ValueError("give airflow either username/password or a bearer token, not both")
        basic = (username, password) if username and password else None
        super().__init__(base_url, client, bearer_token, timeout, basic)
        self.dag_id = _require("dag_id", dag_id)

    def _submit_request(self, model: str, params: dict[str, str]) -> Request:
        stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
        body = {
            "dag_run_id": f"opsloop-{_slug(model)}-{stamp}",
            "conf": {"model": model, **params},
            "note": "triggered by opsloop",
        }
        return "POST", f"/api/v1/dags/{_seg(self.dag_id)}/dagRuns", body

    def _status_path(self, external_id: str) -> str:
        return f"/api/v1/dags/{_seg(self.dag_id)}/dagRuns/{_seg(external_id)}"

    def _target(self, external_id: str | None) -> str:
        run = f"run '{external_id}' of " if external_id else ""
        return f"{run}DAG '{self.dag_id}'"

    def _parse(self, data: dict[str, Any]) -> RemoteJob:
        run_id, raw = self._need(data, "dag_run_id"), self._need(data, "state")
        url = f"{self._shown}/dags/{_seg(self.dag_id)}/grid?dag_run_id={_seg(run_id)}"
        return self._job(run_id, raw, url)


class ArgoTrigger(_RestTrigger):
    """Submit Workflows from a WorkflowTemplate through the Argo Workflows server."""

    name = "argo"
    _states = _ARGO_STATES

    def __init__(
        self,
        base_url: str,
        namespace: str,
        template: str,
        *,
        client: httpx.Client | None = None,
        bearer_token: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        super().__init__(base_url, client, bearer_token, timeout)
        self.namespace = _require("namespace", namespace)
        self.template = _require("template", template)

    def _submit_request(self, model: str, params: dict[str, str]) -> Request:
        body = {
            "namespace": self.namespace,
            "resourceKind": "WorkflowTemplate",
            "resourceName": self.template,
            "submitOptions": {
                "generateName": f"{self.template}-",
                "parameters": [f"{k}={v}" for k, v in {"model": model, **params}.items()],
                "labels": f"opsloop.io/model={_slug(model)}",
            },
        }
        return "POST", f"/api/v1/workflows/{_seg(self.namespace)}/submit", body

    def _status_path(self, external_id: str) -> str:
        return f"/api/v1/workflows/{_seg(self.namespace)}/{_seg(external_id)}"

    def _target(self, external_id: str | None) -> str:
        what = f"workflow '{external_id}'" if external_id else f"WorkflowTemplate '{self.template}'"
        return f"{what} in namespace '{self.namespace}'"

    def _parse(self, data: dict[str, Any]) -> RemoteJob:
        name = self._need(data, "metadata", "name")
        status = data.get("status") if isinstance(data.get("status"), dict) else {}
        url = f"{self._shown}/workflows/{_seg(self.namespace)}/{_seg(name)}"
        # Right after submit the controller has not set a phase yet: _job reads that as queued.
        return self._job(
            name, str(status.get("phase") or ""), url, str(status.get("message") or "")
        )


class KubeflowTrigger(_RestTrigger):
    """Create pipeline runs through the Kubeflow Pipelines v2beta1 API."""

    name = "kubeflow"
    _states = _KUBEFLOW_STATES

    def __init__(
        self,
        base_url: str,
        pipeline_id: str,
        pipeline_version_id: str | None = None,
        *,
        experiment_id: str | None = None,
        client: httpx.Client | None = None,
        bearer_token: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        super().__init__(base_url, client, bearer_token, timeout)
        self.pipeline_id = _require("pipeline_id", pipeline_id)
        self.pipeline_version_id = pipeline_version_id or None
        self.experiment_id = experiment_id or None

    def _submit_request(self, model: str, params: dict[str, str]) -> Request:
        ref = {"pipeline_id": self.pipeline_id}
        if self.pipeline_version_id:
            ref["pipeline_version_id"] = self.pipeline_version_id
        body: dict[str, Any] = {
            "display_name": f"opsloop retrain {model} {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}",
            "pipeline_version_reference": ref,
            "runtime_config": {"parameters": {"model": model, **params}},
        }
        if self.experiment_id:
            body["experiment_id"] = self.experiment_id
        return "POST", "/apis/v2beta1/runs", body

    def _status_path(self, external_id: str) -> str:
        return f"/apis/v2beta1/runs/{_seg(external_id)}"

    def _target(self, external_id: str | None) -> str:
        if external_id:
            return f"run '{external_id}'"
        version = f" version '{self.pipeline_version_id}'" if self.pipeline_version_id else ""
        return f"pipeline '{self.pipeline_id}'{version}"

    def _parse(self, data: dict[str, Any]) -> RemoteJob:
        run_id = self._need(data, "run_id")
        error = data.get("error") if isinstance(data.get("error"), dict) else {}
        url = f"{self._shown}/#/runs/details/{_seg(run_id)}"
        return self._job(run_id, str(data.get("state") or ""), url, str(error.get("message") or ""))


def make_orchestrator(
    kind: str,
    url: str,
    target: str,
    *,
    namespace: str = "default",
    username: str | None = None,
    password: str | None = None,
    bearer_token: str | None = None,
    client: httpx.Client | None = None,
) -> Orchestrator:
    """Build the adapter for `kind`; `target` is the DAG, WorkflowTemplate or pipeline id."""
    key = kind.strip().lower()
    if key not in _KINDS:
        raise ValueError(f"unknown orchestrator kind {kind!r}; use one of: {', '.join(_KINDS)}")
    if key == "airflow":
        auth = {"username": username, "password": password, "bearer_token": bearer_token}
        return AirflowTrigger(url, target, client=client, **auth)
    # Dropping a password silently would only surface later as a puzzling 401.
    if username or password:
        raise ValueError(f"{key} takes a bearer token, not username/password")
    if key == "argo":
        return ArgoTrigger(url, namespace, target, client=client, bearer_token=bearer_token)
    pipeline_id, _, version_id = target.partition(":")
    return KubeflowTrigger(
        url, pipeline_id, version_id or None, client=client, bearer_token=bearer_token
    )
