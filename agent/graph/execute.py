"""Run tools safely (timeout, errors, output budget) and turn results into evidence."""

from __future__ import annotations

import contextvars
import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from langchain_core.messages import ToolMessage
from pydantic import ValidationError

from opsloop.agent.graph.deps import Deps
from opsloop.agent.graph.normalise import normalise_args
from opsloop.tools.base import OpsTool, ToolResult, ToolStatus
from opsloop.tools.deadline import PAST_DEADLINE, remaining
from opsloop.tools.errors import BackendUnavailable, OpsError
from opsloop.tools.redact import redact

QUEUE_WAIT_S = 60.0  # without a deadline, how long a call may wait for a thread

_LOCK = threading.Lock()
_SIZE = {"tool": 4, "calls": 4}
# One small pool per tool: a backend that hangs holds its own tool's threads, not every
# tool's, so the other evidence still arrives.
_POOLS: dict[str, ThreadPoolExecutor] = {}


def configure_pools(workers: int) -> None:
    """Size the pools for `workers` investigations at once (call before any tool runs)."""
    with _LOCK:
        _SIZE.update(tool=max(4, 2 * workers), calls=max(4, 4 * workers))


def _pool(name: str) -> ThreadPoolExecutor:
    with _LOCK:
        if name not in _POOLS:
            size = _SIZE["calls" if name == "__calls__" else "tool"]
            _POOLS[name] = ThreadPoolExecutor(max_workers=size, thread_name_prefix=f"ops-{name}")
        return _POOLS[name]


def new_call_id(kind: str) -> str:
    """Return a tool-call id unique across processes: replicas share threads through
    PostgreSQL, where per-process counters would hand two calls the same id."""
    return f"call_{kind}{uuid.uuid4().hex[:16]}"


def run_tool(
    tool: OpsTool, args: dict[str, Any], default_timeout: float, default_budget: int
) -> ToolResult:
    """Invoke a tool with validated args under a timeout; never raise."""
    timeout = tool.timeout_s or default_timeout
    left = remaining()
    if left is not None and left <= 0:
        return ToolResult.failure(f"{tool.name} was not run: {PAST_DEADLINE}")
    started = threading.Event()

    def job() -> Any:
        started.set()
        return tool.invoke(args)

    # The copied context carries the approver (opsloop.tools.actor) into the worker thread.
    future = _pool(tool.name).submit(contextvars.copy_context().run, job)
    # The timeout counts from when the call starts, not while it waits for a thread.
    queued = time.monotonic()
    if not started.wait(left if left is not None else max(timeout, QUEUE_WAIT_S)):
        future.cancel()
        waited = time.monotonic() - queued
        return ToolResult.failure(
            f"{tool.name} was not run: queued {waited:.0f}s behind earlier {tool.name} calls "
            "that have not returned (its backend may hang)."
        )
    left = remaining()
    try:
        result = future.result(timeout=timeout if left is None else max(0.0, min(timeout, left)))
    except FutureTimeout:
        if left is not None and left < timeout:
            return ToolResult.failure(f"{tool.name} did not answer: {PAST_DEADLINE}")
        return ToolResult.failure(
            f"{tool.name} timed out after {timeout:g}s; try a shorter range or a narrower query."
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'args'}: {e['msg']}" for e in exc.errors()
        )
        return ToolResult.failure(f"invalid arguments for {tool.name}: {problems}")
    except BackendUnavailable as exc:
        result = ToolResult.failure(str(exc))
        result.data = {"backend_unavailable": str(exc)}
        return result
    except OpsError as exc:
        return ToolResult.failure(str(exc))
    except Exception as exc:  # a tool bug must not take the conversation down
        return ToolResult.failure(f"{tool.name} failed: {type(exc).__name__}: {exc}")
    if not isinstance(result, ToolResult):
        return ToolResult.failure(f"{tool.name} returned {type(result).__name__}, not a result")
    return result.bounded(tool.output_chars or default_budget)


