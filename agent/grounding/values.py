"""Facts from a tool's `Evidence.values`: the exact numbers behind its summary, by key.

Keys read as paths: `web-7d9f8-xk2p1.current`, `amount.psi`, `0.change_pct`,
`holdout_rows`. The last part says what the number is (a statistic such as `last` or
`baseline`, or a quantity such as `psi` or `holdout_rows`); the parts before it name the
series it belongs to (a pod, a feature) or index it. Values are in base units (seconds,
bytes, fractions, per second), except `*_pct` (percent) and `*_min` (minutes).
"""

from __future__ import annotations

import re
from typing import Any

from opsloop.agent.grounding import lexicon as lx
from opsloop.agent.grounding.claims import Claim, Names
from opsloop.agent.grounding.figures import Figure

ANY_UNIT = "?"  # a base-unit value whose unit the key does not say: fits any written unit
_STATS = {
    "last": "last",
    "current": "last",
    "now": "last",
    "value": None,
    "mean": "mean",
    "avg": "mean",
    "min": "min",
    "max": "max",
    "baseline": "baseline",
    "previous": "previous",
    "before": "previous",
}
_EXTRA = {"z": {"zscore"}, "limit": {"saturation"}, "eta": {"eta"}, "drifted": {"distributions"}}


def value_facts(
    ev: dict[str, Any],
    names: Names,
    window: float | None,
    siblings: list[Claim],
) -> list[Claim]:
    """Return a claim-shaped fact for each number in `ev["values"]`; `siblings` are the
    facts read from the same evidence's text (their quantities and baselines fill gaps)."""
    values = ev.get("values") or {}
    if not isinstance(values, dict):
        return []
    if ev.get("facts"):
        return []  # the tool sent these numbers as structured facts, with their quantiles
    found = names.find(f"{ev.get('query') or ''} {ev.get('summary') or ''}".lower()[:400])
    ev_subjects = frozenset(n for _, n in found)
    ev_quantities = frozenset(q for c in siblings for q in c.quantities)
    quantiles = {c.quantile for c in siblings}
    common = quantiles.pop() if len(quantiles) == 1 else None
    out: list[Claim] = []
    for key, raw in values.items():
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            continue
        parts = str(key).split(".")
        leaf = parts[-1].lower()
        owners = [p.lower() for p in parts[:-1] if not p.isdigit()]
        if leaf in _STATS and owners and owners[-1] in ("template", "level"):
            owners = []  # "template.0.before": a count, not a series
        stat = _STATS.get(leaf)
        words = leaf.replace("_", " ")
        quantities = set(lx.quantities(words + " ")) | _EXTRA.get(leaf.split("_")[0], set())
        quantities |= set(lx.quantities(" ".join(owners).replace("_", " ") + " "))
        if leaf in _STATS:
            quantities |= ev_quantities  # "current": of whatever the evidence measures
        fig, change = _figure(leaf, float(raw))
        subjects = (
            frozenset(o for o in owners if o not in ("template", "level"))
            or _subjects_as_read(fig, siblings)
            or ev_subjects
        )
        claim = Claim(
            text=f"{ev.get('tool') or 'tool'} value {key}",
            figure=fig,
            subjects=subjects,
            quantities=frozenset(quantities),
            stat=stat if change is None else None,
            quantile=_quantile_as_read(fig, siblings, common),
            change=change,
            window_s=window,
            baseline=_baseline(fig, change, stat, siblings),
        )
        out.append(claim)
    return out


def _figure(leaf: str, value: float) -> tuple[Figure, int | None]:
    if leaf.endswith("_pct"):
        ratio = value / 100
        change = (1 if value > 0 else -1 if value < 0 else 0) if leaf == "change_pct" else None
        return Figure(f"{value:g} %", 0, ratio, value, "%", "ratio", 0.0), change
    if re.search(r"(?:^|_)min$", leaf) and leaf != "min":
        return Figure(f"{value:g} min", 0, value * 60, value, "min", "time", 0.0), None
    return Figure(f"{value:g}", 0, value, value, "", ANY_UNIT, 0.0), None


def _alike(fig: Figure, siblings: list[Claim]) -> list[Claim]:
    """The text's figures that print this value: within their rounding and within 1 %."""
    return [
        c
        for c in siblings
        if c.figure.value
        and abs(c.figure.value - fig.value)
        <= min(c.figure.tolerance, 0.01 * abs(fig.value)) + 1e-12
    ]


def _subjects_as_read(fig: Figure, siblings: list[Claim]) -> frozenset[str]:
    """The subjects the tool's text gave this same number (rounded as it printed it)."""
    return frozenset(s for c in _alike(fig, siblings) for s in c.subjects)


def _quantile_as_read(fig: Figure, siblings: list[Claim], common: float | None) -> float | None:
    """The quantile the tool's text gave this same number, else the one all its text shares."""
    found = {c.quantile for c in _alike(fig, siblings)}
    return found.pop() if len(found) == 1 else common


def _baseline(
    fig: Figure, change: int | None, stat: str | None, siblings: list[Claim]
) -> str | None:
    """What a change or baseline value is against: as the tool's text said of the same
    figure; "?" when the text does not say (so no stated baseline can lean on it)."""
    if change is None and stat not in ("baseline", "previous"):
        return None
    for c in siblings:
        if c.baseline and (c.change is None) == (change is None):
            close = abs(c.figure.value - fig.value) <= 0.01 * abs(fig.value) + 1e-12
            if close or (change is None and c.stat == stat):
                return c.baseline
    return "?"
