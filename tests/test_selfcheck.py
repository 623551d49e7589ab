"""The self-check traces every figure, name and citation to evidence."""

from opsloop.agent.grounding.selfcheck import check_answer, figures

EVIDENCE = [
    {
        "id": "E1",
        "tool": "query_metrics",
        "query": "histogram_quantile(0.99, ...)",
        "summary": "checkout p99 latency: last 412 ms, mean 380 ms, max 521 ms; "
        "vs previous 1h: +12.3 %",
        "values": {"last": 0.41237, "mean": 0.38012, "max": 0.52049, "change_pct": 12.34},
    }
]
KNOWN = ["checkout", "fraud-api", "fraud-detector"]


def check(answer: str, **kw):
    return check_answer(answer, EVIDENCE, known_names=KNOWN, **kw)


def test_figures_skip_identifiers_dates_times_and_ids():
    text = "p99 of v7 at 2026-11-22 14:05 and 5xx [E1] was 412 ms, up 12 %"
    assert [(f.value, f.unit) for f in figures(text)] == [(412.0, "ms"), (12.0, "%")]


def test_grounded_answer_with_unit_conversion_and_rounding():
    result = check("checkout p99 is 412 ms (mean 0.38 s, peak ~520 ms), +12.3 % [E1].")
    assert result.grounded, result.problems()
    assert result.numbers == 4 and result.groundedness == 1.0
    assert result.citation_coverage == 1.0


def test_coarser_rounding_is_accepted_but_other_numbers_are_not():
    assert check("p99 is about 400 ms [E1].").grounded
    result = check("p99 is 950 ms [E1].")
    assert not result.grounded and result.unverified == ["950 ms"]
    assert result.groundedness == 0.0


def test_invented_service_and_unknown_citation_fail():
    result = check("payments-api is fine at 412 ms [E7].")
    assert result.unknown_entities == ["payments-api"]
    assert result.invalid_citations == ["E7"]
    assert not result.grounded


def test_known_names_and_window_lengths_pass():
    result = check("fraud-api and fraud-detector look fine over the last 30m.")
    assert result.grounded and result.numbers == 0


def test_numbers_from_the_question_are_allowed():
    assert check("Yes, 250 ms is above the p99 [E1].", user_texts=["is 250 ms too slow?"]).grounded


def test_uncited_figures_lower_citation_coverage():
    result = check("p99 is 412 ms [E1]. The mean is 380 ms.")
    assert result.grounded and result.citation_coverage == 0.5
