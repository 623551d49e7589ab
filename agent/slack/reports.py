"""Alert reports in a Slack channel: one message (and thread) per incident, kept current.

The first report is posted to `OPSLOOP_SLACK_CHANNEL`; a re-investigation rewrites it in
place and says why in its thread; a resolve marks it resolved and says so in the thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from slack_sdk import WebClient

from opsloop.agent.slack import blocks
from opsloop.agent.slack.store import SlackStore

log = logging.getLogger("opsloop.agent.slack")


class SlackReporter:
    """`on_report` / `on_resolved` hooks for `opsloop serve` that post to one channel."""

    def __init__(
        self,
        client: WebClient,
        channel: str,
        store: SlackStore,
        chart: Callable[[dict[str, Any]], tuple[bytes, str] | None] | None = None,
        console_url: str | None = None,
    ) -> None:
        self.client, self.channel, self.store = client, channel, store
        self.chart = chart  # incident → (PNG, caption) of its top evidence, or None
        self.console_url = (console_url or "").rstrip("/") or None

    def on_report(self, incident: dict[str, Any], report: dict[str, Any]) -> None:
        """Post the incident's report, or update it if it was posted before."""
        status = "resolved" if incident.get("status") == "resolved" else "open"
        text = f"{_title(incident, report)}: {blocks.fallback_text(report)}"[:300]
        shown = blocks.report_blocks(report, status)
        posted = self.store.report(incident["id"])
        if posted is None:
            resp = self.client.chat_postMessage(channel=self.channel, text=text, blocks=shown)
            self.store.save_report(incident["id"], resp["channel"], resp["ts"], status, report)
            self._post_chart(incident, resp["channel"], resp["ts"])
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

    def _post_chart(self, incident: dict[str, Any], channel: str, ts: str) -> None:
        """Put the top evidence's chart (and the console link) under the report."""
        link = f"{self.console_url}/incidents/{incident['id']}" if self.console_url else None
        try:
            drawn = self.chart(incident) if self.chart is not None else None
            if drawn is None:
                if link:
                    self.client.chat_postMessage(
                        channel=channel, thread_ts=ts, text=f"Charts and timeline: <{link}>"
                    )
                return
            image, caption = drawn
            comment = f":chart_with_upwards_trend: {blocks.escape(caption)}"
            comment += f"\nCharts and timeline: <{link}>" if link else ""
            self.client.files_upload_v2(
                channel=channel, thread_ts=ts, file=image, filename="evidence.png",
                title=caption[:200], initial_comment=comment,
            )  # fmt: skip
        except Exception as exc:  # a chart is an aid: the report stands without it
            log.warning("could not post the chart for %s: %s", incident["id"], exc)

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
