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
from opsloop.agent.grounding import nearby as nb
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
_CITE_RANGE = re.compile(r"\[E(\d+)\]\s*(?:–|-|—|to)\s*\[E(\d+)\]")


def cites_of(text: str) -> tuple[str, ...]:
    """Return the evidence ids `text` cites; "[E3]–[E5]" cites E3, E4 and E5."""
    found = _CITE.findall(text)
    for m in _CITE_RANGE.finditer(text):
        lo, hi = int(m.group(1)), int(m.group(2))
        if 0 < hi - lo < 50:
            found += [f"E{i}" for i in range(lo + 1, hi)]
    return tuple(dict.fromkeys(found))


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
    stat: str | None = None
    unit: Figure | None = None  # a unit named by a column header ("p95 (ms)", "seconds")
    versions: tuple[str, ...] = ()  # in the order named: "v3 → v4" heads "0.064 → 0.082"


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
            found += [
                (m.start(i if i == 3 else 0), "v" + m.group(i)) for i in (1, 2, 3) if m.group(i)
            ]
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
        lines = _logical_lines([ln for ln in block.split("\n") if ln.strip()])
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


def _logical_lines(lines: list[str]) -> list[str]:
    """Join wrapped lines: a prose or list line continues on the next line unless that one
    starts a list item, a table row or a heading, or the line itself ends a heading."""
    out: list[str] = []
    for line in lines:
        stripped = line.strip()
        starts_new = (
            not out
            or LIST_MARK.match(line) is not None
            or stripped.startswith(("|", "#"))
            or out[-1].strip().startswith(("|", "#"))
            or out[-1].rstrip().endswith(":")
            or (line[:1] not in " \t" and LIST_MARK.match(out[-1]) is not None)
        )
        if starts_new:
            out.append(line)
        else:
            out[-1] = out[-1].rstrip() + " " + stripped
    return out


