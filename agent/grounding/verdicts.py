"""Verdicts: does a fact support a claim, and if not, what does the evidence say instead?"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opsloop.agent.grounding.claims import Claim
from opsloop.agent.grounding.facts import Fact
from opsloop.agent.grounding.figures import BINARY_TWIN, UNITS, Figure
from opsloop.agent.grounding.values import ANY_UNIT

APPROX_SHARE = 0.1  # "about 400 ms" covers 360–440 ms


@dataclass
class Verdict:
    """The verdict on one claim."""

    text: str
    figure: str
    status: str  # supported | contradicted | unsupported
    evidence: list[str]
    reason: str

    def as_dict(self) -> dict[str, Any]:
        """Return the `evals.claims` item."""
        return {
            "text": self.text,
            "figure": self.figure,
            "status": self.status,
            "evidence": self.evidence,
            "reason": self.reason,
        }


def judge(claim: Claim, facts: list[Fact], asked: list[Claim], ids: set[str]) -> Verdict:
    """Return the verdict on one claim."""
    fig = claim.figure.text
    cited = [f for f in facts if f.evidence in claim.cites and f.evidence in ids]
    pools = [cited, [f for f in facts if f not in cited]] if cited else [facts]
    for pool in pools:
        hit = next((f for f in pool if not mismatch(claim, f.claim)), None)
        if hit is not None:
            reason = "matches " + _describe(hit)
            if cited and pool is not cited:
                reason += f" (the sentence cites {', '.join(claim.cites)})"
            return Verdict(claim.text, fig, "supported", [hit.evidence] if hit.evidence else [],
                           reason)  # fmt: skip
    if any(not mismatch(claim, a, ignore=("window", "baseline")) for a in asked):
        return Verdict(claim.text, fig, "supported", [], "restates the question")
    pool = cited or facts
    # Contradicted: the same subject and quantity, said otherwise; or this figure, of another.
    for f in pool:
        why = mismatch(claim, f.claim)
        if why and why != "subject" and _about_same(claim, f.claim):
            return Verdict(claim.text, fig, "contradicted", [f.evidence],
                           _contradiction(why, f))  # fmt: skip
    for f in pool:
        if mismatch(claim, f.claim) == "subject":
            return Verdict(
                claim.text, fig, "contradicted", [f.evidence],
                f"that figure is of {', '.join(sorted(f.claim.subjects)) or 'another series'} "
                f"in {f.evidence}, not of {', '.join(sorted(claim.subjects))}",
            )  # fmt: skip
    return Verdict(claim.text, fig, "unsupported", [], "no tool result states this figure")


def _about_same(claim: Claim, fact: Claim) -> bool:
    """True when a fact speaks of the claim's subject and quantity (so it may contradict)."""
    if not claim.quantities or not fact.quantities:
        return False
    if not claim.quantities & fact.quantities:
        return False
    if claim.subjects and fact.subjects and not _subjects_fit(claim.subjects, fact.subjects):
        return False
    if (claim.change is None) != (fact.change is None):
        return False
    return _dimensions_fit(claim, fact)


def _contradiction(why: str, f: Fact) -> str:
    c = f.claim
    where = f"{f.evidence}" if f.evidence else "the tool output"
    if why == "value":
        return f"{where} says {_shown(c)}"
    if why == "direction":
        return f"{where} says the change was {'up' if c.figure.value > 0 else 'down'}: {_shown(c)}"
    if why == "quantile":
        return f"{where} holds that figure for p{_pct(c.quantile)}, not this percentile"
    if why == "window":
        return f"{where} covers {_span(c.window_s)}, not the window stated"
    if why == "baseline":
        return f"{where} compares with {_baseline(c.baseline)}, not the baseline stated"
    if why == "stat":
        return f"{where} gives that figure as the {c.stat}, not as stated"
    return f"{where} does not support it ({why})"


def _describe(f: Fact) -> str:
    c = f.claim
    what = ", ".join(sorted(c.subjects)) or "the result"
    return f"{f.evidence or 'tool output'}: {what} {c.stat or ''} {_shown(c)}".replace("  ", " ")


def _shown(c: Claim) -> str:
    if c.change is not None:
        return f"{c.figure.value * 100:+.3g} %"
    if c.figure.text and not c.figure.text[0].isdigit() and c.figure.unit:
        return c.figure.text
    return c.figure.text if c.figure.unit or not c.figure.dimension else f"{c.figure.value:.4g}"


def _pct(q: float | None) -> str:
    return "?" if q is None else f"{q * 100:g}"


def _span(seconds: float | None) -> str:
    if not seconds:
        return "another window"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def _baseline(b: str | None) -> str:
    if not b:
        return "another baseline"
    if b.startswith("previous:"):
        return f"the previous {_span(float(b.split(':')[1]))}"
    return {"day": "yesterday", "week": "last week", "deploy": "the deploy"}.get(b, b)


