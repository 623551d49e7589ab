"""opsloop reads conventions, not the sandbox: no metric or alert name that only the sandbox
uses appears in `agent/` or `tools/` (issue 18)."""

from __future__ import annotations

import re
import time
from pathlib import Path

from opsloop.sandbox.configs import alert_rules
from opsloop.sandbox.engine import Engine
from opsloop.sandbox.faults import Effects
from opsloop.sandbox.history import constant_quality
from opsloop.sandbox.world import SANDBOX

ROOT = Path(__file__).resolve().parents[1]
SEARCHED = ("agent", "tools")
# Names the sandbox exported or alerted on before it followed the conventions: a rule that
# matches them would work only in the sandbox.
RETIRED = (
    "model_online_auc",
    "model_feature_psi",
    "container_spec_cpu_limit_cores",
    "ModelQualityDrop",
)


def _code() -> dict[Path, str]:
    return {
        path: path.read_text()
        for top in SEARCHED
        for path in sorted((ROOT / top).rglob("*"))
        if path.suffix in (".py", ".yaml", ".yml", ".toml", ".md") and path.is_file()
    }


def sandbox_metric_names() -> set[str]:
    """Return every metric family the sandbox's exporter writes, read from a running engine."""
    engine = Engine(SANDBOX, constant_quality(), seed=3)
    champions = dict.fromkeys(engine.models, "3")
    engine.step(time.time(), 15.0, Effects(), champions)
    return {sample[0] for sample in engine.samples()}


def documented_names() -> set[str]:
    """Return every name docs/conventions.md puts in code spans (counters also with _total)."""
    spans = re.findall(r"`([^`]+)`", (ROOT / "docs" / "conventions.md").read_text())
    names = {n for span in spans for n in re.findall(r"[a-z][a-z0-9_]+", span)}
    return names | {re.sub(r"_(total|count|bucket|sum)$", "", n) for n in names}


def test_no_sandbox_only_name_appears_in_agent_or_tools() -> None:
    documented = documented_names()
    sandbox_only = {n for n in sandbox_metric_names() if n not in documented}
    alerts = {rule["alert"] for group in alert_rules()["groups"] for rule in group["rules"]}
    names = sandbox_only | alerts | set(RETIRED)
    found = [
        f"{path.relative_to(ROOT)}: {name}"
        for path, text in _code().items()
        for name in sorted(names)
        if re.search(rf"\b{re.escape(name)}\b", text)
    ]
    assert found == []


def test_the_check_would_catch_a_sandbox_name() -> None:
    alerts = {rule["alert"] for group in alert_rules()["groups"] for rule in group["rules"]}
    assert alerts and sandbox_metric_names() >= {"http_server_request_duration_seconds"}
    text = 'if alert == "ModelQualityDrop" or "model_online_auc" in expr:'
    assert all(re.search(rf"\b{name}\b", text) for name in RETIRED[:1] + RETIRED[3:])
