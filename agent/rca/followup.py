"""Follow-up reads: after the first ranking, the LLM may ask for a few more read calls."""

from __future__ import annotations

import itertools
import json
import logging
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage

from opsloop import prompts
from opsloop.agent.graph.deps import Deps
from opsloop.agent.graph.state import AgentState
from opsloop.agent.llm.chat import invoke
from opsloop.tools.redact import redact

MAX_FOLLOWUPS = 3  # read calls the LLM may add to the playbook's evidence
_ids = itertools.count(1)
log = logging.getLogger(__name__)


def followup_calls(state: AgentState, deps: Deps) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Return (read calls the LLM asked for, state update with its usage and notes).

    Only read tools are offered and accepted; repeats and unknown names are dropped. A
    failing endpoint changes nothing: the report goes out on the playbook's evidence.
    """
    assert deps.llm is not None
    reads = {n: t for n, t in deps.tools.items() if not deps.is_write(n)}
    ran = [{"name": c["name"], "args": c.get("args", {})} for c in state.get("tool_calls", [])]
    brief = {
        "alert": (state.get("rca") or {}).get("title"),
        "hypotheses": [
            {k: h[k] for k in ("kind", "target", "score")} for h in state.get("hypotheses", [])[:5]
        ],
        "ruled_out": state.get("ruled_out", [])[:5],
        "already_ran": ran,
    }
    messages = [
        SystemMessage(content=prompts.render("followup", max_calls=MAX_FOLLOWUPS)),
        HumanMessage(content=redact(json.dumps(brief, default=str), deps.secrets)),
    ]
    try:
        reply, usage = invoke(
            deps.llm, messages, state.get("usage", {}), reads.values(), state=state, deps=deps
        )
    except Exception as exc:  # the playbook's evidence stands on its own
        log.info("follow-up tools not asked: the LLM failed (%s)", type(exc).__name__)
        return [], {}
    seen = {(c["name"], json.dumps(c["args"], sort_keys=True, default=str)) for c in ran}
    calls, notes = [], []
    for tc in getattr(reply, "tool_calls", None) or []:
        key = (tc["name"], json.dumps(tc.get("args") or {}, sort_keys=True, default=str))
        if tc["name"] not in reads:
            notes.append(f"The LLM asked for {tc['name']}, which is not a read tool; ignored.")
        elif key not in seen and len(calls) < MAX_FOLLOWUPS:
            seen.add(key)
            calls.append({"id": f"call_f{next(_ids)}", "name": tc["name"],
                          "args": dict(tc.get("args") or {})})  # fmt: skip
    update: dict[str, Any] = {"usage": usage}
    if notes:
        update["notes"] = [*state.get("notes", []), *notes]
    return calls, update
