"""Read comparisons of two windows: "p95 yesterday vs today", "errors now vs last week".

A comparison names a reference time ("yesterday", "last week", "2 days ago") and a word
that compares ("vs", "than", "compare … with", "same time"). The reference becomes an
offset: the same clock window shifted back, not the reference's calendar day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo

from opsloop.agent.planner.timerange import (
    NUM_RE,
    UNIT_RE,
    UNIT_SECONDS,
    TimeWindow,
    count_of,
    parse_window,
)

DAY, WEEK = 86400.0, 604800.0
_SAME = (
    r"(?:(?:at|during|in|over|for|from|to|with)\s+)?(?:the\s+)?same\s+"
    r"(?:time|window|hour|period|range)"
)
_REF = re.compile(
    rf"(?:{_SAME}\s+(?:as\s+|of\s+|on\s+)?)?"
    r"(?:(?P<day>yesterday|yday|the day before|(?:a|one) day (?:ago|earlier|before)|"
    r"24 ?h(?:ours?|rs?)? (?:ago|earlier|before)|day[- ]over[- ]day)"
    r"|(?P<week>last (?:week|wk)|(?:a|one) (?:week|wk) (?:ago|earlier|before)|the week before|"
    r"previous (?:week|wk)|"
    r"week[- ]over[- ]week|7 ?d(?:ays)? (?:ago|earlier|before))"
    rf"|(?<![\w.])(?P<n>{NUM_RE})\s*(?P<unit>{UNIT_RE}) (?:ago|earlier|before))\b"
    rf"(?:\s+{_SAME}\b)?"
)
# Words after which the rest of the question is the other side of the comparison.
_SPLIT = re.compile(
    r"\b(?:vs\.?|versus|than|against|relative to|compared (?:to|with)|comparing (?:to|with))"
    r"(?=\s|$)"
)
_COMPARE_VERB = re.compile(r"\bcompar(?:e|es|ing)\b")
_TO_WITH = re.compile(r"\s(?:to|with|and)\s")
_OVER = re.compile(r"\b(?:day|week)[- ]over[- ]\w+")


@dataclass(frozen=True)
class Comparison:
    """A question's two sides: the window asked about and the reference it is compared with."""

    offset_s: float  # how far back the reference window lies
    current: str  # the text that names the window asked about
    reference: str  # the text that names the reference window (without the reference time)
    phrase: str  # the reference time as typed ("yesterday", "the same time last week")


def _shift(match: re.Match[str]) -> float:
    if match.group("day"):
        return DAY
    if match.group("week"):
        return WEEK
    return count_of(match.group("n")) * UNIT_SECONDS[match.group("unit")]


def find(low: str) -> Comparison | None:
    """Return the comparison a lower-case question asks for, or None."""
    refs = [m for m in _REF.finditer(low) if _shift(m) >= 60]
    if not refs:
        return None
    ref = max(refs, key=_shift)
    cut = _split_point(low, ref)
    if cut is None:
        return None
    lo, hi = cut
    current = low[:lo] if ref.end() > hi else low[hi:]
    offset = _shift(ref)
    # "yesterday vs last week": the later reference is the window asked about.
    others = [m for m in refs if m is not ref and m.group(0) in current]
    if others:
        offset -= _shift(others[0])
    if offset < 60:
        return None
    blanked = low[: ref.start()] + " " * (ref.end() - ref.start()) + low[ref.end() :]
    rest = blanked[hi:] if ref.end() > hi else blanked[:lo]
    phrase = re.sub(r"^(?:at|during|in|over|for|from|to|with)\s+", "", ref.group(0).strip())
    return Comparison(offset, current, rest, phrase)


def parse(text: str, now: datetime, tz: tzinfo | None = None) -> TimeWindow:
    """Parse a question's window and, when it compares, how far back the reference lies."""
    found = find(text.lower())
    if found is None:
        return parse_window(text, now, tz)
    current = parse_window(found.current, now, tz)
    offset = found.offset_s
    # "yesterday 14:00-15:00 vs today …": the reference names its own clock window.
    ref = parse_window(found.reference, now - timedelta(seconds=offset), tz)
    if ref.end is not None and not ref.instant:
        if current.end is None or current.instant:
            current = replace(ref, end=ref.end + timedelta(seconds=offset))
        else:
            offset = (current.end - ref.end).total_seconds()
    if offset < 60:
        return current
    text = f"{current.text.strip() or 'last ' + current.range} vs {found.phrase}"
    return replace(current, compare_s=offset, text=text)


def _split_point(low: str, ref: re.Match[str]) -> tuple[int, int] | None:
    """Return where one side of the comparison ends and the other starts."""
    if m := _SPLIT.search(low):
        return m.start(), m.end()
    if verb := _COMPARE_VERB.search(low):
        if m := _TO_WITH.search(low, verb.end()):
            return m.start(), m.end()
        return ref.start(), ref.start()
    if "same" in ref.group(0) or _OVER.search(ref.group(0)):
        return ref.start(), ref.start()  # "p99 now and the same time yesterday"
    return None
