"""The assistant: run the graph for one question, handle approvals, shape the JSON result."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langgraph.types import Command, StateSnapshot

from opsloop.agent.config import Settings
from opsloop.agent.db.checkpoints import open_checkpointer
from opsloop.agent.factory import build_deps
from opsloop.agent.graph.build import build_graph
from opsloop.agent.graph.deps import Deps
from opsloop.agent.graph.execute import public_call
from opsloop.agent.llm.usage import priced
from opsloop.tools.deadline import deadline

Approver = Callable[[dict[str, Any]], dict[str, Any]]
StepCallback = Callable[[str, dict[str, Any]], None]
_CITED = re.compile(r"\[(E\d+)\]")


class Assistant:
    """One opsloop assistant: a compiled graph over a SQLite (or PostgreSQL) checkpointer."""

    def __init__(self, deps: Deps, checkpoint_path: Path | str | None = None) -> None:
        self.deps = deps
        target = (
            checkpoint_path
            or getattr(deps.settings, "database_url", None)
            or deps.settings.state_dir / "checkpoints.sqlite"
        )
        saver, self._close = open_checkpointer(target)
        self.graph = build_graph(deps, saver)

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> Assistant:
        """Build the assistant with real clients for `settings`."""
        return cls(build_deps(settings, **kwargs))

    def close(self) -> None:
        """Release the checkpoint database and whatever the dependencies hold open."""
        for close in self.deps.closers:
            close()
        self._close()

    def ask(
        self,
        question: str,
        *,
        thread_id: str | None = None,
        user: str | None = None,
        approver: Approver | None = None,
        on_step: StepCallback | None = None,
    ) -> dict[str, Any]:
        """Answer `question`; ask `approver` for any write; return the DESIGN.md JSON."""
        thread_id = thread_id or uuid.uuid4().hex[:12]
        # The mode is explicit: a follow-up question on an alert's thread is a question.
        payload: Any = {
            "question": question,
            "user": user or self.deps.settings.user,
            "mode": "question",
            "call": None,
        }
        return self._run(payload, thread_id, approver, on_step)

    def investigate(
        self,
        alerts: list[dict[str, Any]],
        *,
        thread_id: str | None = None,
        user: str | None = None,
        approver: Approver | None = None,
        on_step: StepCallback | None = None,
    ) -> dict[str, Any]:
        """Run the RCA playbook on alerts (Alert.public() dicts); return the report JSON.

        Without an approver the thread pauses at the suggested write, which a person
        approves later with `opsloop approve THREAD` (or a Slack button).
        """
        thread_id = thread_id or "inv-" + uuid.uuid4().hex[:12]
        payload: Any = {
            "mode": "alert",
            "alerts": alerts,
            "question": "",
            "user": user or "opsloop-rca",
            "call": None,
        }
        return self._run(payload, thread_id, approver, on_step)

    def request_write(
        self, tool: str, args: dict[str, Any], *, user: str, thread_id: str | None = None
    ) -> dict[str, Any]:
        """Put one named write through the approval gate as `user`; return the paused result.

        Nothing runs here: the thread waits (its id is the approval id) until a person
        decides with `opsloop approve`, Slack or `POST /approvals/THREAD`.
        """
        if not self.deps.is_write(tool):
            raise ValueError(f"{tool} is not a write tool")
        thread_id = thread_id or "req-" + uuid.uuid4().hex[:12]
        payload: Any = {
            "question": f"run {tool} {json.dumps(args, sort_keys=True, default=str)}",
            "user": user,
            "mode": "question",
            "call": {"name": tool, "args": args},
        }
        return self._run(payload, thread_id, None, None)

    def outcome(self, thread_id: str) -> dict[str, Any] | None:
        """Return a thread's JSON result as it stands (pending approval or done), or None."""
        config = {"configurable": {"thread_id": thread_id}}
        snapshot = self.graph.get_state(config, subgraphs=True)
        if not snapshot.values:
            return None
        if snapshot.interrupts:
            return self._result(paused_values(snapshot), thread_id, snapshot.interrupts[0].value)
        return self._result(snapshot.values, thread_id)

    def resume(
        self,
        thread_id: str,
        decision: dict[str, Any],
        *,
        approver: Approver | None = None,
        on_step: StepCallback | None = None,
    ) -> dict[str, Any]:
        """Continue a thread paused for approval with a person's decision."""
        return self._run(Command(resume=decision), thread_id, approver, on_step)

    def _run(
        self, payload: Any, thread_id: str, approver: Approver | None, on_step: StepCallback | None
    ) -> dict[str, Any]:
        steps = self.deps.settings.max_steps
        config = {"configurable": {"thread_id": thread_id}, "recursion_limit": 4 * steps + 20}
        while True:
            # subgraphs=True: the alert path's steps show as they happen, not all at its end.
            # A deadline per segment: the time a person takes to approve does not count.
            with deadline(self.deps.settings.turn_deadline_s):
                for _ns, chunk in self.graph.stream(
                    payload, config, stream_mode="updates", subgraphs=True
                ):
                    for node, update in chunk.items():
                        if on_step and node != "__interrupt__":
                            on_step(node, update if isinstance(update, dict) else {})
            snapshot = self.graph.get_state(config, subgraphs=True)
            if not snapshot.interrupts:
                return self._result(snapshot.values, thread_id)
            request = snapshot.interrupts[0].value
            if approver is None:
                return self._result(paused_values(snapshot), thread_id, pending=request)
            payload = Command(resume=approver(request))

    def _result(
        self, state: dict[str, Any], thread_id: str, pending: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        start = state.get("turn_evidence_from", 0)
        evidence = state.get("evidence", [])
        answer = state.get("answer", "")
        cited = set(_CITED.findall(answer))
        # This turn's evidence, plus older evidence the answer cites (follow-up questions).
        shown = [e for i, e in enumerate(evidence) if i >= start or e["id"] in cited]
        usage = state.get("usage", {})
        result: dict[str, Any] = {
            "answer": answer,
            "tool_calls": [public_call(c) for c in state.get("tool_calls", [])],
            "evidence": [
                {k: e.get(k) for k in ("id", "tool", "query", "summary", "link")} for e in shown
            ],
            "evals": state.get("evals", {}),
            "usage": {
                "input_tokens": int(usage.get("input_tokens", 0)),
                "output_tokens": int(usage.get("output_tokens", 0)),
                "latency_s": float(usage.get("latency_s", 0.0)),
                # USD from the llm_prices table; null when the model has no price there.
                "cost_usd": usage["cost_usd"] if "cost_usd" in usage else self._cost(usage),
            },
            "thread_id": thread_id,
            "brain": state.get("brain", "deterministic"),
            "error": state.get("error") or _backend_down(state.get("tool_calls", [])),
        }
        if state.get("mode") == "alert":
            result |= _alert_fields(state)
        if pending is not None:
            result["approval"] = pending
            result["tool_calls"].append(
                {"name": pending["tool"], "args": pending["args"], "status": "approval_required"}
            )
            if state.get("mode") != "alert":  # a report already says what awaits approval
                result["answer"] = f"Approval needed to run {pending['tool']}: {pending['preview']}"
        return result

    def _cost(self, usage: dict[str, Any]) -> float | None:
        """Price a turn the self-check has not finished (one paused for approval)."""
        return priced(usage, self.deps)["cost_usd"]


def paused_values(snapshot: StateSnapshot) -> dict[str, Any]:
    """Return the state of the graph that is paused: the alert path's, when it is the one.

    A subgraph's state reaches its parent only when the subgraph ends, so a report waiting
    for approval lives in the paused subgraph (read with `get_state(..., subgraphs=True)`).
    """
    for task in snapshot.tasks:
        if task.interrupts and isinstance(task.state, StateSnapshot):
            return paused_values(task.state)
    return dict(snapshot.values)


def _alert_fields(state: dict[str, Any]) -> dict[str, Any]:
    """Return what an investigation adds to the answer JSON (DESIGN.md `investigate`)."""
    from opsloop.agent.rca.report import public_actions

    info = state.get("rca") or {}
    return {
        "hypotheses": [
            {k: h[k] for k in ("kind", "target", "score", "evidence")}
            for h in state.get("hypotheses", [])
        ],
        "actions": public_actions(state),
        "ruled_out": state.get("ruled_out", []),
        "false_alarm": bool(info.get("false_alarm")),
        "confidence": info.get("confidence"),
        "title": info.get("title"),
        "severity": info.get("severity"),
        "t0": info.get("t0"),
        "why": {
            f"{h['kind']}:{h['target']}": h.get("why", []) for h in state.get("hypotheses", [])
        },
    }


def _backend_down(calls: list[dict[str, Any]]) -> str | None:
    """Return the backend error when no call succeeded because a backend was unreachable."""
    if not calls or any(c["status"] != "error" for c in calls):
        return None
    for call in calls:
        data = call.get("data")
        if isinstance(data, dict) and data.get("backend_unavailable"):
            return str(data["backend_unavailable"])
    return None
