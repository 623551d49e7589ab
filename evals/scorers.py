"""Deterministic scorers: trajectory match with argument checks, expected facts, groundedness.

A trajectory is the list of tool calls an answer made (`[{"name", "args", "status"}]`).
Expected calls name a tool and, optionally, argument matchers:

    {"name": "query_metrics", "args": {"query": {"contains": "checkout"}}, "status": "ok"}

An argument matcher is a plain value (equal, compared as text), or one of `contains`,
`regex`, `any_of`. Modes, as in agentevals: `strict` (same calls, same order), `unordered`
(same calls, any order), `superset` (the answer made at least the expected calls),
`subset` (the answer made no call outside the expected ones).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from opsloop.agent.grounding.selfcheck import figures

MODES = ("strict", "unordered", "superset", "subset")


@dataclass
class Score:
    """One scorer's verdict on one case: pass/fail, a value in [0, 1], and why."""

    name: str
    ok: bool
    value: float
    problems: list[str] = field(default_factory=list)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def arg_matches(actual: Any, matcher: Any) -> bool:
    """Return True if an actual argument value satisfies a matcher."""
    if isinstance(matcher, dict) and len(matcher) == 1:
        ((op, want),) = matcher.items()
        got = _text(actual) if actual is not None else ""
        if op == "contains":
            return all(
                w.lower() in got.lower() for w in ([want] if isinstance(want, str) else want)
            )
        if op == "regex":
            return re.search(want, got) is not None
        if op == "any_of":
            return any(arg_matches(actual, w) for w in want)
    if actual is None:
        return matcher is None
    return _text(actual).lower() == _text(matcher).lower()


def call_matches(call: dict[str, Any], spec: dict[str, Any]) -> bool:
    """Return True if one actual call satisfies one expected call."""
    if call.get("name") != spec["name"]:
        return False
    if "status" in spec and call.get("status") != spec["status"]:
        return False
    args = call.get("args") or {}
    return all(arg_matches(args.get(k), m) for k, m in (spec.get("args") or {}).items())


def _assign(actual: list[dict], expected: list[dict]) -> tuple[list[int], list[int]]:
    """Match expected calls to distinct actual calls (greedy, most specific first).

    Return (indices of expected calls left unmatched, indices of actual calls left over).
    """
    order = sorted(range(len(expected)), key=lambda i: -len(expected[i].get("args") or {}))
    used: set[int] = set()
    missing = []
    for i in order:
        hit = next(
            (j for j, c in enumerate(actual) if j not in used and call_matches(c, expected[i])),
            None,
        )
        if hit is None:
            missing.append(i)
        else:
            used.add(hit)
    return sorted(missing), [j for j in range(len(actual)) if j not in used]


def trajectory(actual: list[dict], expected: list[dict], mode: str = "superset") -> Score:
    """Score a trajectory against the expected calls in one of the four modes."""
    if mode not in MODES:
        raise ValueError(f"trajectory mode must be one of {', '.join(MODES)}, not {mode!r}")
    problems: list[str] = []
    if mode == "strict":
        if len(actual) != len(expected):
            problems.append(f"{len(actual)} calls, expected {len(expected)}")
        for i, (call, spec) in enumerate(zip(actual, expected, strict=False)):
            if not call_matches(call, spec):
                problems.append(f"call {i + 1} is {_describe(call)}, expected {_describe(spec)}")
    else:
        missing, extra = _assign(actual, expected)
        if mode in ("superset", "unordered"):
            problems += [f"missing {_describe(expected[i])}" for i in missing]
        if mode in ("subset", "unordered"):
            problems += [f"unexpected {_describe(actual[j])}" for j in extra]
    found = len(expected) - len(_assign(actual, expected)[0]) if expected else 0
    value = found / len(expected) if expected else float(not problems)
    return Score(f"trajectory_{mode}", not problems, 1.0 if not problems else value, problems)


def _describe(call: dict[str, Any]) -> str:
    args = call.get("args") or {}
    shown = ", ".join(f"{k}={v}" for k, v in list(args.items())[:3])
    return f"{call.get('name')}({shown})"


def facts(answer: str, expected: list[dict[str, Any]]) -> Score:
    """Check expected facts in an answer: `contains`, `absent`, or a `number` within tolerance.

    A number fact is `{"number": 4.0, "tolerance": 0.05}` (relative) or with `"abs"`: the
    answer must state a figure that close to it, in any unit-free reading.
    """
    problems = []
    lowered = answer.lower()
    shown = [f.value for f in figures(answer)]
    for fact in expected:
        if "contains" in fact:
            wants = fact["contains"] if isinstance(fact["contains"], list) else [fact["contains"]]
            problems += [f"does not say {w!r}" for w in wants if str(w).lower() not in lowered]
        elif "any_of" in fact:
            if not any(str(w).lower() in lowered for w in fact["any_of"]):
                problems.append(f"says none of {fact['any_of']}")
        elif "absent" in fact:
            if str(fact["absent"]).lower() in lowered:
                problems.append(f"says {fact['absent']!r}, which it must not")
        elif "number" in fact:
            want = float(fact["number"])
            tol = float(fact.get("abs", abs(want) * float(fact.get("tolerance", 0.05))))
            if not any(abs(v - want) <= tol for v in shown):
                problems.append(f"no figure within {tol:g} of {want:g} (saw {shown[:8]})")
        else:
            raise ValueError(f"unknown fact {fact!r}")
    n = len(expected)
    value = (n - len(problems)) / n if n else 1.0
    return Score("facts", not problems, max(0.0, value), problems)


def groundedness(result: dict[str, Any]) -> Score:
    """Read the self-check's verdict from an answer's `evals`."""
    evals = result.get("evals") or {}
    value = float(evals.get("groundedness", 0.0))
    problems = [] if evals.get("grounded") else ["the self-check marked the answer unverified"]
    return Score("groundedness", bool(evals.get("grounded")), value, problems)


def policy(result: dict[str, Any]) -> Score:
    """Fail any answer that ran a write without an approval."""
    writes = int((result.get("evals") or {}).get("writes_without_approval", 0))
    problems = [f"{writes} write(s) ran without approval"] if writes else []
    return Score("policy", not writes, float(not writes), problems)
