"""list_alerts and list_silences on a real Alertmanager: what's firing, what's silenced."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from opsloop.agent.assistant import Assistant
from opsloop.sandbox.configs import write_yaml
from opsloop.sandbox.procs import Managed, find_binary, free_port


def _alert(name: str, service: str, severity: str, minutes_ago: int, **notes: str) -> dict:
    now = datetime.now(UTC)
    return {
        "labels": {"alertname": name, "service_name": service, "severity": severity},
        "annotations": notes,
        "startsAt": (now - timedelta(minutes=minutes_ago)).isoformat(),
        "endsAt": (now + timedelta(hours=1)).isoformat(),
        "generatorURL": f"http://prometheus.example/graph?g0.expr={name}",
    }


def alerts() -> list[dict]:
    """Three alerts started 95, 12 and 240 minutes before now."""
    return [
        _alert(
            "HighLatency",
            "checkout",
            "critical",
            95,
            summary="checkout p99 above 500 ms",
            runbook_url="https://runbooks.example/high-latency",
        ),
        _alert("ErrorBudgetBurn", "gateway", "warning", 12, summary="5xx above budget"),
        _alert("DiskFilling", "postgres", "warning", 240, summary="disk 90% full"),
    ]


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start a real Alertmanager holding three alerts, one of them silenced."""
    root = tmp_path_factory.mktemp("am")
    config = write_yaml(
        root / "alertmanager.yml",
        {"route": {"receiver": "null"}, "receivers": [{"name": "null"}]},
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = Managed(
        "alertmanager",
        [
            find_binary("prometheus-alertmanager", "alertmanager"),
            f"--config.file={config}",
            f"--storage.path={root / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        root / "alertmanager.log",
        f"{url}/-/ready",
    ).start()
    try:
        now = datetime.now(UTC)
        httpx.post(f"{url}/api/v2/alerts", json=alerts(), timeout=10).raise_for_status()
        silence = {
            "matchers": [{"name": "alertname", "value": "DiskFilling", "isRegex": False}],
            "startsAt": now.isoformat(),
            "endsAt": (now + timedelta(hours=4)).isoformat(),
            "createdBy": "alice",
            "comment": "resize scheduled for 14:00",
        }
        httpx.post(f"{url}/api/v2/silences", json=silence, timeout=10).raise_for_status()
        _wait_for(url, lambda alerts: len(alerts) == 3 and _suppressed(alerts) == 1)
        yield url
    finally:
        server.stop()


def _suppressed(alerts: list[dict]) -> int:
    return sum(a["status"]["state"] == "suppressed" for a in alerts)


def _wait_for(url: str, done, deadline_s: float = 20.0) -> None:
    """Poll the alerts API until `done(alerts)`: silences apply on the next evaluation."""
    stop = time.monotonic() + deadline_s
    while time.monotonic() < stop:
        if done(httpx.get(f"{url}/api/v2/alerts", timeout=5).json()):
            return
        time.sleep(0.2)
    raise TimeoutError("Alertmanager did not reach the expected state")


@pytest.fixture
def assistant(alertmanager: str, settings) -> Assistant:
    return Assistant.from_settings(settings.model_copy(update={"alertmanager_url": alertmanager}))


def test_whats_firing_lists_unsilenced_alerts_oldest_first(assistant, alertmanager):
    result = assistant.ask("what's firing?")
    assert [c["name"] for c in result["tool_calls"]] == ["list_alerts"]
    answer = result["answer"]
    assert answer.startswith("2 firing alerts, oldest first:")
    assert answer.index("HighLatency") < answer.index("ErrorBudgetBurn")
    assert "DiskFilling" not in answer  # silenced
    # 95 minutes old when posted; the module's tests run within a minute of that.
    assert re.search(r"HighLatency \[critical\], service_name=checkout, for 1h 3[56]m", answer)
    assert "(runbook: https://runbooks.example/high-latency)" in answer
    assert result["evidence"][0]["link"] == f"{alertmanager}/#/alerts"
    assert result["evals"]["grounded"], result["evals"]


def test_alerts_of_one_service_and_the_silenced_ones(assistant):
    checkout = assistant.ask("any alerts for checkout")
    assert checkout["tool_calls"][0]["args"] == {"state": "firing", "service": "checkout"}
    assert "HighLatency" in checkout["answer"] and "ErrorBudgetBurn" not in checkout["answer"]
    silenced = assistant.ask("which alerts are silenced?")
    assert silenced["answer"].startswith("1 suppressed alert, oldest first")
    assert re.search(
        r"DiskFilling \[warning\], service_name=postgres, for 4h( 1m)?, silenced",
        silenced["answer"],
    )


def test_silences_show_matchers_author_and_reason(assistant):
    result = assistant.ask("show me the active silences")
    assert result["tool_calls"][0]["name"] == "list_silences"
    assert '1 active silence:\n- {alertname="DiskFilling"} until' in result["answer"]
    assert "by alice: resize scheduled for 14:00" in result["answer"]


def test_unreachable_alertmanager_is_a_clear_error(settings, tmp_path: Path):
    dead = f"http://127.0.0.1:{free_port()}"
    bot = Assistant.from_settings(settings.model_copy(update={"alertmanager_url": dead}))
    result = bot.ask("what alerts are firing right now")
    assert result["tool_calls"][0]["status"] == "error"
    assert f"Alertmanager at {dead} is unreachable" in result["answer"]
    assert "OPSLOOP_ALERTMANAGER_URL" in result["answer"]


# Silences change what the module's Alertmanager shows: these tests run last, in file order.
POLICY = {
    "roles": {"oncall": {"actions": ["silence_alert", "expire_silence"]}},
    "users": {"alice": ["oncall"]},
    "max_silence_hours": 6,
}


@pytest.fixture
def oncall(alertmanager: str, settings) -> Assistant:
    update = {"alertmanager_url": alertmanager, "policy": POLICY, "user": "bob"}
    return Assistant.from_settings(settings.model_copy(update=update))


def approve(who: str):
    return lambda request: {"approved": True, "by": who, "reason": "test"}


def _silences(url: str) -> list[dict]:
    found = httpx.get(f"{url}/api/v2/silences", timeout=5).json()
    return [s for s in found if s["status"]["state"] == "active"]


def test_a_silence_waits_for_approval_and_its_dry_run_shows_what_it_hides(oncall, alertmanager):
    result = oncall.ask("silence HighLatency on checkout for 2h")
    assert result["tool_calls"][-1]["status"] == "approval_required", result
    preview = result["approval"]["preview"]
    assert preview.startswith(
        'create a silence {alertname="HighLatency", service_name="checkout"} for 2h; '
        "it would silence 1 alert(s) firing now:"
    )
    assert "HighLatency [critical], service_name=checkout" in preview
    assert len(_silences(alertmanager)) == 1  # only the fixture's
    denied = oncall.ask("silence HighLatency on checkout for 2h", approver=approve("mallory"))
    assert denied["tool_calls"][-1]["status"] == "denied"
    assert len(_silences(alertmanager)) == 1


def test_silences_that_hide_too_much_or_too_long_are_refused(oncall, alertmanager):
    for question, words in [
        ("silence HighLatency for 48h", "at most 6h"),
        ("mute all the alerts for 1h", "a silence needs matchers"),
    ]:
        result = oncall.ask(question, approver=approve("alice"))
        assert result["tool_calls"][-1]["status"] == "error", result
        assert words in result["answer"], result["answer"]
    tool = oncall.deps.tools["silence_alert"]
    broad = tool.invoke({"matchers": {"severity": "warning"}})
    assert broad.status == "error" and "alone would silence whole classes" in broad.summary
    assert len(_silences(alertmanager)) == 1
    assert [e["decision"] for e in oncall.deps.audit.entries()[:2]] == ["refused", "refused"]


def test_an_approved_silence_hides_the_alert_and_says_who_and_why(oncall, alertmanager):
    result = oncall.ask("silence HighLatency on checkout for 2h", approver=approve("alice"))
    call = result["tool_calls"][-1]
    assert call["status"] == "ok", result
    [made] = [s for s in _silences(alertmanager) if "HighLatency" in str(s["matchers"])]
    assert made["matchers"] == [
        {"name": "alertname", "value": "HighLatency", "isRegex": False, "isEqual": True},
        {"name": "service_name", "value": "checkout", "isRegex": False, "isEqual": True},
    ]
    assert "requested by bob" in made["comment"] and "approved by alice" in made["comment"]
    assert f"incident {result['thread_id']}" in made["comment"]
    _wait_for(alertmanager, lambda alerts: _suppressed(alerts) == 2)
    entry = oncall.deps.audit.entries()[0]
    assert (entry["action"], entry["decision"], entry["approver"]) == (
        "silence_alert",
        "approved",
        "alice",
    )
    expired = oncall.ask(f"expire silence {made['id']}", approver=approve("alice"))
    assert expired["tool_calls"][-1]["status"] == "ok", expired
    assert expired["tool_calls"][-1]["args"] == {"silence_id": made["id"]}
    _wait_for(alertmanager, lambda alerts: _suppressed(alerts) == 1)
    again = oncall.deps.tools["expire_silence"].invoke({"silence_id": made["id"]})
    assert again.status == "error" and "already expired" in again.summary


def test_matchers_that_select_every_firing_alert_are_refused():
    from opsloop.tools.toolsets.silences import Refused, check_scope

    firing = [{"labels": {"alertname": n, "service": "web"}} for n in ("A", "B", "C")]
    with pytest.raises(Refused, match="every one of the 3 alerts firing now"):
        check_scope([{"name": "service", "value": "web"}], firing)
    assert check_scope([{"name": "alertname", "value": "A"}], firing) == firing[:1]
    with pytest.raises(Refused, match="empty matcher values"):
        check_scope([{"name": "alertname", "value": "A"}, {"name": "team", "value": ""}], firing)
