"""Check an answer against its evidence: every figure, every name, every citation."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# Dates, clock times and evidence ids are context, not figures; they are removed before checking.
_SKIP = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
    r"|\b\d{1,2}:\d{2}(?::\d{2})?\b|\[E\d+\]|\bE\d+\b"
    r'|\b[a-zA-Z_][a-zA-Z0-9_]*=~?"[^"]*"'  # label matchers: version="4" names, not measures
)
_NUMBER = re.compile(
    r"(?<![\w.])([-+]?\d+(?:,\d{3})*(?:\.\d+)?(?:[eE][-+]?\d+)?)\s?"
    r"(ms|µs|us|ns|s|sec|seconds|min|m|h|hr|hours|d|days|w|%|percent|KiB|MiB|GiB|TiB|"
    r"KB|MB|GB|TB|B|bytes|cores|/s|req/s|rps|x)?(?![\w])"
)
_IDENT_AFTER = re.compile(r"[A-Za-z_]")
_SCALE = {
    "ms": 1e-3,
    "µs": 1e-6,
    "us": 1e-6,
    "ns": 1e-9,
    "s": 1,
    "sec": 1,
    "seconds": 1,
    "KiB": 2**10,
    "MiB": 2**20,
    "GiB": 2**30,
    "TiB": 2**40,
    "KB": 1e3,
    "MB": 1e6,
    "GB": 1e9,
    "TB": 1e12,
    "B": 1,
    "bytes": 1,
    "%": 0.01,
    "percent": 0.01,
}
# A window length like "30m" or "2 hours" restates the question; it is not a measurement.
_DURATION_UNITS = {"min", "m", "h", "hr", "hours", "d", "days", "w"}
_CITE = re.compile(r"\[(E\d+)\]")
_NAME = re.compile(r"`([^`\s]{2,80})`|(?<![\w/.-])([a-z][a-z0-9]*(?:[-_][a-z0-9]+)+)(?![\w/-])")


@dataclass(frozen=True)
class Figure:
    """A number as written in the answer."""

    text: str
    value: float
    unit: str
    decimals: int
    trailing_zeros: int


@dataclass
class CheckResult:
    """The self-check verdict for one answer."""

    numbers: int = 0
    verified: int = 0
    unverified: list[str] = field(default_factory=list)
    unknown_entities: list[str] = field(default_factory=list)
    invalid_citations: list[str] = field(default_factory=list)
    sentences_with_figures: int = 0
    sentences_cited: int = 0

    @property
    def groundedness(self) -> float:
        """Fraction of figures traced to evidence (1.0 when there are none)."""
        return 1.0 if self.numbers == 0 else self.verified / self.numbers

    @property
    def citation_coverage(self) -> float:
        """Fraction of sentences with figures that cite evidence."""
        if self.sentences_with_figures == 0:
            return 1.0
        return self.sentences_cited / self.sentences_with_figures

    @property
    def grounded(self) -> bool:
        """True when every figure, name and citation checks out."""
        return not (self.unverified or self.unknown_entities or self.invalid_citations)

    def problems(self) -> list[str]:
        """Describe each failure in a sentence a model (or person) can act on."""
        out = [f"the figure '{n}' does not appear in any tool result" for n in self.unverified]
        out += [
            f"'{e}' is not a service, model or name found by the tools"
            for e in self.unknown_entities
        ]
        out += [
            f"[{c}] is not an evidence id from this conversation" for c in self.invalid_citations
        ]
        return out

    def as_dict(self) -> dict[str, Any]:
        """Return the evals fields of the DESIGN.md answer contract."""
        return {
            "grounded": self.grounded,
            "groundedness": round(self.groundedness, 4),
            "numbers_checked": self.numbers,
            "unverified_numbers": self.unverified,
            "unknown_entities": self.unknown_entities,
            "invalid_citations": self.invalid_citations,
            "citation_coverage": round(self.citation_coverage, 4),
        }


def figures(text: str) -> list[Figure]:
    """Extract the figures in `text`, skipping dates, times, ids and identifiers like p99."""
    clean = _SKIP.sub(" ", text)
    out = []
    for match in _NUMBER.finditer(clean):
        number, unit = match.group(1), match.group(2) or ""
        end = match.end()
        if not unit and end < len(clean) and _IDENT_AFTER.match(clean[end]):
            continue  # "5xx", "3rd" … identifiers, not measurements
        start = match.start()
        if start > 0 and clean[start - 1].isalpha():
            continue  # "p99", "v7"
        raw = number.replace(",", "")
        try:
            value = float(raw)
        except ValueError:
            continue
        mantissa = raw.lstrip("+-").split("e")[0].split("E")[0]
        decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
        trailing = 0 if "." in mantissa else len(mantissa) - len(mantissa.rstrip("0"))
        if mantissa.strip("0") == "":
            trailing = 0
        out.append(Figure(match.group(0).strip(), value, unit, decimals, trailing))
    return out


def _close(written: Figure, scale: float, candidate: float) -> bool:
    """True if `candidate` (base units), rounded as the answer rounded it, equals the figure."""
    if not math.isfinite(candidate):
        return False
    target = candidate / scale
    if written.decimals:
        tolerance = 0.5 * 10 ** (-written.decimals)
    else:
        tolerance = 0.5 * 10 ** min(written.trailing_zeros, 2)
    return abs(abs(written.value) - abs(target)) <= tolerance * (1 + 1e-9) + 1e-12 * abs(target)


def verify_figure(fig: Figure, sources: Iterable[float]) -> bool:
    """Return True if the figure matches any source value, with or without unit scaling."""
    scales = {1.0}
    if fig.unit in _SCALE:
        scales.add(_SCALE[fig.unit])
    return any(_close(fig, scale, value) for value in sources for scale in scales)


def source_values(evidence: list[dict[str, Any]], extra_texts: Iterable[str]) -> list[float]:
    """Collect every value a figure may come from: evidence values and figures in texts."""
    values: list[float] = []
    texts = list(extra_texts)
    for ev in evidence:
        values.extend(float(v) for v in (ev.get("values") or {}).values())
        texts.extend([ev.get("summary") or "", ev.get("query") or ""])
    for text in texts:
        for fig in figures(text):
            values.append(fig.value)
            if fig.unit in _SCALE:
                values.append(fig.value * _SCALE[fig.unit])
    return values


def check_answer(
    answer: str,
    evidence: list[dict[str, Any]],
    *,
    known_names: Iterable[str],
    user_texts: Iterable[str] = (),
) -> CheckResult:
    """Verify figures (within rounding), named entities and citations in `answer`."""
    result = CheckResult()
    user_texts = list(user_texts)
    sources = source_values(evidence, user_texts)
    ids = {ev.get("id") for ev in evidence}
    for sentence in _sentences(answer):
        figs = [f for f in figures(sentence) if f.unit not in _DURATION_UNITS]
        if figs:
            result.sentences_with_figures += 1
            if _CITE.search(sentence):
                result.sentences_cited += 1
        for fig in figs:
            result.numbers += 1
            if verify_figure(fig, sources):
                result.verified += 1
            elif fig.text not in result.unverified:
                result.unverified.append(fig.text)
    result.invalid_citations = sorted({c for c in _CITE.findall(answer) if c not in ids})
    allowed = {n.lower() for n in known_names}
    context = " ".join(
        [
            *(str(ev.get("summary", "")) + " " + str(ev.get("query", "")) for ev in evidence),
            *user_texts,
        ]
    ).lower()
    for match in _NAME.finditer(_SKIP.sub(" ", answer)):
        name = (match.group(1) or match.group(2)).strip(".,:;()")
        low = name.lower()
        if low in allowed or low in context or _looks_like_text(low):
            continue
        if name not in result.unknown_entities:
            result.unknown_entities.append(name)
    return result


def _looks_like_text(word: str) -> bool:
    """Hyphenated English ("read-only", "up-to-date") is not an entity."""
    return (
        all(part.isalpha() for part in re.split(r"[-_]", word))
        and len(word) <= 14
        and word.count("-") + word.count("_") >= 1
        and word in _COMMON
    )


_COMMON = frozenset(
    {
        "read-only",
        "up-to-date",
        "follow-up",
        "on-call",
        "non-zero",
        "built-in",
        "so-called",
        "real-time",
        "per-pod",
        "per-service",
        "top-k",
        "x-axis",
        "well-known",
        "long-running",
        "short-lived",
        "day-to-day",
        "end-to-end",
        "right-now",
        "self-check",
        "opt-in",
        "rate-limited",
        "time-series",
        "high-cardinality",
        "low-traffic",
        "high-traffic",
    }
)


def _sentences(text: str) -> list[str]:
    """Split into claims: sentences, or a cited header line ending in ':' with its list."""
    units: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        lines = [ln for ln in block.split("\n") if ln.strip()]
        if len(lines) > 1 and _CITE.search(lines[0]) and lines[0].rstrip().endswith(":"):
            units.append(block)
            continue
        for line in lines:
            units.extend(p for p in re.split(r"(?<=[.!?])\s+", line) if p.strip())
    return units
