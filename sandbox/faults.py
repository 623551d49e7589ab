"""How a scenario's fault bends the world at a given moment."""

from __future__ import annotations

from dataclasses import dataclass, field

from opsloop.sandbox.ml.data import UNIT_SCORES
from opsloop.sandbox.spec import Fault
from opsloop.sandbox.wording import change_text
from opsloop.sandbox.world import SANDBOX, World


@dataclass
class Effects:
    """Multipliers and additions for one instant; absent keys mean "no change"."""

    traffic: dict[str, float] = field(default_factory=dict)
    latency: dict[str, float] = field(default_factory=dict)
    errors: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    leak_mb_per_min: dict[str, float] = field(default_factory=dict)
    drift: dict[str, float] = field(default_factory=dict)
    scale: dict[str, dict[str, float]] = field(default_factory=dict)


def intensity(fault: Fault, started: float, t: float) -> float:
    """Return how strongly the fault acts at `t`, from 0 (before onset, after duration) to 1."""
    onset = started + fault.onset
    if fault.type == "seasonal-peak":
        # A daily event: it happened at this time yesterday too, which is the point.
        since = (t - onset) % 86400.0
        length = fault.duration or 900.0
        if since > length + fault.ramp:
            return 0.0
        up = min(1.0, since / fault.ramp) if fault.ramp else 1.0
        down = min(1.0, (length + fault.ramp - since) / fault.ramp) if fault.ramp else 1.0
        return max(0.0, min(up, down))
    if t < onset:
        return 0.0
    if fault.duration is not None and t > onset + fault.duration:
        return 0.0
    return min(1.0, (t - onset) / fault.ramp) if fault.ramp > 0 else 1.0


def effects_at(fault: Fault, world: World, started: float, t: float) -> Effects:
    """Return the effects of `fault` at time `t` (`started` = when the sandbox came up)."""
    eff = Effects()
    k = intensity(fault, started, t)
    if k <= 0 or fault.type in ("none", "bad-model-release"):
        return eff  # a bad release acts through the registry, not through these knobs
    m, target = fault.magnitude, fault.target
    if fault.type == "data-drift":
        eff.drift[target] = min(1.0, m) * k
    elif fault.type == "schema-change":
        # Every model whose service reads this source sees its 0–1 score scaled (100: percent).
        for model in consumers(world, target):
            eff.scale[model] = {UNIT_SCORES[model]: 1.0 + (m - 1.0) * k}
    elif fault.type == "dependency-latency":
        eff.latency[target] = 1.0 + (m - 1.0) * k
    elif fault.type == "memory-leak":
        eff.leak_mb_per_min[target] = m * k
    elif fault.type == "cpu-saturation":
        eff.cpu[target] = 1.0 + (m - 1.0) * k
    elif fault.type == "config-error":
        eff.errors[target] = m * k
    elif fault.type == "seasonal-peak":
        for name in (target, *world.callees(target)):
            eff.traffic[name] = 1.0 + (m - 1.0) * k
    return eff


def consumers(world: World, source: str) -> list[str]:
    """Return the models served by services that call `source` directly."""
    return [s.model for s in world.services if s.model and any(c == source for c, _ in s.calls)]


def change_event(fault: Fault, world: World = SANDBOX) -> tuple[str, str, str, dict] | None:
    """Return the (who, kind, summary, detail) a person would find in the change log."""
    svc = world.by_name.get(fault.target)
    return None if svc is None else change_text(fault.type, svc)
