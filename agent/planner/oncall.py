"""Plans for the on-call surface: alerts and silences, and the incident queue."""

from __future__ import annotations

import re
from typing import Any

from opsloop.agent.planner.catalog import Catalog
from opsloop.agent.planner.intents import asks_history
from opsloop.agent.planner.lexicon import has_phrase
from opsloop.agent.planner.plans import Plan, PlannedCall


def _alerts(plan: Plan, question: str, norm: str, catalog: Catalog) -> None:
    silences = has_phrase(norm, "silences") or has_phrase(norm, "silence")
    if silences or (has_phrase(norm, "silenced") and asks_history(norm)):  # "who silenced…"
        plan.calls.append(PlannedCall("list_silences", {}))
        return
    args: dict[str, Any] = {"state": "suppressed" if has_phrase(norm, "silenced") else "firing"}
    if plan.entities.services:
        args["service"] = plan.entities.services[0]
    plan.calls.append(PlannedCall("list_alerts", args))


_INC_ID = re.compile(r"\binc-[0-9a-f]{4,}\b", re.IGNORECASE)
_STATUS_WORDS = {"resolved": "resolved", "closed": "resolved", "investigating": "investigating"}


def _incident_queue(plan: Plan, question: str, norm: str, catalog: Catalog) -> None:
    args: dict[str, Any] = {}
    for word, status in _STATUS_WORDS.items():
        if has_phrase(norm, word):
            args["status"] = status
    if has_phrase(norm, "all incidents") or has_phrase(norm, "every incident"):
        args["status"] = "all"
    if target := (plan.entities.services or plan.entities.models or [None])[0]:
        args["service"] = target
    plan.calls.append(PlannedCall("list_incidents", args))


def _incident_status(plan: Plan, question: str, norm: str, catalog: Catalog) -> None:
    args: dict[str, Any] = {}
    if found := _INC_ID.search(question):
        args["incident"] = found.group().lower()
    elif target := (plan.entities.services or plan.entities.models or [None])[0]:
        args["incident"] = target
    plan.calls.append(PlannedCall("incident_status", args))


# An alert's name as rules spell it: "HighLatency", "KubePodCrashLooping", "TargetDown".
_ALERT_NAME = re.compile(r"\b[A-Z][a-z0-9]+(?:[A-Z][A-Za-z0-9]*)+\b")
_FOR = re.compile(
    r"\b(?:for|during)\s+(?:the\s+next\s+)?(\d+(?:\.\d+)?)\s*(m|min|mins|minutes?|h|hrs?|hours?|"
    r"d|days?)\b|\b(\d+(?:\.\d+)?)(m|h|d)\b",
    re.IGNORECASE,
)
_AN = re.compile(r"\b(?:for\s+)?an?\s+hour\b", re.IGNORECASE)
_SILENCE_ID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")


def _silence(plan: Plan, question: str, norm: str, catalog: Catalog) -> None:
    args: dict[str, Any] = {"comment": question.strip()[:200]}
    if names := list(dict.fromkeys(_ALERT_NAME.findall(question))):
        args["alertname"] = "|".join(names)  # several: one silence for all of them
    if plan.entities.services:
        args["service"] = plan.entities.services[0]
    elif plan.entities.models:
        args["matchers"] = {"model": plan.entities.models[0]}
    if m := _FOR.search(question):
        value, unit = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        args["duration"] = f"{value}{unit[0].lower()}"
    elif _AN.search(question):
        args["duration"] = "1h"
    plan.calls.append(PlannedCall("silence_alert", args))


def _expire(plan: Plan, question: str, norm: str, catalog: Catalog) -> None:
    found = _SILENCE_ID.search(question.lower())
    if found is None:
        plan.notes.append("Which silence? `list_silences` shows them with their ids.")
        plan.calls.append(PlannedCall("list_silences", {}))
        return
    plan.calls.append(PlannedCall("expire_silence", {"silence_id": found.group()}))


ONCALL_BUILDERS = {
    "alerts": _alerts,
    "incident_queue": _incident_queue,
    "incident_status": _incident_status,
    "silence": _silence,
    "expire_silence": _expire,
}
