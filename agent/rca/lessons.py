"""What went well, what went badly and what to do next, derived only from an incident's records.

Each line states a measured fact (a time, a decision, a tool's error) or an item that follows
from one; with nothing recorded for a point, nothing is said about it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

FAST_REPORT_S = 15 * 60.0  # a first report within this of the first alert counts as quick
MODEL_RELEASES = ("alias_move", "version_switch", "model_version")
DENIED = ("rejected", "expired", "unauthorized", "refused")


def minutes(span: float) -> str:
    """Say a duration in minutes (seconds when under one)."""
    return f"{span:.0f} s" if span < 60 else f"{span / 60:.1f} min"


def _at(value: Any) -> float:
    stamp = datetime.fromisoformat(str(value))
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()


def _reads(state: dict[str, Any], report: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the read tool calls: the graph state's (with errors), else the report's."""
    calls = state.get("tool_calls") or report.get("tool_calls") or []
    return [c for c in calls if not c.get("approval") and c.get("status") != "approval_required"]


def report_time(pm: dict[str, Any], audit: list[dict[str, Any]], state: dict) -> float | None:
    """Return when the first report existed: delivered, else its approval request, else the
    end of its last read."""
    delivered = [t["at"] for t in pm["timeline"] if t["kind"] == "report"]
    if delivered:
        return float(delivered[0])
    asked = [_at(e["at"]) for e in audit if e["decision"] == "requested"]
    if asked:
        return asked[0]
    ends = [
        c["started_at"] + c.get("duration_s", 0.0) for c in _reads(state, {}) if c.get("started_at")
    ]
    return max(ends) if ends else None


def lessons(
    pm: dict[str, Any],
    report: dict[str, Any],
    state: dict[str, Any],
    audit: list[dict[str, Any]],
    alerts: list[dict[str, Any]],
    opened: float | None,
) -> tuple[list[str], list[str]]:
    """Return (went well, went badly)."""
    good: list[str] = []
    bad: list[str] = []
    first = min((float(a["starts_at"]) for a in alerts), default=opened)
    reported = report_time(pm, audit, state)
    if first is not None and reported is not None and report:
        line = f"first report {minutes(max(0.0, reported - first))} after the first alert"
        (good if reported - first <= FAST_REPORT_S else bad).append(line)
    if report.get("error"):
        bad.append(f"the investigation reported an error: {report['error']}")
    if report.get("false_alarm"):
        bad.append(f"{', '.join(pm['alerts'])} fired although no fault was found")
    elif report and not report.get("error"):
        top = (report.get("hypotheses") or [{}])[0]
        if not top:
            bad.append("no root-cause hypothesis could be formed")
        elif float(top.get("score") or 0) < 0.15:
            bad.append(f"inconclusive: the best hypothesis scored only {top['score']:.2f}")
    _decisions(audit, good, bad)
    _after_action(audit, alerts, good, bad)
    failed = [c for c in _reads(state, report) if c.get("status") == "error"]
    for call in failed:
        error = call.get("error") or "no error text stored"
        what = "timed out" if "timed out" in error else "failed"
        bad.append(f"tool {call['name']} {what}: {error[:200]}")
    if state.get("tool_calls") and not failed:
        good.append(f"all {len(_reads(state, report))} evidence tool calls answered")
    return good, bad


def _decisions(audit: list[dict[str, Any]], good: list[str], bad: list[str]) -> None:
    asked = {e["action"]: _at(e["at"]) for e in audit if e["decision"] == "requested"}
    decided = set()
    for e in audit:
        if e["decision"] == "requested":
            continue
        decided.add(e["action"])
        wait = _at(e["at"]) - asked[e["action"]] if e["action"] in asked else None
        after = f" {minutes(wait)} after it was requested" if wait is not None else ""
        who = e.get("approver") or "unknown"
        if e["decision"] == "approved":
            good.append(f"{e['action']} was approved by {who}{after}")
            if e["status"] == "ok":
                good.append(f"{e['action']} ran successfully")
            else:
                bad.append(f"{e['action']} was approved but {e['status']}: {e.get('result')}")
        elif e["decision"] in DENIED:
            reason = f": {e['reason']}" if e.get("reason") else ""
            bad.append(f"{e['action']} was {e['decision']} (by {who}){after}{reason}")
    for action in asked:
        if action not in decided:
            bad.append(f"{action} still awaits a decision")


