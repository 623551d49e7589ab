"""Variable-length values: a template whose one slot takes any number of tokens.

A program substitutes free text into its message (an exception's text, a reason in
parentheses, a list, an optional `, referer: …` clause), so lines of one log call may differ
in length. Drain groups by length; this joins a line to a template of another length when
both agree on a long prefix and suffix and the part between them sits in a value's slot.
"""

from __future__ import annotations

from opsloop.tools.analysis.logtemplates.masking import WILDCARD

# Constant tokens the prefix and suffix must share: fewer could join unrelated short lines.
MIN_CONSTANTS = 3


def fit_gap(
    template: list[str], gap: int | None, tokens: list[str]
) -> tuple[list[str], int] | None:
    """Return the widened template and its gap index if the line fits it, else None.

    `gap` is the index of the template's variable-length slot, or None when it has none yet.
    A line that agrees on less of the prefix or suffix moves the slot's edges outwards.
    """
    if gap is None:
        prefix, suffix = template, template
        room = min(len(template), len(tokens))
    else:
        prefix, suffix = template[:gap], template[gap + 1 :]
        room = len(tokens)
    p = 0
    while p < min(len(prefix), len(tokens)) and _same_slot(prefix[p], tokens[p]):
        p += 1
    s = 0
    while s < min(len(suffix), room - p) and _same_slot(suffix[-1 - s], tokens[-1 - s]):
        s += 1
    # A variable at the end may align with either side's last token (`<*>'` and
    # `<*>', referer: <*>`): then the gap may be the whole tail instead.
    for tail_len in dict.fromkeys((s, 0)):
        head, tail = prefix[:p], suffix[len(suffix) - tail_len :]
        if gap is not None and p == len(prefix) and tail_len == len(suffix):
            pass  # the line fills the slot the template already has
        elif p < MIN_CONSTANTS or sum(t != WILDCARD for t in head + tail) < MIN_CONSTANTS:
            continue
        else:
            middle = tokens[p : len(tokens) - tail_len]
            if gap is None:
                shorter, middle = sorted((middle, template[p : len(template) - tail_len]), key=len)
                if tail_len != s and not _optional_clause(shorter, middle):
                    continue
                if _parenthesised(shorter) and _parenthesised(middle):
                    middle = []  # `(<any text>)` in both: a value in parentheses
            elif tail_len != s:
                continue
            # `addr,` then `referer: …`: the clause's comma may sit on the token before.
            if tail_len == 0 and p and "," in (tokens[p - 1][-1:], template[p - 1][-1:]):
                middle = [","]
            if middle and not _in_slot(head, middle, at_end=tail_len == 0):
                continue
        widened = [
            *_widen(head, tokens[:p]),
            WILDCARD,
            *_widen(tail, tokens[len(tokens) - tail_len :]),
        ]
        return widened, p
    return None


def _parenthesised(tokens: list[str]) -> bool:
    """Tell whether tokens are one parenthesised text: `(timeout).`, `(peer went away)`."""
    return bool(tokens) and tokens[0].startswith("(") and ")" in tokens[-1]


def _optional_clause(shorter: list[str], longer: list[str]) -> bool:
    """Tell whether the longer tail is the shorter one plus a `, key: value` clause."""
    return len(shorter) <= 1 and len(longer) > 1 and longer[0] == "".join(shorter) + ","


def _in_slot(prefix: list[str], longer: list[str], *, at_end: bool) -> bool:
    """Tell whether text between prefix and suffix is a value: the rest of the message after
    a `key:`, inside an open parenthesis or bracket, or a trailing `, key: value` clause."""
    if at_end and prefix[-1].endswith(":"):
        # Only to the end: a colon inside a message (`"Eviction manager: … to reclaim"`)
        # heads different words from different calls.
        return True
    text = " ".join(prefix)
    if text.count("(") > text.count(")") or text.count("[") > text.count("]"):
        return True
    return at_end and bool(longer) and longer[0].endswith(",")


def _same_slot(a: str, b: str) -> bool:
    """Tell whether two tokens may stand in one place: equal, a variable, or both quoted
    (`key "sort"` and `key "page"`: a value the masks leave when no key precedes it)."""
    return a in (b, WILDCARD) or (a[:1] in "'\"" and a[:1] == b[:1] and a[-1:] == b[-1:])


def _fits(template: list[str], tokens: list[str]) -> bool:
    """Tell whether tokens match a template's constants, position by position."""
    return all(_same_slot(a, b) for a, b in zip(template, tokens, strict=True))


def _widen(template: list[str], tokens: list[str]) -> list[str]:
    """Return the template with every token the line does not share made a variable."""
    return [a if a == b else WILDCARD for a, b in zip(template, tokens, strict=True)]
