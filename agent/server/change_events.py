"""Change events posted by CI/CD systems, read into ChangeEvents.

Three shapes are accepted on `POST /changes` (docs/changes.md):

- generic JSON: `{"service": "checkout", "kind": "deploy", "summary": "...", "author": "...",
  "revision": "...", "at": "2024-05-01T12:00:00Z", "id": "..."}` (`service` or `target`
  required; `kind` deploy by default; `at` ISO-8601 or Unix seconds, now by default);
- an Argo CD notification whose body carries the Application (`{"app": {{toJson .app}}}`) or
  its name (`{"app": "checkout", "revision": "...", "author": "..."}`);
- a GitHub `deployment_status` webhook (header `X-GitHub-Event: deployment_status`): a final
  state (success, failure, error) is a deploy of `deployment.payload.service`, else of the
  repository's name; queued and in-progress states are acknowledged and not recorded.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from opsloop.tools.backends.changelog import ChangeEvent

KINDS = ("deploy", "config", "scale", "feature_flag", "alias_move", "model_version", "infra")
FINAL_GITHUB_STATES = ("success", "failure", "error")


class ChangeError(ValueError):
    """The body is no change event opsloop can read; the message says what to send."""


def parse_change(payload: Any, github_event: str | None = None) -> ChangeEvent | None:
    """Return the event a payload describes, or None for a state that is not a change yet."""
    if not isinstance(payload, dict):
        raise ChangeError("the body must be a JSON object")
    if github_event or "deployment_status" in payload:
        if github_event not in (None, "deployment_status"):
            raise ChangeError(f"GitHub event {github_event!r} is not read: send deployment_status")
        return _github(payload)
    if "app" in payload and not (payload.get("service") or payload.get("target")):
        return _argocd(payload)
    return _generic(payload)


def _generic(p: dict[str, Any]) -> ChangeEvent:
    target = _text(p.get("service") or p.get("target"))
    if not target:
        raise ChangeError('name what changed: "service" (or "target") is required')
    kind = _text(p.get("kind")) or "deploy"
    if kind not in KINDS:
        raise ChangeError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    who = _text(p.get("author") or p.get("who") or p.get("user")) or "unknown"
    revision = _text(p.get("revision") or p.get("version"))
    summary = _text(p.get("summary") or p.get("description")) or f"{kind} of {target}"
    detail = {k: p[k] for k in ("environment", "url", "pipeline") if p.get(k)}
    source = _text(p.get("source")) or "webhook"
    return _event(_time(p.get("at") or p.get("time")), who, kind, target, summary, revision,
                  detail, source, _text(p.get("id")))  # fmt: skip


def _argocd(p: dict[str, Any]) -> ChangeEvent:
    app = p["app"]
    if isinstance(app, dict):
        meta, status = app.get("metadata") or {}, app.get("status") or {}
        name = _text(meta.get("name"))
        op = status.get("operationState") or {}
        revision = _text(p.get("revision") or (status.get("sync") or {}).get("revision"))
        who = _text(((op.get("operation") or {}).get("initiatedBy") or {}).get("username"))
        at = op.get("finishedAt") or op.get("startedAt")
        phase = _text(op.get("phase"))
        namespace = _text((app.get("spec") or {}).get("destination", {}).get("namespace"))
    else:
        name, revision, who, at = _text(app), _text(p.get("revision")), "", None
        phase, namespace = _text(p.get("phase") or p.get("status")), ""
    if not name:
        raise ChangeError('the Argo CD body names no application: send {"app": {{toJson .app}}}')
    who = _text(p.get("author")) or who or "argocd"
    state = f" ({phase})" if phase and phase != "Succeeded" else ""
    summary = f"Argo CD synced {name}{' to ' + revision[:12] if revision else ''}{state}"
    detail = {"namespace": namespace, "phase": phase} if namespace or phase else {}
    key = f"argocd:{name}:{revision}:{at}" if revision or at else None
    return _event(_time(p.get("at") or at), who, "deploy", name, summary, revision, detail,
                  "argocd", key)  # fmt: skip


def _github(p: dict[str, Any]) -> ChangeEvent | None:
    status, deployment = p.get("deployment_status") or {}, p.get("deployment") or {}
    state = _text(status.get("state"))
    if not state:
        raise ChangeError("a deployment_status payload needs deployment_status.state")
    if state not in FINAL_GITHUB_STATES:
        return None
    repo = p.get("repository") or {}
    extra = deployment.get("payload") if isinstance(deployment.get("payload"), dict) else {}
    target = _text(extra.get("service") or repo.get("name"))
    if not target:
        raise ChangeError("the deployment names no service (payload.service) and no repository")
    who = _text((status.get("creator") or deployment.get("creator") or {}).get("login"))
    sha = _text(deployment.get("sha"))
    env = _text(status.get("environment") or deployment.get("environment"))
    outcome = "" if state == "success" else f" ({state})"
    summary = f"GitHub deployment of {repo.get('full_name') or target}"
    summary += f" {sha[:12]}" if sha else ""
    summary += f" to {env}{outcome}" if env else outcome
    detail = {"environment": env, "state": state, "url": _text(status.get("target_url"))}
    key = f"github:{repo.get('full_name')}:{deployment.get('id')}:{status.get('id')}"
    at = status.get("updated_at") or status.get("created_at")
    return _event(_time(at), who or "unknown", "deploy", target, summary, sha[:12],
                  {k: v for k, v in detail.items() if v}, "github", key)  # fmt: skip


def _event(
    at: float,
    who: str,
    kind: str,
    target: str,
    summary: str,
    revision: str,
    detail: dict[str, Any],
    source: str,
    key: str | None,
) -> ChangeEvent:
    if revision:
        detail = {**detail, "revision": revision}
    return ChangeEvent(at, who, kind, target, summary[:300], detail, source, key)


def _time(value: Any) -> float:
    if value in (None, ""):
        return time.time()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) / (1000 if value > 1e11 else 1)  # milliseconds too
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ChangeError(f"time {value!r} is neither ISO-8601 nor Unix seconds") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else "" if value is None else str(value)
