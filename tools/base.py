"""The tool contract: typed arguments, a risk level, and a structured, bounded result."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any, Literal

from langchain_core.tools import StructuredTool
from pydantic import BaseModel, Field


class ToolStatus(StrEnum):
    """Outcome of one tool call."""

    OK = "ok"
    ERROR = "error"
    NO_DATA = "no_data"
    DENIED = "denied"
    APPROVAL_REQUIRED = "approval_required"


class Evidence(BaseModel):
    """One checkable piece of evidence; answers cite it as `[E<n>]`."""

    id: str = ""
    tool: str
    query: str
    summary: str
    link: str | None = None
    # Figures the answer may quote; the self-check verifies numbers against these.
    values: dict[str, float] = Field(default_factory=dict)
    # Structured figures (opsloop.tools.facts): each value with the series labels, statistic,
    # window and baseline it belongs to, so a figure is checked against its own subject.
    facts: list[dict[str, Any]] = Field(default_factory=list)

    def public(self) -> dict[str, Any]:
        """Return the DESIGN.md evidence shape."""
        return {
            "id": self.id,
            "tool": self.tool,
            "query": self.query,
            "summary": self.summary,
            "link": self.link,
        }


class ToolResult(BaseModel):
    """What every tool returns: a status, a prompt-sized summary, data and evidence."""

    status: ToolStatus
    summary: str
    data: Any = None
    evidence: list[Evidence] = Field(default_factory=list)
    error: str | None = None
    truncated: bool = False

    @classmethod
    def failure(cls, message: str, status: ToolStatus = ToolStatus.ERROR) -> ToolResult:
        """Build an error result whose summary tells the model what went wrong."""
        return cls(status=status, summary=message, error=message)

    def bounded(self, budget: int) -> ToolResult:
        """Return a copy whose summary fits `budget` characters, telling the model to narrow."""
        if len(self.summary) <= budget:
            return self
        note = (
            f"\n… [output cut at {budget} of {len(self.summary)} characters: narrow the query "
            "(add label filters, aggregate with sum by (…), or shorten the time range)]"
        )
        cut = self.summary[: max(0, budget - len(note))]
        cut = cut[: cut.rfind("\n")] if "\n" in cut else cut
        return self.model_copy(update={"summary": cut + note, "truncated": True})


Risk = Literal["read", "write"]


class OpsTool(StructuredTool):
    """A LangChain tool carrying opsloop's risk level, timeout and output budget."""

    risk: Risk = "read"
    timeout_s: float | None = None
    output_chars: int | None = None
    # Describe what a write would change, without changing it (dry run for approvals).
    preview: Callable[[dict[str, Any]], str] | None = None
    # Fill in defaults that must not change between approval and action ("the previous
    # version" becomes v7, "from v8"), so a person approves exactly what will run.
    pin: Callable[[dict[str, Any]], dict[str, Any]] | None = None


def ops_tool(
    func: Callable[..., ToolResult],
    *,
    name: str,
    args_schema: type[BaseModel],
    risk: Risk = "read",
    timeout_s: float | None = None,
    output_chars: int | None = None,
    preview: Callable[[dict[str, Any]], str] | None = None,
    pin: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> OpsTool:
    """Wrap a function returning ToolResult; its docstring is what the model reads."""
    if not func.__doc__:
        raise ValueError(f"tool {name} needs a docstring written for the model")
    if risk == "write" and preview is None:
        raise ValueError(f"write tool {name} needs a preview (dry run)")
    return OpsTool(
        name=name,
        description=func.__doc__.strip(),
        func=func,
        args_schema=args_schema,
        risk=risk,
        timeout_s=timeout_s,
        output_chars=output_chars,
        preview=preview,
        pin=pin,
    )
