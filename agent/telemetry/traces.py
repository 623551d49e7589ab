"""Answer records as OpenTelemetry traces, sent over OTLP/HTTP with JSON encoding.

One trace per answer: an `invoke_agent opsloop` root span, an `execute_tool {name}` child
per tool call and a `chat {model}` child per LLM call, timed from what the graph recorded.
Export runs on a background thread behind a bounded queue: a slow or dead collector costs
an answer nothing — traces are dropped and the failure is logged once.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from opsloop import __version__
from opsloop.agent.llm.usage import Part, part_of

log = logging.getLogger(__name__)

AGENT = "opsloop"
KIND_INTERNAL, KIND_CLIENT = 1, 3  # OTLP SpanKind
STATUS_ERROR = 2  # OTLP StatusCode
BATCH = 32  # answers per request at most
_STOP = object()


def traces_url(endpoint: str) -> str:
    """Return the traces URL for a collector base URL (a full …/v1/traces is kept)."""
    base = endpoint.rstrip("/")
    return base if urlsplit(base).path.endswith("/v1/traces") else base + "/v1/traces"


class OtlpExporter:
    """Queue answer records and POST them as OTLP/JSON traces from one daemon thread."""

    def __init__(
        self,
        endpoint: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 2.0,
        max_queue: int = 256,
    ) -> None:
        self.url = traces_url(endpoint)
        self.headers = {**(headers or {}), "Content-Type": "application/json"}
        self.timeout_s = timeout_s
        # Answers exported, lost to a failed request, and dropped because the queue was full.
        self.sent = self.failed = self.dropped = 0
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_queue)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._failing = False  # log the first failure of a run of them, and the recovery

    @classmethod
    def from_settings(cls, settings: Any) -> OtlpExporter:
        """Build the exporter for `settings.otlp_endpoint`."""
        return cls(settings.otlp_endpoint, headers=settings.otlp_headers)

    def observe(self, record: Mapping[str, Any]) -> None:
        """Queue one answer record for export; never block, never raise."""
        try:
            spans = answer_spans(record)
        except Exception:  # a malformed record is this exporter's bug, not the answer's
            log.exception("OTLP: cannot build spans for an answer record")
            return
        self._start()
        try:
            self._queue.put_nowait(spans)
        except queue.Full:
            self.dropped += 1
            if self.dropped == 1:
                log.warning("OTLP: export queue full (collector %s too slow?); dropping", self.url)

    def close(self, timeout_s: float = 1.0) -> None:
        """Send what is queued, waiting at most `timeout_s`; then stop the thread."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            return
        try:
            self._queue.put(_STOP, timeout=timeout_s)
        except queue.Full:
            return
        thread.join(timeout_s)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="opsloop-otlp", daemon=True)
                self._thread.start()
                # `opsloop ask` exits right after answering: give its trace a moment to leave.
                atexit.register(self.close)

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout_s, headers=self.headers) as client:
            while True:
                batch = [self._queue.get()]
                while batch[-1] is not _STOP and len(batch) < BATCH:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                answers = [item for item in batch if item is not _STOP]
                if answers:
                    self._send(client, answers)
                if batch[-1] is _STOP:
                    return

    def _send(self, client: httpx.Client, answers: list[list[dict[str, Any]]]) -> None:
        spans = [s for answer in answers for s in answer]
        try:
            response = client.post(self.url, json=payload(spans))
            response.raise_for_status()
        except Exception as exc:
            self.failed += len(answers)
            if not self._failing:
                self._failing = True
                log.warning("OTLP: cannot export traces to %s (%s); dropping them until it "
                            "answers", self.url, _short(exc))  # fmt: skip
            return
        self.sent += len(answers)
        if self._failing:
            self._failing = False
            log.info("OTLP: exporting traces to %s again", self.url)


def payload(spans: list[dict[str, Any]]) -> dict[str, Any]:
    """Wrap spans in the ExportTraceServiceRequest JSON shape."""
    resource = {"attributes": attributes({"service.name": AGENT, "service.version": __version__})}
    scope = {"name": "opsloop.agent", "version": __version__}
    scope_spans = [{"scope": scope, "spans": spans}]
    return {"resourceSpans": [{"resource": resource, "scopeSpans": scope_spans}]}


