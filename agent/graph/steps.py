"""Say what the graph is doing, for progress displays (terminal spinner, Slack status)."""

from __future__ import annotations

from typing import Any

# Keyed by node name: the question path (graph/build.py) and the alert path (rca/graph.py).
STEP_TEXT = {
    "intake": "reading the question",
    "recall": "recalling similar answers",
    "plan": "planning",
    "tools": "querying",
    "request": "preparing the approval request (dry run)",
    "approval": "waiting for approval",
    "act": "running the approved action",
    "respond": "writing the answer",
    "check": "checking every figure against the evidence",
    "remember": "saving the answer record",
    "investigation": "investigating the alert",
    "scope": "scoping the alert",
    "gather": "gathering evidence: signals, changes, logs, drift",
    "rank": "ranking root-cause hypotheses",
    "followup": "reading what the LLM asked for",
    "report": "writing the incident report",
    "propose": "proposing the suggested action",
}


def step_label(node: str, update: dict[str, Any]) -> str:
    """Describe what the graph does next, naming the tools it is about to run."""
    if node == "plan" and update.get("pending"):
        names = ", ".join(sorted({c["name"] for c in update["pending"]}))
        return f"running {names}"
    return STEP_TEXT.get(node, node)
