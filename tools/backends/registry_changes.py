"""Model registry changes read from the registry itself, including those made outside opsloop.

New versions carry their creation time and author in MLflow. Alias moves do not: MLflow keeps
no history of them, so each poll compares every alias with where the previous poll (or
opsloop's own move) saw it and records a difference as an alias move made outside opsloop,
timed at the poll that saw it. The first poll of a registry records the aliases only.
"""

from __future__ import annotations

import logging
import threading
import time

from opsloop.tools.backends.changelog import ChangeEvent, ChangeLog
from opsloop.tools.backends.mlflow_registry import Registry

log = logging.getLogger("opsloop.changes")


def new_versions(registry: Registry, since: float, until: float) -> list[ChangeEvent]:
    """Return a model_version event for each version registered within [since, until]."""
    out = []
    for model in registry.models():
        for v in registry.versions(model, with_runs=False):
            if since <= v.created_at <= until:
                out.append(
                    ChangeEvent(
                        at=v.created_at,
                        who=v.created_by or "unknown",
                        kind="model_version",
                        target=model,
                        summary=f"{model} v{v.version} registered by {v.created_by or 'unknown'}",
                        detail={"version": v.version, "run_id": v.run_id},
                        source="mlflow",
                        key=f"mlflow:{model}:v{v.version}",
                    )
                )
    return out


def poll_aliases(registry: Registry, changelog: ChangeLog, now: float | None = None) -> int:
    """Record alias moves made since the last poll; return how many were recorded."""
    now = time.time() if now is None else now
    seen = changelog.aliases_seen()
    first = not seen
    recorded = 0
    for model in registry.models():
        aliases = registry.model_info(model)["aliases"]
        for alias, version in aliases.items():
            before = seen.get((model, alias))
            if not first and before != str(version):
                changelog.record(_moved(model, alias, before, str(version), now))
                recorded += 1
            changelog.remember_alias(model, alias, str(version), now)
    return recorded


def _moved(model: str, alias: str, before: str | None, after: str, now: float) -> ChangeEvent:
    return ChangeEvent(
        at=now,
        who="outside opsloop",
        kind="alias_move",
        target=model,
        summary=(
            f"{model} {alias} {before or 'none'} → {after}, moved outside opsloop "
            "(seen by the registry poll)"
        ),
        detail={"alias": alias, "from": before, "to": after, "reason": "registry poll"},
        source="mlflow",
        key=f"mlflow:{model}:{alias}:{before}->{after}@{int(now)}",
    )


class AliasPoller:
    """Poll the registry's aliases every `interval_s` in a thread, so outside moves are timed."""

    def __init__(self, registry: Registry, changelog: ChangeLog, interval_s: float = 60.0) -> None:
        self.registry, self.changelog, self.interval_s = registry, changelog, interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start polling (the first poll runs at once)."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="alias-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling and wait for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                poll_aliases(self.registry, self.changelog)
            except Exception as exc:  # a registry outage must not end the poller
                log.warning("registry alias poll failed: %s", exc)
            self._stop.wait(self.interval_s)
