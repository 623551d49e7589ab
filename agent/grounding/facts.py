"""Facts: what the tools established, each figure with its subject, quantity and window.

Two sources, both tool output: the structured facts a tool attaches to its evidence
(`Evidence.facts`, exact values: query_metrics and golden_signals), and the figures of the
evidence and tool summaries read as claims. Query text, tool arguments and timestamps are
never facts: a "5" in `rate(…[5m])` supports nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from opsloop.agent.grounding import lexicon as lx
from opsloop.agent.grounding.claims import Claim, Names, read
from opsloop.agent.grounding.figures import DIMENSION_OF_UNIT, Figure
from opsloop.agent.grounding.values import value_facts

_RANGE = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True)
class Fact:
    """A figure a tool returned, read as a claim, with the evidence id it came from."""

    evidence: str
    claim: Claim
    exact: bool = False  # from structured data rather than rounded text


def range_seconds(value: Any) -> float | None:
    """Return a PromQL-style duration ("30m", "1h30m") in seconds."""
    if not isinstance(value, str) or not value:
        return None
    parts = _PART.findall(value.strip())
    if not parts or "".join(a + b for a, b in parts) != value.strip():
        return None
    return sum(float(n) * _SECONDS[u] for n, u in parts)


def structured(ev_id: str, raw: dict[str, Any]) -> Fact:
    """Build a fact from a tool's structured record (`Evidence.facts` item)."""
    unit = str(raw.get("unit") or "")
    dim = DIMENSION_OF_UNIT.get(unit, "")
    value = float(raw["value"])
    change = raw.get("change")
    if change is not None:
        dim = "ratio"
    if unit == "percent" and change is None:
        value /= 100
    fig = Figure(f"{value:g}", 0, value, value, unit, dim, 0.0)
    claim = Claim(
        text=str(raw.get("title") or ""),
        figure=fig,
        subjects=frozenset(s.lower() for s in raw.get("subjects") or ()),
        quantities=frozenset(
            raw.get("quantities")
            or quantities_of(str(raw.get("title") or ""), str(raw.get("query") or ""), unit)
        ),
        stat=raw.get("stat"),
        quantile=raw.get("quantile"),
        change=change,
        window_s=raw.get("window_s"),
        baseline=raw.get("baseline"),
    )
    return Fact(ev_id, claim, exact=True)


def collect(
    evidence: list[dict[str, Any]], calls: list[dict[str, Any]], names: Names
) -> list[Fact]:
    """Return every fact this turn's tools established, tagged with its evidence id."""
    call_of: dict[str, dict[str, Any]] = {}
    for call in calls:
        for ev_id in call.get("evidence") or []:
            call_of[ev_id] = call
    out: list[Fact] = []
    for ev in evidence:
        ev_id = str(ev.get("id") or "")
        call = call_of.get(ev_id, {})
        window = range_seconds((call.get("args") or {}).get("range"))
        out += [structured(ev_id, raw) for raw in ev.get("facts") or []]
        texts = [str(ev.get("summary") or "")]
        if call.get("summary") and call.get("summary") not in texts:
            texts.append(str(call["summary"]))
        read_here = [
            Fact(ev_id, _fill(c, window, ev))
            for text in texts
            for c in read(text, names)
            if c.figure.text
        ]
        siblings = [f.claim for f in read_here]
        out += read_here
        out += [Fact(ev_id, c, exact=True) for c in value_facts(ev, names, window, siblings)]
    # A tool summary without evidence ids (e.g. a failed call's explanation) still counts.
    for call in calls:
        if not (call.get("evidence") or []) and call.get("summary"):
            out += [Fact("", c) for c in read(str(call["summary"]), names)]
    out = _complete(out)
    return out + derived(out)


def _complete(facts: list[Fact]) -> list[Fact]:
    """Fill a figure's window and baseline from the same figure read elsewhere in its
    evidence (the evidence line has no header; its call summary says "over the last 1h")."""
    window: dict[tuple[str, float, str], float] = {}
    baseline: dict[tuple[str, float, str, str | None], str] = {}
    for f in facts:
        c = f.claim
        key = (f.evidence, c.figure.value, c.figure.dimension)
        if c.window_s:
            window.setdefault(key, c.window_s)
        if c.baseline:
            baseline.setdefault((*key, c.stat), c.baseline)
    out = []
    for f in facts:
        c = f.claim
        key = (f.evidence, c.figure.value, c.figure.dimension)
        c = replace(
            c,
            window_s=c.window_s or window.get(key),
            baseline=c.baseline or baseline.get((*key, c.stat)),
        )
        out.append(replace(f, claim=c))
    return out


