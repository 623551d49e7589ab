"""World 2's cases and alert rules, read from cases.yaml and rules.yaml and checked."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from opsloop.evals.rca.world2.world import BY_NAME, DB, EXTERNAL, MODEL_BY_NAME
from opsloop.sandbox.scenario import GroundTruth

FaultType = Literal[
    "bad-rollout",
    "memory-leak",
    "cpu-throttling",
    "db-slow",
    "external-errors",
    "bad-model-version",
    "input-drift",
    "seasonal-peak",
]
# What each fault type hits: a service, the database, the external API or a model.
TARGETS = {
    "bad-rollout": set(BY_NAME),
    "memory-leak": set(BY_NAME),
    "cpu-throttling": set(BY_NAME),
    "db-slow": {DB},
    "external-errors": {EXTERNAL},
    "bad-model-version": set(MODEL_BY_NAME),
    "input-drift": set(MODEL_BY_NAME),
    "seasonal-peak": {"edge-proxy"},
}
# The remediation each ground-truth kind calls for.
ACTIONS = {
    "service": "escalate",
    "infra": "escalate",
    "dependency": "escalate",
    "model_version": "rollback_model",
    "data": "retrain_model",
    "none": "none",
}
Span = tuple[float, float]


class FaultSpec(BaseModel):
    """What goes wrong and the ranges a seed draws its timing and size from."""

    model_config = ConfigDict(extra="forbid")

    type: FaultType
    target: str
    lead_min: Span = Field(description="minutes from the fault's onset to the first alert")
    magnitude: Span
    ramp_s: Span = (60.0, 60.0)
    tod_h: Span = Field((10.0, 17.0), description="world time of day at the alert, hours")

    @field_validator("lead_min", "magnitude", "ramp_s", "tod_h")
    @classmethod
    def _ordered(cls, span: Span) -> Span:
        if span[0] > span[1] or span[0] < 0:
            raise ValueError(f"a range is [low, high] with 0 <= low <= high, got {span}")
        return span

    @model_validator(mode="after")
    def _known_target(self) -> FaultSpec:
        if self.target not in TARGETS[self.type]:
            raise ValueError(f"{self.type} targets one of {sorted(TARGETS[self.type])}")
        return self


class ExpectedAlert(BaseModel):
    """An alert the rules must fire for a case: its name and a subset of its labels."""

    alert: str
    labels: dict[str, str] = Field(default_factory=dict)


class Case(BaseModel):
    """One fault case: the fault, the alerts it must raise, and the ground truth."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str
    fault: FaultSpec
    alerts: list[ExpectedAlert]
    ground_truth: GroundTruth

    @model_validator(mode="after")
    def _consistent(self) -> Case:
        truth = self.ground_truth
        if ACTIONS[truth.kind] != truth.remediation.action:
            raise ValueError(f"a {truth.kind} fault is remedied by {ACTIONS[truth.kind]}")
        for key in ("model", "service"):
            wanted = truth.remediation.args.get(key)
            if wanted is not None and wanted != truth.target:
                raise ValueError(f"the remediation's {key} must be the target {truth.target}")
        if truth.target != self.fault.target:
            raise ValueError("the ground truth's target must be the fault's target")
        for wrong in truth.wrong_remediations:
            if wrong.model_dump() == truth.remediation.model_dump():
                raise ValueError("a wrong remediation equals the right one")
        rules = {r.alert for r in rules_()}
        names = {a.alert for a in self.alerts}
        if not names <= rules or set(truth.alerts) != names:
            raise ValueError(f"alerts {sorted(names)} must be rules and match the ground truth")
        return self


class Rule(BaseModel):
    """One alerting rule: PromQL, how long it must hold, the labels and annotations it adds."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    alert: str
    expr: str
    hold_s: float = Field(alias="for")
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)

    @field_validator("hold_s", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return parse_duration(str(value))


def parse_duration(text: str) -> float:
    """Return the seconds in a Prometheus duration such as `5m`, `1h30m` or `0m`."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)", text.strip())
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(n) * units[u] for n, u in parts)


def _load(name: str) -> Any:
    return yaml.safe_load(resources.files(__package__).joinpath(name).read_text())


@cache
def rules_() -> tuple[Rule, ...]:
    """Return the alert rules."""
    return tuple(Rule.model_validate(r) for r in _load("rules.yaml"))


@cache
def cases() -> dict[str, Case]:
    """Return every case by name."""
    out = {}
    for raw in _load("cases.yaml"):
        case = Case.model_validate(raw)
        if case.name in out:
            raise ValueError(f"case {case.name} is defined twice")
        out[case.name] = case
    return out


def case_names() -> list[str]:
    """Return the case names in file order."""
    return list(cases())
