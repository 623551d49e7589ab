"""Run the engine over past time, backfill it into a TSDB, and serve it from a real Prometheus."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from opsloop.sandbox.engine import Engine, Quality
from opsloop.sandbox.faults import Effects
from opsloop.sandbox.logs import LogWriter
from opsloop.sandbox.openmetrics import Recorder
from opsloop.sandbox.procs import Managed, backfill, free_port, prometheus
from opsloop.sandbox.world import SANDBOX, SCORE_BUCKETS

PROMETHEUS_CONFIG = """\
global:
  scrape_interval: {scrape}
  evaluation_interval: {scrape}
scrape_configs: []
"""


def grid(
    end: float,
    fine_hours: float,
    fine_step: float,
    coarse_hours: float = 0.0,
    coarse_step: float = 60.0,
    dense_s: float = 0.0,
    dense_step: float = 1.0,
) -> np.ndarray:
    """Return timestamps ending at `end`: coarse steps, `fine_hours` of fine steps, then the
    last `dense_s` seconds at `dense_step` (the live scrape interval).

    The dense tail matters at the seam with live scraping: a rate() window that mixes sparse
    history with dense live samples is under-extrapolated by Prometheus, so every counter
    would seem to dip for a few minutes after the sandbox goes live.
    """
    fine_end = end - dense_s
    fine_start = fine_end - fine_hours * 3600
    fine = fine_start + fine_step * np.arange(int(fine_hours * 3600 / fine_step) + 1)
    coarse_start = fine_start - coarse_hours * 3600
    coarse = coarse_start + coarse_step * np.arange(int(coarse_hours * 3600 / coarse_step))
    dense = fine_end + dense_step * np.arange(1, int(dense_s / dense_step) + 1)
    return np.concatenate([coarse, fine, dense])


def run_history(
    engine: Engine,
    timestamps: np.ndarray,
    effects: Callable[[float], Effects],
    champions: Callable[[float], dict[str, str]],
    logs: LogWriter | None = None,
    logs_from: float = 0.0,
) -> Recorder:
    """Step the engine through `timestamps`, recording every sample (and logs after `logs_from`)."""
    recorder = Recorder(len(timestamps) - 1)
    for prev, t in itertools.pairwise(timestamps):
        t = float(t)
        engine.step(t, t - float(prev), effects(t), champions(t))
        recorder.add(t, engine.samples())
        if logs is not None and t >= logs_from:
            logs.emit(t, t - float(prev), engine)
    return recorder


def backfill_recording(recorder: Recorder, workdir: Path) -> tuple[Path, int]:
    """Write the recording as OpenMetrics and turn it into TSDB blocks; return (tsdb, samples)."""
    workdir.mkdir(parents=True, exist_ok=True)
    om = workdir / "history.om"
    with om.open("w") as out:
        samples = recorder.write(out)
    tsdb = workdir / "tsdb"
    backfill(om, tsdb)
    om.unlink()
    return tsdb, samples


def constant_quality(auc: float = 0.93) -> Callable[..., Quality]:
    """A model-quality function without a registry: fixed AUC, calm scores, no drift."""
    cdf = [min(1.0, 0.55 + 0.45 * le) for le in SCORE_BUCKETS]

    def quality(model: str, version: str, drift: float, scale: tuple) -> Quality:
        return Quality(
            auc=auc,
            score_cdf=cdf,
            score_mean=0.08,
            psi={"amount": 0.01, "merchant_risk": 0.02},
            inference_s=0.002,
        )

    return quality


def start_prometheus_with_history(
    workdir: Path,
    *,
    hours: float = 2.0,
    step_s: float = 15.0,
    seed: int = 7,
    end: float | None = None,
    port: int | None = None,
    deploys: dict[str, list[float]] | None = None,
) -> tuple[Managed, str]:
    """Serve `hours` of a calm world from a real Prometheus (no registry, no live scraping);
    `deploys` (service → times) appear as kube-state-metrics rollouts."""
    stop = float(int(end if end is not None else time.time()))
    engine = Engine(SANDBOX, constant_quality(), seed=seed, deploys=dict(deploys or {}))
    champions = {"fraud-detector": "3", "recsys-ranker": "3"}
    recorder = run_history(
        engine, grid(stop, hours, step_s), lambda t: Effects(), lambda t: champions
    )
    tsdb, _ = backfill_recording(recorder, workdir)
    config = workdir / "prometheus.yml"
    config.write_text(PROMETHEUS_CONFIG.format(scrape=f"{int(step_s)}s"))
    port = port or free_port()
    proc = prometheus(tsdb, port, config).start()
    return proc, f"http://127.0.0.1:{port}"