_BASE_STATS = ("baseline", "previous")
# What each kind of baseline is compared with: the previous window's mean with this one's,
# a detector's baseline with the value now.
_PAIRED: dict[str | None, tuple[str | None, ...]] = {
    "previous": ("mean",),
    "baseline": ("last", None),
}


def derived(facts: list[Fact]) -> list[Fact]:
    """Return the changes a tool's own figures imply: a value against the baseline it was
    stated with ("now 97 ms, baseline 100 ms" is 3 % lower, and 3 ms lower)."""
    out: list[Fact] = []
    seen: set[tuple[str, float, float]] = set()
    for base in facts:
        b = base.claim
        if b.stat not in _BASE_STATS or b.change is not None or not b.figure.value:
            continue
        for cur in facts:
            c = cur.claim
            if (
                cur.evidence != base.evidence
                or c.change is not None
                or c.stat not in _PAIRED[b.stat]
                or c.subjects != b.subjects
                or c.quantities != b.quantities
                or c.figure.dimension != b.figure.dimension
                or (c.quantile != b.quantile)
            ):
                continue
            key = (cur.evidence, c.figure.value, b.figure.value)
            if key in seen:
                continue
            seen.add(key)
            diff = c.figure.value - b.figure.value
            tol = c.figure.tolerance + b.figure.tolerance
            ratio = diff / abs(b.figure.value)
            sign = 1 if diff > 0 else -1 if diff < 0 else 0
            rel_fig = Figure(
                f"{ratio:+.3g}", 0, ratio, ratio, "", "ratio", tol / abs(b.figure.value)
            )
            abs_fig = replace(
                c.figure, text=f"{diff:+.3g}", value=diff, written=diff, tolerance=tol
            )
            for fig in (rel_fig, abs_fig):
                claim = replace(c, figure=fig, change=sign, stat=None, baseline=b.baseline)
                out.append(Fact(cur.evidence, claim, exact=base.exact and cur.exact))
    return out


def quantities_of(title: str, query: str, unit: str) -> set[str]:
    """Return the quantity families of a query result from its title, query and unit."""
    found = lx.quantities(_words(title))
    low = query.lower()
    if "histogram_quantile" in low:
        found.add("latency")
    if re.search(r'5\.\.|5xx|"5|error|fail', low):
        found.add("error")
    by_unit = {"per_second": "rate", "cores": "cpu", "bytes": "memory"}
    if unit in by_unit:
        found.add(by_unit[unit])
    if unit == "seconds" and "cpu" not in low:
        found.add("latency")
    if not found:
        words = " ".join(re.findall(r"[a-z][a-z0-9]*", low.replace("_", " ")))
        found = lx.quantities(words)
    return found


def _words(text: str) -> str:
    """Lower-case text without hyphenated names ("feature-store" says nothing of features)."""
    return re.sub(r"\S*[a-z0-9]-[a-z0-9]\S*", " ", text.lower())


def _fill(claim: Claim, window: float | None, ev: dict[str, Any]) -> Claim:
    """Complete a fact read from tool text: its call's window, its query's subjects, and a
    signed value for a change ("down 7 %" is -7 %)."""
    subjects = claim.subjects or frozenset(_subjects_of_query(str(ev.get("query") or "")))
    quantities = claim.quantities or frozenset(lx.quantities(_words(str(ev.get("summary", "")))))
    fig = claim.figure
    if claim.change in (1, -1):
        fig = replace(fig, value=claim.change * abs(fig.value))
    return replace(
        claim,
        figure=fig,
        window_s=claim.window_s or window,
        subjects=subjects,
        quantities=quantities,
    )


def _subjects_of_query(query: str) -> Iterable[str]:
    """Names in a query's equality matchers (`service_name="gateway"`)."""
    for m in re.finditer(r'\b([a-zA-Z_][a-zA-Z0-9_]*)="([^"]+)"', query):
        if m.group(1) not in ("le", "quantile") and not any(c in m.group(2) for c in "|*+?[]("):
            yield m.group(2).lower()
