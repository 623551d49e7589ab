"""Assess the findings: ranked hypotheses, nudged by memory, and the remediation they call for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opsloop.agent.rca.evidence import Findings, Hypothesis, best_change, onset_of
from opsloop.agent.rca.hypotheses import rank

MIN_ACTIONABLE = 0.15  # below this score no hypothesis earns a remediation
TOP = 5
# Which remediation each kind of root cause calls for.
WRITE_FOR = {"model_version": "rollback_model", "data": "retrain_model"}


@dataclass
class Assessment:
    """The playbook's verdict: ranked hypotheses, what was ruled out, the suggested action."""

    hypotheses: list[Hypothesis]
    ruled_out: list[dict[str, Any]]
    action: dict[str, Any] | None  # {"name", "args", "why"} or None (no action needed)
    confidence: float
    raise_confidence: list[str]


def assess(f: Findings, incidents: list[dict[str, Any]] | None = None) -> Assessment:
    """Rank hypotheses (nudged by similar past incidents) and pick the remediation."""
    ranked = rank(f)
    for h in ranked:  # memory as a prior: a cause seen before for this alert counts a little
        for past in incidents or []:
            # The target, not the kind: the same cause reads as "service" or "dependency"
            # depending on which alert opened the incident.
            if past.get("cause_target") == h.target and h.kind != "none":
                h.score = min(1.0, h.score + 0.1 * float(past.get("score", 0.0)))
                h.why.append(f"a similar past incident had this cause ({past.get('id')})")
    ranked.sort(key=lambda h: -h.score)
    top = ranked[0]
    second = ranked[1].score if len(ranked) > 1 else 0.0
    confidence = round(
        max(0.0, min(1.0, top.score * (1.0 - 0.5 * second / max(top.score, 1e-9)))), 2
    )
    kept = [h for h in ranked[:TOP] if h.score > 0.05 or h is top]
    if top.kind == "none":  # show what was considered, weak as it is
        kept += [h for h in ranked if h.kind != "none" and h not in kept][
            : max(0, 3 - len(kept) + 1)
        ]
    ruled = [
        {"kind": h.kind, "target": h.target, "score": round(h.score, 3), "why": _ruled_why(h)}
        for h in ranked[len(kept) :]
        if h.kind != "none" or top.kind != "none"
    ][:8]
    # Too little evidence for any cause (backends down, or nothing moved yet): suggest no action.
    action = remediation(top, f) if top.score >= MIN_ACTIONABLE else None
    return Assessment(kept, ruled, action, confidence, _raise(top, f))


def remediation(top: Hypothesis, f: Findings) -> dict[str, Any] | None:
    """Return the action the top hypothesis calls for: rollback, retrain, escalate or none."""
    if top.kind == "none":
        return None
    if top.kind in WRITE_FOR:
        args: dict[str, Any] = {"model": top.target}
        if top.kind == "data":
            args["window"] = "7d"
        elif previous := _released_from(f, top.target):
            args["version"] = previous  # the version the release replaced
        why = (
            "roll back to the champion before the release"
            if top.kind == "model_version"
            else "retrain on recent data so the model learns the new distribution"
        )
        return {"name": WRITE_FOR[top.kind], "args": args, "why": why}
    team = f.owners.get(top.target)
    args = {"team": team or f"the owners of {top.target}", "service": top.target}
    why = {
        "dependency": f"{top.target} is where the fault starts, below what alerted",
        "infra": f"{top.target} is CPU-bound at its limit: scale out or revert the change",
        "service": f"the fault is in {top.target} itself",
    }[top.kind]
    return {"name": "escalate", "args": args, "why": why}


def _released_from(f: Findings, model: str) -> str | None:
    """Return the version the serving pods ran before a fresh version switch.

    An alias move needs no version: the rollback tool reads the champion's history itself.
    """
    onset = onset_of(f, [r for r in f.rows if r.get("model") == model])
    w, change = best_change(f, model, onset, ("version_switch",))
    previous = (change or {}).get("detail", {}).get("from") if w > 0 else None
    return str(previous) if previous else None


def _ruled_why(h: Hypothesis) -> str:
    reasons = [w for w in h.why if w.startswith(("no ", "its ", "the same"))]
    return "; ".join(reasons) or "no signal, change or log evidence points at it"


def _raise(top: Hypothesis, f: Findings) -> list[str]:
    out = [f"a working {name} (it failed)" for name in dict.fromkeys(f.failed)]
    models = bool(f.alerted_models or f.served)  # a world without models misses no monitor
    out += [
        f"{source}: none were found"
        for source in f.unread
        if models or not source.startswith("model")
    ]
    if not f.changes:
        out.append("a change log (deploys, config pushes, model alias moves)")
    if not f.topology:
        out.append("the service call graph (OPSLOOP_TOPOLOGY), to tell causes from symptoms")
    if top.kind != "none" and top.target not in f.logs and top.kind not in WRITE_FOR:
        out.append(f"logs from {top.target}")
    if top.kind in WRITE_FOR and top.target not in f.drift:
        out.append(f"feature logs for {top.target} (OPSLOOP_FEATURE_LOG_DIR), for drift checks")
    if not out:
        out.append("a confirming signal after the action (the alert resolving)")
    return out
