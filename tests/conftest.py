"""Shared fixtures: an isolated OPSLOOP_HOME and a real Prometheus over backfilled history."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opsloop.agent.config import Settings

# History runs past "now" so instant queries keep finding samples for the whole session.
HISTORY_HOURS = 3.0
HISTORY_LEAD_S = 3600.0


@pytest.fixture(autouse=True)
def opsloop_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Give every test its own data directory and a clean OPSLOOP_* environment."""
    for key in list(os.environ):
        if key.startswith("OPSLOOP_"):
            monkeypatch.delenv(key)
    home = tmp_path / "home"
    monkeypatch.setenv("OPSLOOP_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    return home


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start a real Prometheus over promtool-backfilled history; yield its URL."""
    from opsloop.sandbox.history import start_prometheus_with_history

    workdir = tmp_path_factory.mktemp("prometheus")
    proc, url = start_prometheus_with_history(
        workdir, hours=HISTORY_HOURS, end=time.time() + HISTORY_LEAD_S, seed=7
    )
    try:
        yield url
    finally:
        proc.stop()


@pytest.fixture
def settings(prometheus: str, opsloop_home: Path) -> Settings:
    """Settings pointing at the test Prometheus."""
    return Settings(prometheus_url=prometheus, home=opsloop_home)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that starts a real backend as `integration`."""
    for item in items:
        if "prometheus" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    """Start a real PostgreSQL for the session (see bench/engines.py)."""
    from bench.engines import postgres_server

    with postgres_server() as server:
        yield server


@pytest.fixture
def pg_url(pg_server: Any) -> str:
    """Return the URL of a fresh, empty PostgreSQL database."""
    return pg_server.database()
