"""Retraining jobs: a SQLite job table and the detached worker that runs a local pipeline.

The worker is its own process (`python -m opsloop.tools.backends.jobs --db DB --job ID`),
started in a new session, so a job outlives the `opsloop ask` that queued it. It runs the configured
training command, reads the JSON object the command prints last (`version`, `run_id`,
`metrics`, `evaluation`), points the `challenger` alias at the new version, stores the
evaluation as version tags for the promotion gate, and records the outcome.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from opsloop.tools.backends.db import connect

WORKER = "opsloop.tools.backends.jobs"  # this module, run as the detached worker
SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    window TEXT NOT NULL,
    backend TEXT NOT NULL,
    status TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    pid INTEGER,
    external_id TEXT,
    url TEXT,
    log_path TEXT,
    config TEXT NOT NULL,
    result TEXT,
    error TEXT
);
"""
STATES = ("queued", "running", "succeeded", "failed")
# Version tags the promotion gate reads; any pipeline (local or orchestrated) may set them.
EVAL_TAGS = {
    "metric": "eval_metric",
    "challenger": "eval_challenger",
    "champion": "eval_champion",
    "champion_version": "eval_champion_version",
    "higher_is_better": "eval_higher_is_better",
    "rows": "eval_rows",
    "window": "eval_window",
}


@dataclass
class Job:
    """One retraining job."""

    id: str
    model: str
    window: str
    backend: str
    status: str
    requested_by: str
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    pid: int | None = None
    external_id: str | None = None
    url: str | None = None
    log_path: str | None = None
    config: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error: str | None = None


class JobStore:
    """Jobs in SQLite, shared by the tools and the worker processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = connect(path)
        self._conn.executescript(SCHEMA)
        self._lock = threading.Lock()

    def create(self, model: str, window: str, backend: str, requested_by: str, **config: Any):
        """Insert a queued job and return it."""
        job = Job(
            id=f"J-{uuid.uuid4().hex[:8]}",
            model=model,
            window=window,
            backend=backend,
            status="queued",
            requested_by=requested_by,
            created_at=time.time(),
            config=config,
        )
        row = asdict(job)
        row["config"] = json.dumps(config, default=str)
        with self._lock:
            self._conn.execute(
                f"INSERT INTO jobs ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                list(row.values()),
            )
        return job

    def update(self, job_id: str, **fields: Any) -> None:
        """Set fields of a job (dicts are stored as JSON)."""
        values = [json.dumps(v, default=str) if isinstance(v, dict) else v for v in fields.values()]
        with self._lock:
            self._conn.execute(
                f"UPDATE jobs SET {', '.join(f'{k} = ?' for k in fields)} WHERE id = ?",
                [*values, job_id],
            )

    def get(self, job_id: str) -> Job | None:
        """Return one job, or None."""
        with self._lock:
            row = self._conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row) if row else None

    def latest(self, model: str | None = None, limit: int = 10) -> list[Job]:
        """Return the newest jobs first, optionally for one model."""
        query, args = "SELECT * FROM jobs", []
        if model:
            query, args = query + " WHERE model = ?", [model]
        with self._lock:
            rows = self._conn.execute(
                query + " ORDER BY created_at DESC LIMIT ?", [*args, limit]
            ).fetchall()
        return [_job(r) for r in rows]


def _job(row: Any) -> Job:
    data = dict(row)
    for key in ("config", "result"):
        data[key] = json.loads(data[key]) if data[key] else None
    return Job(**data)


def spawn_worker(store: JobStore, job: Job) -> int:
    """Start the detached worker for a local job; return its pid."""
    log = Path(job.log_path or store.path.parent / f"{job.id}.log")
    with log.open("ab") as handle:
        proc = subprocess.Popen(
            [sys.executable, "-m", WORKER, "--db", str(store.path), "--job", job.id],
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlive the CLI that queued it
            cwd=Path(__file__).resolve().parents[1],
        )
    store.update(job.id, pid=proc.pid)
    return proc.pid


def pid_alive(pid: int | None) -> bool:
    """Tell whether a process still runs (a zombie counts as finished)."""
    if not pid:
        return False
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ", 1)[1][:1] != "Z"
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True


def last_json(text: str) -> dict[str, Any] | None:
    """Return the last line of `text` that is a JSON object."""
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{") and line.endswith("}"):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                return value
    return None


def run_job(store: JobStore, job_id: str) -> int:
    """Run one local job to the end and record its outcome; return an exit code."""
    from opsloop.tools.backends.aliases import move_alias
    from opsloop.tools.backends.changelog import ChangeLog
    from opsloop.tools.backends.mlflow_registry import CHALLENGER, Registry

    job = store.get(job_id)
    if job is None:
        print(f"no job {job_id} in {store.path}", file=sys.stderr)
        return 2
    cfg = job.config or {}
    store.update(job.id, status="running", started_at=time.time(), pid=os.getpid())
    print(f"$ {' '.join(cfg['command'])}", flush=True)
    try:
        proc = subprocess.run(
            cfg["command"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=float(cfg.get("timeout_s", 3600)),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        store.update(job.id, status="failed", finished_at=time.time(), error=str(exc)[:500])
        return 1
    sys.stdout.write(proc.stdout + proc.stderr)
    sys.stdout.flush()
    result = last_json(proc.stdout)
    if proc.returncode != 0 or result is None or "version" not in result:
        why = (
            f"training command exited {proc.returncode}"
            if proc.returncode
            else "training command printed no JSON result with a version"
        )
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [""]
        store.update(
            job.id, status="failed", finished_at=time.time(), error=f"{why}: {tail[0][:300]}"
        )
        return 1
    version = str(result["version"])
    registry = Registry(cfg["tracking_uri"])
    changelog = ChangeLog.open(cfg["changelog_path"]) if cfg.get("changelog_path") else None
    try:
        evaluation = result.get("evaluation") or {}
        tags = {tag: evaluation[key] for key, tag in EVAL_TAGS.items() if key in evaluation}
        registry.set_tags(job.model, version, {**tags, "retrain_job": job.id})
        move_alias(
            registry,
            changelog,
            job.model,
            CHALLENGER,
            version,
            who=job.requested_by,
            reason=f"retrained by job {job.id}",
        )
    except Exception as exc:
        store.update(job.id, status="failed", finished_at=time.time(), error=str(exc)[:500])
        return 1
    store.update(job.id, status="succeeded", finished_at=time.time(), result=result)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Worker entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m opsloop.tools.backends.jobs", description=run_job.__doc__
    )
    parser.add_argument("--db", type=Path, required=True, help="job database (SQLite)")
    parser.add_argument("--job", required=True, help="job id")
    args = parser.parse_args(argv)
    return run_job(JobStore(args.db), args.job)


if __name__ == "__main__":
    sys.exit(main())
