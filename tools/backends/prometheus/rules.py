"""Alerting rules read as text: the signal, the comparison and the threshold of a condition.

Prometheus alerts when its rule's expression returns a series; most rules are
`<signal> <op> <threshold>`, possibly joined with `and`/`unless` guards. Splitting at the
top-level comparison gives the signal to read (its value now and yesterday) and the level
it was held to. No PromQL parser is needed for that: only brackets, strings and the
operators outside them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from opsloop.tools.backends.prometheus.promql import format_duration, parse_duration

_COMPARE = ("==", "!=", ">=", "<=", ">", "<")
_SET_OPS = re.compile(r"\b(and|or|unless)\b", re.IGNORECASE)
# Vector-matching clauses that may follow an operator: `> on (a, b) group_left (c)`.
_MODIFIER = re.compile(
    r"^\s*(bool\s+)?((on|ignoring)\s*\([^)]*\)\s*)?((group_left|group_right)\s*(\([^)]*\))?\s*)?",
    re.IGNORECASE,
)
_RANGE = re.compile(r"\[(\d+(?:\.\d+)?(?:ms|[smhdwy]))(:[^\]]*)?\]")


@dataclass(frozen=True)
class Condition:
    """`signal op threshold`: `threshold` is a number, or None when it is a series."""

    signal: str
    op: str
    rhs: str
    threshold: float | None

    def breaches(self, value: float, level: float | None = None) -> bool:
        """Return True when `value` meets the condition against `level` (the threshold)."""
        bound = self.threshold if level is None else level
        if bound is None or not math.isfinite(value):
            return False
        return {
            ">": value > bound,
            ">=": value >= bound,
            "<": value < bound,
            "<=": value <= bound,
            "==": value == bound,
            "!=": value != bound,
        }[self.op]

    @property
    def worse(self) -> str:
        """Return "up" when higher values breach, "down" when lower ones do, else ""."""
        return "up" if self.op in (">", ">=") else "down" if self.op in ("<", "<=") else ""


def top_level(expr: str) -> list[tuple[int, str]]:
    """Return (offset, char) of every character outside brackets and strings."""
    out, depth, quote, i = [], 0, "", 0
    while i < len(expr):
        ch = expr[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == quote:
                quote = ""
        elif ch in "\"'`":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0:
            out.append((i, ch))
        i += 1
    return out


def _outside(expr: str) -> str:
    """Return `expr` with everything inside brackets and strings blanked (same offsets)."""
    keep = dict(top_level(expr))
    return "".join(keep.get(i, " ") for i in range(len(expr)))


def strip_parens(expr: str) -> str:
    """Remove parentheses that wrap the whole expression (not "(a) > (b)")."""
    text = expr.strip()
    while text.startswith("(") and text.endswith(")") and _wraps(text):
        text = text[1:-1].strip()
    return text


def _wraps(text: str) -> bool:
    """Return True when the opening bracket of `text` closes at its last character."""
    return not any(i < len(text) - 1 for i, _ in top_level(text))


def clauses(expr: str) -> list[str]:
    """Split at top-level `and` / `unless` / `or`: the condition first, its guards after."""
    flat = _outside(expr)
    cuts = [m.span() for m in _SET_OPS.finditer(flat)]
    parts, last = [], 0
    for start, end in cuts:
        parts.append(expr[last:start])
        rest = _MODIFIER.match(expr[end:])
        last = end + (rest.end() if rest else 0)
    parts.append(expr[last:])
    return [strip_parens(p) for p in parts if p.strip()]


def split_condition(expr: str) -> Condition | None:
    """Return the first top-level comparison of the rule's expression, or None."""
    for clause in clauses(strip_parens(expr)):
        flat = _outside(clause)
        for i in range(len(flat)):
            op = next((o for o in _COMPARE if flat.startswith(o, i)), None)
            if op is None or (op in ("<", ">") and flat[i + 1 : i + 2] == "="):
                continue
            if op == "=" or (op in ("<", ">") and i > 0 and flat[i - 1] in "=!<>"):
                continue
            lhs = strip_parens(clause[:i])
            tail = clause[i + len(op) :]
            mod = _MODIFIER.match(tail)
            rhs = strip_parens(tail[mod.end() if mod else 0 :])
            if not lhs or not rhs:
                return None
            return Condition(lhs, op, rhs, _number(rhs))
    return None


def widen_ranges(expr: str, min_s: float) -> str:
    """Widen every range selector shorter than `min_s`: rate() over sparse data needs a few
    samples in its range, which a 30 s range over 60 s history lacks."""

    def widen(m: re.Match[str]) -> str:
        if parse_duration(m.group(1)) >= min_s:
            return m.group(0)
        return f"[{format_duration(math.ceil(min_s / 15) * 15)}{m.group(2) or ''}]"

    return _RANGE.sub(widen, expr)


def same_series(series: dict[str, str], alert: dict[str, str]) -> bool:
    """Return True when every label the series shares with the alert has the alert's value."""
    return all(alert[k] == v for k, v in series.items() if k in alert and k != "__name__")


def episodes(present: list[bool]) -> int:
    """Return how many separate runs of True the list holds."""
    return sum(1 for i, p in enumerate(present) if p and (i == 0 or not present[i - 1]))


def _number(text: str) -> float | None:
    try:
        return float(text.strip())
    except ValueError:
        return None
