"""Backfill the world's metric history into a TSDB and serve it from a real Prometheus."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from sandbox import openmetrics
from sandbox.procs import Managed, backfill, free_port, prometheus
from sandbox.world import build_history

PROMETHEUS_CONFIG = """\
global:
  scrape_interval: {scrape}
  evaluation_interval: {scrape}
scrape_configs: []
"""


def write_history(
    path: Path, *, hours: float, step_s: float, seed: int, end: float | None = None
) -> tuple[float, float, int]:
    """Write `hours` of history ending at `end` (Unix s) to `path`; return (start, end, samples)."""
    stop = float(int(end if end is not None else time.time()))
    count = int(hours * 3600 / step_s)
    timestamps = stop - step_s * np.arange(count - 1, -1, -1, dtype=float)
    families = build_history(timestamps, seed=seed)
    with path.open("w") as out:
        samples = openmetrics.write(out, families, timestamps.tolist())
    return float(timestamps[0]), stop, samples


def start_prometheus_with_history(
    workdir: Path,
    *,
    hours: float = 2.0,
    step_s: float = 15.0,
    seed: int = 7,
    end: float | None = None,
    port: int | None = None,
) -> tuple[Managed, str]:
    """Generate history, backfill it with promtool, start Prometheus; return it and its URL."""
    workdir.mkdir(parents=True, exist_ok=True)
    om = workdir / "history.om"
    write_history(om, hours=hours, step_s=step_s, seed=seed, end=end)
    tsdb = workdir / "tsdb"
    backfill(om, tsdb)
    om.unlink()
    config = workdir / "prometheus.yml"
    config.write_text(PROMETHEUS_CONFIG.format(scrape=f"{int(step_s)}s"))
    port = port or free_port()
    proc = prometheus(tsdb, port, config).start()
    return proc, f"http://127.0.0.1:{port}"
