"""What surrounds a figure in a sentence: its clause, the names, quantity, statistic and
quantile nearest it, the unit it shares with a neighbour, and whether it ends a range."""

from __future__ import annotations

import re
from dataclasses import replace

from opsloop.agent.grounding import lexicon as lx
from opsloop.agent.grounding.figures import Figure

WINDOW_UNITS = frozenset("m min mins minute minutes h hr hrs hour hours d day days".split())


def blank_names(text: str, found: list[tuple[int, str]]) -> str:
    chars = list(text)
    for pos, name in found:
        if text[pos : pos + len(name)] == name:
            chars[pos : pos + len(name)] = " " * len(name)
    return "".join(chars)


SNAKE = re.compile(r"(?<![a-z0-9_])[a-z][a-z0-9]*(?:_[a-z0-9]+)+")


def ends_only(m: re.Match[str]) -> str:
    parts = m.group(0).split("_")
    middle = "_".join(parts[1:-1])
    return parts[0] + " " + " " * len(middle) + (" " if middle else "") + parts[-1]


PARAMETER = re.compile(r"(?:precision|recall|hit rate|ndcg|map|top|accuracy)\s*(?:at|@)\s*$")
ANY_SUBJECT = re.compile(
    r"(?<![a-z])(?:(?:everything|everyone|anything|all|every \w+) else|the rest|all (?:the )?other"
    r"|the others|others are|both|each|either)(?![a-z])"
)


_GROWING = re.compile(r"(?:grow\w*|rising|increasing|climbing|up)\s+(?:\w+\s+)?$")
_SHRINKING = re.compile(r"(?:shrink\w*|falling|decreasing|dropping|declining|down)\s+(?:\w+\s+)?$")


def signed_trend(fig: Figure, before: str) -> Figure:
    """Sign an unsigned trend by its verb: "shrinking 8.86 KiB/min" is -8.86 KiB/min."""
    if fig.dimension != "bytes_rate" or fig.text[:1] in "+-−":
        return fig
    if _SHRINKING.search(before[-32:]):
        return replace(fig, text="-" + fig.text, value=-abs(fig.value), written=-abs(fig.written))
    if _GROWING.search(before[-32:]):
        return replace(fig, text="+" + fig.text)
    return fig


def eta(text: str, fig: Figure) -> bool:
    """True when a duration says when something happens ("runs out in ~3 days", "ETA 2h")."""
    before = text[max(0, fig.start - 40) : fig.start]
    return bool(re.search(r"(?:eta|run(?:s)? out|exhaust\w*|full|until|uptime|up for)\b", before))


_JOIN = re.compile(r"\s*(?:–|-|—|to|and|/)\s*$")


def inherit_units(figs: list[Figure], text: str, header: Figure | None) -> list[Figure]:
    """Give a unitless figure the unit of its range partner ("62–63.9 ms", "between 88 and
    100 req/s"), of the figure before it in its clause ("0.0534 cores, last 0.0547"), or of
    its column header."""
    out = list(figs)
    for k, fig in enumerate(figs):
        if fig.unit or fig.dimension:
            continue
        donor = header
        nxt = figs[k + 1] if k + 1 < len(figs) else None
        if nxt and nxt.unit and _JOIN.match(text[fig.start + len(fig.text) : nxt.start]):
            donor = nxt
        elif (
            k
            and out[k - 1].unit
            and out[k - 1].dimension not in ("ratio", "times")
            and out[k - 1].unit not in WINDOW_UNITS
        ):
            lo, _ = clause(text, fig.start)
            gap = text[out[k - 1].start + len(out[k - 1].text) : fig.start]
            if out[k - 1].start >= lo and not re.search(r"[.;:(]", gap) and not lx.quantities(gap):
                after = text[fig.start + len(fig.text) : fig.start + len(fig.text) + 16]
                if not re.match(r"\s*(?:of\b|[a-z]{3,})", after):
                    donor = out[k - 1]
        if donor is None:
            continue
        scale = donor.value / donor.written if donor.written else 1.0
        out[k] = replace(
            fig,
            value=fig.written * scale,
            unit=donor.unit,
            dimension=donor.dimension,
            tolerance=fig.tolerance * scale,
            guessed=True,
        )
    return out


