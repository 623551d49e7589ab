"""MCP over streamable HTTP, mounted at `/mcp` in `opsloop serve`, behind a token.

The read token or a personal token is required, whatever the other endpoints allow: the
tools read reports and logs, and ask for writes in the caller's name.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from opsloop.agent.mcp.server import build_server
from opsloop.agent.server.auth import ReadAuth

PATH = "/mcp"


class TokenGate:
    """An ASGI app that lets through only requests carrying the read or a personal token."""

    def __init__(self, inner: Any, auth: ReadAuth) -> None:
        self.inner, self.auth = inner, auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = self.refusal(Headers(scope=scope).get("authorization"))
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        if self.inner is None:  # the app's lifespan has not started the session manager
            await JSONResponse({"error": "MCP is starting; retry"}, 503)(scope, receive, send)
            return
        await self.inner(scope, receive, send)

    def refusal(self, header: str | None) -> JSONResponse | None:
        """Return the response refusing this header, or None to let it through."""
        if not self.auth.token and not self.auth.people:
            return JSONResponse(
                {"error": "MCP over HTTP is off: set OPSLOOP_READ_TOKEN or a [people.NAME] "
                 "token (`opsloop token new NAME`); `opsloop mcp serve` serves stdio"},
                403,
            )  # fmt: skip
        if self.auth.who(header) is None:
            return JSONResponse(
                {"error": "missing or wrong token: send Authorization: Bearer "
                 "<OPSLOOP_READ_TOKEN or your personal token>"},
                401,
                headers={"WWW-Authenticate": 'Bearer realm="opsloop"'},
            )  # fmt: skip
        return None


def mcp_http(
    assistant: Any, settings: Any, incidents: Callable[[], Any] | None = None
) -> tuple[list[Route], Callable[[], AbstractAsyncContextManager[None]]]:
    """Return the `/mcp` route and the session manager's lifespan (run it with the app).

    A session manager runs once; each lifespan (an app started again, as tests do) gets a
    fresh one.
    """
    server = build_server(assistant, incidents)
    gate = TokenGate(None, ReadAuth(settings))

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        manager = StreamableHTTPSessionManager(app=server)
        gate.inner = StreamableHTTPASGIApp(manager)
        async with manager.run():
            yield

    return [Route(PATH, endpoint=gate)], lifespan
