"""Find services, models, versions and signals in a question, against discovered names."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from opsloop.agent.planner.lexicon import (
    SIGNAL_PHRASES,
    STOPWORDS,
    VOCABULARY,
    correct,
    edit_distance,
    expand,
    has_phrase,
    tokens,
)

_VERSION = re.compile(r"\b(?:v|ver|version|vers)\.?\s?#?(\d+)\b")
# "rollback X -> 3", "X → 3": a bare number after an arrow is the version gone to.
_ARROW_VERSION = re.compile(r"(?:->|→|=>)\s*(\d+)\b")
_ENTITY_SUFFIX = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)+$|^[a-z]+(?:svc|api|srv|service)$")
_PREPOSITIONS = frozenset({"of", "for", "on", "in", "at", "from", "with"})
_NAME_NOUNS = frozenset({"service", "app", "deployment", "pod", "pods", "logs", "log"})
# Words that qualify a signal without naming anything ("overall p99", "pod restarts").
_MODIFIERS = frozenset(
    "overall total average avg mean max peak global cluster prod production staging every "
    "each pod pods container containers node nodes http grpc api request server client model "
    "service services app apps endpoint endpoints user users customer customers high highest "
    "low lowest worst best top some much many more less".split()
)
_RATE_WORDS = ("traffic", "rps", "qps", "throughput", "request rate", "req/s", "load", "volume")
_NOT_NAMES = frozenset(
    {
        "p99",
        "p95",
        "p50",
        "p90",
        "p999",
        "5xx",
        "e2e",
        "k8s",
        "req/s",
        "roll-back",
        "re-train",
        "post-mortem",
        "fine-tune",
        "right-now",
    }
)


@dataclass
class Entities:
    """What a question names."""

    services: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    signals: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)  # metric names typed verbatim


def _variants(name: str) -> set[str]:
    parts = re.split(r"[-_]", name)
    return {name, "".join(parts), " ".join(parts), "-".join(parts)}


def match_names(words: list[str], names: list[str], allow_prefix: bool = True) -> list[str]:
    """Return names mentioned in `words` (exact, spaced/joined, prefix or typo), in text order."""
    found: list[tuple[int, str]] = []
    firsts: dict[str, list[str]] = {}
    for name in names:
        firsts.setdefault(re.split(r"[-_]", name)[0], []).append(name)
    for i in range(len(words)):
        for n in (3, 2, 1):
            gram = words[i : i + n]
            if len(gram) < n:
                continue
            hit = _match_gram(gram, names, firsts if allow_prefix and n == 1 else {})
            if hit and hit not in (h for _, h in found):
                found.append((i, hit))
                break
    return [h for _, h in sorted(found)]


def _match_gram(gram: list[str], names: list[str], firsts: dict[str, list[str]]) -> str | None:
    joined = {" ".join(gram), "".join(gram), "-".join(gram)}
    for name in names:
        if joined & _variants(name):
            return name
    if len(gram) == 1:
        word = gram[0]
        if word in STOPWORDS or word in VOCABULARY:
            return None
        if word in firsts and len(firsts[word]) == 1 and len(word) >= 4:
            return firsts[word][0]
        best, best_d = None, 3
        for name in names:
            for variant in (name, name.replace("-", "").replace("_", "")):
                limit = 1 if len(variant) < 8 else 2
                if len(variant) < 5:
                    continue
                d = edit_distance(word, variant, limit)
                if d <= limit and d < best_d:
                    best, best_d = name, d
        return best
    return None


def extract(
    question: str,
    services: list[str],
    models: list[str],
    metrics: list[str] = (),
) -> Entities:
    """Extract entities from a question given the names discovery found."""
    text = expand(question)
    words = [w for w in tokens(text)]
    ent = Entities()
    known_metrics = set(metrics)
    ent.metrics = [
        w
        for w in dict.fromkeys(re.findall(r"[a-z_:][a-z0-9_:]*", question.lower()))
        if w in known_metrics
    ]
    ent.services = match_names(words, services)
    ent.models = match_names(words, models)
    ent.versions = _VERSION.findall(text) or _ARROW_VERSION.findall(text)
    norm = " " + " ".join(correct(w) for w in words) + " "
    positions: dict[str, int] = {}
    for phrase, signal in SIGNAL_PHRASES.items():
        if has_phrase(norm, phrase):
            at = norm.find(f" {phrase.rstrip('?')} ")
            positions[signal] = min(positions.get(signal, at), at)
    ent.signals = sorted(positions, key=positions.__getitem__)
    if (
        "error_ratio" in ent.signals
        and "request_rate" in ent.signals
        and not any(has_phrase(norm, p) for p in _RATE_WORDS)
    ):  # "failed requests" asks for errors; "requests" only names what failed
        ent.signals.remove("request_rate")
    if len(ent.services) > 1 and ent.signals:
        ent.services = _focus(text, ent.services)
    ent.unknown = _unknown_names(words, services, models, lookup_nouns=not ent.services)
    return ent


def _unknown_names(
    words: list[str], services: list[str], models: list[str], lookup_nouns: bool
) -> list[str]:
    """Return words that name a service or model nobody knows ("payments-svc p99")."""
    known = {w for name in (*services, *models) for w in _variants(name)}
    out = []
    for i, word in enumerate(words):
        if (
            word in known
            or word in _NOT_NAMES
            or re.match(r"^\d", word)
            or word in VOCABULARY
            or "_" in word
        ):
            continue
        plain = word not in STOPWORDS and word not in _MODIFIERS and correct(word) not in VOCABULARY
        after = words[i + 1] if i + 1 < len(words) else ""
        looks_like_name = bool(_ENTITY_SUFFIX.match(word)) or (plain and after in _NAME_NOUNS)
        # "payments p99", "p99 for payments": where a service name goes, when none was found.
        slot = i == 0 or words[i - 1] in _PREPOSITIONS
        if (
            lookup_nouns
            and plain
            and len(word) >= 4
            and slot
            and (correct(after) in SIGNAL_PHRASES or not after)
        ):
            looks_like_name = True
        if looks_like_name and not match_names([word], [*services, *models]):
            out.append(word)
    return out


def _focus(text: str, services: list[str]) -> list[str]:
    """Keep the services named in the sentences that carry the signal, when that narrows."""
    clauses = [c for c in re.split(r"[.?!;]\s+", text) if c.strip()]
    with_signal = [
        c
        for c in clauses
        if any(
            has_phrase(" " + " ".join(correct(w) for w in tokens(c)) + " ", p)
            for p in SIGNAL_PHRASES
        )
    ]
    focused = match_names(tokens(" ".join(with_signal)), services)
    return focused if focused and len(focused) < len(services) else services


def resolve_latency(signals: list[str]) -> list[str]:
    """Turn a bare "latency" into p99 unless a percentile was named; drop duplicates."""
    percentiles = [s for s in signals if s.startswith("latency_p")]
    out: list[str] = []
    for s in signals:
        if s == "latency":
            s = percentiles[0] if percentiles else "latency_p99"
        if s not in out:
            out.append(s)
    return out