def _after_action(
    audit: list[dict[str, Any]], alerts: list[dict[str, Any]], good: list[str], bad: list[str]
) -> None:
    ran = [_at(e["at"]) for e in audit if e["decision"] == "approved" and e["status"] == "ok"]
    if not ran:
        return
    done = ran[-1]
    for a in alerts:
        if a.get("status") == "resolved" and a.get("ends_at") and a["ends_at"] >= done:
            took = minutes(a["ends_at"] - done)
            good.append(f"alert {a['name']} resolved {took} after the action")
        elif a.get("status") != "resolved":
            bad.append(f"alert {a['name']} was still firing after the action")


def action_items(
    pm: dict[str, Any],
    report: dict[str, Any],
    state: dict[str, Any],
    audit: list[dict[str, Any]],
    changes: list[dict[str, Any]],
) -> list[str]:
    """Return the follow-ups the records call for."""
    items: list[str] = []
    cause = pm["root_cause"]
    if cause.get("false_alarm"):
        items += [f"Tune alert {name}: it fired with no fault found" for name in pm["alerts"]]
    elif cause["kind"] == "model_version":
        version = _bad_version(cause["target"], pm, state, changes)
        which = f"v{version}" if version else "the version released before the onset"
        items.append(
            f"Investigate why {cause['target']} {which} failed in production: compare its "
            "validation metrics with what production measured, and tighten the promotion gate"
        )
    elif cause["kind"] in ("service", "dependency"):
        items.append(f"Find and fix the fault in {cause['target']}; add a test or a canary")
    elif cause["kind"] == "data":
        items.append(f"Find the upstream source of the input shift feeding {cause['target']}")
    elif cause["kind"] == "infra":
        items.append(f"Review the CPU limits and replicas of {cause['target']}")
    elif report:
        raise_ = (state.get("rca") or {}).get("raise") or []
        items.append(
            "Establish the root cause by hand; opsloop found none"
            + (f" (it would need: {'; '.join(raise_)})" if raise_ else "")
        )
    for call in _reads(state, report):
        if call.get("status") == "error":
            items.append(f"Fix tool {call['name']} so the next investigation can use it")
    for e in audit:
        if e["decision"] in DENIED:
            items.append(f"Agree the fix: {e['action']} was {e['decision']}")
    if any(e["decision"] == "requested" for e in audit) and not any(
        e["decision"] != "requested" for e in audit
    ):
        items.append(f"Decide the pending action: `opsloop approve {pm['id']}`")
    if pm["impact"]["end"] == "ongoing":
        items.append("Resolve the incident, then regenerate this draft")
    return list(dict.fromkeys(items))


def _bad_version(
    model: str, pm: dict[str, Any], state: dict[str, Any], changes: list[dict[str, Any]]
) -> str | None:
    """Return the version a release moved `model` to last before the impact began."""
    seen = list(changes)
    for call in state.get("tool_calls") or []:
        if call.get("name") == "recent_changes" and isinstance(call.get("data"), dict):
            seen += call["data"].get("changes") or []
    start = pm["impact"].get("start_at") or float("inf")
    releases = [
        c
        for c in seen
        if c.get("target") == model and c.get("kind") in MODEL_RELEASES
        and float(c.get("at") or 0) <= start
    ]  # fmt: skip
    if not releases:
        return None
    last = max(releases, key=lambda c: float(c["at"]))
    detail = last.get("detail") or {}
    return str(detail.get("to") or detail.get("version") or "") or None
