"""search_incidents: past incidents like this one, what caused them and what resolved them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from opsloop.tools.base import Evidence, OpsTool, ToolResult, ToolStatus, ops_tool


class SearchIncidentsArgs(BaseModel):
    """Arguments of search_incidents."""

    query: str = Field(description="What is happening, in words: symptoms, service, errors.")
    service: str | None = Field(None, description="Prefer incidents that involved this service.")
    k: int = Field(3, ge=1, le=10, description="How many incidents to return.")


def incident_tools(memory: Any) -> list[OpsTool]:
    """Build search_incidents over an incident memory (`stores.memory.IncidentMemory`)."""

    def search_incidents(query: str, service: str | None = None, k: int = 3) -> ToolResult:
        """Search incident memory for past incidents similar to a description, with their
        similarity, root cause and what resolved them. Use it for "has this happened
        before?" and to find a likely fix."""
        text = f"{query} {service}" if service and service not in query else query
        matches = memory.search(text, k=k)
        if not matches:
            return ToolResult(
                status=ToolStatus.NO_DATA,
                summary=(
                    f"No past incident is similar enough (similarity ≥ {memory.threshold:.2f}) "
                    f"among {memory.count()} stored."
                ),
                evidence=[
                    Evidence(tool="search_incidents", query=f"memory: {text}", summary="none")
                ],
            )
        lines = [f"{len(matches)} similar past incident(s), most similar first:"]
        evidence = []
        for m in matches:
            inc = m.incident
            cause = (
                f"; root cause {inc.cause_kind} {inc.cause_target}".rstrip()
                if inc.cause_kind
                else ""
            )
            line = f"{inc.line()} (similarity {m.score:.2f}{cause})"
            lines.append(f"- {line}")
            evidence.append(
                Evidence(
                    tool="search_incidents",
                    query=f"memory: {text}",
                    summary=line,
                    values={"similarity": m.score},
                )
            )
        return ToolResult(
            status=ToolStatus.OK,
            summary="\n".join(lines),
            data={
                "incidents": [
                    {
                        "id": m.incident.id,
                        "score": m.score,
                        "title": m.incident.title,
                        "cause_kind": m.incident.cause_kind,
                        "cause_target": m.incident.cause_target,
                        "resolution": m.incident.resolution,
                        "when": m.incident.when,
                    }
                    for m in matches
                ]
            },
            evidence=evidence,
        )

    return [ops_tool(search_incidents, name="search_incidents", args_schema=SearchIncidentsArgs)]
