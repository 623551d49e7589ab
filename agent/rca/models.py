"""Model hypotheses: a bad release (a fresh alias move and quality down), or the data
(drifted inputs without one), or what feeds several drifting models at once."""

from __future__ import annotations

from typing import Any

from opsloop.agent.rca.evidence import (
    Findings,
    Hypothesis,
    best_change,
    cite,
    onset_of,
    severity,
)

ALERTED_QUALITY = 0.6  # how bad a model is taken to be when its alert says quality fell
# A model release: an alias moved in the registry, or the serving pods switched version.
MODEL_RELEASES = ("alias_move", "version_switch")


def model_hypotheses(f: Findings, reach: dict[str, set[str]]) -> list[Hypothesis]:
    models = sorted({m for ms in f.served.values() for m in ms} | set(f.alerted_models))
    quality = {m: 0.0 for m in models}
    q_eid: dict[str, str] = {}
    for row in f.rows:
        if row["signal"] == "model_quality" and row.get("model") in quality:
            sev = severity(row)
            if sev > quality[row["model"]]:
                quality[row["model"]] = sev
                if row.get("eid"):
                    q_eid[row["model"]] = row["eid"]
    for m in f.alerted_quality:  # the alert itself says this model performs badly
        quality[m] = max(quality.get(m, 0.0), ALERTED_QUALITY)
    drifted = {m: drift_strength(f.drift.get(m), f.drift_threshold) for m in models}
    # Drift in several models at once: look for what feeds them all.
    feeders = _feeder_scores(f, drifted, reach)
    shared = {m: feeder for feeder, (_, hit, _) in feeders.items() for m in hit}
    out = []
    for m in models:
        d, q = drifted[m], quality[m]
        onset = onset_of(f, [r for r in f.rows if r.get("model") == m])
        w, move = best_change(f, m, onset, MODEL_RELEASES)
        ev = [e for e in (q_eid.get(m), (f.drift.get(m) or {}).get("eid")) if e]
        why_q = [cite("online quality fell", q_eid.get(m))] if q > 0 else []
        mv = Hypothesis("model_version", m, 0.0, list(ev), list(why_q))
        if move is not None:
            mv.score = 0.45 * max(q, 0.2) + 0.5 * w - 0.35 * d
            what = "alias move" if move["kind"] == "alias_move" else "version switch"
            mv.why.append(cite(f"{what} {move['when']}: {move['summary']}", move.get("eid")))
            if move.get("eid"):
                mv.evidence.append(move["eid"])
        else:
            mv.score = 0.15 * q
            mv.why.append("no alias move or version switch before the onset")
        data = Hypothesis("data", m, 0.0, list(ev), list(why_q))
        feeder = shared.get(m)
        data.score = 0.35 * q + 0.55 * d - 0.4 * w - (0.45 * d if feeder else 0.0)
        if d > 0:
            names = ", ".join((f.drift.get(m) or {}).get("features", [])[:4])
            data.why.append(cite(f"input features drifted: {names}", f.drift[m].get("eid")))
        if feeder:
            data.why.append(f"the same drift shows in other models fed by {feeder}")
        out += [mv, data]
    for feeder, (strength, models_hit, eids) in feeders.items():
        w, change = best_change(f, feeder, onset_of(f, f.rows), ("deploy", "config"))
        h = Hypothesis(
            "dependency",
            feeder,
            min(1.0, 0.35 + 0.35 * strength + 0.3 * w) if len(models_hit) > 1 or w else 0.0,
            eids,
            [f"feeds {', '.join(models_hit)}, whose input features drifted together"],
        )
        if change is not None:
            h.why.append(
                cite(f"{change['kind']} {change['when']}: {change['summary']}", change.get("eid"))
            )
            if change.get("eid"):
                h.evidence.append(change["eid"])
        if h.score > 0:
            out.append(h)
    for h in out:
        h.score = max(0.0, min(1.0, h.score))
    return out


def drift_strength(drift: dict[str, Any] | None, threshold: float) -> float:
    """Return 0..1 from the drifted input features (the prediction score does not count):
    full strength at twice the drift threshold."""
    if not drift:
        return 0.0
    psi = [float(p) for p in drift.get("psi", {}).values()]
    if not drift.get("features") or not psi:
        return 0.0
    return min(1.0, max(psi) / (2 * threshold))


def _feeders(f: Findings, model: str, reach: dict[str, set[str]]) -> set[str]:
    hosts = [s for s, ms in f.served.items() if model in ms]
    return {c for h in hosts for c in reach.get(h, set())}


def _feeder_scores(
    f: Findings, drifted: dict[str, float], reach: dict[str, set[str]]
) -> dict[str, tuple[float, list[str], list[str]]]:
    hit = [m for m, d in drifted.items() if d > 0]
    out: dict[str, tuple[float, list[str], list[str]]] = {}
    for m in hit:
        for feeder in _feeders(f, m, reach):
            strength, models, eids = out.get(feeder, (0.0, [], []))
            eid = (f.drift.get(m) or {}).get("eid")
            out[feeder] = (
                max(strength, drifted[m]),
                [*models, m],
                [*eids, *([eid] if eid else [])],
            )
    # The nearest common feeder explains the drift; its own callees add nothing new.
    nearest = {k: v for k, v in out.items() if not any(k in reach.get(o, set()) for o in out)}
    return nearest if len(hit) > 1 else {k: v for k, v in out.items() if _fresh_change(f, k)}


def _fresh_change(f: Findings, target: str) -> bool:
    return best_change(f, target, onset_of(f, f.rows), ("deploy", "config"))[0] > 0.5