def mismatch(claim: Claim, fact: Claim, ignore: tuple[str, ...] = ()) -> str | None:
    """Return why `fact` does not support `claim` (None when it does)."""
    if not _dimensions_fit(claim, fact):
        return "dimension"
    if claim.quantities and fact.quantities and not claim.quantities & fact.quantities:
        return "quantity"
    zeros = claim.figure.value == 0 == fact.figure.value  # "an increase of 0" is 0
    if (claim.change is None) != (fact.change is None) and not zeros:
        return "kind"
    if claim.change is not None and fact.change is not None and claim.relative != fact.relative:
        return "kind"  # "+12 ms" is not "+12 %"
    if not _value_fits(claim, fact):
        if claim.change is not None and _value_fits(claim, fact, signless=True):
            return "direction"
        return "value"
    if claim.subjects and fact.subjects and not _subjects_fit(claim.subjects, fact.subjects):
        return "subject"
    if (
        claim.quantile is not None
        and fact.quantile is not None
        and abs(claim.quantile - fact.quantile) > 1e-6
    ):
        return "quantile"
    if claim.stat and fact.stat and claim.stat != fact.stat and claim.change is None:
        return "stat"
    if (
        "window" not in ignore
        and claim.window_s
        and fact.window_s
        and abs(claim.window_s - fact.window_s) > 0.1 * fact.window_s
    ):
        return "window"
    if (
        "baseline" not in ignore
        and (claim.change is not None or claim.stat in ("previous", "baseline"))
        and claim.baseline
        and fact.baseline
        and claim.baseline != fact.baseline
    ):
        return "baseline"
    return None


def _dimensions_fit(claim: Claim, fact: Claim) -> bool:
    a, b = claim.figure.dimension, fact.figure.dimension
    if claim.change is not None or fact.change is not None:
        return True  # changes compare as fractions; "2x" and "+100 %" alike
    if a == b or b == ANY_UNIT:
        return True  # a tool's raw value in base units fits any written unit
    if claim.figure.guessed and b == "":
        return True  # the unit was read from a neighbour; the figure may be unitless
    if a == "" and b not in ("ratio", "times"):
        return True  # "last 0.0547" in a CPU table: base units, compared as they are
    return {a, b} <= {"", "ratio"}  # AUC 0.97 written as 97 %


def _value_fits(claim: Claim, fact: Claim, signless: bool = False) -> bool:
    fig, f = claim.figure, fact.figure
    if claim.change is not None:
        want = fig.value - 1 if fig.dimension == "times" else fig.value
        if claim.change in (1, -1):
            want = claim.change * abs(want)
        have = f.value
        if f.dimension == "times":
            have -= 1
        tol = max(fig.tolerance, _fact_tolerance(f))  # the coarser rounding bounds it
        if fig.dimension == "times":
            tol = max(tol, fig.tolerance)
        if claim.approx:
            tol = max(tol, APPROX_SHARE * abs(want))
        if claim.bound == "max":  # "up by well under 0.1 %"
            return abs(have) <= abs(want) + tol and (signless or want * have >= 0)
        if claim.bound == "min":
            return abs(have) >= abs(want) - tol and (signless or want * have >= 0)
        if signless or claim.change == 0:
            return abs(abs(want) - abs(have)) <= tol + 1e-12
        return abs(want - have) <= tol + 1e-12
    candidates = [fig.value]
    if fig.guessed:
        candidates.append(fig.written)
    if fig.unit in BINARY_TWIN:
        candidates.append(fig.written * UNITS[BINARY_TWIN[fig.unit]][0])
    have = abs(f.value)
    if fig.dimension == "bytes_rate" and fig.text[:1] in "+-−" and f.value * fig.value < 0:
        return False  # a shrinking trend is not a growing one
    for want in (abs(v) for v in candidates):
        tol = max(fig.tolerance * (want / abs(fig.value) if fig.value else 1), _fact_tolerance(f))
        if claim.approx:
            tol = max(tol, APPROX_SHARE * want)
        if fig.dimension != f.dimension:
            tol = min(tol, 0.05 * want)  # a unitless "0" is not "under 0.5 s"
        if claim.bound == "min" and have >= want - tol:
            return True
        if claim.bound == "max" and have <= want + tol:
            return True
        if abs(want - have) <= tol * (1 + 1e-9) + 1e-12 * max(want, have):
            return True
    return False


def _fact_tolerance(f: Figure) -> float:
    """A tool's rounding, at most 0.5 % of its value: tools print three significant digits,
    and a count of "0" or "1" is exact, not "anything under 0.5"."""
    return min(f.tolerance, 0.005 * abs(f.value))


def _subjects_fit(claimed: frozenset[str], facts: frozenset[str]) -> bool:
    """True when every subject the claim names is one the fact is about (a pod's service too)."""
    for s in claimed:
        if s in facts:
            continue
        if any(f.startswith(s + "-") for f in facts):
            continue  # "web" names the pod web-7d9f8-xk2p1's service
        return False
    return True
