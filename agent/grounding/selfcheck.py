"""Check an answer against its evidence: each claim, each name, each citation.

Each figure of the answer is read as a claim (opsloop.agent.grounding.claims) and compared
with the facts the tools established (opsloop.agent.grounding.facts). A claim is supported
when a fact of the evidence it cites (or, uncited, of any evidence) has its subject, its
quantity, its statistic, quantile, window and baseline, a value equal within the claim's own
precision, and the same direction of change. It is contradicted when the evidence says
something else about that subject and quantity (or says that figure of another subject),
and unsupported when no tool result bears on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from opsloop.agent.grounding.claims import Names, read
from opsloop.agent.grounding.facts import collect
from opsloop.agent.grounding.figures import figures as _figures
from opsloop.agent.grounding.names import hyphenated_names, unknown_names
from opsloop.agent.grounding.verdicts import Verdict, judge

_CITE = re.compile(r"\[(E\d+)\]")


@dataclass(frozen=True)
class Written:
    """A figure as written in the text (value in the written unit)."""

    text: str
    value: float
    unit: str


def figures(text: str) -> list[Written]:
    """Return the figures in `text`, skipping dates, times, ids, versions and list numbers."""
    return [Written(f.text, f.written, f.unit) for f in _figures(text)]


@dataclass
class CheckResult:
    """The self-check verdict for one answer."""

    claims: list[Verdict] = field(default_factory=list)
    unknown_entities: list[str] = field(default_factory=list)
    invalid_citations: list[str] = field(default_factory=list)
    sentences_with_figures: int = 0
    sentences_cited: int = 0

    @property
    def numbers(self) -> int:
        """How many figures were checked."""
        return len(self.claims)

    @property
    def verified(self) -> int:
        """How many figures the evidence supports."""
        return sum(1 for c in self.claims if c.status == "supported")

    @property
    def unverified(self) -> list[str]:
        """The figures the evidence does not support, as written."""
        return list(dict.fromkeys(c.figure for c in self.claims if c.status != "supported"))

    @property
    def contradicted(self) -> list[Verdict]:
        """The claims the evidence contradicts."""
        return [c for c in self.claims if c.status == "contradicted"]

    @property
    def groundedness(self) -> float:
        """Fraction of figures the evidence supports (1.0 when there are none)."""
        return 1.0 if not self.claims else self.verified / len(self.claims)

    @property
    def citation_coverage(self) -> float:
        """Fraction of sentences with figures that cite evidence."""
        if self.sentences_with_figures == 0:
            return 1.0
        return self.sentences_cited / self.sentences_with_figures

    @property
    def grounded(self) -> bool:
        """True when every claim, name and citation checks out."""
        return not (self.unverified or self.unknown_entities or self.invalid_citations)

    def problems(self) -> list[str]:
        """Describe each failure in a sentence a model (or person) can act on."""
        out = [
            f'"{c.text[:160]}": {c.figure} is {c.status} — {c.reason}'
            for c in self.claims
            if c.status != "supported"
        ]
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
            "claims": [c.as_dict() for c in self.claims],
        }


def remove_claims(answer: str, verdicts: Iterable[Verdict]) -> tuple[str, list[Verdict]]:
    """Remove the sentences (or lines, or table rows) holding `verdicts`; return what went."""
    removed: list[Verdict] = []
    for v in verdicts:
        if v.text and v.text in answer:
            answer = answer.replace(v.text, "", 1)
            removed.append(v)
    lines = [ln for ln in answer.split("\n") if ln.strip() not in ("", "-", "*", "•")
             or not ln.strip()]  # fmt: skip
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip(), removed


def check_answer(
    answer: str,
    evidence: list[dict[str, Any]],
    *,
    known_names: Iterable[str],
    user_texts: Iterable[str] = (),
    calls: list[dict[str, Any]] | None = None,
) -> CheckResult:
    """Check each claim, named entity and citation of `answer` against the evidence."""
    known = {n.lower() for n in known_names if n}
    names = Names(known | _evidence_names(evidence, calls or [], known))
    facts = collect(evidence, calls or [], names)
    asked = [c for text in user_texts for c in read(text, names)]
    ids = {str(ev.get("id")) for ev in evidence}
    result = CheckResult()
    seen_sentences: set[str] = set()
    for claim in read(answer, names):
        if claim.text not in seen_sentences:
            seen_sentences.add(claim.text)
            result.sentences_with_figures += 1
            result.sentences_cited += bool(claim.cites)
        result.claims.append(judge(claim, facts, asked, ids))
    result.invalid_citations = sorted({c for c in _CITE.findall(answer) if c not in ids})
    context = " ".join(
        [
            *(str(ev.get("summary", "")) + " " + str(ev.get("query", "")) for ev in evidence),
            *(str(c.get("summary") or "") for c in calls or []),
            *user_texts,
        ]
    ).lower()
    result.unknown_entities = unknown_names(answer, known, context)
    return result


def _evidence_names(
    evidence: list[dict[str, Any]], calls: list[dict[str, Any]], known: set[str]
) -> set[str]:
    """Names the tools returned: subjects of structured facts, and hyphenated names (pods,
    deployments) their text states."""
    out: set[str] = set()
    texts = [str(c.get("summary") or "") for c in calls]
    for ev in evidence:
        texts.append(str(ev.get("summary") or ""))
        for raw in ev.get("facts") or []:
            out |= {str(s).lower() for s in raw.get("subjects") or []}
    for text in texts:
        out |= {w for w in hyphenated_names(text, known | out)}
    return out
