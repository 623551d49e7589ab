"""Start, wait for and stop the real backend binaries (Prometheus, promtool, Alertmanager)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

INSTALL_HINT = (
    "install it with `apt-get install prometheus prometheus-alertmanager` on Debian/Ubuntu, "
    "or download it from https://prometheus.io/download/ and put it on PATH"
)


class MissingBinary(RuntimeError):
    """A required program is not installed."""


def find_binary(*names: str) -> str:
    """Return the first of `names` found on PATH, or raise MissingBinary with a fix."""
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    raise MissingBinary(f"{names[0]} not found on PATH: {INSTALL_HINT}")


def port_in_use(port: int) -> bool:
    """Return True if something already listens on loopback `port`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def free_port() -> int:
    """Return a free TCP port on loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, deadline_s: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    """Poll `url` until it answers 200, the process dies, or the deadline passes."""
    stop = time.monotonic() + deadline_s
    delay = 0.05
    last = "no answer"
    while time.monotonic() < stop:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with code {proc.returncode} before {url} was ready")
        try:
            response = httpx.get(url, timeout=2.0)
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)
    raise TimeoutError(f"{url} not ready after {deadline_s:.0f}s ({last})")


@dataclass
class Managed:
    """A background server process with its log file."""

    name: str
    argv: Sequence[str]
    log_path: Path
    ready_url: str
    env: dict[str, str] | None = None  # None: this process's environment
    proc: subprocess.Popen | None = field(default=None, repr=False)

    def start(self, deadline_s: float = 30.0) -> Managed:
        """Start the process and wait until `ready_url` answers."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            list(self.argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=self.env,
            start_new_session=True,  # so Ctrl-C in a terminal does not kill it half-way
        )
        log.close()
        try:
            wait_http(self.ready_url, deadline_s, self.proc)
        except Exception as exc:
            self.stop()
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
            last = lines[-1][:300] if lines else "(empty log)"
            raise RuntimeError(
                f"{self.name} failed to start: {exc}; last log line: {last} "
                f"(full log: {self.log_path})"
            ) from exc
        return self

    @property
    def pid(self) -> int | None:
        """Return the process id while running."""
        return self.proc.pid if self.proc else None

    def stop(self, timeout_s: float = 10.0) -> None:
        """Terminate the process, killing it if it does not exit in time."""
        if self.proc is not None:
            stop_process(self.proc, timeout_s)


def stop_process(
    proc: subprocess.Popen, timeout_s: float = 10.0, sig: int = signal.SIGTERM
) -> None:
    """Send `sig` to a child and wait for it, killing it if it does not exit in time."""
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout_s)


def stop_pid(pid: int, timeout_s: float = 10.0) -> bool:
    """Stop a process started earlier by pid; return True if it was running."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    stop = time.monotonic() + timeout_s
    while time.monotonic() < stop:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return True


def backfill(openmetrics: Path, tsdb_dir: Path, block_hours: int = 48) -> None:
    """Turn an OpenMetrics file into TSDB blocks that Prometheus loads at start.

    Few large blocks backfill several times faster than promtool's default 2 h blocks.
    """
    promtool = find_binary("promtool")
    tsdb_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            promtool,
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            f"--max-block-duration={block_hours}h",
            str(openmetrics),
            str(tsdb_dir),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"promtool backfill failed: {result.stderr.strip()[-800:]}")


def prometheus(
    data_dir: Path, port: int, config_file: Path, extra_args: Sequence[str] = ()
) -> Managed:
    """Describe a Prometheus server on loopback over `data_dir`."""
    binary = find_binary("prometheus")
    argv = [
        binary,
        f"--config.file={config_file}",
        f"--storage.tsdb.path={data_dir}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-lifecycle",
        "--storage.tsdb.retention.time=30d",
        *extra_args,
    ]
    return Managed(
        "prometheus", argv, data_dir.parent / "prometheus.log", f"http://127.0.0.1:{port}/-/ready"
    )
