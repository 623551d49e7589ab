"""The graph state: one question (or alert) turn inside a conversation thread."""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages


class InputState(TypedDict, total=False):
    """What a caller passes in."""

    question: str
    user: str
    mode: str  # "question" | "alert"
    alerts: list[dict[str, Any]]  # alert mode: opsloop.agent.rca.alerts.Alert.public() dicts
    # One write the caller names itself ({"name", "args"}; an MCP client's tools/call): it
    # goes through the approval gate like a planned one, with no brain in between.
    call: dict[str, Any] | None


class AgentState(InputState, total=False):
    """Everything the nodes read and write. Fields without a reducer are replaced."""

    messages: Annotated[list[AnyMessage], add_messages]
    brain: str  # "llm" | "deterministic"
    intent: str
    recalled: list[dict[str, Any]]
    incidents: list[dict[str, Any]]  # similar past incidents from incident memory
    pending: list[dict[str, Any]]  # planned tool calls: {"id", "name", "args"}
    tool_calls: list[dict[str, Any]]  # this turn's executed calls and their outcome
    evidence: list[dict[str, Any]]  # the whole thread's evidence; ids E1… never reused
    turn_evidence_from: int  # index of this turn's first evidence record
    steps: int
    notes: list[str]  # things the answer must say (unknown names, missing capabilities)
    error: str | None  # a fatal problem (backend unreachable) that ends the turn
    draft: str  # the LLM's answer before the self-check
    answer: str
    approval_request: dict[str, Any] | None  # the request a paused thread waits on
    decision: dict[str, Any] | None  # the human's answer to an approval request
    repair: list[str] | None  # self-check problems to fix in one repair attempt
    repaired: bool
    evals: dict[str, Any]
    usage: dict[str, Any]
    started_at: float
    # Running totals of this turn's last answer record (opsloop.agent.llm.usage).
    recorded: dict[str, float]
    # Alert mode (the alert path, opsloop.agent.rca): its scope and the verdict.
    rca: dict[str, Any]  # {"t0", "title", "services", ..., "confidence", "false_alarm", ...}
    hypotheses: list[dict[str, Any]]
    ruled_out: list[dict[str, Any]]
    action: dict[str, Any] | None  # the suggested remediation {"name", "args", "why"}