def execute_call(call: dict[str, Any], deps: Deps) -> ToolResult:
    """Run one planned call, turning unknown tools and malformed calls into error results."""
    if call.get("invalid"):
        return ToolResult.failure(f"the tool call could not be parsed: {call['invalid']}")
    tool = deps.tools.get(call["name"])
    if tool is None:
        names = ", ".join(sorted(deps.tools))
        return ToolResult.failure(f"unknown tool '{call['name']}'. Available tools: {names}.")
    if not isinstance(call.get("args"), dict):
        return ToolResult.failure(f"arguments for {call['name']} must be a JSON object")
    args, notes = normalise_args(
        call["name"], call["args"], lambda kind: getattr(deps.catalog, kind)()
    )
    result = run_tool(tool, args, deps.settings.tool_timeout, deps.settings.tool_output_chars)
    if notes:
        # Said to the model and kept on the evidence, so the sources show what ran.
        for ev in result.evidence:
            ev.summary += " (" + "; ".join(notes) + ")"
        result = result.model_copy(
            update={"summary": "note: " + "; ".join(notes) + "\n" + result.summary}
        )
    return result


def timed_call(call: dict[str, Any], deps: Deps) -> tuple[ToolResult, tuple[float, float]]:
    """Run `execute_call`; return the result with (wall-clock start, seconds taken)."""
    started, clock = time.time(), time.perf_counter()
    result = execute_call(call, deps)
    return result, (started, round(time.perf_counter() - clock, 6))


def run_reads(state: Any, deps: Deps, calls: list[dict[str, Any]]) -> dict[str, Any]:
    """Run read `calls` side by side; return the state update with their records and evidence."""
    evidence = list(state.get("evidence", []))
    records = list(state.get("tool_calls", []))
    futures = [
        _pool("__calls__").submit(contextvars.copy_context().run, timed_call, call, deps)
        for call in calls
    ]
    messages = []
    for call, future in zip(calls, futures, strict=True):
        result, timing = future.result()
        rec, new_evidence, message = record(call, result, len(evidence), deps, timing)
        records.append(rec)
        evidence.extend(new_evidence)
        messages.append(message)
    return {"tool_calls": records, "evidence": evidence, "messages": messages}


def record(
    call: dict[str, Any],
    result: ToolResult,
    evidence_count: int,
    deps: Deps,
    timing: tuple[float, float] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]], ToolMessage]:
    """Number the result's evidence and build the call record and the model-facing message.

    `timing` (start, seconds) is kept on the record when the call ran, for trace spans.
    """
    evidence = []
    for offset, ev in enumerate(result.evidence, start=1):
        item = plain(ev.model_dump())
        item["id"] = f"E{evidence_count + offset}"
        evidence.append(item)
    rec = {
        "id": call.get("id"),
        "name": call["name"],
        "args": call.get("args") or {},
        "status": result.status.value,
        "summary": result.summary,
        "error": result.error,
        "evidence": [e["id"] for e in evidence],
        "data": plain(result.data),
    }
    if timing is not None:
        rec["started_at"], rec["duration_s"] = timing
    cites = "; ".join(f"[{e['id']}] {e['summary'][:120]}" for e in evidence)
    content = f"status: {result.status.value}\n{result.summary}"
    if cites:
        content += f"\nevidence to cite: {cites}"
    message = ToolMessage(
        content=redact(content, deps.secrets),
        tool_call_id=call.get("id") or call["name"],
        name=call["name"],
        status="error" if result.status == ToolStatus.ERROR else "success",
    )
    return rec, evidence, message


def plain(value: Any) -> Any:
    """Return `value` as plain JSON types: tools may hand back numpy numbers, which the
    checkpointer cannot store."""
    return json.loads(json.dumps(value, default=_to_json))


def _to_json(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return value.tolist()
    if isinstance(value, set | tuple):
        return list(value)
    return str(value)


def timing_of(rec: dict[str, Any]) -> dict[str, float]:
    """Return a call record's start and duration, when it ran."""
    return {k: rec[k] for k in ("started_at", "duration_s") if k in rec}


def public_call(rec: dict[str, Any]) -> dict[str, Any]:
    """Return the DESIGN.md tool_calls shape of a call record."""
    return {
        "name": rec["name"],
        "args": json.loads(json.dumps(rec["args"], default=str)),
        "status": rec["status"],
    }
