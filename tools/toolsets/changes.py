"""The change feed: every source of changes merged into one `recent_changes` tool.

Sources: the change log (opsloop's own actions, the sandbox, and events posted to
`opsloop serve`'s /changes by CI/CD), rollouts seen in kube-state-metrics, model versions
switching in the serving pods' prediction counter, and the model registry (versions
registered, aliases moved outside opsloop). A rollout that a CI/CD event
already describes is one change: the event keeps its author and gains the revision.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from opsloop.tools.backends.changelog import ChangeEvent, ChangeLog
from opsloop.tools.backends.mlflow_registry import Registry
from opsloop.tools.backends.prometheus.promql import parse_duration
from opsloop.tools.backends.registry_changes import new_versions, poll_aliases
from opsloop.tools.base import Evidence, OpsTool, ToolResult, ToolStatus, ops_tool
from opsloop.tools.errors import OpsError

SHOWN = 12
SAME_CHANGE_S = 600  # a CI/CD deploy event and the rollout it caused are this close at most

Source = Callable[[float, float], list[ChangeEvent]]  # (since, until) → events


@dataclass
class ChangesContext:
    """What the change feed reads; any source may be absent."""

    changelog: ChangeLog
    # Changes observed in metrics, by source name: rollouts in kube-state-metrics, model
    # versions switching in the prediction counter.
    observed: dict[str, Source] = field(default_factory=dict)
    registry: Registry | None = None
    now: Callable[[], float] = field(default=time.time)


class ChangesArgs(BaseModel):
    """Arguments of recent_changes."""

    range: str = Field("24h", description="How far back to look, e.g. 1h, 24h, 7d.")
    target: str | None = Field(None, description="Only changes to this service or model.")


@dataclass
class Feed:
    """The merged events of one read and the sources that could not be read."""

    events: list[ChangeEvent]
    unread: list[str]
    sources: list[str]


def read_feed(ctx: ChangesContext, since: float, until: float) -> Feed:
    """Read every source for [since, until] and merge them, oldest first."""
    unread, sources = [], ["change log"]
    if ctx.registry is not None:
        try:
            poll_aliases(ctx.registry, ctx.changelog, until)
        except OpsError as exc:
            unread.append(f"model registry ({exc})")
    events = ctx.changelog.events(since=since, until=until)
    keys = {e.key for e in events if e.key}
    if ctx.registry is not None and not unread:
        sources.append("model registry")
        try:
            events += [e for e in new_versions(ctx.registry, since, until) if e.key not in keys]
        except OpsError as exc:
            unread.append(f"model registry ({exc})")
    for name, source in ctx.observed.items():
        try:
            events += merge_rollouts(events, source(since, until))
            sources.append(name)
        except OpsError as exc:
            unread.append(f"{name} ({exc})")
    return Feed(sorted(events, key=lambda e: e.at), unread, sources)


def merge_rollouts(events: list[ChangeEvent], found: list[ChangeEvent]) -> list[ChangeEvent]:
    """Return the rollouts no deploy event describes; enrich the events that do (in place)."""
    out = []
    for rollout in found:
        same = [
            i
            for i, e in enumerate(events)
            if e.kind in ("deploy", "config")
            and e.target == rollout.target
            and abs(e.at - rollout.at) <= SAME_CHANGE_S
        ]
        if rollout.kind == "deploy" and same:
            i = same[0]
            seen = {k: v for k, v in rollout.detail.items() if k not in events[i].detail}
            events[i] = dataclasses.replace(events[i], detail={**events[i].detail, **seen})
        else:
            out.append(rollout)
    return out


def describe(e: ChangeEvent) -> str:
    """Return one line naming the change, its author and its revision."""
    text = e.summary
    if e.who and e.who not in text:
        text += f" by {e.who}"
    revision = e.detail.get("revision")
    if revision and str(revision) not in text:
        text += f" (revision {revision})"
    return text


def event_data(e: ChangeEvent) -> dict[str, Any]:
    """Return the JSON form of one event."""
    return {
        "at": e.at,
        "when": e.when,
        "who": e.who,
        "kind": e.kind,
        "target": e.target,
        "summary": describe(e),
        "source": e.source,
        "detail": e.detail,
    }


def changes_tools(ctx: ChangesContext) -> list[OpsTool]:
    """Build the change-feed tool bound to the context."""

    def recent_changes(range: str = "24h", target: str | None = None) -> ToolResult:
        """List recent changes — deploys and rollouts, scaling, config pushes, model versions
        and alias moves (promotions, rollbacks) — newest first, with time, author and
        revision, optionally for one service or model. Use it for "what changed recently?"
        and when looking for the cause of an incident."""
        until = ctx.now()
        feed = read_feed(ctx, until - parse_duration(range), until)
        events = [e for e in feed.events if target is None or target in _names(e)]
        where = f" to {target}" if target else ""
        missing = "".join(f"\n(could not read {u})" for u in feed.unread)
        evidence = Evidence(
            tool="recent_changes",
            query=f"changes: last {range}{' target=' + target if target else ''}"
            f" from {', '.join(feed.sources)}",
            summary="none",
        )
        if not events:
            return ToolResult(
                status=ToolStatus.NO_DATA,
                summary=f"No recorded changes{where} in the last {range}.{missing}",
                evidence=[evidence],
            )
        newest = list(reversed(events))
        lines = [f"{len(events)} change(s){where} in the last {range}, newest first:"]
        lines += [f"- {_when(e.at)} {e.kind}: {describe(e)}" for e in newest[:SHOWN]]
        if len(events) > SHOWN:
            lines.append(f"- … and {len(events) - SHOWN} older")
        return ToolResult(
            status=ToolStatus.OK,
            summary="\n".join(lines) + missing,
            data={"changes": [event_data(e) for e in newest], "unread": feed.unread},
            evidence=[evidence.model_copy(update={"summary": lines[0]})],
        )

    return [ops_tool(recent_changes, name="recent_changes", args_schema=ChangesArgs)]


def _names(e: ChangeEvent) -> set[str]:
    return {e.target, str(e.detail.get("workload", "")), str(e.detail.get("service", ""))}


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")
