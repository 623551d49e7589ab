"""The Slack app on slack-bolt: mentions, DMs and `/opsloop` answered in threads.

HTTP mode verifies Slack's request signatures (signing secret) and is mounted on
`opsloop serve` at `/slack/events`; Socket Mode connects out with an app token instead.
Long work is acknowledged at once (Slack wants an answer within 3 s) with a placeholder
message that is updated in place as the graph runs, then replaced by the answer.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from opsloop.agent.slack import blocks
from opsloop.agent.slack.actions import register_actions
from opsloop.agent.slack.store import SlackStore

log = logging.getLogger("opsloop.agent.slack")
_MENTION = re.compile(r"<@[UW][A-Z0-9]+>")
PROGRESS_EVERY_S = 1.5  # chat.update is rate-limited (about 50 a minute per workspace)
MAX_BODY_BYTES = 1_048_576
HELP = (
    "*opsloop* answers on-call questions from your Prometheus, logs and MLflow registry.\n"
    "• mention me or DM me: _what is the error ratio of checkout?_, "
    "_roll back fraud-detector to version 3_\n"
    "• `/opsloop QUESTION`: the same, as a slash command\n"
    "• `/opsloop incidents`: incidents opened from alerts\n"
    "Write actions wait for Approve / Reject from someone with the role in the approval policy."
)


class SlackError(RuntimeError):
    """Slack is configured wrongly (missing token or secret)."""


def _secret(value: Any) -> str:
    if value is None:
        return ""
    return value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)


class ThreadLock:
    """A mutex that can be weakly referenced (a bare `threading.Lock` cannot)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __enter__(self) -> ThreadLock:
        self._lock.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()

    def locked(self) -> bool:
        """Return True while someone holds it."""
        return self._lock.locked()


