"""`POST /alerts/pagerduty`: PagerDuty V3 webhook subscriptions, signed with HMAC-SHA256."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from opsloop.agent.rca.alerts import AlertError
from opsloop.agent.rca.pagerduty import STATUS_OF, PagerDutyEvent, parse_pagerduty
from opsloop.agent.server.app import Reject, guard, read_body, store_notification

HINT = 'send the JSON body a PagerDuty V3 webhook subscription posts ({"event": {...}})'
SIGNATURE = "x-pagerduty-signature"
SECRETS_SETTING = "OPSLOOP_PAGERDUTY_WEBHOOK_SECRETS"
UNSIGNED = "PagerDuty V3 webhook subscriptions sign every delivery; is this one from PagerDuty?"
WRONG = f"check that {SECRETS_SETTING} holds the subscription's signing secret"


def webhook_secrets(settings: Any) -> list[str]:
    """Return the configured signing secrets (comma-separated: old and new while rotating)."""
    value = getattr(settings, "pagerduty_webhook_secrets", None)
    text = value.get_secret_value() if hasattr(value, "get_secret_value") else value or ""
    return [s.strip() for s in str(text).split(",") if s.strip()]


def signed(body: bytes, header: str | None, secrets: list[str]) -> bool:
    """Return True when any `v1=` signature in the header is the body's HMAC under any secret.

    PagerDuty signs with every active secret of the subscription and joins the results with
    commas, so during a rotation one of several signatures matches one of several secrets.
    """
    given = [
        part.strip()[3:].lower().encode("ascii", "replace")
        for part in (header or "").split(",")
        if part.strip().startswith("v1=")
    ]
    expected = [hmac.new(s.encode(), body, hashlib.sha256).hexdigest().encode() for s in secrets]
    # Every pair compared, no early exit: timing tells nothing about which one matched.
    matches = [hmac.compare_digest(g, e) for g in given for e in expected]
    return any(matches)


def pagerduty_routes(settings: Any, max_body_bytes: int) -> list[Route]:
    """Return `POST /alerts/pagerduty`; it refuses everything until a secret is configured."""
    secrets = webhook_secrets(settings)
    service_label = getattr(settings, "service_label", "service")

    async def pagerduty(request: Request) -> Response:
        metrics = request.app.state.metrics
        try:
            if not secrets:
                # Fail closed: an unsigned endpoint would let anyone open incidents. 503, so
                # PagerDuty retries the events (for about 20 minutes) once it is set.
                raise Reject(
                    503, "not_configured", f"PagerDuty intake is off: set {SECRETS_SETTING} to"
                    " the webhook subscription's signing secret and restart opsloop serve",
                )  # fmt: skip
            body = await read_body(request, max_body_bytes)
            header = request.headers.get(SIGNATURE)
            if not header:
                raise Reject(401, "unauthorized", f"missing X-PagerDuty-Signature: {UNSIGNED}")
            if not signed(body, header, secrets):
                raise Reject(401, "unauthorized", f"no X-PagerDuty-Signature matches: {WRONG}")
            event = _parse(body, service_label)
        except Reject as exc:
            metrics.rejected.labels(exc.reason).inc()
            raise
        if event.notification is None:
            handled = ", ".join(STATUS_OF)
            return JSONResponse({"status": "ignored", "event_type": event.event_type,
                                 "reason": f"opsloop acts on {handled} only"})  # fmt: skip
        return await store_notification(request.app, event.notification, body)

    return [Route("/alerts/pagerduty", guard(pagerduty), methods=["POST"])]


def _parse(body: bytes, service_label: str) -> PagerDutyEvent:
    if not body.strip():
        raise Reject(400, "bad_json", f"the body is empty: {HINT}")
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise Reject(400, "bad_json", f"the body is not valid JSON ({exc}): {HINT}") from None
    try:
        return parse_pagerduty(payload, service_label)
    except AlertError as exc:
        raise Reject(400, "bad_payload", f"invalid PagerDuty event: {exc}; {HINT}") from None
    except (TypeError, ValueError, RecursionError) as exc:
        raise Reject(400, "bad_payload", f"cannot read the event ({exc}); {HINT}") from None
