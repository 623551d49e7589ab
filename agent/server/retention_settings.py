"""How long `opsloop serve` keeps what it stores (`[retention]` in opsloop.toml)."""

from __future__ import annotations

from pydantic import BaseModel, Field

DAY_S = 86_400.0


class Retention(BaseModel):
    """Ages in days (0 keeps forever); incidents and the approvals audit log are the record."""

    enabled: bool = Field(True, description="Prune in the background of `opsloop serve`.")
    interval_s: float = Field(300.0, gt=0, description="Seconds between two pruning rounds.")
    batch: int = Field(500, ge=1, description="Rows per delete, so no write lock is held long.")
    notifications_days: float = Field(
        7.0, ge=0, description="Raw notifications of resolved incidents (and of none)."
    )
    checkpoints_days: float = Field(
        7.0, ge=0, description="Graph checkpoints of resolved incidents and of idle threads."
    )
    answers_days: float = Field(90.0, ge=0, description="Answer records and feedback.")
    jobs_days: float = Field(30.0, ge=0, description="Finished retraining jobs and their logs.")
    slack_events_days: float = Field(2.0, ge=0, description="Slack event ids seen (retries).")
    deliveries_days: float = Field(
        30.0, ge=0, description="PagerDuty notes sent or given up, and Slack report links."
    )
    incidents_days: float = Field(
        0.0, ge=0, description="Resolved incidents, their alerts and groups (default: keep)."
    )

    def age_s(self, name: str) -> float | None:
        """Return the age in seconds past which `<name>_days` rows go, or None (keep)."""
        days = float(getattr(self, f"{name}_days"))
        return days * DAY_S if days > 0 else None
