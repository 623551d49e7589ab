"""A synchronous handle on one MCP server: its session lives in a thread with its own loop.

The SDK is async (anyio); opsloop's tools are called from worker threads. Each connection
runs an asyncio loop in a daemon thread holding the `Client` open; calls are handed to that
loop and waited for with a timeout. A server that dies is noticed once and stays down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
import warnings
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any, TextIO

import mcp_types as types
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPDeprecationWarning

from opsloop import __version__
from opsloop.agent.mcp.config import McpServerSpec

log = logging.getLogger(__name__)


class ServerDown(RuntimeError):
    """The MCP server could not start, or has stopped."""


class McpConnection:
    """One started MCP server: `tools` once connected, `call()` from any thread."""

    def __init__(
        self,
        spec: McpServerSpec,
        on_down: Callable[[str], None] | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.spec = spec
        # A started server's stderr goes here (not into opsloop's own output, nor a pipe
        # nobody reads, which would block the server once full).
        self.log_path = log_path
        self.tools: list[types.Tool] = []
        self.error: str | None = None
        self.on_down = on_down
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[Any] | None = None
        self._client: Client | None = None
        self._reported = False
        self._lock = threading.Lock()  # the call and the session thread may both see a death
        self._thread = threading.Thread(target=self._main, name=f"mcp-{spec.name}", daemon=True)

    @property
    def alive(self) -> bool:
        """Return True while the session is open."""
        return self._client is not None and self.error is None

    def start(self) -> McpConnection:
        """Connect and list the tools; on failure `error` says why (reported once)."""
        self._thread.start()
        if not self._ready.wait(self.spec.start_timeout_s):
            self._down(f"did not start within {self.spec.start_timeout_s:g}s")
            self.close()
        return self

    def call(self, name: str, args: dict[str, Any], timeout_s: float) -> types.CallToolResult:
        """Call one tool; raise ServerDown or TimeoutError."""
        if not self.alive or self._client is None:
            raise ServerDown(f"MCP server {self.spec.name} is down: {self.error}")
        client = self._client
        future = asyncio.run_coroutine_threadsafe(
            client.call_tool(name, args, read_timeout_seconds=timeout_s), self._loop
        )
        try:
            return future.result(timeout_s + 1.0)
        except FutureTimeout:
            future.cancel()
            why = f"{self.spec.name}.{name} did not answer in {timeout_s:g}s"
            raise TimeoutError(why) from None
        except Exception as exc:
            if "Connection closed" in str(exc):  # the process died under this call
                self._down("the server closed the connection")
            if not self._thread.is_alive() or self.error:
                raise ServerDown(f"MCP server {self.spec.name} is down: {self.error}") from None
            raise RuntimeError(f"{type(exc).__name__}: {exc}") from None

    def close(self) -> None:
        """End the session and stop the server process (idempotent)."""
        stop, task = self._stop, self._task
        if self._loop.is_running():
            if self._client is not None and stop is not None:
                self._loop.call_soon_threadsafe(stop.set)
            elif task is not None:  # still connecting: cancel, which stops the process too
                self._loop.call_soon_threadsafe(task.cancel)
        if self._thread.is_alive():
            self._thread.join(10.0)

    def _main(self) -> None:
        try:
            self._loop.run_until_complete(self._session())
        except BaseException as exc:  # the session ended: say why once
            self._down(_describe(exc))
        else:
            if self._stop is None or not self._stop.is_set():
                self._down("the session ended")
        finally:
            self._ready.set()
            self._client = None

    async def _session(self) -> None:
        self._stop = asyncio.Event()
        self._task = asyncio.current_task()
        async with contextlib.AsyncExitStack() as stack:
            errlog = (
                stack.enter_context(self.log_path.open("a"))
                if self.log_path and self.spec.command
                else sys.stderr
            )
            await self._serve(_transport(self.spec, errlog))

    async def _serve(self, transport: Any) -> None:
        info = types.Implementation(name="opsloop", version=__version__)
        async with Client(
            transport,
            client_info=info,
            read_timeout_seconds=self.spec.start_timeout_s,  # each call passes its own
            mode="legacy",  # the handshake every server version speaks
        ) as client:
            listed = await asyncio.wait_for(client.list_tools(), self.spec.start_timeout_s)
            self.tools = list(listed.tools)
            self._client = client
            self._ready.set()
            watch = asyncio.ensure_future(self._stop.wait())
            done = asyncio.ensure_future(_closed(client))
            await asyncio.wait({watch, done}, return_when=asyncio.FIRST_COMPLETED)
            for task in (watch, done):
                task.cancel()
            if not self._stop.is_set():
                raise ServerDown("the server closed the connection")

    def _down(self, why: str) -> None:
        if self.log_path and self.spec.command and not self._reported:
            why += f" (its stderr: {self.log_path})"
        with self._lock:
            self.error = self.error or why
            first, self._reported = not self._reported, True
        if first:
            log.warning("MCP server %s: %s; its tools are dropped", self.spec.name, self.error)
            if self.on_down is not None:
                self.on_down(self.error)


async def _closed(client: Client) -> None:
    """Return when the server stops answering pings (it died, or closed its pipes)."""
    while True:
        await asyncio.sleep(2.0)
        try:
            with warnings.catch_warnings():  # ping is deprecated on 2026 sessions, not ours
                warnings.simplefilter("ignore", MCPDeprecationWarning)
                await asyncio.wait_for(client.send_ping(), 10.0)
        except Exception:
            return


def _transport(spec: McpServerSpec, errlog: TextIO) -> Any:
    if spec.command:
        # The SDK passes only a safe base environment (PATH, HOME…): opsloop's own secrets
        # never reach another server's process unless its entry names them.
        params = StdioServerParameters(command=spec.command, args=spec.args, env=spec.env or None)
        return stdio_client(params, errlog=errlog)
    assert spec.url is not None
    http = create_mcp_http_client(headers=spec.headers or None)
    return streamable_http_client(spec.url, http_client=http)


def _describe(exc: BaseException) -> str:
    """Return one line for an exception, looking inside anyio's exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc).splitlines()[0] if str(exc) else ""
    if text == "Connection closed":  # the process exited (or closed stdout)
        return "the server closed the connection"
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__
