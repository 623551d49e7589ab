"""The eval suites `opsloop eval` runs, each reduced to named metrics and per-case results.

routing, memory and grounding are offline and take seconds; answers and rca start the sandbox
(minutes; rca about two minutes a case). `all` means every suite.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from importlib import resources
from typing import Any

import yaml

Progress = Callable[[str], None]
SUITES = ("routing", "memory", "grounding", "answers", "rca")
DETERMINISTIC = (
    "routing",
    "memory",
    "grounding",
    "answers",
)  # the CI gate (rca runs on its own: ~90 min)
# Metrics where smaller is better (the rest: bigger is better).
LOWER_IS_BETTER = ("latency", "tokens", "cost", "wrong", "error_rate", "false_flag", "_ms", "_s")


def lower_is_better(metric: str) -> bool:
    """Return True for metrics that improve as they fall (latency, cost, wrong fixes)."""
    return any(part in metric for part in LOWER_IS_BETTER) and "pass" not in metric


def run_routing(progress: Progress, **_: Any) -> dict[str, Any]:
    from opsloop.evals.routing import DATASETS, run

    metrics: dict[str, float] = {}
    cases: list[dict[str, Any]] = []
    for dataset in DATASETS:
        report = run(dataset)
        metrics[f"accuracy_{dataset}"] = round(report["accuracy"], 4)
        metrics[f"planner_median_ms_{dataset}"] = report["planner_latency_ms"]["median"]
        cases += [{"dataset": dataset, **f, "ok": False} for f in report["failures"]]
        progress(f"routing {dataset}: {report['correct']}/{report['cases']}")
    return {"metrics": metrics, "cases": cases}


def run_memory(progress: Progress, **_: Any) -> dict[str, Any]:
    """Score every installed embedding; hashing's metrics keep their names (the CI gate's)."""
    from opsloop.evals.memory import BLIND_PARAPHRASES, embeddings, run, run_paraphrases

    metrics: dict[str, float] = {}
    cases: list[dict[str, Any]] = []
    for embedding in embeddings():
        prefix = "" if embedding == "hashing" else f"{embedding}_"
        report = run(embedding=embedding)
        para = run_paraphrases(embedding=embedding)
        blind = run_paraphrases(path=BLIND_PARAPHRASES, embedding=embedding)
        values = {
            k: float(v)
            for k, v in report.items()
            if k.startswith(("recall_at", "mrr", "match_", "add_per", "cold_", "query_p50"))
        }
        values["no_match_clean"] = float(bool(report.get("no_match_clean")))
        values["no_match_max_score"] = float(report["no_match_max_score"])
        values |= {f"paraphrase_{k}": float(v) for k, v in para.items() if "recall" in k}
        values |= {f"blind_paraphrase_{k}": float(v) for k, v in blind.items() if "recall" in k}
        metrics |= {prefix + k: v for k, v in values.items()}
        cases += [{"embedding": embedding, "set": "incidents", **m} for m in report["misses"]]
        cases += [{"embedding": embedding, "set": "paraphrases", **m} for m in para["misses"]]
        cases += [{"embedding": embedding, "set": "blind", **m} for m in blind["misses"]]
        progress(
            f"memory ({embedding}): recall@1/@3 {values['recall_at_1']}/{values['recall_at_3']}, "
            f"paraphrases {values['paraphrase_recall_at_1']}/{values['paraphrase_recall_at_3']}, "
            f"blind {values['blind_paraphrase_recall_at_1']}/"
            f"{values['blind_paraphrase_recall_at_3']}"
        )
    return {"metrics": metrics, "cases": cases}


def run_grounding(progress: Progress, **_: Any) -> dict[str, Any]:
    from opsloop.evals.grounding import run

    report = run(progress=progress)
    return {"metrics": report["metrics"], "cases": report["cases"]}


def run_answers(progress: Progress, judge: Any = None, **_: Any) -> dict[str, Any]:
    from opsloop.evals.answers import run

    report = run(progress=progress, judge=judge)
    return {"metrics": report["metrics"], "cases": report["cases"]}


def run_rca(progress: Progress, seeds: int = 5, **_: Any) -> dict[str, Any]:
    from opsloop.evals.rca import run

    report = run(seeds=tuple(range(1, seeds + 1)), progress=progress)
    metrics = {f"{k}": float(v) for k, v in report["overall"].items()}
    metrics |= {f"latency_{k}_s": float(v) for k, v in report["latency_s"].items() if v}
    return {"metrics": metrics, "cases": report["cases"]}


RUNNERS: dict[str, Callable[..., dict[str, Any]]] = {
    "routing": run_routing,
    "memory": run_memory,
    "grounding": run_grounding,
    "answers": run_answers,
    "rca": run_rca,
}


def expand(suite: str) -> tuple[str, ...]:
    """Return the suites a `--suite` value names."""
    if suite == "all":
        return SUITES
    if suite == "ci":
        return DETERMINISTIC
    if suite not in RUNNERS:
        raise ValueError(f"unknown suite {suite!r}; choose from {', '.join((*SUITES, 'all'))}")
    return (suite,)


def repeat(suite: str, times: int, progress: Progress, **options: Any) -> dict[str, Any]:
    """Run a suite `times` times; report the mean and spread of each metric."""
    runs = [RUNNERS[suite](progress, **options) for _ in range(times)]
    names = dict.fromkeys(k for r in runs for k in r["metrics"])
    metrics = {k: round(statistics.fmean(r["metrics"].get(k, 0.0) for r in runs), 4) for k in names}
    spread = {
        k: round(max(vals) - min(vals), 4)
        for k in names
        if len(vals := [r["metrics"].get(k, 0.0) for r in runs]) > 1
    }
    return {"suite": suite, "repeat": times, "metrics": metrics, "spread": spread,
            "cases": runs[-1]["cases"]}  # fmt: skip


def thresholds() -> dict[str, dict[str, float]]:
    """Read `evals/thresholds.yaml`: suite → metric → bound (`min` or `max`)."""
    text = resources.files(__package__).joinpath("thresholds.yaml").read_text()
    return yaml.safe_load(text) or {}


def gate(suite: str, metrics: dict[str, float]) -> list[str]:
    """Return the thresholds a suite's metrics miss (empty = pass)."""
    failures = []
    for metric, bound in (thresholds().get(suite) or {}).items():
        value = metrics.get(metric)
        if value is None:
            failures.append(f"{suite}.{metric} was not measured")
        elif "min" in bound and value < float(bound["min"]):
            failures.append(f"{suite}.{metric} = {value:g} < {bound['min']:g}")
        elif "max" in bound and value > float(bound["max"]):
            failures.append(f"{suite}.{metric} = {value:g} > {bound['max']:g}")
    return failures
