"""rollback_model: move a model's `champion` alias back to a previous or named version."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from opsloop.tools.actor import current_actor, current_thread
from opsloop.tools.backends.aliases import move_alias
from opsloop.tools.backends.mlflow_registry import CHAMPION, ROLLED_BACK_TAG, VersionInfo
from opsloop.tools.base import OpsTool, ToolResult, ToolStatus, ops_tool
from opsloop.tools.errors import OpsError
from opsloop.tools.toolsets.registry import RegistryContext, version_evidence, version_line


class Refused(OpsError):
    """A rollback that makes no sense; the message says why and what would."""


class RollbackArgs(BaseModel):
    """Arguments of rollback_model."""

    model: str = Field(description="Registered model name.")
    version: str | None = Field(
        None,
        description="Version to serve; default: the last earlier champion that passed "
        "validation and was not itself rolled back from.",
    )
    from_version: str | None = Field(
        None, description="Only roll back if this version is still champion (set on approval)."
    )


@dataclass(frozen=True)
class RollbackPlan:
    """What a rollback would do: the current champion and the version that replaces it."""

    model: str
    current: str
    target: VersionInfo
    noop: bool = False
    warning: str | None = None


def plan_rollback(
    ctx: RegistryContext, model: str, version: str | None, from_version: str | None
) -> RollbackPlan:
    """Resolve the rollback target and refuse nonsense; raise Refused with the reason."""
    name = ctx.registry.resolve_model(model)
    current = ctx.registry.alias(name, CHAMPION)
    if current is None:
        raise Refused(f"{name} has no {CHAMPION}; nothing to roll back")
    versions = ctx.registry.versions(name, with_runs=False)
    wanted = _clean(version) if version else None
    if from_version is not None and _clean(from_version) != current:
        if wanted == current:  # the approved move already happened: a replay changes nothing
            return RollbackPlan(name, current, ctx.registry.version(name, current), noop=True)
        raise Refused(
            f"{name} {CHAMPION} moved from v{_clean(from_version)} to v{current} since this "
            "rollback was requested; ask again to roll back from the current version"
        )
    if wanted is None:
        wanted = _previous(ctx, name, current, versions)
    target = ctx.registry.version(name, wanted)  # raises UnknownVersion with the known ones
    if target.version == current:
        raise Refused(f"v{current} is already the {CHAMPION} of {name}; nothing to roll back")
    if target.validation == "failed":
        good = [f"v{v.version}" for v in versions if v.validation != "failed"]
        raise Refused(
            f"{name} v{target.version} failed its validation checks (validation_status=failed); "
            f"pick another version: {', '.join(good)}"
        )
    warning = None
    if version and target.version in _rolled_back(ctx, name, versions):
        how = target.rolled_back or "recorded in the change log"
        warning = (
            f"v{target.version} was rolled back from before ({how}); serving it again may bring "
            "that fault back"
        )
    return RollbackPlan(name, current, target, warning=warning)


def _clean(version: str) -> str:
    return str(version).strip().lower().removeprefix("v")


def _rolled_back(ctx: RegistryContext, name: str, versions: list[VersionInfo]) -> set[str]:
    """Return the versions serving was rolled back from (registry tag or change log)."""
    tagged = {v.version for v in versions if v.rolled_back}
    logged = {
        str(e.detail.get("from"))
        for e in ctx.alias_history(name)
        if e.detail.get("reason") == "rollback" and e.detail.get("from")
    }
    return tagged | logged


def _previous(ctx: RegistryContext, name: str, current: str, versions: list[VersionInfo]) -> str:
    """Return the last version that served before the current one, passed validation and was
    not itself rolled back from (change log), else the newest such older version.

    After v4 → v3 was rolled back, "roll back" again goes to v2, never to the broken v4.
    """
    skip = {v.version for v in versions if v.validation == "failed"}
    skip |= _rolled_back(ctx, name, versions) | {current}
    for event in reversed(ctx.alias_history(name)):
        before = event.detail.get("from")
        if before and str(before) not in skip:
            return str(before)
    older = [v for v in versions if v.number < int(current) and v.version not in skip]
    if not older:
        raise Refused(
            f"{name} has no earlier version than v{current} that passed validation and was not "
            "rolled back from; name a version to roll back to"
        )
    return older[-1].version


def rollback_tools(ctx: RegistryContext) -> list[OpsTool]:
    """Build rollback_model bound to the registry context."""

    def preview(args: dict[str, Any]) -> str:
        plan = plan_rollback(ctx, args["model"], args.get("version"), args.get("from_version"))
        if plan.noop:
            return f"nothing: v{plan.current} already serves {plan.model}"
        text = (
            f"move {plan.model} {CHAMPION} v{plan.current} → v{plan.target.version} "
            f"({version_line(plan.target)}); the serving layer follows the alias"
        )
        return f"{text}\n⚠ {plan.warning}" if plan.warning else text

    def pin(args: dict[str, Any]) -> dict[str, Any]:
        plan = plan_rollback(ctx, args["model"], args.get("version"), args.get("from_version"))
        return {"model": plan.model, "version": plan.target.version, "from_version": plan.current}

    def rollback_model(
        model: str, version: str | None = None, from_version: str | None = None
    ) -> ToolResult:
        """Roll a model back: move its `champion` alias (what serving loads) to the previous
        champion, or to a named version. Refuses unknown versions, the current champion and
        versions that failed validation. Needs a person's approval; runs only after it."""
        try:
            plan = plan_rollback(ctx, model, version, from_version)
        except Refused as exc:
            return ToolResult(status=ToolStatus.ERROR, summary=f"Rollback refused: {exc}.")
        evidence = [version_evidence(ctx, plan.target, "rollback_model")]
        if plan.noop:
            return ToolResult(
                status=ToolStatus.OK,
                summary=f"{plan.model} already serves v{plan.current}; nothing changed.",
                data={"model": plan.model, "from": plan.current, "to": plan.current},
                evidence=evidence,
            )
        who = current_actor()
        move_alias(
            ctx.registry,
            ctx.changelog,
            plan.model,
            CHAMPION,
            plan.target.version,
            who=who,
            reason="rollback",
        )
        marked = _mark(ctx, plan, who)
        return ToolResult(
            status=ToolStatus.OK,
            summary=(
                f"Rolled back {plan.model}: {CHAMPION} v{plan.current} → v{plan.target.version} "
                f"(approved by {who}). Serving follows the alias within seconds. {marked}"
            ).rstrip(),
            data={"model": plan.model, "from": plan.current, "to": plan.target.version},
            evidence=evidence,
        )

    return [
        ops_tool(
            rollback_model,
            name="rollback_model",
            args_schema=RollbackArgs,
            risk="write",
            preview=preview,
            pin=pin,
        )
    ]


def _mark(ctx: RegistryContext, plan: RollbackPlan, who: str) -> str:
    """Tag the version rolled back from, so no later rollback picks it by default."""
    thread = current_thread() or "no incident"
    when = datetime.fromtimestamp(ctx.now(), UTC).strftime("%Y-%m-%d %H:%M UTC")
    note = f"{thread} on {when} by {who}"
    try:
        ctx.registry.set_tags(plan.model, plan.current, {ROLLED_BACK_TAG: note})
    except OpsError as exc:  # the rollback stands; the change log still records it
        return f"v{plan.current} could not be tagged as rolled back from ({exc})."
    return f"v{plan.current} is tagged {ROLLED_BACK_TAG} ({note})."
