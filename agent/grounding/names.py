"""Names: which words of an answer name a service, model, pod or metric, and which are prose."""

from __future__ import annotations

import re

from opsloop.agent.grounding import lexicon as lx

_NAME = re.compile(r"`([^`\s]{2,80})`|(?<![\w/.-])([a-z][a-z0-9]*(?:[-_][a-z0-9]+)+)(?![\w/-])")
_CODE = re.compile(r"```.*?```|\d{4}-\d{2}-\d{2}\S*|\[E\d+\]|(?:https?://|www\.)\S+", re.S)


def unknown_names(answer: str, known: set[str], context: str) -> list[str]:
    """Return the names in `answer` that no tool returned (domain words are not names)."""
    out: list[str] = []
    for match in _NAME.finditer(_CODE.sub(" ", answer)):
        name = (match.group(1) or match.group(2)).strip(".,:;()")
        low = name.lower()
        # "model-version" and "model_version" are one name written two ways.
        spellings = {low, low.replace("-", "_"), low.replace("_", "-")}
        if spellings & known or any(w in context for w in spellings):
            continue
        if not _name_like(low, known, bool(match.group(1))):
            continue
        if name not in out:
            out.append(name)
    return out


_ID = re.compile(r"(?<![a-z0-9])(?=[a-f]*\d)[0-9a-f]{8,}(?![a-z0-9])")  # ids, hashes


def hyphenated_names(text: str, known: set[str]) -> set[str]:
    """Return the hyphenated names (pods, deployments, services) in tool text."""
    out = set()
    for match in _NAME.finditer(_CODE.sub(" ", text.lower())):
        word = match.group(2)
        if word and "_" not in word and not _ID.search(word) and _name_like(word, known, False):
            out.add(word.strip(".,:;()"))
    return out


def _name_like(word: str, known: set[str], in_code: bool) -> bool:
    """True for a service, model, pod or metric name; False for a hyphenated word."""
    if in_code:
        # Code spans: PromQL and label matchers are queries, not names; identifiers are names.
        return bool(re.fullmatch(r"[a-z_][a-z0-9_.:-]*", word)) and ("_" in word or "-" in word)
    if "_" in word:
        return True  # metric and label names
    parts = word.split("-")
    if any(p.isdigit() for p in parts):
        # "24-hour", "5-minute" are prose; "web-v2", "pg-14" are names.
        return not any(p in lx.TIME_WORDS or p.rstrip("s") in lx.TIME_WORDS for p in parts)
    if re.search(r"\d", word):
        return not re.fullmatch(r"p\d+(?:-[a-z]+)+|[a-z]+-p\d+", word)
    if parts[-1] in lx.PROSE_SUFFIXES:
        return False
    if parts[-1] in ("service", "server") and parts[0] != "self":
        return True  # "<thing>-service" is how services are named
    if any(p in lx.NAME_PARTS for p in parts):
        return True
    # A variant of a known name ("fraud-service" beside fraud-api) is a made-up name.
    known_parts = {p for n in known for p in re.split(r"[-_]", n) if len(p) > 2}
    return any(p in known_parts for p in parts if len(p) > 2)
