"""Leave-one-category-out NAB: choose settings on five categories, score the one left out.

NAB picks one threshold per profile over the whole corpus, so a category's score is partly
fitted to that category. Here every category is scored with the detector settings and the
threshold chosen on the other categories alone, as a new user's data would be; the in-sample
scores (settings and threshold chosen on all of them) are reported beside it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from opsloop.evals.nab import NabFile, outcome_dict
from opsloop.evals.nab.scorer import (
    PROFILES,
    FileRows,
    Outcome,
    Profile,
    best_threshold,
    file_rows,
    score_file,
)

# One candidate: detector settings by name → that setting's scores, one array per file.
Candidates = Mapping[str, Sequence[np.ndarray]]


def choose(
    rows: list[FileRows], candidates: Candidates, members: list[int], profile: Profile
) -> tuple[str, float]:
    """Return the (settings, threshold) with the best raw score over the `members` files."""
    best: tuple[float, str, float] | None = None
    for name, scores in candidates.items():
        threshold, raw = best_threshold(
            [rows[i] for i in members], [scores[i] for i in members], profile
        )
        if best is None or raw > best[0]:
            best = (raw, name, threshold)
    assert best is not None, "no candidate settings"
    return best[1], best[2]


def outcome(
    rows: list[FileRows],
    scores: Sequence[np.ndarray],
    members: list[int],
    threshold: float,
    profile: Profile,
) -> Outcome:
    """Sum the files' outcomes at one threshold."""
    total = Outcome(0.0, 0, 0, 0)
    for i in members:
        total = total + score_file(rows[i], scores[i], threshold, profile)
    return total


def _cell(
    rows: list[FileRows],
    candidates: Candidates,
    members: list[int],
    choice: tuple[str, float],
    profile: str,
) -> dict[str, Any]:
    """Score the `members` files with one (settings, threshold) choice under a profile."""
    settings, threshold = choice
    total = outcome(rows, candidates[settings], members, threshold, PROFILES[profile])
    return {**outcome_dict(total, profile), "settings": settings, "threshold": threshold}


def leave_one_out(files: list[NabFile], candidates: Candidates) -> dict[str, Any]:
    """Score each category in-sample and left out, for every profile."""
    rows = [file_rows(len(f.values), f.windows) for f in files]
    categories = sorted({f.category for f in files})
    every = list(range(len(files)))
    report: dict[str, Any] = {"candidates": list(candidates), "profiles": {}}
    for pname, profile in PROFILES.items():
        chosen = choose(rows, candidates, every, profile)
        table: dict[str, Any] = {}
        for category in categories:
            inside = [i for i in every if files[i].category == category]
            rest = [i for i in every if files[i].category != category]
            held_out = choose(rows, candidates, rest, profile)
            table[category] = {
                "in_sample": _cell(rows, candidates, inside, chosen, pname),
                "left_out": _cell(rows, candidates, inside, held_out, pname),
            }
        report["profiles"][pname] = {"categories": table, **_means(table)}
    return report


def _means(table: dict[str, Any]) -> dict[str, Any]:
    """Mean and lowest category score in-sample and left out (categories with windows)."""
    scored = [c for c in table.values() if c["in_sample"]["score"] is not None]
    out: dict[str, Any] = {}
    for key in ("in_sample", "left_out"):
        values = [c[key]["score"] for c in scored]
        out[f"{key}_mean"] = round(float(np.mean(values)), 2) if values else None
        out[f"{key}_min"] = min(values) if values else None
    return out
