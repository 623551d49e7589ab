"""RCA on world 2 (evals/rca/world2): a topology, names and exporters opsloop was not built
on. One seed of the cases that need what issue 18 added: a rollout seen only in
kube-state-metrics inside a call cycle, a database measured only by clients instrumented two
ways, a model version switch seen only in the prediction counter."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsloop.evals.rca.world2.runner import run_case

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("case", "decisive"),
    [
        ("inventory-bad-rollout", "rolled out"),
        ("pg-main-slow", "pg-main p99 latency (client-side)"),
        ("search-ranker-bad-version", "now serves v15 (was v14)"),
    ],
)
def test_the_cause_is_first_with_its_decisive_evidence(case: str, decisive: str, tmp_path: Path):
    judged = run_case(case, 1, tmp_path)
    assert judged["world_check"]["ok"], judged["world_check"]
    assert judged["rank"] == 1, judged["hypotheses"]
    assert judged["remediation_ok"] and not judged["wrong_remediation"], judged["action"]
    assert decisive in judged["report"], judged["report"]
