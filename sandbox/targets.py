"""Which targets each fault type may hit, and a scenario moved to another of them.

    load_scenario("memory-leak@checkout")  # the memory-leak scenario, on checkout

A moved scenario keeps its timing; its magnitude is rescaled to the new target's profile
(the same added seconds, the same time to the memory limit, the same CPU demand per core),
and its ground truth is derived from the target: its kind, the owning team, the model it
serves, the actions that would be wrong. Nothing is copied from the original target.
"""

from __future__ import annotations

from typing import Any

from opsloop.sandbox.faults import consumers
from opsloop.sandbox.spec import TARGETS, GroundTruth, Remediation, Scenario, ScenarioError
from opsloop.sandbox.wording import change_text
from opsloop.sandbox.world import SANDBOX, Service, World

# The alerts each fault type is expected to raise (documentation for people; evals judge the
# report, not the alerts).
ALERTS: dict[str, list[str]] = {
    "bad-model-release": ["ModelQualityDrop"],
    "data-drift": ["FeatureDrift", "ModelQualityDrop"],
    "schema-change": ["FeatureDrift", "ModelQualityDrop"],
    "dependency-latency": ["LatencySLOBurn"],
    "memory-leak": ["MemorySaturation"],
    "cpu-saturation": ["CPUSaturation", "LatencySLOBurn"],
    "config-error": ["HighErrorRatio"],
    "seasonal-peak": ["TrafficSurge"],
}
# Root-cause kind and the fix suggested with the escalation, per service fault type.
SERVICE_FAULTS: dict[str, tuple[str, str]] = {
    "schema-change": ("dependency", "roll back {release}"),
    "dependency-latency": ("dependency", ""),
    "memory-leak": ("service", "roll back {release}"),
    "cpu-saturation": ("infra", "scale out or revert the change"),
    "config-error": ("service", "revert the config change"),
}


def eligible_targets(kind: str, world: World = SANDBOX) -> list[str]:
    """Return every target a `kind` fault may hit in `world`, in the world's order."""
    models = [s.model for s in world.services if s.model]
    # Releases and config pushes happen to what the team deploys (a version), not the database.
    deployed = [s.name for s in world.services if s.version]
    rules = {
        "bad-model-release": models,
        "data-drift": models,
        # A feature source: what model servers read features from, serving no model itself.
        "schema-change": [
            s.name for s in world.services if s.version and not s.model and consumers(world, s.name)
        ],
        "dependency-latency": [s.name for s in world.services if world.callers(s.name)],
        "memory-leak": deployed,
        "cpu-saturation": deployed,
        "config-error": deployed,
        "seasonal-peak": world.entries(),
    }
    return rules.get(kind, [])


def retarget(spec: Scenario, target: str, world: World = SANDBOX) -> Scenario:
    """Return `spec` with its fault moved to `target`; the same spec for its own target."""
    fault = spec.fault
    if target == fault.target:
        return spec
    allowed = eligible_targets(fault.type, world)
    if target not in allowed:
        raise ScenarioError(
            f"{fault.type} cannot target {target!r}; eligible: {', '.join(allowed) or 'none'}"
        )
    magnitude = fault.magnitude
    if TARGETS[fault.type] == "service":
        magnitude = rescale(
            fault.type, magnitude, world.by_name[fault.target], world.by_name[target]
        )
    moved = fault.model_dump() | {"target": target, "magnitude": round(magnitude, 4)}
    return Scenario.model_validate(
        {
            "name": f"{spec.name}@{target}",
            "description": f"{spec.name} on {target} instead of {fault.target}; "
            "magnitude and ground truth derived from the target.",
            "seed": spec.seed,
            "fault": moved,
            "ground_truth": ground_truth(fault.type, target, world).model_dump(),
        }
    )


def rescale(kind: str, magnitude: float, was: Service, now: Service) -> float:
    """Return the magnitude that hits `now` as hard as `magnitude` hit `was`."""
    if kind == "dependency-latency":  # the same seconds added to each request
        return 1.0 + (magnitude - 1.0) * was.latency / now.latency
    if kind == "memory-leak":  # the same minutes from the usual footprint to the limit
        return magnitude * _headroom(now) / _headroom(was)
    if kind == "cpu-saturation":  # the same CPU demand per core of limit
        return magnitude * _load(was) / _load(now)
    return magnitude  # error ratios and traffic factors mean the same anywhere


def ground_truth(kind: str, target: str, world: World = SANDBOX) -> GroundTruth:
    """Return what really happened when a `kind` fault hits `target`, and the right fix."""
    if kind in ("bad-model-release", "data-drift"):
        return _model_truth(kind, target, world)
    svc = world.by_name[target]
    if kind == "seasonal-peak":
        return GroundTruth(
            kind="none",
            target=target,
            alerts=ALERTS[kind],
            remediation=Remediation(action="none", why="the same peak happens every day"),
            wrong_remediations=[_act("escalate", "nothing is broken", team=svc.owner)],
        )
    cause, suggestion = SERVICE_FAULTS[kind]
    event = change_text(kind, svc)
    release = f"{target} {event[3]['version']}" if event and "version" in event[3] else target
    fix: dict[str, Any] = {"team": svc.owner, "service": target}
    if suggestion:
        fix["suggestion"] = suggestion.format(release=release)
    near = world.models_near(target)
    wrong = [_act("rollback_model", "the models are healthy", model=m) for m in near]
    if kind == "schema-change":  # retraining on corrupted features bakes the bug in
        readers = consumers(world, target)
        wrong = [
            _act("rollback_model", "every version sees the bad input", model=m) for m in readers
        ]
        wrong += [_act("retrain_model", "it would learn the bug", model=m) for m in readers]
    return GroundTruth(
        kind=cause,
        target=target,
        alerts=ALERTS[kind],
        remediation=Remediation(action="escalate", args=fix, why=f"{kind} in {target}"),
        wrong_remediations=wrong,
    )


def _model_truth(kind: str, model: str, world: World) -> GroundTruth:
    if kind == "data-drift":
        return GroundTruth(
            kind="data",
            target=model,
            alerts=ALERTS[kind],
            remediation=_act("retrain_model", "the world changed", model=model, window="7d"),
            wrong_remediations=[_act("rollback_model", "older versions saw old data", model=model)],
        )
    from opsloop.sandbox.ml.registry import planned_champion

    serving = world.serving(model)
    upstream = [world.by_name[c].owner for c, _ in serving.calls] if serving else []
    wrong = [_act("retrain_model", "the data did not change; the release did", model=model)]
    wrong += [_act("escalate", "features and upstream are healthy", team=t) for t in upstream[:1]]
    return GroundTruth(
        kind="model_version",
        target=model,
        alerts=ALERTS[kind],
        remediation=_act(
            "rollback_model",
            "the previous champion was healthy; the release is the only change",
            model=model,
            version=planned_champion(model),
        ),
        wrong_remediations=wrong,
    )


def _act(action: str, why: str, **args: str) -> Remediation:
    return Remediation(action=action, args=args, why=why)


def _headroom(svc: Service) -> float:
    return svc.memory_limit_mb - svc.memory_mb


def _load(svc: Service) -> float:
    return svc.cpu_per_request * svc.rps / svc.cpu_limit
