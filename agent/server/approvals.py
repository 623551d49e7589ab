"""`/approvals/{thread}`: decide a paused write over HTTP, as the person whose token it is.

The caller's identity is their personal token ([people.NAME] in the config holds its hash),
never a name in the body; the decision then goes through the same policy check and the same
one-time claim as Slack and the CLI, and the audit log names the person.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from opsloop.agent.approvals.decide import DecisionError, decide, pending_request
from opsloop.agent.approvals.people import People
from opsloop.agent.server.app import Reject, guard, read_body

MAX_BODY = 16_384
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="opsloop"'}


def approval_routes(assistant: Any, people: People) -> list[Route]:
    """Return `GET` (the pending request) and `POST` (a decision) on `/approvals/{thread}`."""

    def person(request: Request) -> str:
        if not people:
            raise Reject(
                403, "not_configured",
                "approvals over HTTP are off: no [people.NAME] tokens are configured "
                "(`opsloop token new NAME` prints one and its config line)",
            )  # fmt: skip
        who = people.who(request.headers.get("authorization"))
        if who is None:
            raise Reject(
                401, "unauthorized",
                "missing or wrong personal token: send Authorization: Bearer <your token>",
                CHALLENGE,
            )  # fmt: skip
        return who

    async def show(request: Request) -> Response:
        person(request)
        thread = request.path_params["thread_id"]
        try:
            _id, pending = await run_in_threadpool(pending_request, assistant, thread)
        except DecisionError as exc:
            raise Reject(exc.status, "not_pending", exc.message) from None
        return JSONResponse({"thread_id": thread, "pending": pending})

    async def post(request: Request) -> Response:
        who = person(request)
        thread = request.path_params["thread_id"]
        approved, reason = _decision(await read_body(request, MAX_BODY))
        try:
            result = await run_in_threadpool(
                decide, assistant, thread, who, approved, reason, "http"
            )
        except DecisionError as exc:
            raise Reject(exc.status, "refused", exc.message) from None
        return JSONResponse(
            {"thread_id": thread, "by": who, "approved": approved, "result": result}
        )

    return [
        Route("/approvals/{thread_id}", guard(show), methods=["GET"]),
        Route("/approvals/{thread_id}", guard(post), methods=["POST"]),
    ]


def _decision(body: bytes) -> tuple[bool, str]:
    """Read `{"decision": "approve"|"reject", "reason": "..."}`."""
    hint = 'send {"decision": "approve" or "reject", "reason": "why"}'
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise Reject(400, "bad_json", f"the body is not valid JSON: {hint}") from None
    word = data.get("decision") if isinstance(data, dict) else None
    if word not in ("approve", "reject"):
        raise Reject(400, "bad_payload", f"decision must be approve or reject: {hint}")
    reason = data.get("reason") or ""
    if not isinstance(reason, str):
        raise Reject(400, "bad_payload", f"reason must be a string: {hint}")
    return word == "approve", reason[:2000]
