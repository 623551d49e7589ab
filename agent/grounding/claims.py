"""Read text into claims: each figure with what it is about, how it was measured, and cites.

A claim is one figure in context: its subject (service, model, pod, version), quantity
family (latency, error, rate, cpu, memory, auc, psi …), statistic (last, mean, max …),
quantile, whether it is a change and in which direction, the window and baseline it is
stated against, and the evidence ids its sentence cites. Answers and tool output are read
by the same code, so a figure is compared with evidence read the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from opsloop.agent.grounding import lexicon as lx
from opsloop.agent.grounding.direction import direction
from opsloop.agent.grounding.figures import (
    FAMILY_OF_DIMENSION,
    LIST_MARK,
    MATCHER,
    SKIP,
    VERSION,
    Figure,
    figures,
)

_CITE = re.compile(r"\[(E\d+)\]")


@dataclass(frozen=True)
class Claim:
    """One figure in context."""

    text: str  # the sentence, line or table row it was read from
    figure: Figure
    subjects: frozenset[str] = frozenset()
    quantities: frozenset[str] = frozenset()
    stat: str | None = None
    quantile: float | None = None
    change: int | None = None  # None: a level; +1/-1: a change up/down; 0: a change, no sign
    window_s: float | None = None
    baseline: str | None = None
    approx: bool = False
    bound: str | None = None  # "min" (at least the figure) or "max" (at most)
    cites: tuple[str, ...] = ()

    @property
    def relative(self) -> bool:
        """True for a change stated as a percentage or a multiple of the baseline."""
        return self.change is not None and self.figure.dimension in ("ratio", "times")


@dataclass
class _Context:
    """What a header line or table column says about the lines under it."""

    subjects: frozenset[str] = frozenset()
    quantities: frozenset[str] = frozenset()
    quantile: float | None = None
    window_s: float | None = None
    baseline: str | None = None
    cites: tuple[str, ...] = ()


@dataclass
class Names:
    """The names a text may mention: known entities, matched longest first."""

    names: Iterable[str]
    _rx: re.Pattern[str] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        words = sorted({n.lower() for n in self.names if n and len(n) > 1}, key=len, reverse=True)
        self.names = words
        if words:
            body = "|".join(re.escape(w) for w in words)
            self._rx = re.compile(rf"(?<![\w-])(?:{body})(?![\w-])")

    def find(self, text: str) -> list[tuple[int, str]]:
        """Return (position, name) for each known name and version in `text` (lower case)."""
        found = [(m.start(), m.group(0)) for m in self._rx.finditer(text)] if self._rx else []
        for m in VERSION.finditer(text):
            found.append((m.start(), "v" + next(g for g in m.groups() if g)))
        for m in MATCHER.finditer(text):
            if m.group(1) not in ("le", "quantile", "__name__") and not _regexy(m.group(2)):
                found.append((m.start(2), m.group(2).lower()))
        return sorted(set(found))


def _regexy(value: str) -> bool:
    return not value or any(ch in value for ch in "|*+?[]()^$\\") or value.endswith("..")


def read(text: str, names: Names) -> list[Claim]:
    """Read every figure in `text` into a claim."""
    claims: list[Claim] = []
    for block in re.split(r"\n\s*\n", text):
        lines = [ln for ln in block.split("\n") if ln.strip()]
        ctx = _Context()
        header: list[str] | None = None
        for i, line in enumerate(lines):
            stripped = line.strip()
            if stripped.startswith("|"):
                cells = [c.strip() for c in stripped.strip("|").split("|")]
                if all(re.fullmatch(r":?-{2,}:?", c) for c in cells if c):
                    continue
                if header is None:
                    header = cells
                    continue
                claims += _row(stripped, cells, header, ctx, names)
                continue
            header = None
            line_ctx = _context_of(stripped, names)
            is_header = (
                stripped.endswith(":")
                or stripped.startswith("#")
                or (
                    i == 0
                    and len(lines) > 1
                    and LIST_MARK.match(lines[1] or "") is not None
                    and not LIST_MARK.match(stripped)
                )
            )
            for sentence in _split_sentences(stripped):
                claims += _sentence(sentence, ctx, names)
            if is_header:
                ctx = _merge(line_ctx, _Context())
            elif not LIST_MARK.match(stripped):
                ctx = _Context() if i else ctx
    return claims


def _split_sentences(line: str) -> list[str]:
    return [p for p in re.split(r"(?<=[.!?])\s+(?=[A-Z(*_`\[])", line) if p.strip()]


def _context_of(text: str, names: Names) -> _Context:
    low = SKIP.sub(lambda m: " " * len(m.group(0)), text.lower())
    found = names.find(text.lower())
    subj = frozenset(n for _, n in found)
    low = _blank_names(low, found)
    base = lx.baselines(low)
    wins = [w for w in lx.windows(low) if not any(b[0] <= w[0] < b[1] for b in base)]
    return _Context(
        subjects=subj,
        quantities=frozenset(lx.quantities(low)),
        quantile=lx.quantile_of(low),
        window_s=wins[0][2] if wins else None,
        baseline=base[0][2] if base else None,
        cites=tuple(_CITE.findall(text)),
    )


def _merge(inner: _Context, outer: _Context) -> _Context:
    return _Context(
        subjects=inner.subjects or outer.subjects,
        quantities=inner.quantities or outer.quantities,
        quantile=inner.quantile if inner.quantile is not None else outer.quantile,
        window_s=inner.window_s or outer.window_s,
        baseline=inner.baseline or outer.baseline,
        cites=inner.cites or outer.cites,
    )


def _row(
    line: str, cells: list[str], header: list[str], ctx: _Context, names: Names
) -> list[Claim]:
    """Read a table row: each figure takes its column header's meaning and the row's subject."""
    row_subjects = frozenset(n for c in cells for _, n in names.find(c.lower()))
    cites = tuple(_CITE.findall(line)) or ctx.cites
    out: list[Claim] = []
    for j, cell in enumerate(cells):
        col = header[j] if j < len(header) else ""
        col_ctx = _context_of(col, names)
        outer = _merge(_Context(subjects=row_subjects, cites=cites), ctx)
        for claim in _sentence(cell, _merge(col_ctx, outer), names, whole=line, col=col):
            out.append(claim)
    return out


def _sentence(
    sentence: str, ctx: _Context, names: Names, whole: str | None = None, col: str = ""
) -> list[Claim]:
    """Read the figures of one sentence (or table cell) in its context."""
    low = sentence.lower()
    masked = SKIP.sub(lambda m: " " * len(m.group(0)), low)
    cites = tuple(_CITE.findall(whole or sentence)) or ctx.cites
    found_names = names.find(low)
    base = lx.baselines(masked)
    wins = [w for w in lx.windows(masked) if not any(b[0] <= w[0] < b[1] for b in base)]
    # Names are not words: "feature-store" says nothing about features.
    worded = _blank_names(masked, found_names)
    q_spans = lx.quantity_spans(worded)
    s_spans = lx.stat_spans(worded)
    claims: list[Claim] = []
    figs = figures(sentence)
    for k, fig in enumerate(figs):
        if any(w[0] <= fig.start < w[1] for w in wins) or any(
            b[0] <= fig.start < b[1] for b in base
        ):
            continue  # "over the last 30 minutes", "vs the previous 1h": a window, not a figure
        if fig.unit in _WINDOW_UNITS and _window_word(masked, fig):
            continue
        clause_lo, clause_hi = _clause(masked, fig.start)
        before = masked[clause_lo : fig.start]
        after = masked[fig.start + len(fig.text) : clause_hi]
        prev_end = figs[k - 1].start + len(figs[k - 1].text) if k else clause_lo
        subjects = _bind_names(found_names, fig.start, clause_lo, clause_hi) or ctx.subjects
        if ctx.subjects and subjects is not ctx.subjects:
            # A version named alone inherits the model from the header ("- v4: auc 0.97").
            kinds = {_kind(s) for s in subjects}
            subjects = subjects | frozenset(s for s in ctx.subjects if _kind(s) not in kinds)
        # A counted noun right after the figure says what it counts ("2 series", "22 lines").
        noun = re.match(r"\s*([a-z][a-z-]*)", after)
        quantity = frozenset(lx.quantities(noun.group(1) + " ")) if noun and not fig.unit else None
        quantity = quantity or _nearest(q_spans, fig.start, clause_lo, clause_hi)
        if not quantity:
            quantity = frozenset(lx.quantities(worded)) or ctx.quantities
        if not quantity and fig.dimension in FAMILY_OF_DIMENSION:
            quantity = frozenset({FAMILY_OF_DIMENSION[fig.dimension]})
        change, bound, approx = direction(before, after, fig)
        stat = _nearest_one(s_spans, fig.start, max(clause_lo, prev_end - 1), clause_hi)
        stat = stat or _stat_after(after)
        quantile = lx.quantile_of(before[-60:]) or lx.quantile_of(masked) or ctx.quantile
        near_base = [b for b in base if clause_lo <= b[0] < clause_hi] or base
        claims.append(
            Claim(
                text=(whole or sentence).strip(),
                figure=fig,
                subjects=frozenset(subjects),
                quantities=frozenset(quantity),
                stat=stat,
                quantile=quantile,
                change=change,
                window_s=(wins[0][2] if wins else ctx.window_s),
                baseline=(near_base[0][2] if near_base else ctx.baseline),
                approx=approx,
                bound=bound,
                cites=cites,
            )
        )
    return claims


_WINDOW_UNITS = frozenset("m min mins minute minutes h hr hrs hour hours d day days".split())


def _blank_names(text: str, found: list[tuple[int, str]]) -> str:
    chars = list(text)
    for pos, name in found:
        if text[pos : pos + len(name)] == name:
            chars[pos : pos + len(name)] = " " * len(name)
    return "".join(chars)


def _window_word(text: str, fig: Figure) -> bool:
    """True when a duration figure names a window ("every 5 min", "30 minutes ago")."""
    before = text[max(0, fig.start - 24) : fig.start]
    after = text[fig.start + len(fig.text) : fig.start + len(fig.text) + 12]
    return bool(
        re.search(
            r"(?:last|past|every|per|over|for|within|during|next|first|window of)\s*$", before
        )
        or re.match(r"\s*(?:ago|window|earlier|later|before|after|of history|range)", after)
    )


def _clause(text: str, pos: int) -> tuple[int, int]:
    """Return the bounds of the clause holding `pos`: split at ';', '|', and ' — '."""
    lo = max(text.rfind(";", 0, pos), text.rfind("|", 0, pos), text.rfind(" — ", 0, pos))
    ends = [i for i in (text.find(";", pos), text.find("|", pos), text.find(" — ", pos)) if i >= 0]
    return lo + 1, min(ends) if ends else len(text)


def _kind(name: str) -> str:
    return "version" if re.fullmatch(r"v\d+", name) else "name"


def _bind_names(found: list[tuple[int, str]], pos: int, lo: int, hi: int) -> frozenset[str]:
    """Return the names a figure is about: per kind, the nearest before it in its clause
    (else the nearest after it, else the nearest before it in the sentence)."""
    out: set[str] = set()
    for kind in ("name", "version"):
        mine = [(p, n) for p, n in found if _kind(n) == kind]
        before = [(p, n) for p, n in mine if lo <= p < pos]
        after = [(p, n) for p, n in mine if pos < p < hi]
        earlier = [(p, n) for p, n in mine if p < lo]
        pick = before[-1:] or after[:1] or earlier[-1:]
        if pick:
            out.add(pick[0][1])
            # A pod and its service, named together, are one subject.
            out |= {n for p, n in before if n != pick[0][1] and pick[0][1].startswith(n + "-")}
    return frozenset(out)


def _nearest(spans: list[tuple[int, str]], pos: int, lo: int, hi: int) -> frozenset[str]:
    before = [(p, f) for p, f in spans if lo <= p < pos]
    if before:
        last = before[-1][0]
        # Families named together ("error rate") count together.
        return frozenset(f for p, f in before if last - p <= 12)
    after = [(p, f) for p, f in spans if pos < p < hi]
    if after:
        first = after[0][0]
        return frozenset(f for p, f in after if p - first <= 12)
    return frozenset()


_STAT_AFTER = re.compile(
    r"\s*(?:\w+\s+)?(?:on average|on avg|average|at (?:its |the )?peak|peak|at most|max|"
    r"at the moment|right now|now|currently|at the low|low)(?![a-z])"
)


def _nearest_one(spans: list[tuple[int, str]], pos: int, lo: int, hi: int) -> str | None:
    before = [s for p, s in spans if lo <= p < pos]
    if before:
        return before[-1]
    return None


def _stat_after(after: str) -> str | None:
    """The statistic a phrase right after a figure names ("410 ms at peak")."""
    m = _STAT_AFTER.match(after)
    if not m:
        return None
    spans = lx.stat_spans(m.group(0))
    return spans[0][1] if spans else None
