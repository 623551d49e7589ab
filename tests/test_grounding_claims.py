"""Claims as models write them: each figure bound to its subject, statistic and baseline."""

from opsloop.agent.grounding.claims import Names, read
from opsloop.agent.grounding.selfcheck import check_answer

NAMES = Names(["checkout", "gateway", "feature-store", "fraud-detector"])
CPU = {
    "id": "E1",
    "tool": "query_metrics",
    "query": 'sum by (pod) (rate(container_cpu_usage_seconds_total{container="fs"}[5m]))',
    "summary": 'feature-store CPU usage: {pod="feature-store-a1b2c-x1"}: last 0.0547 cores, '
    "mean 0.0534 cores, min 0.0506 cores, max 0.0554 cores; vs previous 1h: +5.05 %",
    "facts": [
        {"subjects": ["feature-store", "feature-store-a1b2c-x1"], "unit": "cores", "stat": s,
         "value": v, "window_s": 3600.0, "title": "feature-store CPU usage"}
        for s, v in (("last", 0.05467), ("mean", 0.05344), ("min", 0.05064), ("max", 0.05538))
    ]
    + [
        {"subjects": ["feature-store", "feature-store-a1b2c-x1"], "unit": "percent",
         "change": 1, "value": 5.049, "window_s": 3600.0, "baseline": "previous:3600",
         "title": "feature-store CPU usage"}
    ],
}  # fmt: skip
DETECT = {
    "id": "E1",
    "tool": "detect_anomalies",
    "query": "gateway request rate",
    "summary": "gateway request rate : steady, now 99/s, baseline 88.1/s "
    "(z -0.5 vs yesterday, score 0.06)",
    "values": {"current": 99.02, "baseline": 88.08, "change_pct": 12.42, "z": -0.46},
}
CALL = {
    "name": "detect_anomalies",
    "args": {"range": "30m", "service": "gateway"},
    "evidence": ["E1"],
    "summary": "0 of 1 series left their baseline in the last 30m (baseline: the 2h before):\n"
    "1. " + DETECT["summary"],
}


def check(answer: str, evidence: dict, calls: list | None = None):
    return check_answer(
        answer, [evidence], known_names=["gateway", "feature-store"], calls=calls or []
    )


def test_range_ends_take_the_unit_and_are_minimum_and_maximum():
    claims = read("The p50 ranged 62–63.9 ms over the hour.", NAMES)
    assert [(c.figure.text, c.figure.unit, c.stat) for c in claims] == [
        ("62", "ms", "min"),
        ("63.9 ms", "ms", "max"),
    ]


def test_wrapped_lines_are_one_sentence_and_durations_are_windows():
    text = "Gateway averaged 97.5/s over the last 30 minutes, 3.7 % higher\nthan the previous 30m."
    claims = read(text, NAMES)
    assert [c.figure.text for c in claims] == ["97.5/s", "3.7 %"]
    assert claims[1].change == 1 and claims[1].baseline == "previous:1800"


def test_table_headers_give_units_and_statistics():
    table = (
        "| pod | now (millicores) | peak |\n|---|---|---|\n| feature-store-a1b2c-x1 | 54.7 | 55.4 |"
    )
    assert check(table, CPU).grounded
    swapped = (
        "| pod | now (millicores) | peak |\n|---|---|---|\n| feature-store-a1b2c-x1 | 55.4 | 54.7 |"
    )
    result = check(swapped, CPU)
    assert not result.grounded and len(result.contradicted) == 2


def test_a_unit_named_once_per_clause_and_slashed_statistics():
    assert check("feature-store: mean 0.0534 cores, last 0.0547, min / max: 0.0506 / 0.0554", CPU)
    result = check("min / max: 0.0554 / 0.0506 cores", CPU)
    assert not result.grounded


def test_direction_and_baseline_of_a_change_are_checked():
    assert check("feature-store CPU rose 5.05 % vs the previous hour [E1].", CPU).grounded
    assert not check("feature-store CPU fell 5.05 % vs the previous hour [E1].", CPU).grounded
    assert not check("feature-store CPU rose 5.05 % vs yesterday [E1].", CPU).grounded


def test_a_change_implied_by_a_tools_value_and_baseline_keeps_that_baseline():
    calls = [CALL]
    assert check("Gateway is about 12 % above its 2h-before baseline [E1].", DETECT, calls).grounded
    result = check("Gateway is up 12 % on yesterday [E1].", DETECT, calls)
    assert not result.grounded


def test_counts_are_exact_and_ids_are_not_names():
    evidence = {
        "id": "E1",
        "tool": "search_incidents",
        "query": "errors in checkout",
        "summary": "Q-7e7c47b1e2f8 on 2026-12-04 — errors in checkout logs (similarity 0.30)",
        "values": {"similarity": 0.3006},
    }
    assert check("One match, Q-7e7c47b1e2f8 (similarity ~0.3) [E1].", evidence).grounded
    assert not check("One match, Q-7e7c47b1e2f8 (similarity 0.80) [E1].", evidence).grounded


def test_versions_on_either_side_of_an_arrow():
    evidence = {
        "id": "E1",
        "tool": "compare_model_versions",
        "query": "mlflow: fraud-detector v3 vs v4",
        "summary": "fraud-detector v3 → v4 (b − a):\n- auc: 0.9692 → 0.9658 (-0.003428)",
    }
    assert check("AUC went from 0.9692 on v3 to 0.9658 on v4 [E1].", evidence).grounded
    assert not check("v3 had the lower AUC (0.9658) [E1].", evidence).grounded
    assert check("AUC is down ~0.0034 [E1].", evidence).grounded
    assert not check("AUC is up ~0.0034 [E1].", evidence).grounded


def test_a_score_and_a_confidence_in_one_sentence_are_two_quantities():
    evidence = {
        "id": "E8",
        "tool": "rca",
        "query": "rank root-cause hypotheses over this investigation's evidence",
        "summary": "confidence 0.71; ranked hypotheses, by score: model_version fraud-detector "
        "0.77; dependency feature-store 0.11",
    }
    known = ["fraud-detector", "feature-store"]
    line = "**Most likely cause: fraud-detector: a bad model version** (score {}, confidence {})"
    line += " [E8]"

    def run(score: str, confidence: str):
        return check_answer(line.format(score, confidence), [evidence], known_names=known)

    assert run("0.77", "0.71").grounded, run("0.77", "0.71").problems()
    assert not run("0.71", "0.71").grounded  # the score is not the confidence
    assert not run("0.77", "0.77").grounded  # nor the confidence the score
