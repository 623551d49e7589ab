"""Talk to a configured `opsloop serve` with the user's personal token."""

from __future__ import annotations

from typing import Any

import httpx

from opsloop.agent.cli.common import fail
from opsloop.agent.config import Settings


def approve_remote(
    settings: Settings, thread_id: str, approved: bool, reason: str
) -> dict[str, Any]:
    """Send a decision to `POST {server_url}/approvals/{thread}`; return the thread's result."""
    if settings.token is None:
        raise fail(
            f"OPSLOOP_SERVER_URL is {settings.server_url}, but OPSLOOP_TOKEN (your personal "
            "token, from `opsloop token new NAME` on the server's side) is not set"
        )
    url = f"{str(settings.server_url).rstrip('/')}/approvals/{thread_id}"
    body = {"decision": "approve" if approved else "reject", "reason": reason}
    headers = {"Authorization": f"Bearer {settings.token.get_secret_value()}"}
    try:
        # Generous: an approved rollback or retrain runs before the server answers.
        response = httpx.post(url, json=body, headers=headers, timeout=settings.turn_deadline_s)
    except httpx.HTTPError as exc:
        raise fail(f"cannot reach {settings.server_url} ({exc}); is `opsloop serve` up?") from None
    try:
        data = response.json()
    except ValueError:
        data = {}
    if response.status_code != 200:
        error = data.get("error") if isinstance(data, dict) else None
        said = error or response.text[:300]
        raise fail(f"{settings.server_url} refused ({response.status_code}): {said}")
    return data["result"]
