"""The alert path as its own graph, run by the main graph as its `investigation` node.

scope → recall → gather → rank → (followup, LLM brain) → report → check (→ report once to
repair) → remember → END, or, when the report suggests a write:
remember → propose → request → approval (interrupt) → act → report → check → remember → END
(a refused request goes straight to act, which records why). The report goes out first;
only then is its suggested write put to a person.
"""

from __future__ import annotations

from functools import partial
from typing import Literal

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from opsloop.agent.graph.deps import Deps
from opsloop.agent.graph.nodes.approval import act_node, after_request, approval_node, request_node
from opsloop.agent.graph.nodes.check import check_node
from opsloop.agent.graph.nodes.recall import recall_node
from opsloop.agent.graph.state import AgentState
from opsloop.agent.rca.nodes import (
    followup_node,
    gather_node,
    propose_node,
    rank_node,
    remember_node,
    report_node,
    scope_node,
    wants_approval,
)

NAME = "investigation"


def build_alert_graph(deps: Deps) -> CompiledStateGraph:
    """Compile the alert path with its dependencies bound to every node."""

    def after_scope(state: AgentState) -> Literal["recall", "report"]:
        return "report" if state.get("error") else "recall"

    def after_rank(state: AgentState) -> Literal["followup", "report"]:
        return "followup" if state.get("brain") == "llm" and deps.llm is not None else "report"

    def after_check(state: AgentState) -> Literal["report", "remember"]:
        return "report" if state.get("repair") else "remember"

    def after_remember(state: AgentState) -> Literal["propose", "__end__"]:
        return "propose" if wants_approval(state, deps) else END

    graph = StateGraph(AgentState)
    graph.add_node("scope", partial(scope_node, deps=deps))
    graph.add_node("recall", partial(recall_node, deps=deps))
    graph.add_node("gather", partial(gather_node, deps=deps))
    graph.add_node("rank", partial(rank_node, deps=deps))
    graph.add_node("followup", partial(followup_node, deps=deps))
    graph.add_node("report", partial(report_node, deps=deps))
    graph.add_node("check", partial(check_node, deps=deps))
    graph.add_node("remember", partial(remember_node, deps=deps))
    graph.add_node("propose", partial(propose_node, deps=deps))
    graph.add_node("request", partial(request_node, deps=deps))
    graph.add_node("approval", partial(approval_node, deps=deps))
    graph.add_node("act", partial(act_node, deps=deps))

    graph.add_edge(START, "scope")
    graph.add_conditional_edges("scope", after_scope)
    graph.add_edge("recall", "gather")
    graph.add_edge("gather", "rank")
    graph.add_conditional_edges("rank", after_rank)
    graph.add_edge("followup", "report")
    graph.add_edge("report", "check")
    graph.add_conditional_edges("check", after_check)
    graph.add_conditional_edges("remember", after_remember)
    graph.add_edge("propose", "request")
    graph.add_conditional_edges("request", after_request)
    graph.add_edge("approval", "act")
    graph.add_edge("act", "report")
    return graph.compile(name=NAME)
