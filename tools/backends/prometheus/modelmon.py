"""The model-monitoring metric contract: which gauges say how a model is doing.

No exporter standard exists for model quality or input drift, so opsloop documents one
(docs/conventions.md) and lets each name be changed in `opsloop.toml` under `[model_metrics]`.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from opsloop.tools.backends.prometheus.promql import matcher, regex_literal, selector


class ModelMetrics(BaseModel):
    """Names of the model monitor's metrics, and when drift counts."""

    quality: str = Field(
        "model_quality",
        description="Gauge of online quality from delayed labels, higher is better "
        "(labels: model, and metric naming the score, e.g. auc).",
    )
    quality_objective: str = Field(
        "model_quality_objective", description="Gauge: the quality level below which it is bad."
    )
    feature_drift: str = Field(
        "model_feature_drift",
        description="Gauge of per-feature drift against the training reference "
        "(labels: model, feature, method).",
    )
    drift_method: str = Field(
        "psi", description="The `method` label value read from the drift gauge (if it has one)."
    )
    drift_threshold: float = Field(
        0.25, gt=0, description="Drift above this is a shifted input (the usual PSI bar)."
    )
    prediction_score: str = Field(
        "model_prediction_score", description="Histogram of predicted scores (label: model)."
    )
    predictions: str = Field(
        "model_predictions_total", description="Counter of predictions (labels: model, version)."
    )
    model_label: str = Field("model", description="The label naming a model.")

    def quality_by(self, *labels: str) -> str:
        """Return the worst quality per (labels…, model, metric)."""
        keep = ", ".join((*labels, self.model_label, "metric"))
        return f"min by ({keep}) ({selector(self.quality)})"

    def drift_by(self, *labels: str) -> str:
        """Return the drift per (labels…, model, feature), for the configured method."""
        keep = ", ".join((*labels, self.model_label, "feature"))
        return f"max by ({keep}) ({self.drift_selector()})"

    def drift_selector(self, model: str | None = None) -> str:
        """Return the drift gauge's selector, for one model or all."""
        # `method=~"psi|"`: the configured method, or a gauge with no method label at all.
        which = [matcher("method", f"{regex_literal(self.drift_method)}|", "=~")]
        if model:
            which.append(matcher(self.model_label, model))
        return selector(self.feature_drift, which)

    def score_buckets(self, model: str) -> str:
        """Return the prediction-score histogram's bucket selector for one model."""
        return selector(f"{self.prediction_score}_bucket", [matcher(self.model_label, model)])

    def drift_verdict(self, value: float) -> str:
        """Say whether a drift value is drifted, moderate or stable."""
        if value > self.drift_threshold:
            return "drifted"
        return "moderate" if value > 0.4 * self.drift_threshold else "stable"
