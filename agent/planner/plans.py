"""What the deterministic brain decides: the tool calls a question becomes, or notes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opsloop.agent.planner.entities import Entities
from opsloop.agent.planner.timerange import TimeWindow


@dataclass
class PlannedCall:
    """One tool call the planner wants made."""

    name: str
    args: dict[str, Any]


@dataclass
class Plan:
    """The planner's decision for one question."""

    intent: str
    calls: list[PlannedCall] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    entities: Entities = field(default_factory=Entities)
    window: TimeWindow = field(default_factory=TimeWindow)
    unavailable: list[PlannedCall] = field(default_factory=list)
