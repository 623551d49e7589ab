"""A real PostgreSQL (Debian's binaries) and a real Chroma server, started on loopback,
for the benchmarks and the tests.

PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user the
Debian package creates (else `nobody`), in a directory of its own under the temp dir.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsloop.sandbox.procs import Managed, free_port, stop_process


def pg_binary(name: str) -> str:
    """Return the path of a PostgreSQL server program (Debian keeps them off PATH)."""
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if found is None:
        raise RuntimeError(
            f"PostgreSQL's {name} was not found: install it with `apt-get install postgresql`"
            " (scripts/system-deps.sh does, as root)"
        )
    return found


@dataclass
class PgServer:
    """A PostgreSQL server in its own directory; `database()` makes a fresh database."""

    root: Path
    port: int
    as_user: dict[str, Any]
    proc: subprocess.Popen | None = None

    @property
    def log(self) -> Path:
        """The server's log file."""
        return self.root / "server.log"

    def url(self, dbname: str = "postgres") -> str:
        """Return the URL of one database (trust auth on loopback: no password)."""
        return f"postgresql://opsloop@127.0.0.1:{self.port}/{dbname}"

    def database(self) -> str:
        """Create an empty database; return its URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def start(self, deadline_s: float = 60.0) -> None:
        """Start the server (again, on the same port and data) and wait until it answers."""
        import psycopg

        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [pg_binary("postgres"), "-D", str(self.root / "data"), "-p", str(self.port),
                 "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.root}",
                 "-c", "fsync=off", "-c", "max_connections=200"],
                stdout=out, stderr=subprocess.STDOUT, cwd=self.root, **self.as_user,
            )  # fmt: skip
        end = time.monotonic() + deadline_s
        while True:
            if self.proc.poll() is not None:
                tail = self.log.read_text()[-2000:]
                raise RuntimeError(f"PostgreSQL exited {self.proc.returncode}: {tail}")
            try:
                psycopg.connect(self.url(), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > end:
                    tail = self.log.read_text()[-2000:]
                    raise RuntimeError(f"PostgreSQL did not come up: {tail}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        """Stop the server ("fast" shutdown: ends sessions without waiting for them)."""
        if self.proc is not None:
            stop_process(self.proc, 20, signal.SIGINT)


def _run_as() -> dict[str, Any]:
    if os.geteuid() != 0:
        return {}
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return {"user": entry.pw_uid, "group": entry.pw_gid}
    raise RuntimeError("running as root and no `postgres` or `nobody` user to run PostgreSQL as")


@contextmanager
def postgres_server(deadline_s: float = 60.0) -> Iterator[PgServer]:
    """Start PostgreSQL on a free loopback port; stop it and delete its files after."""
    as_user = _run_as()
    root = Path(tempfile.mkdtemp(prefix="opsloop-pg-"))
    if as_user:
        os.chown(root, as_user["user"], as_user["group"])
    server = PgServer(root, free_port(), as_user)
    try:
        subprocess.run(
            [pg_binary("initdb"), "-D", str(root / "data"), "-U", "opsloop", "-A", "trust",
             "-E", "UTF8", "--locale=C", "--no-sync"],
            check=True, capture_output=True, cwd=root, **as_user,
        )  # fmt: skip
        server.start(deadline_s)
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def chroma_server(deadline_s: float = 60.0) -> Iterator[str]:
    """Start a Chroma server (the `chroma run` CLI) on a free port; yield its URL."""
    root = Path(tempfile.mkdtemp(prefix="opsloop-chroma-"))
    port = free_port()
    chroma = Path(sys.executable).with_name("chroma")
    url = f"http://127.0.0.1:{port}"
    server = Managed(
        "chroma",
        [str(chroma), "run", "--path", str(root / "data"), "--host", "127.0.0.1",
         "--port", str(port)],
        root / "server.log",
        f"{url}/api/v2/heartbeat",
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False", "CHROMA_TELEMETRY": "False"},
    )  # fmt: skip
    try:
        server.start(deadline_s)
        yield url
    finally:
        server.stop(20)
        shutil.rmtree(root, ignore_errors=True)
