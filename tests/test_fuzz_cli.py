"""Fuzz the commands that read files people hand them: alert payloads, metric tables, logs.

Whatever the file holds, the command exits with a code it documents (0, 1, 2) and a
one-line message, never a traceback. Seeds are fixed (derandomized).
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from opsloop.agent.cli.main import app

runner = CliRunner()
FUZZ = settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
cells = st.one_of(
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=8),
)
tables = st.lists(st.lists(cells, min_size=1, max_size=4), max_size=12)


def run(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.output[-500:])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output


def write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return path


@FUZZ
@given(body=st.one_of(st.text(max_size=200), st.dictionaries(st.text(max_size=8), cells)))
def test_investigate_with_any_alert_file(tmp_path, body):
    text = body if isinstance(body, str) else json.dumps(body)
    run(["investigate", "--alert", str(write(tmp_path, "alert.json", text)), "--json"])


@FUZZ
@given(rows=tables, header=st.sampled_from(["timestamp,value", "time,a_cpu,b_cpu", "", "x"]))
def test_detect_and_rca_rank_with_any_table(tmp_path, rows, header):
    text = "\n".join([header, *(",".join(r) for r in rows)])
    csv = write(tmp_path, "t.csv", text)
    run(["detect", "--csv", str(csv), "--json"])
    run(["rca", "rank", "--csv", str(csv), "--anomaly-time", "100", "--json"])


@FUZZ
@given(text=st.text(max_size=400))
def test_log_templates_with_any_text(tmp_path, text):
    run(["logs", "templates", str(write(tmp_path, "x.log", text)), "--json"])
