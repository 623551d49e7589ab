"""The `opsloop` command line: contracts, help, errors without tracebacks, chat."""

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from opsloop.agent.cli.main import app
from opsloop.sandbox.procs import free_port

runner = CliRunner()


def opsloop(*args: str, env: dict | None = None, stdin: str | None = None):
    """Run the real console entry point in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "opsloop", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        input=stdin,
        timeout=120,
    )


def test_ask_json_contract(prometheus, monkeypatch):
    monkeypatch.setenv("OPSLOOP_PROMETHEUS_URL", prometheus)
    result = runner.invoke(
        app, ["ask", "what is the p99 latency of checkout over the last hour?", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= {"answer", "tool_calls", "evidence", "evals", "usage", "thread_id"}
    assert data["tool_calls"][0]["name"] == "query_metrics"
    assert set(data["tool_calls"][0]) == {"name", "args", "status"}
    assert set(data["evidence"][0]) == {"id", "tool", "query", "summary", "link"}
    assert isinstance(data["evals"]["grounded"], bool)
    assert isinstance(data["evals"]["groundedness"], float)
    assert set(data["usage"]) == {"input_tokens", "output_tokens", "latency_s", "cost_usd"}
    assert data["usage"]["cost_usd"] == 0.0  # the deterministic brain


def test_ask_human_output_has_answer_evidence_and_footer(prometheus, monkeypatch):
    monkeypatch.setenv("OPSLOOP_PROMETHEUS_URL", prometheus)
    result = runner.invoke(app, ["ask", "how is checkout doing"])
    assert result.exit_code == 0, result.output
    assert "checkout over the last 1h" in result.stdout
    assert "E1" in result.stdout and "✓ grounded" in result.stdout
    assert f"{prometheus}/graph?" in result.stdout  # links printed in full when piped


def test_unreachable_prometheus_is_one_line_and_exit_2():
    url = f"http://127.0.0.1:{free_port()}"
    proc = opsloop("ask", "p99 of checkout last hour", env={"OPSLOOP_PROMETHEUS_URL": url})
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert url in lines[0] and "OPSLOOP_PROMETHEUS_URL" in lines[0]
    assert "Traceback" not in proc.stderr + proc.stdout


def test_invalid_setting_is_one_line(monkeypatch):
    proc = opsloop("config", "show", env={"OPSLOOP_PROMETHEUS_TIMEOUT": "soon"})
    assert proc.returncode == 2
    assert "OPSLOOP_PROMETHEUS_TIMEOUT" in proc.stderr and "Traceback" not in proc.stderr


def test_config_show_masks_secrets(monkeypatch):
    monkeypatch.setenv("OPSLOOP_LLM_API_KEY", "sk-very-secret-value")
    monkeypatch.setenv("OPSLOOP_PROMETHEUS_BEARER_TOKEN", "prom-token-123")
    result = runner.invoke(app, ["config", "show", "--json"])
    assert result.exit_code == 0
    assert "sk-very-secret-value" not in result.stdout and "prom-token-123" not in result.stdout
    assert json.loads(result.stdout)["llm_api_key"] == "********"
    table = runner.invoke(app, ["config", "show"])
    assert "OPSLOOP_PROMETHEUS_URL" in table.stdout and "sk-very" not in table.stdout


@pytest.mark.parametrize(
    "command", [[], ["ask"], ["chat"], ["approve"], ["config"], ["config", "show"], ["version"]]
)
def test_every_command_has_help(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0 and "Usage" in result.stdout


def test_version():
    assert runner.invoke(app, ["version"]).stdout.startswith("opsloop 0.")


def test_chat_reads_piped_input(prometheus):
    proc = opsloop(
        "chat",
        env={"OPSLOOP_PROMETHEUS_URL": prometheus},
        stdin="/help\np95 of fraud-api last 30m\n/reset\n/bogus\n/exit\n",
    )
    assert proc.returncode == 0, proc.stderr
    assert "/reset" in proc.stdout and "fraud-api p95 latency" in proc.stdout
    assert "new thread" in proc.stdout and "unknown command /bogus" in proc.stdout


def test_approve_on_a_thread_that_is_not_waiting():
    result = runner.invoke(app, ["approve", "nope"])
    assert result.exit_code == 2 and "not waiting" in result.output


def test_sandbox_commands_without_a_sandbox():
    status = runner.invoke(app, ["sandbox", "status", "--json"])
    assert status.exit_code == 0 and json.loads(status.stdout) == {"running": False}
    human = runner.invoke(app, ["sandbox", "status"])
    assert human.exit_code == 1 and "sandbox up" in human.stdout
    listed = json.loads(runner.invoke(app, ["sandbox", "scenarios", "--json"]).stdout)
    assert len(listed) >= 9 and {"name", "fault", "target", "description"} <= set(listed[0])
    assert runner.invoke(app, ["sandbox", "down"]).stdout.startswith("no sandbox was running")


def test_sandbox_up_with_an_unknown_scenario_is_one_line():
    proc = opsloop("sandbox", "up", "--scenario", "meteor-strike")
    assert proc.returncode == 2 and "unknown scenario 'meteor-strike'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_sandbox_up_on_a_busy_port_is_one_line():
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = opsloop("sandbox", "up", "--prometheus-port", str(port))
    assert proc.returncode == 2 and f"port {port} for prometheus is already in use" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_detect_scores_every_row_causally(tmp_path):
    table = tmp_path / "series.csv"
    rows = [
        f"2026-01-01 00:{m // 60:02d}:{m % 60:02d},{10.0 if m != 300 else 90.0}" for m in range(400)
    ]
    table.write_text("timestamp,value\n" + "\n".join(rows) + "\n")
    as_json = runner.invoke(app, ["detect", "--csv", str(table), "--json"])
    scores = json.loads(as_json.stdout)["scores"]
    assert len(scores) == 400 and all(0 <= s <= 1 for s in scores)
    assert max(range(400), key=scores.__getitem__) == 300
    plain = runner.invoke(app, ["detect", "--csv", str(table)]).stdout.splitlines()
    assert plain[0] == "timestamp,value,anomaly_score" and len(plain) == 401
    assert plain[301].startswith("2026-01-01 00:05:00,90.0,")


def test_logs_templates_prints_one_template_per_line(tmp_path):
    log = tmp_path / "app.log"
    log.write_text(
        "2026-01-01T00:00:01Z INFO user 17 logged in from 10.0.0.1\n"
        "2026-01-01T00:00:02Z ERROR connection to db-1 failed after 3000ms\n"
        "2026-01-01T00:00:03Z INFO user 42 logged in from 10.0.0.7\n"
    )
    lines = runner.invoke(app, ["logs", "templates", str(log)]).stdout.splitlines()
    ids = [ln.split("\t")[0] for ln in lines]
    assert len(lines) == 3 and ids[0] == ids[2] != ids[1]
    data = json.loads(runner.invoke(app, ["logs", "templates", str(log), "--json"]).stdout)
    assert [t["count"] for t in data["templates"]] == [2, 1]
    assert data["lines"][1]["template_id"] == ids[1]


def test_detect_on_a_missing_file_is_one_line():
    proc = opsloop("detect", "--csv", "/nonexistent/x.csv")
    assert proc.returncode == 2 and "cannot read /nonexistent/x.csv" in proc.stderr


def test_an_internal_error_is_one_line_and_a_crash_log(monkeypatch, capsys, opsloop_home):
    import opsloop.agent.cli.main as cli

    def broken() -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(cli, "app", broken)
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 2
    err_text = capsys.readouterr().err
    assert "internal error: RuntimeError: boom" in err_text and "Traceback" not in err_text
    assert "RuntimeError: boom" in (opsloop_home / "crash.log").read_text()


def test_chat_feedback_updates_the_thread_incident(prometheus):
    proc = opsloop(
        "chat",
        env={"OPSLOOP_PROMETHEUS_URL": prometheus},
        stdin="/feedback too early\nany errors in checkout logs?\n"
        "/feedback root cause was the payments config push\n/exit\n",
    )
    assert proc.returncode == 0, proc.stderr
    assert "no incident record yet" in proc.stdout and "noted in incident memory" in proc.stdout
    listed = opsloop("memory", "list", "--json")
    assert "root cause was the payments config push" in listed.stdout
