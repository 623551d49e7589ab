"""Move a registry alias and record the move as a change event, in one place for every writer."""

from __future__ import annotations

import time

from opsloop.tools.backends.changelog import ChangeEvent, ChangeLog
from opsloop.tools.backends.mlflow_registry import Registry


def move_alias(
    registry: Registry,
    changelog: ChangeLog | None,
    model: str,
    alias: str,
    version: str,
    *,
    who: str,
    reason: str,
    at: float | None = None,
) -> str | None:
    """Point `alias` at `version` and record it; return the previous version.

    Moving an alias to where it already points changes and records nothing.
    """
    previous = registry.alias(model, alias)
    if previous == str(version):
        return previous
    registry.set_alias(model, alias, str(version))
    if changelog is not None:
        changelog.record(
            ChangeEvent(
                at=time.time() if at is None else at,
                who=who,
                kind="alias_move",
                target=model,
                summary=f"{model} {alias} {previous or 'none'} → {version} by {who}",
                detail={"alias": alias, "from": previous, "to": str(version), "reason": reason},
            )
        )
    return previous
