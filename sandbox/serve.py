"""Keep `opsloop serve` (and so the incident console) up beside a sandbox after `make demo`.

    python -m opsloop.sandbox.serve --sandbox-dir DIR --port PORT

Started detached and recorded in the sandbox's state, so `opsloop sandbox down` stops it;
`--sandbox-dir` is on the command line so a reused PID is never mistaken for it.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
from pathlib import Path

from opsloop.sandbox.procs import Managed, free_port


def keep_serving(root: Path, port: int) -> str:
    """Start `opsloop serve` on `port` for the sandbox in `root`; return the console URL."""
    # The same port keeps Alertmanager's webhook working; while the demo's own server still
    # holds it, another free port still serves the console.
    port = port if _free_within(port, 10.0) else free_port()
    base = f"http://127.0.0.1:{port}"
    server = Managed(
        "opsloop-serve",
        [sys.executable, "-m", "opsloop.sandbox.serve", "--sandbox-dir", str(root),
         "--port", str(port)],
        root / "opsloop-serve.log",  # not under logs/: those are the world's service logs
        f"{base}/healthz",
    ).start(60)  # fmt: skip
    state_path = root / "state.json"
    state = json.loads(state_path.read_text())
    state["processes"]["opsloop-serve"] = {"pid": server.pid, "port": port, "url": base}
    state_path.write_text(json.dumps(state, indent=2))
    return base


def _free_within(port: int, deadline_s: float) -> bool:
    """Return True once `port` can be listened on again, False if not within the deadline."""
    stop = time.monotonic() + deadline_s
    while True:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            try:
                probe.bind(("127.0.0.1", port))
                return True
            except OSError:
                if time.monotonic() > stop:
                    return False
        time.sleep(0.2)


def main(argv: list[str] | None = None) -> None:
    """Run `opsloop serve` on loopback (the sandbox's settings apply while it runs)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sandbox-dir", required=True, help="the sandbox this serves")
    parser.add_argument("--port", type=int, required=True, help="where to listen")
    args = parser.parse_args(argv)
    from opsloop.agent.cli.main import app

    app(["serve", "--host", "127.0.0.1", "--port", str(args.port)])


if __name__ == "__main__":
    main()