def answer_spans(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return one answer's spans: the root, then its tool and LLM calls.

    Attributes carry ids, names, counts and scores only: never the question, the answer,
    tool arguments or anything a tool returned.
    """
    part = part_of(record)
    trace_id, root_id = os.urandom(16).hex(), os.urandom(8).hex()
    evals = record.get("evals") or {}
    root_attrs: dict[str, Any] = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": AGENT,
        "gen_ai.conversation.id": str(record.get("thread_id") or ""),
        "gen_ai.provider.name": part.provider,
        "gen_ai.request.model": part.model,
        "gen_ai.usage.input_tokens": part.input_tokens,
        "gen_ai.usage.output_tokens": part.output_tokens,
        "opsloop.brain": str(record.get("brain") or "deterministic"),
        "opsloop.mode": str(record.get("mode") or "question"),
        "opsloop.tool_calls": len(part.tool_calls),
        "opsloop.grounded": bool(evals.get("grounded")),
    }
    for name in ("groundedness", "citation_coverage", "tool_error_rate"):
        if isinstance(evals.get(name), int | float):
            root_attrs[f"opsloop.evaluation.{name}"] = float(evals[name])
    if part.cost_usd is not None:
        root_attrs["opsloop.cost_usd"] = part.cost_usd
    root = span(trace_id, root_id, None, f"invoke_agent {AGENT}", part.started_at,
                part.ended_at, root_attrs, KIND_INTERNAL)  # fmt: skip
    return [root, *_tool_spans(part, trace_id, root_id), *_chat_spans(part, trace_id, root_id)]


def _tool_spans(part: Part, trace_id: str, parent: str) -> list[dict[str, Any]]:
    out = []
    for call in part.tool_calls:
        if "started_at" not in call:  # not run (denied, refused): no time to show
            continue
        name, status = str(call.get("name")), str(call.get("status"))
        attrs = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": name,
            "gen_ai.tool.type": "function",
            "opsloop.tool.status": status,
        }
        if status == "error":
            attrs["error.type"] = "tool_error"
        start = float(call["started_at"])
        end = start + float(call.get("duration_s") or 0.0)
        out.append(span(trace_id, os.urandom(8).hex(), parent, f"execute_tool {name}", start,
                        end, attrs, KIND_INTERNAL, error=status == "error"))  # fmt: skip
    return out


def _chat_spans(part: Part, trace_id: str, parent: str) -> list[dict[str, Any]]:
    out = []
    for call in part.chat_calls:
        attrs = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": part.provider,
            "gen_ai.request.model": part.model,
            "gen_ai.usage.input_tokens": int(call.get("input_tokens") or 0),
            "gen_ai.usage.output_tokens": int(call.get("output_tokens") or 0),
        }
        start = float(call["started_at"])
        end = start + float(call.get("duration_s") or 0.0)
        out.append(span(trace_id, os.urandom(8).hex(), parent, f"chat {part.model}", start, end,
                        attrs, KIND_CLIENT))  # fmt: skip
    return out


def span(
    trace_id: str,
    span_id: str,
    parent_id: str | None,
    name: str,
    start: float,
    end: float,
    attrs: Mapping[str, Any],
    kind: int,
    *,
    error: bool = False,
) -> dict[str, Any]:
    """Return one span in the OTLP JSON mapping (hex ids, nanosecond times as strings)."""
    out = {
        "traceId": trace_id,
        "spanId": span_id,
        "name": name,
        "kind": kind,
        "startTimeUnixNano": str(int(start * 1e9)),
        "endTimeUnixNano": str(int(max(start, end) * 1e9)),
        "attributes": attributes(attrs),
    }
    if parent_id:
        out["parentSpanId"] = parent_id
    if error:  # success stays Unset, as OTel asks of instrumentations
        out["status"] = {"code": STATUS_ERROR}
    return out


def attributes(values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return OTLP KeyValue attributes (int64 as a decimal string, as proto3 JSON does)."""
    out = []
    for key, value in values.items():
        if isinstance(value, bool):
            typed: dict[str, Any] = {"boolValue": value}
        elif isinstance(value, int):
            typed = {"intValue": str(value)}
        elif isinstance(value, float):
            typed = {"doubleValue": value}
        else:
            typed = {"stringValue": str(value)}
        out.append({"key": key, "value": typed})
    return out


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:200] if text else type(exc).__name__
