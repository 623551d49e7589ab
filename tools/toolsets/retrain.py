"""retrain_model, promote_model and job_status: retraining as a job, promotion behind a gate."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from opsloop.tools.actor import current_actor
from opsloop.tools.backends.aliases import move_alias
from opsloop.tools.backends.jobs import EVAL_TAGS, Job, JobStore, pid_alive, spawn_worker
from opsloop.tools.backends.mlflow_registry import CHALLENGER, CHAMPION, VersionInfo
from opsloop.tools.backends.orchestrators import Orchestrator, OrchestratorError
from opsloop.tools.backends.prometheus.promql import parse_duration
from opsloop.tools.base import Evidence, OpsTool, ToolResult, ToolStatus, ops_tool
from opsloop.tools.errors import OpsError
from opsloop.tools.redact import redact
from opsloop.tools.toolsets.registry import RegistryContext, version_evidence

LOG_TAIL = 8


@dataclass
class RetrainContext:
    """What the retraining tools need, injected by the caller."""

    reg: RegistryContext
    jobs: JobStore
    command: list[str]  # local pipeline template; empty = not configured
    orchestrator: Orchestrator | None = None  # set when retraining runs elsewhere
    changelog_path: Path | str | None = None  # a SQLite file or the PostgreSQL URL
    metric: str = "auc"
    margin: float = 0.01
    secrets: tuple[str, ...] = ()

    @property
    def backend(self) -> str:
        """Return where jobs run: `local` or the orchestrator's name."""
        return self.orchestrator.name if self.orchestrator else "local"


class RetrainArgs(BaseModel):
    """Arguments of retrain_model."""

    model: str = Field(description="Registered model name.")
    window: str = Field("7d", description="Training data window ending now, e.g. 7d, 24h.")


class PromoteArgs(BaseModel):
    """Arguments of promote_model."""

    model: str = Field(description="Registered model name.")
    version: str | None = Field(None, description="Version to promote; default the challenger.")


class JobArgs(BaseModel):
    """Arguments of job_status."""

    job_id: str | None = Field(None, description="Job id (J-…); default the newest job.")
    model: str | None = Field(None, description="Newest job of this model.")


@dataclass(frozen=True)
class Gate:
    """The promotion gate's verdict for one version."""

    passed: bool
    reason: str
    challenger: float | None = None
    champion: float | None = None


def check_gate(ctx: RetrainContext, v: VersionInfo, champion: str | None) -> Gate:
    """Check a version against the promotion gate: validated, evaluated now, better by margin."""
    if v.validation == "failed":
        return Gate(False, f"v{v.version} failed validation (validation_status=failed)")
    tags = v.tags
    if EVAL_TAGS["challenger"] not in tags or EVAL_TAGS["champion"] not in tags:
        return Gate(
            False,
            f"v{v.version} has no challenger-vs-champion evaluation "
            f"(tags {EVAL_TAGS['challenger']}, {EVAL_TAGS['champion']}); retrain it with "
            "opsloop or have the pipeline set them",
        )
    metric = tags.get(EVAL_TAGS["metric"], ctx.metric)
    if metric != ctx.metric:
        return Gate(False, f"v{v.version} was evaluated on {metric}, the gate needs {ctx.metric}")
    against = tags.get(EVAL_TAGS["champion_version"])
    if champion and against and against != champion:
        return Gate(
            False,
            f"v{v.version} was compared with v{against}, but the champion is now v{champion}; "
            "retrain or re-evaluate first",
        )
    mine, theirs = float(tags[EVAL_TAGS["challenger"]]), float(tags[EVAL_TAGS["champion"]])
    higher = tags.get(EVAL_TAGS["higher_is_better"], "true").lower() != "false"
    gain = (mine - theirs) if higher else (theirs - mine)
    window = tags.get(EVAL_TAGS["window"], "the recent window")
    verdict = (
        f"{metric} {mine:.4f} vs champion v{against or champion} {theirs:.4f} on {window} "
        f"(gain {gain:+.4f}, needs ≥ {ctx.margin:+.4f})"
    )
    return Gate(gain >= ctx.margin, verdict, mine, theirs)


