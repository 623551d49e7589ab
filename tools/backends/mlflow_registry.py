"""A small typed view of the MLflow model registry: models, versions, aliases, links."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from opsloop.tools.backends.prometheus.discovery import resolve
from opsloop.tools.errors import BackendUnavailable, OpsError

CHAMPION = "champion"
CHALLENGER = "challenger"
# Tags the sandbox and most teams' pipelines set on a version.
STATUS_TAG = "validation_status"
# Set on a version when serving is rolled back from it: when, by whom, in which incident.
ROLLED_BACK_TAG = "opsloop.rolled_back"

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


class UnknownVersion(OpsError):
    """A model has no such version."""


@dataclass(frozen=True)
class VersionInfo:
    """One registered model version with what its run logged."""

    model: str
    version: str
    aliases: tuple[str, ...]
    created_at: float  # Unix seconds
    created_by: str
    description: str
    tags: dict[str, str]
    run_id: str | None
    experiment_id: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    source: str = ""
    trained_at: float | None = None  # when the run that produced it started

    @property
    def number(self) -> int:
        """Return the version as an integer, for ordering."""
        return int(self.version) if self.version.isdigit() else 0

    @property
    def validation(self) -> str:
        """Return the validation status tag, or `unknown`."""
        return self.tags.get(STATUS_TAG, "unknown")

    @property
    def rolled_back(self) -> str | None:
        """Return how serving was rolled back from this version, if it was."""
        return self.tags.get(ROLLED_BACK_TAG) or None

    @property
    def created(self) -> str:
        """Return when it was trained (else registered), as UTC to the minute."""
        at = self.trained_at or self.created_at
        return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")


class Registry:
    """Read (and, for the write tools, move aliases in) an MLflow registry."""

    def __init__(self, tracking_uri: str, ui_url: str | None = None, client: Any = None) -> None:
        self.tracking_uri = tracking_uri
        self.ui_url = ui_url.rstrip("/") if ui_url else None
        self._client = client

    @property
    def client(self) -> Any:
        """Return the MlflowClient, built on first use (importing mlflow is slow)."""
        if self._client is None:
            from mlflow import MlflowClient

            self._client = MlflowClient(
                tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri
            )
        return self._client

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Call the client; turn MLflow and connection failures into one-line errors."""
        try:
            return fn(*args, **kwargs)
        except OpsError:
            raise
        except Exception as exc:
            code = getattr(exc, "error_code", "")
            if code == "RESOURCE_DOES_NOT_EXIST":
                raise OpsError(f"MLflow: {what}: {_first_line(exc)}") from None
            raise BackendUnavailable(
                "MLflow",
                self.tracking_uri,
                f"{what}: {type(exc).__name__}: {_first_line(exc)}",
                "Check OPSLOOP_MLFLOW_TRACKING_URI and that the registry is reachable "
                "(a locked SQLite file clears once the other writer finishes).",
            ) from None

    def models(self) -> list[str]:
        """Return the registered model names."""
        found = self._call("list models", self.client.search_registered_models)
        return sorted(m.name for m in found)

    def resolve_model(self, name: str) -> str:
        """Return the registered model matching `name`, or raise UnknownEntity with hints."""
        return resolve(name, self.models(), "model")

    def model_info(self, name: str) -> dict[str, Any]:
        """Return a model's description, tags and alias map."""
        m = self._call(f"read model {name}", self.client.get_registered_model, name)
        return {
            "name": m.name,
            "description": m.description or "",
            "tags": dict(m.tags or {}),
            "aliases": {k: str(v) for k, v in (m.aliases or {}).items()},
        }

    def alias(self, name: str, alias: str) -> str | None:
        """Return the version an alias points at, or None."""
        return self.model_info(name)["aliases"].get(alias)

    def versions(self, name: str, with_runs: bool = True) -> list[VersionInfo]:
        """Return every version of a model, oldest first."""
        found = self._call(
            f"list versions of {name}", self.client.search_model_versions, f"name='{name}'"
        )
        infos = [self._info(v, with_runs) for v in found]
        return sorted(infos, key=lambda v: v.number)

    def version(self, name: str, version: str) -> VersionInfo:
        """Return one version, or raise UnknownVersion listing the ones that exist."""
        version = str(version).lower().removeprefix("v")
        for info in self.versions(name, with_runs=False):
            if info.version == version:
                raw = self._call(
                    f"read {name} v{version}", self.client.get_model_version, name, version
                )
                return self._info(raw, True)
        known = ", ".join(f"v{v.version}" for v in self.versions(name, with_runs=False))
        raise UnknownVersion(f"{name} has no version {version}; it has {known or 'none'}")

    def set_alias(self, name: str, alias: str, version: str) -> None:
        """Point `alias` at `version`."""
        self._call(
            f"set {name} {alias}",
            self.client.set_registered_model_alias,
            name,
            alias,
            str(version),
        )

    def delete_alias(self, name: str, alias: str) -> None:
        """Remove an alias."""
        self._call(f"delete {name} {alias}", self.client.delete_registered_model_alias, name, alias)

    def set_tags(self, name: str, version: str, tags: dict[str, str]) -> None:
        """Set tags on a version."""
        for key, value in tags.items():
            self._call(
                f"tag {name} v{version}",
                self.client.set_model_version_tag,
                name,
                str(version),
                key,
                str(value),
            )

    def model_link(self, name: str) -> str | None:
        """Return the MLflow UI page of a model."""
        return f"{self.ui_url}/#/models/{quote(name)}" if self.ui_url else None

    def version_link(self, name: str, version: str) -> str | None:
        """Return the MLflow UI page of a model version."""
        return f"{self.ui_url}/#/models/{quote(name)}/versions/{version}" if self.ui_url else None

    def run_link(self, info: VersionInfo) -> str | None:
        """Return the MLflow UI page of the run that produced a version."""
        if not (self.ui_url and info.run_id and info.experiment_id):
            return None
        return f"{self.ui_url}/#/experiments/{info.experiment_id}/runs/{info.run_id}"

    def _info(self, v: Any, with_run: bool) -> VersionInfo:
        metrics: dict[str, float] = {}
        params: dict[str, str] = {}
        experiment = None
        trained = None
        if with_run and v.run_id:
            try:
                run = self.client.get_run(v.run_id)
                metrics, params = dict(run.data.metrics), dict(run.data.params)
                experiment = run.info.experiment_id
                trained = run.info.start_time / 1000.0 if run.info.start_time else None
            except Exception:  # a deleted run leaves the version readable
                pass
        tags = dict(v.tags or {})
        return VersionInfo(
            model=v.name,
            version=str(v.version),
            aliases=tuple(sorted(getattr(v, "aliases", []) or [])),
            created_at=(v.creation_timestamp or 0) / 1000.0,
            created_by=tags.get("created_by") or v.user_id or "unknown",
            description=v.description or "",
            tags=tags,
            run_id=v.run_id,
            experiment_id=experiment,
            metrics=metrics,
            params=params,
            source=v.source or "",
            trained_at=trained,
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
