"""The incident report: what broke, the likely cause with evidence, what to do, how sure."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

KIND_TEXT = {
    "model_version": "a bad model version",
    "data": "a shift in the input data",
    "dependency": "a dependency",
    "service": "the service itself",
    "infra": "capacity (CPU saturation)",
}


def render(state: dict[str, Any], thread_id: str | None) -> str:
    """Return the report as Markdown-flavoured text, every figure cited.

    Links stay in the evidence records (shown under the report), not in the text, where a
    URL's digits would read as figures to check.
    """
    info = state.get("rca") or {}
    hyps = state.get("hypotheses") or []
    verdict = info.get("verdict_evidence", "")
    t0 = datetime.fromtimestamp(float(info.get("t0", 0)), UTC)
    lines = [
        f"# {info.get('title', 'Alert')}",
        f"Severity {info.get('severity', 'unknown')}; judged at {t0:%Y-%m-%d %H:%M:%S} UTC.",
        "",
    ]
    if info.get("false_alarm"):
        lines.append(
            f"**Verdict: false alarm, no fault found** (confidence "
            f"{info.get('confidence', 0):.2f}) [{verdict}]"
        )
        lines += [f"- {w}" for w in info.get("false_alarm_why", [])]
        return "\n".join(lines + _rest(state, hyps, thread_id, verdict, start=1))
    if not hyps:
        lines.append("No hypothesis could be formed: the evidence tools returned nothing usable.")
        return "\n".join(lines + _failed(state))
    top = hyps[0]
    # What the alert asserts, measured: the impact the cause below has to account for.
    lines += [f"Impact: {line}" for line in info.get("impact", [])]
    if not state.get("action") and top["score"] < 0.15:
        lines.append(
            "**Inconclusive: no hypothesis has enough evidence** "
            f"(best: {_kind(top)} {top['target']}, score {top['score']:.2f}) [{verdict}]"
        )
        return "\n".join(lines + _rest(state, hyps[1:], thread_id, verdict, start=2))
    lines.append(
        f"**Most likely cause: {top['target']}: {KIND_TEXT.get(top['kind'], top['kind'])}** "
        f"(score {top['score']:.2f}, confidence {info.get('confidence', 0):.2f}) [{verdict}]"
    )
    lines += [f"- {w}" for w in top.get("why", [])[:5]]
    cites = [e for e in top.get("evidence", []) if e != verdict]
    if cites:
        lines.append("- evidence: " + " ".join(f"[{e}]" for e in cites))
    return "\n".join(lines + _rest(state, hyps[1:], thread_id, verdict, start=2))


def _rest(
    state: dict[str, Any],
    others: list[dict[str, Any]],
    thread_id: str | None,
    verdict: str,
    start: int,
) -> list[str]:
    """Return the sections after the verdict: alternatives, ruled out, action, context."""
    info = state.get("rca") or {}
    lines: list[str] = []
    if others:
        title = "Other hypotheses:" if start > 1 else "Hypotheses considered (all weak):"
        lines += ["", title]
        # Bullets, not "2." numbering: a list number would read as a figure to check.
        for h in others:
            why = "; ".join(h.get("why", [])[:2]) or "no signal moved"
            lines.append(f"- {_kind(h)} {h['target']} (score {h['score']:.2f}) [{verdict}]: {why}")
    ruled = state.get("ruled_out") or []
    if ruled:
        lines += ["", "Ruled out:"]
        lines += [f"- {_kind(r)} {r['target']}: {r['why']}" for r in ruled[:6]]
    lines += ["", _action_text(state, thread_id)]
    incidents = state.get("incidents") or []
    if incidents:
        lines += ["", "Similar past incidents:"]
        lines += [f"- {i['line']}" for i in incidents[:3]]
    if info.get("raise"):
        lines += ["", "What would raise confidence: " + "; ".join(info["raise"]) + "."]
    return lines + _failed(state)


def _kind(h: dict[str, Any]) -> str:
    # "model_version" would read as an unknown name to the self-check; say it in words.
    return "no fault on" if h["kind"] == "none" else str(h["kind"]).replace("_", " ")


def _action_text(state: dict[str, Any], thread_id: str | None) -> str:
    action = state.get("action")
    if not action and (state.get("rca") or {}).get("false_alarm"):
        return "Suggested action: none — nothing is broken; consider tuning the alert."
    if not action:
        return "Suggested action: none yet — gather what is missing (below) and investigate again."
    args = ", ".join(f"{k}={v}" for k, v in action["args"].items())
    head = f"Suggested action: {action['name']}({args}) — {action['why']}."
    done = [c for c in state.get("tool_calls", []) if c["name"] == action["name"]]
    if done:
        call = done[-1]
        approval = call.get("approval") or {}
        who = approval.get("by")
        verdict = "approved" if approval.get("approved") else "not approved"
        result = call.get("summary") or call.get("error") or call["status"]
        return f"{head}\nOutcome: {verdict}{f' by {who}' if who else ''}; {result}"
    if action["name"] == "escalate":
        return f"{head}\nPage {action['args'].get('team')} with this report."
    if thread_id:
        return (
            f"{head}\nNeeds approval: `opsloop approve {thread_id}`, or reject it with "
            f"`opsloop approve {thread_id} --reject`; the dry run is shown before anything changes."
        )
    return head


def _failed(state: dict[str, Any]) -> list[str]:
    failed = [c for c in state.get("tool_calls", []) if c["status"] == "error"]
    if not failed:
        return []
    out = ["", "Could not check:"]
    out += [f"- {c['name']}: {(c.get('error') or '')[:200]}" for c in failed]
    return out


def public_actions(state: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the DESIGN.md `actions` list: the suggestion and what became of it."""
    action = state.get("action")
    if not action:
        return []
    done = [c for c in state.get("tool_calls", []) if c["name"] == action["name"]]
    if done:
        status = done[-1]["status"]
    elif action["name"] == "escalate":
        status = "proposed"
    else:
        status = "approval_required"
    return [{"name": action["name"], "args": dict(action["args"]), "status": status}]