def retrain_tools(ctx: RetrainContext) -> list[OpsTool]:
    """Build retrain_model, promote_model and job_status."""

    def fill(template: list[str], model: str, window: str) -> list[str]:
        values = {
            "model": model,
            "window": window,
            "tracking_uri": ctx.reg.registry.tracking_uri,
            "requested_by": current_actor(),
        }
        try:
            return [part.format(**values) for part in template]
        except (KeyError, IndexError) as exc:
            raise OpsError(f"retrain_command has an unknown placeholder {exc}") from None

    def retrain_preview(args: dict[str, Any]) -> str:
        name = ctx.reg.registry.resolve_model(args["model"])
        window = args.get("window") or "7d"
        parse_duration(window)
        if ctx.orchestrator is not None:
            where = ctx.orchestrator.describe(name, {"window": window})
        elif ctx.command:
            where = "run `" + " ".join(fill(ctx.command, name, window)) + "` in the background"
        else:
            raise OpsError(_NOT_CONFIGURED)
        return (
            f"start a retraining job for {name} on the last {window}: {where}; the new version "
            f"becomes `{CHALLENGER}` (the champion keeps serving until a promotion)"
        )

    def retrain_model(model: str, window: str = "7d") -> ToolResult:
        """Start retraining a model on recent data as a background job. The new version is
        registered with alias `challenger` and evaluated against the champion on the most
        recent labelled window; serving does not change until promote_model. Needs a
        person's approval. Check progress with job_status."""
        name = ctx.reg.registry.resolve_model(model)
        parse_duration(window)
        who = current_actor()
        if ctx.orchestrator is not None:
            job = ctx.jobs.create(name, window, ctx.backend, who)
            try:
                remote = ctx.orchestrator.submit(name, {"window": window})
            except OrchestratorError as exc:
                ctx.jobs.update(job.id, status="failed", error=str(exc), finished_at=time.time())
                return ToolResult.failure(f"retraining {name} was not started: {exc}")
            ctx.jobs.update(
                job.id, status=remote.state, external_id=remote.external_id, url=remote.url
            )
            where = f"{ctx.backend} run {remote.external_id}"
        elif ctx.command:
            log = ctx.jobs.path.parent / "jobs"
            log.mkdir(parents=True, exist_ok=True)
            job = ctx.jobs.create(
                name,
                window,
                "local",
                who,
                command=fill(ctx.command, name, window),
                tracking_uri=ctx.reg.registry.tracking_uri,
                changelog_path=str(ctx.changelog_path) if ctx.changelog_path else None,
            )
            job.log_path = str(log / f"{job.id}.log")
            ctx.jobs.update(job.id, log_path=job.log_path)
            spawn_worker(ctx.jobs, job)
            where = "a local background job"
        else:
            return ToolResult.failure(_NOT_CONFIGURED)
        return ToolResult(
            status=ToolStatus.OK,
            summary=(
                f"Retraining {name} on the last {window} started as {where}: job {job.id}. "
                f"The new version will be `{CHALLENGER}`; ask for the status of job {job.id}."
            ),
            data={"job_id": job.id, "model": name, "window": window, "backend": ctx.backend},
            evidence=[_job_evidence(ctx, ctx.jobs.get(job.id) or job, "retrain_model")],
        )

    def promote_preview(args: dict[str, Any]) -> str:
        name, v, champion, gate = _promotion(args)
        if not gate.passed:
            raise OpsError(f"promotion gate not passed for {name} v{v.version}: {gate.reason}")
        return f"move {name} {CHAMPION} v{champion or '-'} → v{v.version}; gate: {gate.reason}"

    def promote_pin(args: dict[str, Any]) -> dict[str, Any]:
        name, v, _, _ = _promotion(args)
        return {"model": name, "version": v.version}

    def _promotion(args: dict[str, Any]) -> tuple[str, VersionInfo, str | None, Gate]:
        name = ctx.reg.registry.resolve_model(args["model"])
        aliases = ctx.reg.registry.model_info(name)["aliases"]
        wanted = args.get("version") or aliases.get(CHALLENGER)
        if wanted is None:
            raise OpsError(f"{name} has no {CHALLENGER}; retrain it first or name a version")
        v = ctx.reg.registry.version(name, wanted)
        champion = aliases.get(CHAMPION)
        if v.version == champion:
            raise OpsError(f"v{v.version} is already the {CHAMPION} of {name}")
        return name, v, champion, check_gate(ctx, v, champion)

    def promote_model(model: str, version: str | None = None) -> ToolResult:
        """Promote a model version (default: the `challenger`) to `champion`, so serving loads
        it. Gated: the version must have passed validation and beaten the current champion by
        the configured margin on the most recent labelled window. Needs a person's approval."""
        try:
            name, v, champion, gate = _promotion({"model": model, "version": version})
        except OpsError as exc:
            return ToolResult.failure(f"Promotion refused: {exc}.")
        evidence = [version_evidence(ctx.reg, v, "promote_model")]
        if not gate.passed:
            return ToolResult(
                status=ToolStatus.ERROR,
                summary=f"Promotion refused: the gate did not pass for {name} v{v.version}: "
                f"{gate.reason}. The champion stays v{champion}.",
                error=gate.reason,
                evidence=evidence,
            )
        who = current_actor()
        move_alias(
            ctx.reg.registry,
            ctx.reg.changelog,
            name,
            CHAMPION,
            v.version,
            who=who,
            reason="promotion",
        )
        if ctx.reg.registry.alias(name, CHALLENGER) == v.version:
            ctx.reg.registry.delete_alias(name, CHALLENGER)
        return ToolResult(
            status=ToolStatus.OK,
            summary=(
                f"Promoted {name} v{v.version} to {CHAMPION} (was v{champion or '-'}), approved "
                f"by {who}; gate: {gate.reason}."
            ),
            data={"model": name, "from": champion, "to": v.version},
            evidence=evidence,
        )

    def job_status(job_id: str | None = None, model: str | None = None) -> ToolResult:
        """Show a retraining job: queued, running, succeeded or failed, the version it
        registered with its evaluation against the champion, and the tail of its log.
        Without arguments, the newest job."""
        if job_id:
            job = ctx.jobs.get(job_id.strip())
            if job is None:
                known = ", ".join(j.id for j in ctx.jobs.latest(limit=5)) or "none"
                return ToolResult.failure(f"no retraining job {job_id}; recent jobs: {known}")
        else:
            name = ctx.reg.registry.resolve_model(model) if model else None
            jobs = ctx.jobs.latest(name, limit=1)
            if not jobs:
                return ToolResult(status=ToolStatus.NO_DATA, summary="No retraining jobs yet.")
            job = jobs[0]
        job = _refresh(ctx, job)
        lines = [_job_line(job)]
        result = job.result or {}
        evaluation = result.get("evaluation") or {}
        if result.get("version"):
            metrics = result.get("metrics") or {}
            lines.append(
                f"registered {job.model} v{result['version']} as {CHALLENGER}"
                + (
                    f" ({ctx.metric} {metrics[ctx.metric]:.4f} offline)"
                    if ctx.metric in metrics
                    else ""
                )
            )
        if evaluation:
            lines.append(
                f"evaluation on {evaluation.get('window', 'the recent window')}: "
                f"{evaluation.get('metric')} challenger {float(evaluation['challenger']):.4f} vs "
                f"champion v{evaluation.get('champion_version')} "
                f"{float(evaluation['champion']):.4f}"
            )
        if job.error:
            lines.append(f"error: {job.error}")
        tail = _log_tail(job, ctx.secrets)
        if tail:
            lines.append("log tail:\n" + "\n".join(f"  {line}" for line in tail))
        return ToolResult(
            status=ToolStatus.OK,
            summary="\n".join(lines),
            data={
                "job_id": job.id,
                "status": job.status,
                "model": job.model,
                "result": job.result,
                "error": job.error,
                "log_tail": tail,
            },
            evidence=[_job_evidence(ctx, job, "job_status")],
        )

    return [
        ops_tool(
            retrain_model,
            name="retrain_model",
            args_schema=RetrainArgs,
            risk="write",
            preview=retrain_preview,
            timeout_s=60,
        ),
        ops_tool(
            promote_model,
            name="promote_model",
            args_schema=PromoteArgs,
            risk="write",
            preview=promote_preview,
            pin=promote_pin,
        ),
        ops_tool(job_status, name="job_status", args_schema=JobArgs),
    ]


