"""What the graph's nodes depend on, built once and injected (never built inside a node)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from langchain_core.language_models import BaseChatModel

from opsloop.agent.approvals.audit import AuditLog
from opsloop.agent.approvals.policy import Policy, PolicySpec
from opsloop.agent.config import Settings
from opsloop.agent.planner.catalog import Catalog
from opsloop.agent.stores.answers import AnswerStore
from opsloop.tools.base import OpsTool
from opsloop.tools.callgraph import CallGraph


@dataclass
class Deps:
    """Settings, tools, backends and stores for one running assistant."""

    settings: Settings
    tools: dict[str, OpsTool]
    catalog: Catalog
    answers: AnswerStore
    audit: AuditLog
    llm: BaseChatModel | None = None
    tz: tzinfo | None = None
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    secrets: tuple[str, ...] = ()  # configured secret values, redacted from LLM prompts
    memory: Any = None  # agent.memory.IncidentMemory (opened on first use), or None
    # Who may approve writes; the default (no roles) lets nobody, which fails closed.
    policy: Policy = field(default_factory=lambda: Policy(PolicySpec()))
    # Called with every stored answer record (self-monitoring: metrics, traces); an
    # observer's failure is logged and never touches the answer.
    observers: list[Callable[[dict[str, Any]], None]] = field(default_factory=list)
    # Who calls whom: configured, else discovered from edge metrics (opsloop.tools.callgraph).
    call_graph: CallGraph = field(default_factory=CallGraph)
    # Called once when the assistant closes (MCP client sessions, their server processes).
    closers: list[Callable[[], None]] = field(default_factory=list)

    def is_write(self, name: str) -> bool:
        """Return True if `name` is a known write tool."""
        tool = self.tools.get(name)
        return tool is not None and tool.risk == "write"
