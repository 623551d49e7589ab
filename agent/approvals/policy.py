"""Who may approve which write action on which model: roles from config, checked at approval.

A policy maps principals (CLI OS accounts, Slack user ids such as `U024BE7LH`) to roles,
and each role to the actions and models it covers:

    [policy]
    separate_approver = true          # the requester may not approve their own request
    max_silence_hours = 24            # the longest Alertmanager silence anyone may approve
    [policy.roles.ml-oncall]
    actions = ["rollback_model", "promote_model", "retrain_model"]
    models = ["fraud-detector", "recsys-*"]
    [policy.users]
    alice = ["ml-oncall"]

No policy means no write action can be approved: failing closed is the safe default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from opsloop.agent.config import ConfigError


class Role(BaseModel):
    """One role: actions it may approve (`*` = all) on models matching these globs."""

    actions: list[str] = Field(default_factory=list)
    models: list[str] = Field(default_factory=lambda: ["*"])


class PolicySpec(BaseModel):
    """The `[policy]` table of the configuration."""

    roles: dict[str, Role] = Field(default_factory=dict)
    users: dict[str, list[str]] = Field(default_factory=dict)
    separate_approver: bool = False
    # The longest silence anyone may approve: a forgotten silence hides the next outage.
    max_silence_hours: float = Field(24.0, gt=0)


@dataclass(frozen=True)
class Verdict:
    """Whether an approver may approve an action, and why (shown to people and audited)."""

    allowed: bool
    reason: str
    roles: tuple[str, ...] = field(default_factory=tuple)


class PolicyError(ConfigError):
    """The configured policy is malformed."""


@dataclass(frozen=True)
class Policy:
    """Checks approvals against roles; built from the settings' `policy` table."""

    spec: PolicySpec

    @classmethod
    def from_config(cls, raw: dict[str, Any] | None) -> Policy:
        """Parse the `policy` setting; raise PolicyError naming the bad field."""
        try:
            return cls(PolicySpec.model_validate(raw or {}))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise PolicyError(f"policy.{where}: {first['msg']}") from None

    @property
    def configured(self) -> bool:
        """Tell whether any user holds any role."""
        return any(self.spec.users.values())

    def roles_of(self, principal: str) -> tuple[str, ...]:
        """Return the roles a principal holds."""
        return tuple(self.spec.users.get(principal, ()))

    def check(
        self, approver: str, action: str, model: str | None, requested_by: str | None = None
    ) -> Verdict:
        """Decide whether `approver` may approve `action` on `model`."""
        if not self.configured:
            return Verdict(
                False,
                "no approval policy is configured, so no write can be approved: add a [policy] "
                "table with roles and users to opsloop.toml (see README, Approvals)",
            )
        if self.spec.separate_approver and requested_by and approver == requested_by:
            return Verdict(False, f"{approver} requested this action and may not approve it too")
        roles = self.roles_of(approver)
        if not roles:
            return Verdict(False, f"{approver} holds no role in the approval policy")
        target = model or "*"
        for name in roles:
            role = self.spec.roles.get(name)
            if role is None:
                continue
            acts = "*" in role.actions or action in role.actions
            if acts and any(fnmatchcase(target, pattern) for pattern in role.models):
                return Verdict(True, f"{approver} may {action} on {target} as {name}", roles)
        return Verdict(
            False,
            f"{approver} (roles: {', '.join(roles)}) may not approve {action} on {target}",
            roles,
        )
