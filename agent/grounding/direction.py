"""Direction words: is a figure a change (up, down, unsigned), a bound, or approximate?"""

from __future__ import annotations

import re

from opsloop.agent.grounding import lexicon as lx
from opsloop.agent.grounding.figures import Figure


def direction(before: str, after: str, fig: Figure) -> tuple[int | None, str | None, bool]:
    """Return (change sign, bound, approximate) for a figure from the words around it."""
    head = before[-48:]
    approx = bool(lx.APPROX.search(head))
    trimmed = lx.APPROX.sub("", head).rstrip()
    bound = "min" if lx.AT_LEAST.search(trimmed) else "max" if lx.AT_MOST.search(trimmed) else None
    signed = fig.text[:1] in "+-−" and fig.dimension in ("ratio", "times", "")
    if _OR_MORE.match(after):
        return None, "min" if _OR_MORE.match(after).group(1) else "max", approx
    up_before, down_before = bool(_UP_BEFORE.search(trimmed)), bool(_DOWN_BEFORE.search(trimmed))
    if not (fig.dimension in ("ratio", "times") or signed):
        # "recall down ~0.10", "up 12 ms": an absolute change, said with its direction word.
        if up_before != down_before and not fig.guessed and fig.dimension != "bytes_rate":
            return (1 if up_before else -1), bound, approx
        return None, bound, approx
    up = bool(up_before or _UP_AFTER.match(after))
    down = bool(down_before or _DOWN_AFTER.match(after))
    if up != down:
        return (1 if up else -1), bound, approx
    if signed:
        return (-1 if fig.text[0] in "-−" else 1), bound, approx
    if _CHANGE_BEFORE.search(trimmed) or _CHANGE_AFTER.match(after) or fig.dimension == "times":
        return 0, bound, approx
    return None, bound, approx


_OR_MORE = re.compile(r"\s*or (?:(more|higher|above|greater|over)|less|lower|below|fewer|under)\b")
_LINK = (
    r"(?:\s+(?:by|of))?(?:\s+an?(?:\s+[a-z]+)?)?(?:\s+(?:well|just|only|slightly))?"
    r"(?:\s+(?:about|around|roughly|nearly|almost|some|just|over|under|below|above))?\s*$"
)
_NOUN_OF = (
    r"(?:an?\s+|the\s+)?(?:[a-z-]+\s+)?{}\s+of(?:\s+(?:about|around|roughly|nearly|some))?\s*$"
)
_UP_BEFORE = re.compile(
    r"(?<![a-z-])(?:up|rose|risen|increased|grew|grown|climbed|jumped|spiked|gained|surged|"
    r"ticked up|went up|is up|are up|higher|increasing|rising|growing)"
    + _LINK
    + "|"
    + _NOUN_OF.format(r"(?:increase|rise|jump|gain|spike|growth|uptick|climb)")
)
_DOWN_BEFORE = re.compile(
    r"(?<![a-z-])(?:down|fell|fallen|dropped|decreased|declined|shrank|slipped|dipped|"
    r"eased|went down|is down|are down|lower|decreasing|falling|dropping|improved)"
    + _LINK
    + "|"
    + _NOUN_OF.format(r"(?:decrease|drop|decline|fall|dip|reduction|improvement)")
)
_CHANGE_BEFORE = re.compile(
    r"(?<![a-z-])(?:changed|moved|shifted|change|delta|difference|swing)"
    + _LINK
    + "|"
    + _NOUN_OF.format(r"(?:change|shift|move|swing|delta)")
)
_AFTER = r"\s*(?:(?:[a-z-]+|vs\.?|over the)\s+)?(?:{})(?![a-z])"
_UP_AFTER = re.compile(
    _AFTER.format("higher|more|up|increase|rise|jump|gain|above|increases|rises|growth|worse")
)
_DOWN_AFTER = re.compile(
    _AFTER.format("lower|less|fewer|down|decrease|drop|decline|below|decreases|drops|better")
)
_CHANGE_AFTER = re.compile(_AFTER.format("change|shift|move|swing|difference"))
