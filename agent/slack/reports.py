"""Alert reports in a Slack channel: one message (and thread) per incident, kept current.

The first report is posted to `OPSLOOP_SLACK_CHANNEL`; a re-investigation rewrites it in
place and says why in its thread; a resolve marks it resolved and says so in the thread.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from slack_sdk import WebClient

from opsloop.agent.slack import blocks
from opsloop.agent.slack.store import SlackStore

log = logging.getLogger("opsloop.agent.slack")


class SlackReporter:
    """`on_report` / `on_resolved` hooks for `opsloop serve` that post to one channel."""

    def __init__(self, client: WebClient, channel: str, store: SlackStore) -> None:
        self.client, self.channel, self.store = client, channel, store

    def on_report(self, incident: dict[str, Any], report: dict[str, Any]) -> None:
        """Post the incident's report, or update it if it was posted before."""
        status = "resolved" if incident.get("status") == "resolved" else "open"
        text = f"{_title(incident, report)}: {blocks.fallback_text(report)}"[:300]
        shown = blocks.report_blocks(report, status)
        posted = self.store.report(incident["id"])
        if posted is None:
            resp = self.client.chat_postMessage(channel=self.channel, text=text, blocks=shown)
            self.store.save_report(incident["id"], resp["channel"], resp["ts"], status, report)
            return
        self.client.chat_update(channel=posted.channel, ts=posted.ts, text=text, blocks=shown)
        self.store.save_report(incident["id"], posted.channel, posted.ts, status, report)
        names = sorted({a.get("name", "?") for a in incident.get("alerts", [])})
        self.client.chat_postMessage(
            channel=posted.channel,
            thread_ts=posted.ts,
            text=":arrows_counterclockwise: Report updated: the incident now has "
            f"{len(incident.get('alerts', []))} alert(s) ({blocks.escape(', '.join(names))}).",
        )

    def on_resolved(self, incident: dict[str, Any]) -> None:
        """Mark the report resolved and say so in its thread."""
        posted = self.store.report(incident["id"])
        if posted is None:  # the report was never posted (Slack was down): post the news
            self.client.chat_postMessage(
                channel=self.channel,
                text=f":white_check_mark: {blocks.escape(_title(incident, {}))} resolved "
                f"(incident `{incident['id']}`).",
            )
            return
        result = posted.result or incident.get("report") or {}
        self.client.chat_update(
            channel=posted.channel,
            ts=posted.ts,
            text=f"Resolved: {_title(incident, result)}"[:300],
            blocks=blocks.report_blocks(result, "resolved"),
        )
        self.store.save_report(incident["id"], posted.channel, posted.ts, "resolved", result)
        when = incident.get("resolved_at") or datetime.now(UTC).isoformat(timespec="seconds")
        self.client.chat_postMessage(
            channel=posted.channel,
            thread_ts=posted.ts,
            text=f":white_check_mark: Resolved at {when}: every alert of incident "
            f"`{incident['id']}` has stopped firing.",
        )


def _title(incident: dict[str, Any], report: dict[str, Any]) -> str:
    return str(report.get("title") or f"Incident {incident.get('id', '')}")
