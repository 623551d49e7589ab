"""Model registry tools (read-only): what is serving, version details, comparisons."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from opsloop.tools.backends.changelog import ChangeEvent, ChangeLog
from opsloop.tools.backends.mlflow_registry import CHALLENGER, CHAMPION, Registry, VersionInfo
from opsloop.tools.base import Evidence, OpsTool, ToolResult, ToolStatus, ops_tool

# Metrics worth a column in tables, in this order when present; others follow by name.
KEY_METRICS = ("auc", "logloss", "precision_at_5pct", "recall_at_5pct")
SHOWN_PARAMS = 8


@dataclass
class RegistryContext:
    """What the registry tools need, injected by the caller."""

    registry: Registry
    changelog: ChangeLog | None = None
    now: Callable[[], float] = field(default=time.time)

    def alias_history(self, model: str, alias: str = CHAMPION) -> list[ChangeEvent]:
        """Return the recorded moves of an alias, oldest first."""
        if self.changelog is None:
            return []
        return [
            e
            for e in self.changelog.events(target=model)
            if e.kind == "alias_move" and e.detail.get("alias") == alias
        ]


class ModelStatusArgs(BaseModel):
    """Arguments of model_status."""

    model: str | None = Field(None, description="Registered model name; every model if unset.")


class CompareArgs(BaseModel):
    """Arguments of compare_model_versions."""

    model: str = Field(description="Registered model name.")
    version_a: str | None = Field(None, description="First version (default: the champion).")
    version_b: str | None = Field(
        None, description="Second version (default: the challenger, else the newest other)."
    )


def metric_text(metrics: dict[str, float], limit: int = 4) -> str:
    """Render the key metrics of a run compactly."""
    names = [m for m in KEY_METRICS if m in metrics] or sorted(metrics)
    return ", ".join(f"{m} {metrics[m]:.4g}" for m in names[:limit]) or "no metrics logged"


def version_line(v: VersionInfo) -> str:
    """Describe one version in a line."""
    aliases = f" [{', '.join(v.aliases)}]" if v.aliases else ""
    algo = v.params.get("algorithm", "")
    back = f"; rolled back from ({v.rolled_back})" if v.rolled_back else ""
    return (
        f"v{v.version}{aliases}: {algo + ', ' if algo else ''}{metric_text(v.metrics)}; "
        f"validation {v.validation}; trained {v.created} by {v.created_by}{back}"
    )


def version_evidence(ctx: RegistryContext, v: VersionInfo, tool: str) -> Evidence:
    """Build the evidence record of one version (its metrics are checkable figures)."""
    return Evidence(
        tool=tool,
        query=f"mlflow: {v.model} version {v.version}",
        summary=version_line(v),
        link=ctx.registry.version_link(v.model, v.version),
        values={k: float(x) for k, x in v.metrics.items()},
    )


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")


def registry_tools(ctx: RegistryContext) -> list[OpsTool]:
    """Build the read-only registry tools bound to the context."""

    def model_status(model: str | None = None) -> ToolResult:
        """Show which version of a model is serving (the `champion` alias), the `challenger`,
        every version with its metrics and validation status, and the champion's history.
        Without a model, list every registered model with its champion. Use it for "which
        fraud-detector version is serving?" or "what models are there?"."""
        if model is None:
            return _overview(ctx)
        name = ctx.registry.resolve_model(model)
        info = ctx.registry.model_info(name)
        versions = ctx.registry.versions(name)
        if not versions:
            return ToolResult(status=ToolStatus.NO_DATA, summary=f"{name} has no versions yet.")
        champion = info["aliases"].get(CHAMPION)
        challenger = info["aliases"].get(CHALLENGER)
        by_version = {v.version: v for v in versions}
        lines = [
            f"{name}: champion v{champion or '-'} (serving), challenger v{challenger or '-'}; "
            f"{len(versions)} versions. {info['description']}".strip()
        ]
        lines += [f"- {version_line(v)}" for v in reversed(versions)]
        history = ctx.alias_history(name)
        if history:
            lines.append("champion history: " + "; ".join(_move(e) for e in history[-4:]))
        evidence = [
            version_evidence(ctx, by_version[v], "model_status")
            for v in (champion, challenger)
            if v and v in by_version
        ]
        evidence.append(
            Evidence(
                tool="model_status",
                query=f"mlflow: registered model {name}",
                summary=lines[0],
                link=ctx.registry.model_link(name),
            )
        )
        return ToolResult(
            status=ToolStatus.OK,
            summary="\n".join(lines),
            data={
                "model": name,
                "champion": champion,
                "challenger": challenger,
                "versions": [_version_data(v) for v in versions],
                "champion_history": [_event_data(e) for e in history],
            },
            evidence=evidence,
        )

    def compare_model_versions(
        model: str, version_a: str | None = None, version_b: str | None = None
    ) -> ToolResult:
        """Compare two versions of a model: metric deltas (b − a), parameter differences,
        data version, code version and who built each. Defaults: a = champion, b = challenger
        (else the newest other version). Use it for "compare v7 and v8"."""
        name = ctx.registry.resolve_model(model)
        aliases = ctx.registry.model_info(name)["aliases"]
        a_id = version_a or aliases.get(CHAMPION)
        if a_id is None:
            return ToolResult.failure(f"{name} has no champion; name both versions to compare.")
        a = ctx.registry.version(name, a_id)
        if version_b is None:
            others = [v for v in ctx.registry.versions(name, False) if v.version != a.version]
            pick = aliases.get(CHALLENGER)
            if pick in (None, a.version):
                pick = others[-1].version if others else None
            if pick is None:
                return ToolResult.failure(f"{name} has only v{a.version}; nothing to compare.")
            version_b = pick
        b = ctx.registry.version(name, version_b)
        lines = [f"{name} v{a.version} → v{b.version} (b − a):"]
        deltas: dict[str, float] = {}
        for metric in sorted(set(a.metrics) | set(b.metrics), key=_metric_order):
            if metric in a.metrics and metric in b.metrics:
                deltas[metric] = b.metrics[metric] - a.metrics[metric]
                lines.append(
                    f"- {metric}: {a.metrics[metric]:.4g} → {b.metrics[metric]:.4g} "
                    f"({deltas[metric]:+.4g})"
                )
        params = _param_diff(a.params, b.params)
        if params:
            lines.append(
                "- params changed: "
                + "; ".join(f"{k} {x} → {y}" for k, x, y in params[:SHOWN_PARAMS])
            )
        else:
            lines.append("- params: identical")
        for tag in ("data_version", "git_sha", "validation_status", "created_by"):
            x, y = a.tags.get(tag, "-"), b.tags.get(tag, "-")
            lines.append(f"- {tag}: {x} → {y}" if x != y else f"- {tag}: {x} (same)")
        evidence = [version_evidence(ctx, v, "compare_model_versions") for v in (a, b)]
        return ToolResult(
            status=ToolStatus.OK,
            summary="\n".join(lines),
            data={
                "model": name,
                "a": _version_data(a),
                "b": _version_data(b),
                "metric_deltas": deltas,
                "param_changes": [{"param": k, "a": x, "b": y} for k, x, y in params],
            },
            evidence=evidence,
        )

    return [
        ops_tool(model_status, name="model_status", args_schema=ModelStatusArgs),
        ops_tool(compare_model_versions, name="compare_model_versions", args_schema=CompareArgs),
    ]