def _split_sentences(line: str) -> list[str]:
    return [p for p in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9(*_`\[])", line) if p.strip()]


def _context_of(text: str, names: Names, column: bool = False) -> _Context:
    """What a header says of the lines under it; a statistic only when it heads a column."""
    low = SKIP.sub(lambda m: " " * len(m.group(0)), text.lower())
    found = names.find(text.lower())
    subj = frozenset(n for _, n in found)
    low = nb.blank_names(low, found)
    base = lx.baselines(low)
    wins = [w for w in lx.windows(low) if not any(b[0] <= w[0] < b[1] for b in base)]
    return _Context(
        subjects=subj,
        versions=tuple(dict.fromkeys(n for _, n in found if nb.name_kind(n) == "version")),
        quantities=frozenset(lx.quantities(low)),
        quantile=lx.quantile_of(low),
        window_s=wins[0][2] if wins else None,
        baseline=base[0][2] if base else None,
        cites=cites_of(text),
        stat=stats[0][1] if column and (stats := lx.stat_spans(low)) else None,
        unit=_unit_named(text),
    )


_HEADER_UNIT = re.compile(
    r"(?:^|\(|\bin\s+|,\s*)(ms|s|sec|seconds|cores|millicores|KiB|MiB|GiB|MB|GB|%|req/s|rps|/s)"
    r"\)?\s*$"
)


def _unit_named(text: str) -> Figure | None:
    """The unit a header names ("p95 (ms)", "seconds"), as a figure of 1 in that unit."""
    m = _HEADER_UNIT.search(text.strip())
    found = figures("1 " + m.group(1)) if m else []
    return found[0] if found and found[0].unit else None


def _merge(inner: _Context, outer: _Context) -> _Context:
    return _Context(
        subjects=inner.subjects or outer.subjects,
        quantities=inner.quantities or outer.quantities,
        quantile=inner.quantile if inner.quantile is not None else outer.quantile,
        window_s=inner.window_s or outer.window_s,
        baseline=inner.baseline or outer.baseline,
        cites=inner.cites or outer.cites,
        stat=inner.stat or outer.stat,
        unit=inner.unit or outer.unit,
        versions=inner.versions or outer.versions,
    )


def _row(
    line: str, cells: list[str], header: list[str], ctx: _Context, names: Names
) -> list[Claim]:
    """Read a table row: each figure takes its column header's meaning and the row's subject."""
    row_subjects = frozenset(n for c in cells for _, n in names.find(c.lower()))
    cites = cites_of(line) or ctx.cites
    # A row label without figures ("p95 peak") says what the row's figures are.
    label = _context_of(cells[0], names, column=True) if not figures(cells[0]) else _Context()
    out: list[Claim] = []
    unit = None
    for j, cell in enumerate(cells):
        col = header[j] if j < len(header) else ""
        column = _context_of(col, names, column=True)
        # "| now (ms) | mean | max |": a unit named once holds for the columns after it
        unit = column.unit = column.unit or (unit if not column.quantities else None)
        col_ctx = _merge(label, column)
        col_ctx.quantities = label.quantities | column.quantities
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
    cites = cites_of(whole or sentence) or ctx.cites
    found_names = names.find(low)
    base = lx.baselines(masked)
    wins = [w for w in lx.windows(masked) if not any(b[0] <= w[0] < b[1] for b in base)]
    # Names are not words: "feature-store" says nothing about features.
    worded = nb.blank_names(masked, found_names)
    for lo, hi, _ in wins + base:  # "in the last hour" names a window, not the last value
        worded = worded[:lo] + " " * (hi - lo) + worded[hi:]
    # An identifier names its quantity first or last ("recall_at_5pct", "holdout_rows"); the
    # middle parts qualify it ("http_server_request_duration_seconds_count" is a count).
    worded = nb.SNAKE.sub(nb.ends_only, worded)
    q_spans = lx.quantity_spans(worded)
    s_spans = lx.stat_spans(worded)
    claims: list[Claim] = []
    figs = nb.inherit_units(figures(sentence), masked, ctx.unit)
    ranges = nb.range_ends(figs, masked) | nb.slash_stats(figs, masked)
    arrows = nb.arrow_sides(figs, masked)
    labels = _labels(figs, q_spans, masked)
    for k, fig in enumerate(figs):
        if any(w[0] <= fig.start < w[1] for w in wins) or any(
            b[0] <= fig.start < b[1] for b in base
        ):
            continue  # "over the last 30 minutes", "vs the previous 1h": a window, not a figure
        if fig.unit in nb.WINDOW_UNITS and not fig.guessed and not nb.eta(masked, fig):
            continue  # "1h mean", "30m": durations are windows unless they say when
        if nb.PARAMETER.search(masked[max(0, fig.start - 24) : fig.start]):
            continue  # "recall at 5 %": a metric's parameter, not a measurement
        clause_lo, clause_hi = nb.clause(masked, fig.start)
        before = masked[clause_lo : fig.start]
        after = masked[fig.start + len(fig.text) : clause_hi]
        prev_end = figs[k - 1].start + len(figs[k - 1].text) if k else clause_lo
        if k and (own := nb.STAT_AFTER.match(masked, prev_end)):
            prev_end = own.end() + 1  # "390 ms on average": that statistic is the previous one's
        end = fig.start + len(fig.text)
        subjects = (
            nb.bind_names(found_names, fig.start, end, clause_lo, clause_hi, masked) or ctx.subjects
        )
        if nb.any_subject(masked, clause_lo, fig.start) or "respectively" in masked:
            subjects = frozenset()  # "everything else is under 0.1 %", "… respectively"
        if (
            k in arrows
            and len(ctx.versions) == 2
            and not any(nb.name_kind(n) == "version" for _, n in found_names)
        ):
            # "- logloss: 0.064 → 0.082" under "v3 → v4": before and after, in that order.
            subjects = frozenset(
                {
                    *(s for s in ctx.subjects if nb.name_kind(s) != "version"),
                    ctx.versions[arrows[k]],
                }
            )
        elif k in arrows and len({n for _, n in found_names if nb.name_kind(n) == "version"}) > 1:
            # "v4 is worse than v3: AUC 0.969 → 0.966": which side is which version is not said
            subjects = frozenset(s for s in subjects if nb.name_kind(s) != "version")
        elif ctx.subjects and subjects is not ctx.subjects:
            # A version named alone inherits the model from the header ("- v4: auc 0.97").
            kinds = {nb.name_kind(s) for s in subjects}
            subjects = subjects | frozenset(s for s in ctx.subjects if nb.name_kind(s) not in kinds)
        # A counted noun right after the figure says what it counts ("2 series", "22 lines").
        noun = re.match(r"\s*-?(?:(?:out )?of \d+\s+)?([a-z][a-z-]*)", after)
        quantity = frozenset(lx.quantities(noun.group(1) + " ")) if noun and not fig.unit else None
        if noun and not fig.unit and noun.group(1) in lx.SERIES_NOUNS:
            quantity = frozenset({"series"})
        counted = bool(quantity)
        # A word that labels another figure is that figure's ("score 0.77, confidence 0.71"),
        # unless the figures share it ("logloss rose from 0.064 to 0.082").
        others = frozenset().union(*(q for j, q in enumerate(labels) if j != k)) - labels[k]
        if not quantity:
            near = nb.nearest_quantity(q_spans, fig.start, clause_lo, clause_hi, fig)
            quantity = near - others or near
        if re.search(r"\d\s+(?:out\s+)?of\s*$", before) and not fig.unit:
            quantity = frozenset()  # "0 of 8": a total of whatever the first figure counts
        elif not quantity:
            quantity = frozenset(lx.quantities(worded)) or ctx.quantities
        elif not counted and not nb.nearest_quantity(q_spans, fig.start, clause_lo, fig.start, fig):
            # Named only after the figure: the sentence's other quantities may be its own
            # ("amount is highest at 0.017, then device_score 0.013").
            quantity = quantity | frozenset(lx.quantities(worded))
        if fig.dimension in FAMILY_OF_DIMENSION:
            # The unit says what it measures, whatever else the words name ("100/s" is a rate).
            quantity = frozenset(quantity) | {FAMILY_OF_DIMENSION[fig.dimension]}
        change, bound, approx = direction(before, after, fig)
        fig = nb.signed_trend(fig, before)
        stat = nb.nearest_stat(s_spans, fig.start, max(clause_lo, prev_end - 1), clause_hi)
        stat = nb.stat_after(after) or stat or ctx.stat
        if nb.COMPARED_WITH.search(before[-28:]):
            # "0.0722 % vs 0.122 %": the figure compared with, of the other version if any
            stat = stat or "baseline"
            subjects = frozenset(s for s in subjects if nb.name_kind(s) != "version")
        stat = ranges.get(k, stat)
        quantile = nb.quantile_near(masked, fig, clause_lo, clause_hi)
        quantile = quantile if quantile is not None else ctx.quantile
        near_base = [b for b in base if clause_lo <= b[0] < clause_hi]
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


def _labels(figs: list[Figure], spans: list[tuple[int, str]], text: str) -> list[frozenset[str]]:
    """Return, per figure, the quantity words right before it since the previous figure."""
    out = []
    for k, fig in enumerate(figs):
        lo, _ = nb.clause(text, fig.start)
        prev = figs[k - 1].start + len(figs[k - 1].text) if k else lo
        out.append(nb.nearest_quantity(spans, fig.start, max(lo, prev), fig.start, fig))
    return out