def range_ends(figs: list[Figure], text: str) -> dict[int, str]:
    """Mark the ends of ranges ("0.0506–0.0554", "between 88 and 100 req/s", "range 27 to
    30") as the minimum and maximum; "from 3 to 4" is a change, not a range."""
    out: dict[int, str] = {}
    for k in range(len(figs) - 1):
        a, b = figs[k], figs[k + 1]
        gap = text[a.start + len(a.text) : b.start]
        m = _JOIN.match(gap)
        if not m or a.value > b.value or a.dimension != b.dimension:
            continue
        word = gap.strip()
        lead = text[max(0, a.start - 24) : a.start]
        if lx.APPROX.search(lead):
            continue  # "around 1.07–1.08 GiB": where the values sit, not their extremes
        if (
            word in ("–", "-", "—")
            or (word == "and" and re.search(r"between\s*$", lead))
            or (word == "to" and re.search(r"(?:range[ds]?|between|spann\w*)\s*$", lead))
        ):
            out[k], out[k + 1] = "min", "max"
    return out


_SLASH_LABEL = re.compile(
    r"([a-z][a-z ]*?)\s*/\s*([a-z][a-z ]*?)(?:\s*/\s*([a-z][a-z ]*?))?\s*[:=]"
)


def slash_stats(figs: list[Figure], text: str) -> dict[int, str]:
    """Pair "min / max: 0.16 % / 0.41 %": each figure of a slashed list takes the statistic
    in the same place of the slashed label before it."""
    out: dict[int, str] = {}
    for m in _SLASH_LABEL.finditer(text):
        stats = []
        for word in (g for g in m.groups() if g):
            spans = lx.stat_spans(word.strip())
            if not spans:
                break
            stats.append(spans[-1][1])
        else:
            run = [k for k, f in enumerate(figs) if f.start >= m.end()]
            chain = run[:1]
            for k in run[1:]:
                prev = figs[chain[-1]]
                if (
                    k != chain[-1] + 1
                    or text[prev.start + len(prev.text) : figs[k].start].strip() != "/"
                ):
                    break
                chain.append(k)
            if len(chain) == len(stats):
                out.update(zip(chain, stats, strict=True))
    return out


COMPARED_WITH = re.compile(
    r"(?:\bvs\.?|\bversus|\bagainst(?: an?)?|compared (?:with|to)|relative to)\s*(?:~|about\s+)?$"
)


def arrow_sides(figs: list[Figure], text: str) -> dict[int, int]:
    """Mark "0.064 → 0.082" and "from 0.064 to 0.082": the figure before (0) and after (1)."""
    out: dict[int, int] = {}
    for k in range(len(figs) - 1):
        a, b = figs[k], figs[k + 1]
        gap = text[a.start + len(a.text) : b.start].strip()
        if gap in ("→", "->", "=>") or (
            gap == "to" and re.search(r"from\s*$", text[max(0, a.start - 8) : a.start])
        ):
            out.setdefault(k, 0)
            out[k + 1] = 1
    return out


def quantile_near(text: str, fig: Figure, lo: int, hi: int) -> float | None:
    """The quantile nearest a figure: named right after it ("85.2 ms (p95)"), else the last
    named before it in its clause, else in its sentence, else after it in its clause."""
    end = fig.start + len(fig.text)
    right = re.match(r"\s*\(?\s*(p\d{2,3}(?:\.\d)?|median)(?![a-z0-9])", text[end:])
    if right:
        return lx.quantile_of(right.group(1))
    for segment in (text[lo : fig.start], text[: fig.start]):
        found = [m for m in lx.QUANTILE.finditer(segment)]
        if found:
            return lx.quantile_of(found[-1].group(0))
    return lx.quantile_of(text[end:hi])


