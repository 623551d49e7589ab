"""The alert's own condition as evidence: an observed impact unless something explains it away.

A rule that still holds at the alert time is an impact a person can see on the dashboard;
"false alarm" has to say why it is none: the signal held at this time yesterday too (a daily
pattern), or the threshold keeps flapping. A rule that no longer holds asserts nothing.
"""

from __future__ import annotations

from typing import Any

from opsloop.agent.rca.evidence import Findings, cite
from opsloop.tools.analysis.series import format_value

CONDITION_IMPACT = 0.6  # how bad an unexplained, holding alert condition is taken to be
SERVICE_FLOOR = 0.2  # the alerted service's own score while its alert's condition stands


def explanation(c: dict[str, Any]) -> str | None:
    """Return why a holding condition is no fault, or None when nothing explains it."""
    if not c.get("holds"):
        return None
    if c.get("yesterday_holds"):
        return cite(f"{c['alert']}'s condition held around this time yesterday too", c.get("eid"))
    if c.get("flapping"):
        return cite(
            f"{c['alert']}'s condition keeps flapping ({c.get('episodes')} separate episodes "
            "in 6h)",
            c.get("eid"),
        )
    return None


def standing(f: Findings) -> list[dict[str, Any]]:
    """Return the conditions that hold at the alert time with nothing to explain them."""
    return [c for c in f.conditions if c.get("holds") and explanation(c) is None]


def impact(f: Findings) -> float | None:
    """Return the impact the alerts' conditions show (None when none was read back)."""
    if not f.conditions:
        return None
    return CONDITION_IMPACT if standing(f) else 0.0


def impact_lines(f: Findings) -> list[str]:
    """Return one cited line per standing condition: what the alert asserts, measured."""
    out = []
    for c in standing(f):
        text = f"{c['alert']}'s condition holds"
        if c.get("value") is not None:
            text += f": the alerting signal is {format_value(c['value'], '')}"
            if c.get("level") is not None and c.get("op"):
                text += f" (threshold {c['op']} {format_value(c['level'], '')})"
        out.append(cite(text, c.get("eid")))
    return out


def cleared_lines(f: Findings) -> list[str]:
    """Return why a false alarm stands: each condition explained away or no longer holding."""
    out = [e for c in f.conditions if (e := explanation(c))]
    out += [
        cite(f"{c['alert']}'s condition no longer holds", c.get("eid"))
        for c in f.conditions
        if not c.get("holds")
    ]
    return out


def condition_service(c: dict[str, Any], alerted: list[str]) -> str | None:
    """Return the alerted service a condition is about: one its labels name, else the only
    one alerted. None for a model's condition: the model hypotheses weigh those."""
    labels = c.get("labels") or {}
    if labels.get("model"):
        return None
    named = next((s for s in alerted if s in labels.values()), None)
    return named or (alerted[0] if len(alerted) == 1 else None)
