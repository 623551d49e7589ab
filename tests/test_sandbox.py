"""The sandbox end to end: real Prometheus, Alertmanager, MLflow registry and simulator."""

from __future__ import annotations

import time
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import httpx
import pytest

from opsloop.sandbox.manager import SandboxError, down, status, up
from tests.webhook import firing, resolved, webhook_receiver

pytestmark = pytest.mark.integration
ALERT_DEADLINE_S = 150.0

REQUESTS = "http_server_request_duration_seconds_count"  # OpenTelemetry, as exported


@pytest.fixture(scope="module")
def bad_release(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict, object]]:
    """One sandbox running bad-model-release, with a webhook receiver."""
    home = tmp_path_factory.mktemp("sandbox-home")
    with webhook_receiver() as (url, received):
        state = up(home, "bad-model-release", webhook=url)
        try:
            yield home, state, received
        finally:
            down(home)


def prom(state: dict, query: str) -> list[dict]:
    url = state["urls"]["prometheus"]
    return httpx.get(f"{url}/api/v1/query", params={"query": query}, timeout=10).json()["data"][
        "result"
    ]


def test_prometheus_holds_300_series_and_6h_of_history(bad_release):
    _, state, _ = bad_release
    assert state["series"] >= 300
    [count] = prom(state, 'count({__name__=~".+", job!="sandbox"} or {__name__=~"http_.+"})')
    assert float(count["value"][1]) >= 300
    six_hours_ago = time.time() - 6 * 3600 + 60
    at = httpx.get(
        f"{state['urls']['prometheus']}/api/v1/query",
        params={
            "query": f'sum(rate({REQUESTS}{{service_name="checkout"}}[5m]))',
            "time": six_hours_ago,
        },
    ).json()["data"]["result"]
    assert at and float(at[0]["value"][1]) > 0


def test_live_scrape_continues_the_history(bad_release):
    _, state, _ = bad_release
    query = f'sum(rate({REQUESTS}{{service_name="gateway"}}[30s]))'
    # Live series fill the 30 s window over the first 30 s of scraping, and the rate climbs
    # as they do: poll until it settles in range (a counter reset would overshoot instead).
    deadline = time.monotonic() + 75
    while True:
        found = prom(state, query)
        settled = found and float(found[0]["value"][1]) > 40
        if settled or time.monotonic() > deadline:
            break
        time.sleep(1)
    [sample] = found
    assert 40 < float(sample["value"][1]) < 400  # gateway's daily range, not a reset spike
    assert prom(state, 'up{job="sandbox"} == 1')


def test_the_first_live_sample_carries_the_gap_since_history(bad_release):
    _, state, _ = bad_release
    # Raw samples across the seam between backfilled history and live scraping: the requests
    # of the gap (the time `up` took) belong to the first live sample, spread over the gap.
    # Scraped a second later instead, they read as a surge and fire TrafficSurge at go-live.
    query = REQUESTS + '{{service_name="gateway",http_response_status_code="200"}}[{:.0f}s]'
    deadline = time.monotonic() + 60
    while True:
        series = prom(state, query.format(time.time() - state["started"] + 120))
        live = [float(t) for one in series for t, _ in one["values"] if float(t) > state["started"]]
        if (live and max(live) - min(live) >= 20) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert live and max(live) - min(live) >= 20, "under 20 s of live samples after a minute"
    for one in series:
        points = [(float(t), float(v)) for t, v in one["values"]]
        per_s = sorted((v1 - v0) / (t1 - t0) for (t0, v0), (t1, v1) in pairwise(points))
        typical = per_s[len(per_s) // 2]
        assert per_s[-1] < 4 * typical, (typical, per_s[-3:])


def test_bad_release_alert_reaches_the_webhook_and_rollback_resolves_it(bad_release):
    _home, state, received = bad_release
    note = received.wait_for(firing("ModelQualityDrop", model="fraud-detector"), ALERT_DEADLINE_S)
    alert = next(a for a in note["alerts"] if a["labels"]["alertname"] == "ModelQualityDrop")
    assert {"summary", "description", "runbook_url"} <= set(alert["annotations"])
    assert note["receiver"] == "opsloop" and note["groupKey"]
    [serving] = prom(state, 'model_serving_info{model="fraud-detector"}')
    assert serving["metric"]["version"] == "4"

    from opsloop.sandbox.ml.registry import move_alias
    from opsloop.tools.backends.changelog import ChangeLog

    changelog = ChangeLog(Path(state["directory"]) / "changes.sqlite")
    previous = move_alias(
        state["mlflow"]["tracking_uri"],
        changelog,
        "fraud-detector",
        "champion",
        "3",
        who="oncall",
        reason="rollback",
    )
    assert previous == "4"
    received.wait_for(resolved("ModelQualityDrop", model="fraud-detector"), 90.0)
    moves = [e for e in changelog.events(target="fraud-detector") if e.kind == "alias_move"]
    assert [(e.who, e.detail["to"]) for e in moves[-2:]] == [("ci-bot", "4"), ("oncall", "3")]


def test_logs_are_json_lines_with_the_scenario_visible(bad_release):
    import json

    _, state, _ = bad_release
    lines = (Path(state["logs_dir"]) / "fraud-api.log").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert {"timestamp", "level", "service", "pod", "msg", "trace_id"} <= set(records[0])
    assert any("loaded model fraud-detector version 4" in r["msg"] for r in records)


def test_status_hides_ground_truth_unless_revealed(bad_release):
    home, _state, _ = bad_release
    shown = status(home)
    assert shown["running"] and "ground_truth" not in shown
    assert set(shown["processes"]) == {"simulator", "prometheus", "alertmanager"}
    assert all(p["alive"] for p in shown["processes"].values())
    truth = status(home, reveal=True)["ground_truth"]
    assert truth["kind"] == "model_version" and truth["remediation"]["action"] == "rollback_model"


def test_second_up_while_running_is_refused(bad_release):
    home, _, _ = bad_release
    with pytest.raises(SandboxError, match="already running"):
        up(home, "healthy")


def test_settings_point_at_the_running_sandbox(bad_release, monkeypatch):
    from opsloop.agent.config import Settings

    home, state, _ = bad_release
    monkeypatch.setenv("OPSLOOP_HOME", str(home))
    settings = Settings()
    assert settings.prometheus_url == state["urls"]["prometheus"]
    assert settings.mlflow_tracking_uri == state["mlflow"]["tracking_uri"]
    assert settings.topology["checkout"] == ["fraud-api"]


def test_a_spec_written_from_the_docs_produces_its_incident(tmp_path):
    spec = tmp_path / "broken-recommender.yaml"
    spec.write_text(
        "name: broken-recommender\n"
        "description: A bad flag makes recommender fail 40% of requests.\n"
        "fault:\n  type: config-error\n  target: recommender\n  onset: 2s\n  ramp: 0s\n"
        "  magnitude: 0.4\n"
        "ground_truth:\n  kind: service\n  target: recommender\n  alerts: [HighErrorRatio]\n"
        "  remediation:\n    action: escalate\n    args: {team: ml-platform}\n"
    )
    home = tmp_path / "home"
    with webhook_receiver() as (url, received):
        state = up(home, str(spec), webhook=url, seed=11)
        try:
            assert state["scenario"] == "broken-recommender" and state["seed"] == 11
            received.wait_for(
                firing("HighErrorRatio", service_name="recommender"), ALERT_DEADLINE_S
            )
        finally:
            stopped = down(home)
    assert set(stopped) == {"simulator", "prometheus", "alertmanager"}
    assert status(home) == {"running": False}
