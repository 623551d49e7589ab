"""Template answers: one line per figure, series told apart by the labels that differ."""

from opsloop.agent.grounding.compose import compose


def call(data, args=None, name="query_metrics"):
    return {
        "name": name,
        "status": "ok",
        "args": args or {"range": "15m"},
        "data": data,
        "evidence": ["E1"],
        "summary": "",
    }


def test_series_are_named_by_the_labels_that_differ():
    data = {
        "unit": "",
        "title": "model_online_auc",
        "series": [
            {
                "labels": {"job": "fraud-api", "model": "fraud-detector", "version": "3"},
                "last": 0.96,
                "mean": 0.96,
                "min": 0.95,
                "max": 0.98,
                "change": 0.0,
            },
            {
                "labels": {"job": "fraud-api", "model": "fraud-detector", "version": "4"},
                "last": 0.41,
                "mean": 0.5,
                "min": 0.41,
                "max": 0.6,
                "change": None,
            },
        ],
    }
    text = compose([call(data)], [])
    assert '- {version="3"}: last 0.96' in text and '- {version="4"}: last 0.41' in text
    assert "job=" not in text and "[E1]" in text


def test_a_lone_instant_series_keeps_its_labels():
    data = {
        "unit": "",
        "title": "model_serving_info",
        "time": "now",
        "series": [{"labels": {"__name__": "model_serving_info", "version": "4"}, "value": 1.0}],
    }
    assert compose([call(data)], []) == 'model_serving_info {version="4"}: 1 [E1].'


def test_errors_and_notes_are_said_plainly():
    failed = {
        "name": "query_metrics",
        "status": "error",
        "args": {},
        "data": None,
        "evidence": [],
        "summary": "",
        "error": "cannot reach Prometheus at http://x",
    }
    text = compose([failed], ["I don't know a service called 'x'."])
    assert text.startswith("I could not run query_metrics: cannot reach Prometheus")
    assert text.endswith("I don't know a service called 'x'.")
    assert compose([], []) == "I found nothing to report for that question."
