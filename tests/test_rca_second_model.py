"""Issue 25's regression: input drift on the second model, with its quality alert firing, is
the data (retrain that model), never "false alarm" — through a real sandbox and Alertmanager."""

from __future__ import annotations

import pytest

from opsloop.evals.rca import run_case


@pytest.mark.integration
def test_quality_alert_and_drift_on_the_second_model_is_the_data(opsloop_home):
    case = run_case("data-drift@recsys-ranker", 1, opsloop_home)
    assert "ModelQualityDrop" in case["alerts"] or "FeatureDrift" in case["alerts"]
    assert case["top"] == "data:recsys-ranker", case
    assert case["action"]["name"] == "retrain_model", case
    assert case["action"]["args"]["model"] == "recsys-ranker"
    assert case["remediation_ok"] and not case["wrong_remediation"]