def _overview(ctx: RegistryContext) -> ToolResult:
    names = ctx.registry.models()
    if not names:
        return ToolResult(status=ToolStatus.NO_DATA, summary="The registry has no models.")
    lines, evidence, data = [f"{len(names)} registered model(s):"], [], []
    for name in names:
        aliases = ctx.registry.model_info(name)["aliases"]
        champion = aliases.get(CHAMPION)
        row = f"- {name}: champion v{champion or '-'}"
        if aliases.get(CHALLENGER):
            row += f", challenger v{aliases[CHALLENGER]}"
        lines.append(row)
        data.append({"model": name, "aliases": aliases})
        evidence.append(
            Evidence(
                tool="model_status",
                query=f"mlflow: registered model {name}",
                summary=row[2:],
                link=ctx.registry.model_link(name),
            )
        )
    return ToolResult(
        status=ToolStatus.OK, summary="\n".join(lines), data={"models": data}, evidence=evidence
    )


def _move(e: ChangeEvent) -> str:
    d = e.detail
    return f"{_when(e.at)} v{d.get('from') or '-'} → v{d.get('to')} by {e.who}"


def _metric_order(name: str) -> tuple[int, str]:
    return (KEY_METRICS.index(name) if name in KEY_METRICS else len(KEY_METRICS), name)


def _param_diff(a: dict[str, str], b: dict[str, str]) -> list[tuple[str, str, str]]:
    keys = sorted(set(a) | set(b))
    return [(k, a.get(k, "-"), b.get(k, "-")) for k in keys if a.get(k) != b.get(k)]


def _version_data(v: VersionInfo) -> dict[str, Any]:
    return {
        "version": v.version,
        "aliases": list(v.aliases),
        "validation": v.validation,
        "metrics": v.metrics,
        "created_at": v.created_at,
        "created_by": v.created_by,
        "run_id": v.run_id,
        "data_version": v.tags.get("data_version"),
        "git_sha": v.tags.get("git_sha"),
    }


def _event_data(e: ChangeEvent) -> dict[str, Any]:
    return {
        "at": e.at,
        "when": e.when,
        "who": e.who,
        "kind": e.kind,
        "target": e.target,
        "summary": e.summary,
        "detail": e.detail,
    }
