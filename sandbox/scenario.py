"""Incident scenarios as data: load a built-in or a spec file (the model is in sandbox.spec)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from opsloop.sandbox.spec import (
    MODELS,
    TARGETS,
    Fault,
    FaultType,
    GroundTruth,
    Remediation,
    Scenario,
    ScenarioError,
)
from opsloop.sandbox.targets import retarget

__all__ = [
    "MODELS",
    "TARGETS",
    "Fault",
    "FaultType",
    "GroundTruth",
    "Remediation",
    "Scenario",
    "ScenarioError",
    "builtin_names",
    "load_scenario",
]


def builtin_names() -> list[str]:
    """Return the names of the scenarios shipped with opsloop."""
    folder = resources.files(__package__).joinpath("scenarios")
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def load_scenario(name_or_path: str) -> Scenario:
    """Load a built-in scenario by name, or a spec file by path; `NAME@TARGET` moves its fault
    to another eligible target (opsloop.sandbox.targets)."""
    path = Path(name_or_path)
    base, at, target = name_or_path.rpartition("@")
    if at and base and not path.is_file():
        return retarget(load_scenario(base), target)
    if path.suffix in (".yaml", ".yml") or path.exists():
        try:
            text = path.read_text()
        except OSError as exc:
            raise ScenarioError(f"cannot read scenario file {path}: {exc.strerror}") from exc
    elif name_or_path in builtin_names():
        text = resources.files(__package__).joinpath(f"scenarios/{name_or_path}.yaml").read_text()
    else:
        raise ScenarioError(
            f"unknown scenario '{name_or_path}'. Built-in: {', '.join(builtin_names())}; "
            "or pass a path to a spec file (see docs/scenarios.md)."
        )
    try:
        data = yaml.safe_load(text)
        return Scenario.model_validate(data)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"scenario {name_or_path} is not valid YAML: {exc}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "spec"
        raise ScenarioError(f"scenario {name_or_path}: {where}: {first['msg']}") from exc
