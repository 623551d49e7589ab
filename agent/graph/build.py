"""The opsloop graph, wired as DESIGN.md draws it. This file is wiring only.

intake ─┬─ question: recall → plan ⇄ tools → respond → check (→ respond once to repair)
        │            → remember → END; a write call: plan → request → approval (interrupt)
        │            → act → plan (a refused request goes straight to act, which records why)
        └─ alert:    investigation, the alert path's own graph (opsloop.agent.rca.graph)
"""

from __future__ import annotations

from functools import partial
from typing import Literal

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from opsloop.agent.graph.deps import Deps
from opsloop.agent.graph.nodes.approval import act_node, after_request, approval_node, request_node
from opsloop.agent.graph.nodes.check import check_node
from opsloop.agent.graph.nodes.intake import intake_node
from opsloop.agent.graph.nodes.plan import plan_node
from opsloop.agent.graph.nodes.recall import recall_node
from opsloop.agent.graph.nodes.remember import remember_node
from opsloop.agent.graph.nodes.respond import respond_node
from opsloop.agent.graph.nodes.tools import tools_node
from opsloop.agent.graph.state import AgentState, InputState
from opsloop.agent.rca.graph import NAME as INVESTIGATION
from opsloop.agent.rca.graph import build_alert_graph


def build_graph(deps: Deps, checkpointer: BaseCheckpointSaver | None = None) -> CompiledStateGraph:
    """Compile the graph with its dependencies bound to every node."""

    def by_mode(state: AgentState) -> Literal["recall", "investigation"]:
        return INVESTIGATION if state.get("mode") == "alert" else "recall"

    def after_plan(state: AgentState) -> Literal["tools", "request", "respond"]:
        if state.get("error"):
            return "respond"
        pending = state.get("pending", [])
        if any(not deps.is_write(c["name"]) or c.get("invalid") for c in pending):
            return "tools"
        return "request" if pending else "respond"

    def after_tools(state: AgentState) -> Literal["request", "plan"]:
        # A model's write call must be answered before the model is asked again.
        return "request" if state.get("pending") else "plan"

    def after_check(state: AgentState) -> Literal["respond", "remember"]:
        return "respond" if state.get("repair") else "remember"

    graph = StateGraph(AgentState, input_schema=InputState)
    graph.add_node("intake", partial(intake_node, deps=deps))
    graph.add_node(INVESTIGATION, build_alert_graph(deps))
    graph.add_node("recall", partial(recall_node, deps=deps))
    graph.add_node("plan", partial(plan_node, deps=deps))
    graph.add_node("tools", partial(tools_node, deps=deps))
    graph.add_node("request", partial(request_node, deps=deps))
    graph.add_node("approval", partial(approval_node, deps=deps))
    graph.add_node("act", partial(act_node, deps=deps))
    graph.add_node("respond", partial(respond_node, deps=deps))
    graph.add_node("check", partial(check_node, deps=deps))
    graph.add_node("remember", partial(remember_node, deps=deps))

    graph.add_edge(START, "intake")
    graph.add_conditional_edges("intake", by_mode)
    graph.add_edge(INVESTIGATION, END)
    graph.add_edge("recall", "plan")
    graph.add_conditional_edges("plan", after_plan)
    graph.add_conditional_edges("tools", after_tools)
    graph.add_conditional_edges("request", after_request)
    graph.add_edge("approval", "act")
    graph.add_edge("act", "plan")
    graph.add_edge("respond", "check")
    graph.add_conditional_edges("check", after_check)
    graph.add_edge("remember", END)
    return graph.compile(checkpointer=checkpointer, name="opsloop")