_BOUNDS = (";", "|", " — ", "(", ")")


def clause(text: str, pos: int) -> tuple[int, int]:
    """Return the bounds of the clause holding `pos`: split at ';', '|', ' — ' and
    parentheses ("99/s now (z -0.5 vs yesterday)": the z-score has its own baseline)."""
    starts = [i + len(b) for b in _BOUNDS if (i := text.rfind(b, 0, pos)) >= 0]
    ends = [i for i in (text.find(b, pos) for b in _BOUNDS) if i >= 0]
    return max(starts, default=0), min(ends) if ends else len(text)


def name_kind(name: str) -> str:
    return "version" if re.fullmatch(r"v\d+", name) else "name"


_OF_NAME = re.compile(r"\s*(?:on|for|in|of|at|from|by)\s+(?:the\s+|its\s+)?(?:pod\s+)?$")


def any_subject(text: str, lo: int, pos: int) -> bool:
    """True when the words before a figure speak of several subjects ("both", "each",
    "everything else"), also from outside the parentheses the figure stands in."""
    if ANY_SUBJECT.search(text[lo:pos]):
        return True
    if lo and text[lo - 1] == "(":
        outer, _ = clause(text, lo - 1)
        return bool(ANY_SUBJECT.search(text[outer : lo - 1]))
    return False


def bind_names(
    found: list[tuple[int, str]], pos: int, end: int, lo: int, hi: int, text: str = ""
) -> frozenset[str]:
    """Return the names a figure is about: per kind, the one named right after it ("1.6
    KiB/min on pod-a"), else the nearest before it in its clause, else the nearest after it
    in its clause, else the nearest before it in the sentence."""
    out: set[str] = set()
    for kind in ("name", "version"):
        mine = [(p, n) for p, n in found if name_kind(n) == kind]
        before = [(p, n) for p, n in mine if lo <= p < pos]
        after = [(p, n) for p, n in mine if pos < p < hi]
        earlier = [(p, n) for p, n in mine if p < lo]
        right = [(p, n) for p, n in after[:1] if text and _OF_NAME.fullmatch(text[end:p])]
        pick = right or before[-1:] or after[:1] or earlier[-1:]
        if pick:
            out.add(pick[0][1])
            # A pod and its service, named together, are one subject.
            out |= {n for p, n in before if n != pick[0][1] and pick[0][1].startswith(n + "-")}
    return frozenset(out)


def nearest_quantity(
    spans: list[tuple[int, str]], pos: int, lo: int, hi: int, fig: Figure
) -> frozenset[str]:
    """The quantity named nearest before a figure in its clause, and for a share ("0.3 % of
    requests failed") also the one named just after it."""
    found: set[str] = set()
    before = [(p, f) for p, f in spans if lo <= p < pos]
    if before:
        last = before[-1][0]
        # Families named together ("error rate") count together.
        found |= {f for p, f in before if last - p <= 12}
    after = [(p, f) for p, f in spans if pos < p < hi]
    if after and fig.dimension == "ratio":
        found |= {f for p, f in after if p - pos <= 48}
    if after and not found:
        first = after[0][0]
        found |= {f for p, f in after if p - first <= 12}
    return frozenset(found)


STAT_AFTER = re.compile(
    r"\s*(?:[a-z]+\s+)?(?:on average|on avg|average|mean|at (?:its |the )?peak|peak|at most|max|"
    r"at the moment|right now|now|currently|at the low|low|baseline|normal|usual|expected|"
    r"before|previously)(?![a-z])"
)


def nearest_stat(spans: list[tuple[int, str]], pos: int, lo: int, hi: int) -> str | None:
    before = [s for p, s in spans if lo <= p < pos]
    if before:
        return before[-1]
    return None


def stat_after(after: str) -> str | None:
    """The statistic a phrase right after a figure names ("410 ms at peak")."""
    m = STAT_AFTER.match(after)
    if not m:
        return None
    spans = lx.stat_spans(m.group(0))
    return spans[0][1] if spans else None