_NOT_CONFIGURED = (
    "no training pipeline is configured: set OPSLOOP_RETRAIN_COMMAND (a command template "
    "with {model} and {window}) or OPSLOOP_RETRAIN_BACKEND=airflow|argo|kubeflow with "
    "OPSLOOP_RETRAIN_URL and OPSLOOP_RETRAIN_TARGET"
)


def _refresh(ctx: RetrainContext, job: Job) -> Job:
    """Bring a job's status up to date: ask the orchestrator, or notice a dead worker."""
    if job.status in ("succeeded", "failed"):
        return job
    if job.backend != "local" and ctx.orchestrator is not None and job.external_id:
        try:
            remote = ctx.orchestrator.status(job.external_id)
        except OrchestratorError as exc:
            job.error = f"status unknown: {exc}"
            return job
        fields: dict[str, Any] = {"status": remote.state}
        if remote.state in ("succeeded", "failed"):
            fields["finished_at"] = time.time()
        if remote.detail:
            fields["error"] = remote.detail if remote.state == "failed" else None
        ctx.jobs.update(job.id, **fields)
    elif job.backend == "local" and job.pid and not pid_alive(job.pid):
        # The worker records its own outcome; a dead worker that did not is a crash.
        fresh = ctx.jobs.get(job.id)
        if fresh and fresh.status not in ("succeeded", "failed"):
            ctx.jobs.update(
                job.id,
                status="failed",
                finished_at=time.time(),
                error=f"the job's worker (pid {job.pid}) exited without reporting; see its log",
            )
    return ctx.jobs.get(job.id) or job


def _job_line(job: Job) -> str:
    started = _clock(job.started_at or job.created_at)
    took = ""
    if job.finished_at and job.started_at:
        took = f", took {job.finished_at - job.started_at:.0f} s"
    return (
        f"job {job.id} ({job.backend}): {job.status} — retrain {job.model} on the last "
        f"{job.window}, requested by {job.requested_by}, started {started}{took}"
    )


def _clock(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _log_tail(job: Job, secrets: tuple[str, ...]) -> list[str]:
    if not job.log_path:
        return []
    try:
        lines = Path(job.log_path).read_text(errors="replace").strip().splitlines()
    except OSError:
        return []
    return [redact(line[:300], secrets) for line in lines[-LOG_TAIL:]]


def _job_evidence(ctx: RetrainContext, job: Job, tool: str) -> Evidence:
    link = job.url
    version = (job.result or {}).get("version")
    if link is None and version:
        link = ctx.reg.registry.version_link(job.model, str(version))
    return Evidence(tool=tool, query=f"job {job.id}", summary=_job_line(job), link=link)


__all__ = ["Gate", "RetrainContext", "check_gate", "retrain_tools"]
