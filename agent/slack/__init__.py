"""Slack ChatOps: the Bolt app (HTTP or Socket Mode), Block Kit, approvals, alert reports."""

from __future__ import annotations

from typing import Any

from opsloop.agent.slack.app import SlackError, SlackOps
from opsloop.agent.slack.reports import SlackReporter
from opsloop.agent.slack.store import SlackStore

__all__ = ["SlackError", "SlackOps", "SlackReporter", "SlackStore", "build_slack"]


def build_slack(settings: Any, assistant: Any, incidents: Any = None) -> SlackOps | None:
    """Return the Slack app for `settings`, or None when no bot token is configured."""
    if settings.slack_bot_token is None:
        return None
    store = SlackStore(
        getattr(settings, "database_url", None) or settings.state_dir / "slack.sqlite"
    )
    return SlackOps(settings, assistant, store, incidents)
