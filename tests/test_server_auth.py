"""Reads need their own credential: /incidents* (and /metrics when asked) with the read token,
never the webhook's; /healthz stays open; serve refuses open reads beyond loopback (issue 22)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from opsloop.agent.cli.main import app as cli
from opsloop.agent.config import Settings

from .test_server import FIRING, Harness

READ = {"Authorization": "Bearer r3ad"}
WRITE = {"Authorization": "Bearer t0ken"}


def harness(tmp_path: Path, **settings: object) -> Iterator[Harness]:
    h = Harness(
        tmp_path,
        Settings(
            home=tmp_path / "home",
            webhook_token=SecretStr("t0ken"),
            read_token=SecretStr("r3ad"),
            **settings,
        ),
    )
    yield h
    assert h.pool.stop(5)
    h.store.close()


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[Harness]:
    yield from harness(tmp_path)


@pytest.fixture
def locked_metrics(tmp_path: Path) -> Iterator[Harness]:
    yield from harness(tmp_path, metrics_auth=True)


def test_every_data_endpoint_refuses_missing_wrong_and_webhook_credentials(locked):
    incident = locked.post(FIRING, headers=WRITE).json()["incident"]
    for path in ("/incidents", f"/incidents/{incident}", "/incidents/nope"):
        for headers in ({}, {"Authorization": "Bearer wrong"}, WRITE, {"Authorization": "r3ad"}):
            response = locked.client.get(path, headers=headers)
            assert response.status_code == 401, (path, headers)
            assert "OPSLOOP_READ_TOKEN" in response.json()["error"]
            assert response.headers["WWW-Authenticate"] == 'Bearer realm="opsloop"'
            assert incident not in response.text  # nothing of the data leaks in the refusal
    assert locked.client.get("/incidents", headers=READ).json()[0]["id"] == incident
    assert locked.client.get(f"/incidents/{incident}", headers=READ).json()["id"] == incident
    assert locked.client.get("/incidents/nope", headers=READ).status_code == 404


def test_the_read_token_cannot_post_alerts(locked):
    assert locked.post(FIRING, headers=READ).status_code == 401
    assert locked.store.list_incidents() == []


def test_health_is_open_and_metrics_only_when_asked(locked, locked_metrics):
    assert locked.client.get("/healthz").status_code == 200
    assert locked.client.get("/metrics").status_code == 200
    assert locked_metrics.client.get("/healthz").status_code == 200
    for headers in ({}, {"Authorization": "Bearer wrong"}, WRITE):
        assert locked_metrics.client.get("/metrics", headers=headers).status_code == 401
    assert "opsloop_notifications" in locked_metrics.client.get("/metrics", headers=READ).text


def test_without_a_read_token_reads_stay_open_on_loopback(tmp_path):
    h = Harness(tmp_path)
    try:
        assert h.post(FIRING).status_code == 200
        assert len(h.client.get("/incidents").json()) == 1
    finally:
        assert h.pool.stop(5)
        h.store.close()


def test_serve_refuses_open_reads_beyond_loopback(opsloop_home, monkeypatch):
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--port", "0"])
    assert result.exit_code != 0
    assert "OPSLOOP_READ_TOKEN" in result.output and "--open-reads" in result.output