class SlackOps:
    """opsloop's Slack side: the Bolt app, its handlers and where they post."""

    def __init__(self, settings: Any, assistant: Any, store: SlackStore, incidents: Any = None):
        token = _secret(settings.slack_bot_token)
        if not token:
            raise SlackError("OPSLOOP_SLACK_BOT_TOKEN is unset: Slack needs the bot token (xoxb-…)")
        self.settings, self.assistant, self.store, self.incidents = (
            settings,
            assistant,
            store,
            incidents,
        )
        self.client = WebClient(token=token, base_url=settings.slack_api_url, timeout=15)
        self.app = App(
            token=token,
            client=self.client,
            signing_secret=_secret(settings.slack_signing_secret),
            # Offline start: the token is checked on the first request, not at import.
            token_verification_enabled=False,
            logger=log,
        )
        # Weak values: a thread's lock lives while someone holds or waits for it, so the table
        # stays as small as the turns in flight instead of growing with every thread ever seen.
        self._locks: weakref.WeakValueDictionary[str, ThreadLock] = weakref.WeakValueDictionary()
        self._locks_guard = threading.Lock()
        self.app.middleware(self._drop_retries)
        self.app.event("app_mention")(self._on_mention)
        self.app.event("message")(self._on_message)
        self.app.command("/opsloop")(self._on_command)
        register_actions(self)

    # -- plumbing -----------------------------------------------------------------------------

    def lock(self, thread: str) -> ThreadLock:
        """Return the lock that serialises decisions and turns on one graph thread."""
        with self._locks_guard:
            lock = self._locks.get(thread)
            if lock is None:
                lock = self._locks[thread] = ThreadLock()
            return lock

    def report_renderer(self, thread: str, message_ts: str) -> Callable[[dict], list]:
        """Return how to re-render a message: as its incident's report (kept) or an answer."""
        posted = self.store.report(thread)
        if posted is None or posted.ts != message_ts:
            return blocks.answer_blocks

        def render(result: dict[str, Any]) -> list[dict[str, Any]]:
            self.store.save_report(thread, posted.channel, posted.ts, posted.status, result)
            return blocks.report_blocks(result, posted.status)

        return render

    def routes(self) -> list[Route]:
        """Return the HTTP-mode endpoint, `POST /slack/events`."""
        if not _secret(self.settings.slack_signing_secret):
            raise SlackError(
                "OPSLOOP_SLACK_SIGNING_SECRET is unset: HTTP mode cannot verify Slack's requests"
            )

        async def slack_events(request: Request) -> Response:
            body = await request.body()
            if len(body) > MAX_BODY_BYTES:
                return Response("payload too large", status_code=413)
            # Bolt's dispatch blocks until the listener acks: keep it off the event loop.
            resp = await run_in_threadpool(self.app.dispatch, to_bolt_request(request, body))
            return to_starlette_response(resp)

        return [Route("/slack/events", slack_events, methods=["POST"])]

    def socket_mode(self) -> Any:
        """Return a Socket Mode handler (call `.connect()` to start, `.close()` to stop)."""
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        app_token = _secret(self.settings.slack_app_token)
        if not app_token:
            raise SlackError("OPSLOOP_SLACK_APP_TOKEN is unset: Socket Mode needs an xapp- token")
        return SocketModeHandler(self.app, app_token, web_client=self.client)

    def _drop_retries(self, body: dict[str, Any], next: Any) -> BoltResponse | None:
        """Answer a retried event (same event id) with 200 and do nothing else."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not self.store.first_time(str(event_id)):
            log.info("slack event %s was handled already (a retry): skipped", event_id)
            return BoltResponse(status=200, body="")
        return next()

    # -- conversations ------------------------------------------------------------------------

    def _on_mention(self, event: dict[str, Any]) -> None:
        thread_ts = event.get("thread_ts") or event["ts"]
        self.converse(event["channel"], thread_ts, event.get("user", ""), event.get("text", ""))

    def _on_message(self, event: dict[str, Any]) -> None:
        # Channel messages arrive as app_mention too; answer only direct messages here.
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return
        thread_ts = event.get("thread_ts") or event["ts"]
        self.converse(event["channel"], thread_ts, event.get("user", ""), event.get("text", ""))

    def _on_command(self, ack: Any, command: dict[str, Any], respond: Any) -> None:
        text = (command.get("text") or "").strip()
        if text in ("", "help"):
            ack(text=HELP)
            return
        if text.split()[0] == "incidents":
            ack(text=self.incidents_text())
            return
        ack(text=f":hourglass_flowing_sand: working on “{blocks.escape(text)[:200]}”…")
        channel, user = command["channel_id"], command.get("user_id", "")
        try:
            head = self.client.chat_postMessage(
                channel=channel, text=f"<@{user}> asked: {blocks.escape(text)[:300]}"
            )
        except SlackApiError as exc:  # e.g. not_in_channel: answer the person privately
            log.info("cannot post in %s (%s): answering by response_url", channel, exc)
            result = self.assistant.ask(text, thread_id=None, user=user)
            respond(text=blocks.fallback_text(result), blocks=blocks.answer_blocks(result))
            return
        self.converse(channel, head["ts"], user, text)

    def converse(self, channel: str, thread_ts: str, user: str, text: str) -> None:
        """Answer `text` in the Slack thread: placeholder first, updated, then the answer."""
        question = _MENTION.sub("", text).strip()
        if not question:
            self.client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=HELP)
            return
        thread = self.store.graph_thread(channel, thread_ts)
        placeholder = self.client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            text="Working on it…",
            blocks=blocks.working_blocks(question),
        )
        ts = placeholder["ts"]
        progress = _Progress(self.client, channel, ts, question)
        try:
            with self.lock(thread):
                result = self.assistant.ask(
                    question, thread_id=thread, user=user, on_step=progress.on_step
                )
        except Exception as exc:  # the person gets told; the server log has the traceback
            log.exception("answering %r in %s failed", question, thread)
            self.client.chat_update(
                channel=channel,
                ts=ts,
                text="opsloop failed",
                blocks=blocks.sections(
                    f":x: opsloop failed while answering: {blocks.escape(str(exc))[:500]}. "
                    "Try again; if it keeps failing, the `opsloop serve` log has the details."
                ),
            )
            return
        self.client.chat_update(
            channel=channel,
            ts=ts,
            text=blocks.fallback_text(result),
            blocks=blocks.answer_blocks(result),
        )

    def incidents_text(self, limit: int = 10) -> str:
        """List the latest incidents from the alert intake, one line each."""
        if self.incidents is None:
            return "No alert intake is attached to this Slack app (`opsloop serve` runs it)."
        rows = self.incidents.list_incidents(limit=limit)
        if not rows:
            return "No incidents yet."
        lines = []
        for row in rows:
            top = row.get("top_hypothesis") or {}
            cause = f"{top.get('kind')} {top.get('target')}" if top else "no cause named"
            lines.append(
                f"• `{row['id']}` *{row['status']}* · {row['alerts']} alert(s) · opened "
                f"{row['opened_at']} · {blocks.escape(cause)}"
            )
        return "*Incidents*\n" + "\n".join(lines)


class _Progress:
    """Update the placeholder with the graph's current step, at most every 1.5 s."""

    def __init__(self, client: WebClient, channel: str, ts: str, question: str) -> None:
        self.client, self.channel, self.ts, self.question = client, channel, ts, question
        self.last = time.monotonic()

    def on_step(self, node: str, update: dict[str, Any]) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_EVERY_S:
            return
        self.last = now
        try:
            self.client.chat_update(
                channel=self.channel,
                ts=self.ts,
                text="Working on it…",
                blocks=blocks.working_blocks(self.question, node, update),
            )
        except SlackApiError as exc:  # progress is cosmetic: never fail the answer for it
            log.info("progress update failed: %s", exc)


def build_slack(settings: Any, assistant: Any, incidents: Any = None) -> SlackOps | None:
    """Return the Slack app for `settings`, or None when no bot token is configured."""
    if settings.slack_bot_token is None:
        return None
    store = SlackStore(
        getattr(settings, "database_url", None) or settings.state_dir / "slack.sqlite"
    )
    return SlackOps(settings, assistant, store, incidents)
