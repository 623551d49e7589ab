"""The data model of a scenario spec: a fault, when and how hard it hits, the ground truth."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from opsloop.sandbox.world import SANDBOX
from opsloop.tools.backends.prometheus.promql import parse_duration

FaultType = Literal[
    "bad-model-release",
    "data-drift",
    "schema-change",
    "dependency-latency",
    "memory-leak",
    "cpu-saturation",
    "config-error",
    "seasonal-peak",
    "none",
]
# Which kind of thing each fault targets.
TARGETS: dict[str, str] = {
    "bad-model-release": "model",
    "data-drift": "model",
    "schema-change": "service",
    "dependency-latency": "service",
    "memory-leak": "service",
    "cpu-saturation": "service",
    "config-error": "service",
    "seasonal-peak": "service",
    "none": "any",
}
MODELS = ("fraud-detector", "recsys-ranker")


class ScenarioError(ValueError):
    """A scenario name or spec file that cannot be used."""


def _seconds(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    sign = -1.0 if text.startswith("-") else 1.0
    return sign * parse_duration(text.lstrip("+-"))


class Fault(BaseModel):
    """What goes wrong, where, when (relative to `sandbox up`) and how badly."""

    type: FaultType
    target: str = ""
    onset: float = Field(10.0, description="Seconds after going live; negative = in history.")
    magnitude: float = Field(1.0, gt=0)
    duration: float | None = Field(None, description="Seconds the fault lasts; None = until fixed.")
    ramp: float = Field(20.0, ge=0, description="Seconds to reach full magnitude.")

    @field_validator("onset", "ramp", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return _seconds(value)

    @field_validator("duration", mode="before")
    @classmethod
    def _optional_duration(cls, value: Any) -> float | None:
        return None if value in (None, "", "null") else _seconds(value)

    @model_validator(mode="after")
    def _target_exists(self) -> Fault:
        kind = TARGETS[self.type]
        if kind == "model" and self.target not in MODELS:
            raise ValueError(f"{self.type} targets a model: one of {', '.join(MODELS)}")
        if kind == "service" and self.target not in SANDBOX.by_name:
            raise ValueError(f"{self.type} targets a service: one of {', '.join(SANDBOX.by_name)}")
        return self


class Remediation(BaseModel):
    """An action and its arguments, as opsloop's tools name them."""

    action: str
    args: dict[str, Any] = Field(default_factory=dict)
    why: str = ""


class GroundTruth(BaseModel):
    """What really happened, for evals and for `sandbox status --reveal`."""

    kind: Literal["model_version", "service", "dependency", "data", "infra", "none"]
    target: str
    alerts: list[str] = Field(default_factory=list)
    remediation: Remediation
    wrong_remediations: list[Remediation] = Field(default_factory=list)


class Scenario(BaseModel):
    """A whole scenario spec file."""

    name: str
    description: str = ""
    seed: int = 7
    fault: Fault
    ground_truth: GroundTruth
