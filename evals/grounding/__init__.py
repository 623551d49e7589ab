"""Grounding eval: does the self-check catch distorted answers and pass correct ones?

`evidence.json` holds real tool results captured from the sandbox (`capture.py`): each
turn's question, tool calls and evidence records. `corpus.yaml` holds answers written
against them the way models write (prose, bullets, tables, rounding, units), correct ones
and ones with exactly one distortion of a named kind; a helper wrote them without reading
the checker. `holdout.yaml` is a second set by another helper, blind to the checker and to
the corpus, written after the checker was tuned on the corpus, to measure it on phrasings
it had not seen. The suite runs the self-check on each answer and reports the catch rate
per distortion kind and the rate of correct answers flagged. It is offline (seconds).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable
from importlib import resources
from typing import Any

import yaml

from opsloop.agent.grounding.selfcheck import check_answer

SETS = ("corpus", "holdout")


def load(name: str = "corpus") -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Return the captured turns (plus known names) and the cases of one answer set."""
    root = resources.files(__package__)
    evidence = json.loads(root.joinpath("evidence.json").read_text())
    cases = yaml.safe_load(root.joinpath(f"{name}.yaml").read_text())
    return evidence, cases["cases"]


def check_case(case: dict[str, Any], evidence: dict[str, Any]) -> dict[str, Any]:
    """Run the self-check on one corpus answer against its turn's evidence."""
    turn = next(t for t in evidence["turns"] if t["id"] == case["turn"])
    result = check_answer(
        case["answer"],
        turn["evidence"],
        known_names=evidence["known_names"],
        user_texts=[turn["question"]],
        calls=turn["tool_calls"],
    )
    return {
        "id": case["id"],
        "turn": case["turn"],
        "kind": case["kind"],
        "grounded": result.grounded,
        "problems": result.problems(),
        "claims": len(result.claims),
        "contradicted": len(result.contradicted),
    }


def run(progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Check every answer of both sets; return catch and false-flag rates, overall and per
    kind. The corpus set's rates are unprefixed; the held-out set's start with `holdout_`."""
    metrics: dict[str, float] = {}
    failures: list[dict[str, Any]] = []
    kinds: Counter[str] = Counter()
    for name in SETS:
        evidence, cases = load(name)
        results = [check_case(c, evidence) for c in cases]
        prefix = "" if name == "corpus" else f"{name}_"
        metrics.update({f"{prefix}{k}": v for k, v in _rates(results).items()})
        kinds.update(f"{prefix}{r['kind']}" for r in results)
        failures += [
            {**r, "set": name, "ok": False}
            for r in results
            if r["grounded"] == (r["kind"] != "correct")
        ]
        progress(
            f"grounding ({name}): caught {metrics[prefix + 'catch_rate']:.1%} of "
            f"{metrics[prefix + 'distorted_answers']:.0f} distortions, flagged "
            f"{metrics[prefix + 'false_flag_rate']:.1%} of "
            f"{metrics[prefix + 'correct_answers']:.0f} correct answers"
        )
    return {"suite": "grounding", "metrics": metrics, "kinds": dict(kinds), "cases": failures}


def _rates(results: list[dict[str, Any]]) -> dict[str, float]:
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        by_kind[r["kind"]].append(r)
    correct = by_kind.pop("correct", [])
    distorted = [r for group in by_kind.values() for r in group]
    out: dict[str, float] = {
        "cases": float(len(results)),
        "correct_answers": float(len(correct)),
        "distorted_answers": float(len(distorted)),
        "catch_rate": _rate(distorted, caught=True),
        "false_flag_rate": _rate(correct, caught=True),
        "claims_checked": float(sum(r["claims"] for r in results)),
    }
    for kind, group in sorted(by_kind.items()):
        out[f"catch_rate_{kind}"] = _rate(group, caught=True)
    return out


def _rate(group: list[dict[str, Any]], caught: bool) -> float:
    if not group:
        return 0.0
    return round(sum((not r["grounded"]) == caught for r in group) / len(group), 4)
