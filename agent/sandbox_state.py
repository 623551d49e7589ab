"""A running sandbox's settings: defaults only while it runs, and only for its own world."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger("opsloop.agent.config")  # where users look for config messages

# The backends that say which world a command works on. When the user points any of them
# elsewhere, the command is not about the sandbox, so none of its settings apply: above all
# not its policy, which lets whoever started the sandbox approve every write.
WORLD_KEYS = ("prometheus_url", "alertmanager_url", "mlflow_tracking_uri")

_REPORTED: set[str] = set()


def sandbox_state_file(home: Path) -> Path:
    """Return where a running sandbox records its URLs."""
    return home / "sandbox" / "state.json"


def env_world() -> dict[str, Any]:
    """Return the world-defining settings given in the environment."""
    return {k: v for k in WORLD_KEYS if (v := os.environ.get(f"OPSLOOP_{k.upper()}"))}


def sandbox_values(home: Path, fields: set[str], own: dict[str, Any]) -> dict[str, Any]:
    """Point defaults at a running sandbox, so `opsloop ask` works right after `sandbox up`.

    Only while that sandbox runs: a state file left by a crash or a reboot would otherwise
    reconfigure every later command (its URLs, retrain command and approval policy). And
    only for commands on the sandbox's world: `own` (the user's explicit settings) pointing
    a backend elsewhere drops every sandbox value.
    """
    path = sandbox_state_file(home)
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not sandbox_running(state):
        _report_once(
            str(path),
            "ignoring %s: the sandbox that wrote it is not running (run `opsloop sandbox "
            "down` to remove it, or `opsloop sandbox up` to start one)",
            path,
        )
        return {}
    settings = state.get("settings", {})
    elsewhere = sorted(k for k in WORLD_KEYS if own.get(k) and own[k] != settings.get(k))
    if elsewhere:
        _report_once(
            f"elsewhere:{path}",
            "a sandbox runs, but %s point%s elsewhere: none of the sandbox's settings (its "
            "URLs, retrain command, approval policy) apply to this command",
            ", ".join(elsewhere),
            "" if len(elsewhere) > 1 else "s",
            level=logging.INFO,
        )
        return {}
    return {k: v for k, v in settings.items() if k in fields}


def sandbox_running(state: dict[str, Any]) -> bool:
    """Tell whether any process a sandbox state records still runs (checked by its command
    line naming the sandbox's directory, so a reused PID does not count)."""
    root = str(state.get("directory") or "")
    for proc in (state.get("processes") or {}).values():
        pid = proc.get("pid") if isinstance(proc, dict) else None
        if not isinstance(pid, int) or pid <= 0:
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if root and root in cmdline:
            return True
    return False


def _report_once(key: str, message: str, *args: Any, level: int = logging.WARNING) -> None:
    """Log `message` once per process, not once per Settings()."""
    if key not in _REPORTED:
        _REPORTED.add(key)
        log.log(level, message, *args)
