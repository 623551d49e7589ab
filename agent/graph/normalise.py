"""Normalise tool arguments where models vary, and say what was changed.

Models write units as they speak ("s", "ms", "%", "req/s") and services as they saw them
elsewhere ("Web", "prod/web", "web.prod.svc.cluster.local"). A call is
rewritten to the tool's own vocabulary before it runs, and every rewrite is reported, so
the engineer (and the self-check) see what was actually asked.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from opsloop.tools.errors import OpsError

# Written unit → the unit names the metric tools take (values are in base units).
_UNIT_WORDS = {
    "seconds": "s sec secs second seconds ms msec millis milliseconds latency duration time",
    "percent": "% pct percent percentage percents",
    "ratio": "ratio fraction share proportion",
    "bytes": "b byte bytes kb kib mb mib gb gib memory",
    "per_second": "per_second /s rps qps req/s requests/s ops ops/s rate 1/s hz",
    "cores": "cores core cpu cpus vcpu vcpus millicores",
    "count": "count n number total none 1 unitless",
}
UNIT_SYNONYMS: dict[str, str] = {
    word: unit for unit, words in _UNIT_WORDS.items() for word in words.split()
} | {"per second": "per_second"}
# Units whose values are not in the base unit the tools expect: the note says so.
_SCALED = {"ms", "msec", "millis", "milliseconds", "kb", "kib", "mb", "mib", "gb", "gib",
           "millicores"}  # fmt: skip
_NAME_KEYS = {"service": "services", "model": "models"}


def normalise_args(
    tool: str, args: dict[str, Any], names: Callable[[str], list[str]]
) -> tuple[dict[str, Any], list[str]]:
    """Return `args` rewritten to the tool's vocabulary, and a note per rewrite.

    `names(kind)` returns the known names of a kind ("services", "models"); it may raise
    OpsError when discovery fails, in which case names are left as given.
    """
    out = dict(args)
    notes: list[str] = []
    unit = out.get("unit")
    if isinstance(unit, str):
        key = unit.strip().lower()
        canon = UNIT_SYNONYMS.get(key)
        if not key:
            del out["unit"]  # "" means unset: the tool guesses from the query
        elif canon and canon != unit:
            out["unit"] = canon
            scaled = " (the query's values are read in base units)" if key in _SCALED else ""
            notes.append(f'{tool}: unit "{unit}" read as "{canon}"{scaled}')
        elif canon is None:
            del out["unit"]
            notes.append(f'{tool}: unit "{unit}" is not one the tool knows; it was guessed')
    for key, kind in _NAME_KEYS.items():
        value = out.get(key)
        if not isinstance(value, str) or not value.strip():
            continue
        try:
            known = names(kind)
        except OpsError:
            continue
        match = match_name(value, known)
        if match and match != value:
            out[key] = match
            notes.append(f'{tool}: {key} "{value}" read as "{match}"')
    return out, notes


def match_name(value: str, known: list[str]) -> str | None:
    """Return the known name `value` means: itself, another case, or without a namespace
    or cluster-domain part ("prod/web", "web.prod.svc.cluster.local")."""
    if value in known:
        return value
    by_lower = {k.lower(): k for k in known}
    text = value.strip().lower()
    candidates = [text]
    candidates += [p for p in re.split(r"[/:]", text) if p]  # "prod/web", "ns:web"
    candidates.append(text.split(".")[0])  # "web.prod.svc.cluster.local"
    candidates.append(re.sub(r"[\s_]+", "-", text))  # "fraud api", "fraud_api"
    for c in candidates:
        if c in by_lower:
            return by_lower[c]
    return None
