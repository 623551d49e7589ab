"""Settings: env and opsloop.toml sources, sandbox defaults, masked secrets."""

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from opsloop.agent.config import MASK, Settings, mask_url
from opsloop.agent.sandbox_state import sandbox_state_file


def test_environment_overrides_defaults(monkeypatch):
    monkeypatch.setenv("OPSLOOP_PROMETHEUS_URL", "http://prom:9090")
    monkeypatch.setenv("OPSLOOP_PROMETHEUS_HEADERS", '{"X-Scope-OrgID": "team-a"}')
    monkeypatch.setenv("OPSLOOP_LLM_BASE_URL", "http://vllm:8000/v1")
    s = Settings()
    assert s.prometheus_url == "http://prom:9090"
    assert s.prometheus_headers == {"X-Scope-OrgID": "team-a"}
    assert s.llm_enabled


def test_no_llm_unless_base_url_or_key_is_set():
    assert not Settings().llm_enabled
    assert Settings(llm_api_key="sk-x").llm_enabled


def test_toml_sections_flatten_and_env_wins(tmp_path: Path, monkeypatch):
    (tmp_path / "opsloop.toml").write_text(
        '[prometheus]\nurl = "http://from-file:9090"\ntimeout = 3\n'
        '[prometheus.headers]\nX-Scope-OrgID = "tenant"\n'
        '[llm]\nmodel = "llama3"\nmax_tokens = 256\n'
    )
    s = Settings()
    assert s.prometheus_url == "http://from-file:9090" and s.prometheus_timeout == 3
    assert s.prometheus_headers == {"X-Scope-OrgID": "tenant"}
    assert s.llm_model == "llama3" and s.llm_max_tokens == 256
    monkeypatch.setenv("OPSLOOP_LLM_MODEL", "qwen")
    assert Settings().llm_model == "qwen"


def _state(path: Path, pid: int, directory: Path) -> None:
    state = {
        "directory": str(directory),
        "processes": {"prometheus": {"pid": pid}},
        "settings": {
            "prometheus_url": "http://127.0.0.1:41234",
            "policy": {"roles": {"admin": {"actions": ["*"]}}, "users": {"me": ["admin"]}},
        },
    }
    path.write_text(json.dumps(state))


@pytest.fixture
def live_sandbox(opsloop_home: Path, tmp_path: Path):
    """Write a sandbox state whose recorded process runs (and names the sandbox directory)."""
    path = sandbox_state_file(opsloop_home)
    path.parent.mkdir(parents=True)
    root = tmp_path / "sandbox-root"
    root.mkdir()
    # A process whose command line names the sandbox directory, as the sandbox's own do.
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", str(root)])
    try:
        cmdline = Path(f"/proc/{proc.pid}/cmdline")
        deadline = time.monotonic() + 20
        while str(root) not in cmdline.read_bytes().decode(errors="replace"):  # exec done
            assert time.monotonic() < deadline, "the stand-in process did not start"
            time.sleep(0.05)
        _state(path, proc.pid, root)
        yield path
    finally:
        proc.kill()
        proc.wait()


def test_running_sandbox_provides_defaults(live_sandbox: Path):
    s = Settings()
    assert s.prometheus_url == "http://127.0.0.1:41234" and s.policy


@pytest.mark.parametrize(
    "how", ["env", "toml", "argument"], ids=["env", "opsloop.toml", "argument"]
)
def test_a_command_on_another_world_gets_none_of_the_sandbox(
    live_sandbox: Path, opsloop_home: Path, monkeypatch, how: str
):
    # The user points Prometheus at production while a sandbox runs: its policy (which lets
    # whoever started it approve everything) must not come along.
    prod = "http://prometheus.prod:9090"
    if how == "env":
        monkeypatch.setenv("OPSLOOP_PROMETHEUS_URL", prod)
        s = Settings()
    elif how == "toml":
        config = opsloop_home / "opsloop.toml"
        config.write_text(f'[prometheus]\nurl = "{prod}"\n')
        monkeypatch.setenv("OPSLOOP_CONFIG", str(config))
        s = Settings()
    else:
        s = Settings(prometheus_url=prod)
    assert s.prometheus_url == prod and not s.policy


def test_naming_the_sandbox_itself_keeps_its_settings(live_sandbox: Path, monkeypatch):
    monkeypatch.setenv("OPSLOOP_PROMETHEUS_URL", "http://127.0.0.1:41234")
    assert Settings().policy


def test_a_stale_sandbox_state_is_reported_once_and_ignored(opsloop_home: Path, caplog):
    path = sandbox_state_file(opsloop_home)
    path.parent.mkdir(parents=True)
    _state(path, os.getpid(), opsloop_home / "gone")  # a live PID that is not the sandbox's
    with caplog.at_level(logging.WARNING, logger="opsloop.agent.config"):
        first, second = Settings(), Settings()
    for s in (first, second):
        assert s.prometheus_url != "http://127.0.0.1:41234" and not s.policy
    warned = [r for r in caplog.records if "is not running" in r.getMessage()]
    assert len(warned) == 1 and str(path) in warned[0].getMessage()


def test_masked_hides_every_secret():
    s = Settings(
        llm_api_key="sk-live-123456",
        prometheus_password="hunter2",
        prometheus_headers={"Authorization": "Bearer abc"},
        mlflow_tracking_uri="postgresql://ml:pa55word@db:5432/mlflow",
        slack_bot_token="xoxb-1-2-3",
    )
    text = json.dumps(s.masked(), default=str)
    for secret in ("sk-live-123456", "hunter2", "Bearer abc", "pa55word", "xoxb-1-2-3"):
        assert secret not in text
    assert s.masked()["llm_api_key"] == MASK


def test_mask_url_keeps_host_and_user():
    assert mask_url("https://u:p@h:1/x") == f"https://u:{MASK}@h:1/x"
    assert mask_url("http://h/x") == "http://h/x"


def test_invalid_values_raise():
    with pytest.raises(ValueError):
        Settings(prometheus_timeout=-1)
