"""Grounding eval: does the self-check catch distorted answers and pass correct ones?

`evidence.json` holds real tool results captured from the sandbox (`capture.py`): each
turn's question, tool calls and evidence records. `corpus.yaml` holds answers written
against them the way models write (prose, bullets, tables, rounding, units), correct ones
and ones with exactly one distortion of a named kind; a helper wrote them without reading
the checker. The suite runs the self-check on each answer and reports the catch rate per
distortion kind and the rate of correct answers flagged. It is offline and takes seconds.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable
from importlib import resources
from typing import Any

import yaml

from opsloop.agent.grounding.selfcheck import check_answer


def load() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Return the captured turns (by id, plus known names) and the corpus cases."""
    root = resources.files(__package__)
    evidence = json.loads(root.joinpath("evidence.json").read_text())
    corpus = yaml.safe_load(root.joinpath("corpus.yaml").read_text())
    return evidence, corpus["cases"]


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
    """Check every corpus answer; return catch and false-flag rates, overall and per kind."""
    evidence, cases = load()
    results = [check_case(c, evidence) for c in cases]
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        by_kind[r["kind"]].append(r)
    correct = by_kind.pop("correct", [])
    distorted = [r for group in by_kind.values() for r in group]
    metrics: dict[str, float] = {
        "cases": float(len(results)),
        "correct_answers": float(len(correct)),
        "distorted_answers": float(len(distorted)),
        "catch_rate": _rate(distorted, caught=True),
        "false_flag_rate": _rate(correct, caught=True),
        "claims_checked": float(sum(r["claims"] for r in results)),
    }
    for kind, group in sorted(by_kind.items()):
        metrics[f"catch_rate_{kind}"] = _rate(group, caught=True)
    progress(
        f"grounding: caught {metrics['catch_rate']:.1%} of {len(distorted)} distortions, "
        f"flagged {metrics['false_flag_rate']:.1%} of {len(correct)} correct answers"
    )
    misses = [r for r in distorted if r["grounded"]]
    false_flags = [r for r in correct if not r["grounded"]]
    return {
        "suite": "grounding",
        "metrics": metrics,
        "kinds": dict(Counter(r["kind"] for r in results)),
        "cases": [{**r, "ok": False} for r in misses + false_flags],
    }


def _rate(group: list[dict[str, Any]], caught: bool) -> float:
    if not group:
        return 0.0
    return round(sum((not r["grounded"]) == caught for r in group) / len(group), 4)
