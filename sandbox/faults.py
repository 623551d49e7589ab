"""How a scenario's fault bends the world at a given moment."""

from __future__ import annotations

from dataclasses import dataclass, field

from opsloop.sandbox.scenario import Fault
from opsloop.sandbox.world import World

# Scores an upstream unit change corrupts (0–1 fractions served as percentages), per model;
# feature-store serves both models, so both drift at once.
SCHEMA_COLUMNS = {"fraud-detector": "device_score", "recsys-ranker": "user_affinity"}


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
        for model, column in SCHEMA_COLUMNS.items():
            eff.scale[model] = {column: 1.0 + (m - 1.0) * k}
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


def change_event(fault: Fault) -> tuple[str, str, str, dict] | None:
    """Return the (who, kind, summary, detail) a person would find in the change log."""
    target = fault.target
    events = {
        "schema-change": (
            "deploy-bot",
            "deploy",
            f"{target} 2.14.0 deployed (scores served as percentages)",
            {"version": "2.14.0", "previous": "2.13.4"},
        ),
        "memory-leak": (
            "deploy-bot",
            "deploy",
            f"{target} 1.8.3 deployed",
            {"version": "1.8.3", "previous": "1.8.2"},
        ),
        "cpu-saturation": (
            "deploy-bot",
            "deploy",
            f"{target} 3.2.0 deployed (feature crosses in re-ranking)",
            {"version": "3.2.0", "previous": "3.1.7"},
        ),
        "config-error": (
            "bob",
            "config",
            f"{target} config: PAYMENT_TIMEOUT_MS 3000 → 0",
            {"key": "PAYMENT_TIMEOUT_MS", "from": "3000", "to": "0"},
        ),
        "dependency-latency": (
            "flyway",
            "deploy",
            f"{target} migration 0042 applied",
            {"migration": "0042_drop_idx_features_entity"},
        ),
    }
    return events.get(fault.type)
