"""Start the sandbox's processes in order and wait until Prometheus scrapes the world."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import httpx

from opsloop.sandbox import configs
from opsloop.sandbox.procs import Managed, find_binary
from opsloop.sandbox.simulator import LIVE_FILE


def start_processes(
    root: Path, tsdb: Path, ports: dict[str, int], webhook: str
) -> dict[str, Managed]:
    """Start the simulator, Alertmanager and Prometheus; wait until the world is scraped."""
    rules = configs.write_yaml(root / "prometheus" / "rules.yml", configs.alert_rules())
    prom_cfg = configs.write_yaml(
        root / "prometheus" / "prometheus.yml",
        configs.prometheus_config(ports["exporter"], ports["alertmanager"], rules),
    )
    am_cfg = configs.write_yaml(
        root / "alertmanager" / "alertmanager.yml", configs.alertmanager_config(webhook)
    )
    started: dict[str, Managed] = {}
    try:
        started["simulator"] = Managed(
            "simulator",
            [sys.executable, "-m", "opsloop.sandbox.simulator", "--dir", str(root)],
            root / "simulator.log",
            f"http://127.0.0.1:{ports['exporter']}/healthz",
        ).start(deadline_s=60)
        started["alertmanager"] = Managed(
            "alertmanager",
            [
                find_binary("prometheus-alertmanager", "alertmanager"),
                f"--config.file={am_cfg}",
                f"--storage.path={root / 'alertmanager' / 'data'}",
                f"--web.listen-address=127.0.0.1:{ports['alertmanager']}",
                "--cluster.listen-address=",
            ],
            root / "alertmanager.log",
            f"http://127.0.0.1:{ports['alertmanager']}/-/ready",
        ).start()
        started["prometheus"] = Managed(
            "prometheus",
            [
                find_binary("prometheus"),
                f"--config.file={prom_cfg}",
                f"--storage.tsdb.path={tsdb}",
                f"--web.listen-address=127.0.0.1:{ports['prometheus']}",
                "--web.enable-lifecycle",
                "--storage.tsdb.retention.time=30d",
            ],
            root / "prometheus.log",
            f"http://127.0.0.1:{ports['prometheus']}/-/ready",
        ).start()
        _wait_first_scrape(f"http://127.0.0.1:{ports['prometheus']}")
        # The scenario clock starts now: Prometheus has seen the world before the fault.
        (root / LIVE_FILE).write_text(f"{time.time():.3f}")
    except Exception:
        for proc in started.values():
            proc.stop()
        raise
    return started


def _wait_first_scrape(prometheus_url: str, deadline_s: float = 30.0) -> None:
    """Wait until Prometheus has scraped the simulator at least once."""
    stop = time.monotonic() + deadline_s
    while time.monotonic() < stop:
        try:
            result = httpx.get(
                f"{prometheus_url}/api/v1/query",
                params={"query": 'up{job="sandbox"} == 1'},
                timeout=2,
            ).json()
            if result["data"]["result"]:
                return
        except (httpx.HTTPError, ValueError, KeyError):
            pass  # not up yet
        time.sleep(0.2)
    raise TimeoutError(f"Prometheus at {prometheus_url} did not scrape the simulator in time")
