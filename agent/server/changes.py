"""`POST /changes`: CI/CD systems report deploys and config pushes to the shared change log."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from opsloop.agent.server.app import Reject, guard, read_body
from opsloop.agent.server.auth import WebhookAuth
from opsloop.agent.server.change_events import ChangeError, parse_change
from opsloop.tools.backends.changelog import ChangeLog

log = logging.getLogger("opsloop.server")
HINT = (
    'send {"service": "...", "kind": "deploy", "summary": "...", "author": "...", '
    '"revision": "..."}, an Argo CD notification or a GitHub deployment_status (docs/changes.md)'
)


def github_signed(body: bytes, signature: str, secret: str) -> bool:
    """Return True when `X-Hub-Signature-256` is the body's HMAC-SHA256 under `secret`."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.strip())


def changes_routes(changelog: ChangeLog, auth: WebhookAuth, max_body_bytes: int) -> list[Route]:
    """Return the `/changes` route, authenticated like the alert endpoints."""

    async def changes(request: Request) -> Response:
        body = await read_body(request, max_body_bytes)
        signature = request.headers.get("x-hub-signature-256")
        if not (
            auth.allows(request.headers.get("authorization"))
            or (signature and auth.token and github_signed(body, signature, auth.token))
        ):
            raise Reject(
                401, "unauthorized", f"missing or wrong credentials: send {auth.expected()}"
                " (GitHub: set the webhook secret to the token)",
                {"WWW-Authenticate": auth.challenge()},
            )  # fmt: skip
        try:
            payload = json.loads(body) if body.strip() else None
        except (ValueError, RecursionError) as exc:
            raise Reject(400, "bad_json", f"the body is not valid JSON ({exc}): {HINT}") from None
        try:
            event = parse_change(payload, request.headers.get("x-github-event"))
        except ChangeError as exc:
            raise Reject(400, "bad_payload", f"invalid change: {exc}; {HINT}") from None
        if event is None:
            return JSONResponse({"status": "ignored", "reason": "not a final deployment state"})
        change_id = await run_in_threadpool(changelog.record, event)
        if change_id is None:
            return JSONResponse({"status": "duplicate", "key": event.key})
        log.info("change %s: %s %s by %s", change_id, event.kind, event.target, event.who)
        body_out = {"status": "recorded", "id": change_id, "target": event.target,
                    "kind": event.kind, "at": event.when}  # fmt: skip
        return JSONResponse(body_out, 201)

    return [Route("/changes", guard(changes), methods=["POST"])]
