"""Soak: a day of alert storms into `opsloop serve`, with retention on and with it off.

    python -m bench.soak [--notifications N] [--hours H] [--senders S] [--json]

The storm bench's notifications (bench/storm.py), hour after hour with new groups each hour,
every group resolved by the end of its hour, go to a real server (uvicorn, the SQLite queue,
the worker pool, the retention thread) in a child process. Its clock is simulated: the bench
moves it through the day in 5-minute steps, so a day takes minutes and retention ages are
hours (scaled from the defaults: notifications and checkpoints 2 h, answer records 6 h;
resolved incidents, kept by default, 6 h).
The investigator writes what a real one does (six graph checkpoints and an answer record).

Every few simulated hours the bench records the server's RSS, the size of its databases
(files and WAL) and their row counts; then it compares the end with the start.
"""

from __future__ import annotations

import argparse
import json
import mmap
import os
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from bench.storm import _wait_up, payload, storm, topology
from opsloop.sandbox.procs import free_port, stop_process

START = 1_764_547_200.0  # 2025-12-01T00:00:00Z
STEP_S = 300.0  # the simulated clock moves 5 minutes at a time
# The defaults (7 d, 7 d, 90 d) scaled down so that a day shows several turnovers; resolved
# incidents (kept by default) go after 6 h here, to show the whole database bounded.
SCALED = {
    "notifications_days": 2 / 24,
    "checkpoints_days": 2 / 24,
    "answers_days": 6 / 24,
    "incidents_days": 6 / 24,
}
FILES = ("incidents.sqlite", "checkpoints.sqlite", "answers.sqlite")


class SimClock:
    """The simulated time, read from a file the bench writes (one float64)."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("rb")
        self._map = mmap.mmap(self._file.fileno(), 8, access=mmap.ACCESS_READ)

    def __call__(self) -> float:
        return float(struct.unpack("d", self._map[:8])[0])


def set_clock(path: Path, now: float) -> None:
    """Move the simulated clock (written in place, so the child's map sees it)."""
    with path.open("r+b") as f:
        f.write(struct.pack("d", now))


def hour_of_alerts(n: int, groups: int, hour: int) -> list[dict[str, Any]]:
    """Return one hour's storm on groups of its own, every group resolved at the end."""
    first = hour * groups
    notes = []
    for note in storm(n, groups, seed=hour):
        group = int(note["groupLabels"]["group"]) + first
        service, size = note["commonLabels"]["service"], len(note["alerts"])
        notes.append(payload(group, note["status"], size, service))
    last = {n["groupKey"]: n for n in notes}
    for note in last.values():
        if note["status"] == "firing":
            group = int(note["groupLabels"]["group"])
            service = note["commonLabels"]["service"]
            notes.append(payload(group, "resolved", len(note["alerts"]), service))
    return notes


# -- the server child ---------------------------------------------------------------------------


def child(home: Path, port: int, clock_path: Path, retention: str, topo: str) -> None:
    """Run `opsloop serve` on the simulated clock until killed."""
    import uvicorn
    from langgraph.checkpoint.base import empty_checkpoint

    from opsloop.agent.cli.serve import build_server
    from opsloop.agent.config import Settings
    from opsloop.agent.db.checkpoints import open_checkpointer
    from opsloop.agent.stores.answers import AnswerStore

    clock = SimClock(clock_path)
    state = home / "state"
    state.mkdir(parents=True, exist_ok=True)
    saver, _close = open_checkpointer(state / "checkpoints.sqlite")
    answers = AnswerStore(state / "answers.sqlite", clock=clock)

    def investigate(incident: dict[str, Any]) -> dict[str, Any]:
        config: Any = {"configurable": {"thread_id": incident["id"], "checkpoint_ns": ""}}
        for step in range(6):  # a real investigation checkpoints after each graph step
            checkpoint = empty_checkpoint()
            checkpoint["channel_values"] = {"alerts": incident["alerts"], "notes": "x" * 400}
            config = saver.put(config, checkpoint, {"source": "loop", "step": step}, {})
        names = ", ".join(sorted({a["name"] for a in incident["alerts"]}))
        answers.add({"thread_id": incident["id"], "question": f"investigate {names}",
                     "answer": "storm " * 150, "brain": "soak"})  # fmt: skip
        return {"answer": "soak", "hypotheses": [], "actions": [], "false_alarm": True}

    settings = Settings(home=home, topology=json.loads(topo), retention=json.loads(retention))
    app, store, _pool = build_server(settings, workers=2, investigator=investigate)
    store.clock = clock  # retention reads the store's clock too
    if app.state.retention is not None:  # rounds in real time, ages in simulated time
        app.state.retention.interval_s = app.state.retention.first_s = 1.0
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# -- measuring ------------------------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    """Return a process's resident set size in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def db_mb(state: Path) -> float:
    """Return the size of the server's databases, WAL files included, in MB."""
    paths = [state / f"{name}{suffix}" for name in FILES for suffix in ("", "-wal")]
    return round(sum(p.stat().st_size for p in paths if p.exists()) / 2**20, 1)


def count(path: Path, sql: str) -> int:
    """Return one count from a database the server writes (read alongside it)."""
    if not path.exists():
        return 0
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return int(conn.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:  # a table not created yet
        return 0
    finally:
        conn.close()


def sample(state: Path, pid: int, hour: float, sent: int) -> dict[str, Any]:
    """Return one row of the table."""
    return {
        "hour": hour,
        "sent": sent,
        "rss_mb": rss_mb(pid),
        "db_mb": db_mb(state),
        "notifications": count(state / FILES[0], "SELECT count(*) FROM notifications"),
        "incidents": count(state / FILES[0], "SELECT count(*) FROM incidents"),
        "checkpoints": count(state / FILES[1], "SELECT count(*) FROM checkpoints"),
        "answers": count(state / FILES[2], "SELECT count(*) FROM answers"),
    }


def run_one(
    hours: int, per_hour: int, senders: int, retention: dict[str, Any], every: int
) -> list[dict[str, Any]]:
    """Run one server through the day; return the samples."""
    groups = max(4, per_hour // 5)
    topo = topology(groups * hours)
    with tempfile.TemporaryDirectory(prefix="opsloop-soak-") as tmp:
        home, port = Path(tmp), free_port()
        clock_path = home / "clock.bin"
        clock_path.write_bytes(struct.pack("d", START))
        root = str(Path(__file__).resolve().parents[1])
        path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
        env = {**os.environ, "OPSLOOP_HOME": tmp, "PYTHONPATH": path}
        code = (
            "from pathlib import Path; from bench.soak import child; "
            f"child(Path({tmp!r}), {port}, Path({str(clock_path)!r}), "
            f"{json.dumps(json.dumps(retention))}, {json.dumps(json.dumps(topo))})"
        )
        proc = subprocess.Popen([sys.executable, "-c", code], env=env)
        url, state, samples, sent = f"http://127.0.0.1:{port}", home / "state", [], 0
        try:
            _wait_up(url, proc)
            client = httpx.Client(base_url=url, timeout=60)
            with client, ThreadPoolExecutor(senders) as pool:

                def send(note: dict[str, Any]) -> int:
                    return client.post("/alerts/alertmanager", json=note).status_code

                for hour in range(hours):
                    notes = hour_of_alerts(per_hour, groups, hour)
                    steps = int(3600 / STEP_S)
                    for step in range(steps):
                        set_clock(clock_path, START + hour * 3600 + step * STEP_S)
                        part = notes[step * len(notes) // steps : (step + 1) * len(notes) // steps]
                        bad = [s for s in pool.map(send, part) if s != 200]
                        if bad:
                            raise RuntimeError(f"the server answered {bad[:3]}")
                        sent += len(part)
                    if (hour + 1) % every == 0 or hour == 0:
                        samples.append(sample(state, proc.pid, hour + 1, sent))
                        print(json.dumps(samples[-1]), file=sys.stderr, flush=True)
        finally:
            stop_process(proc, 15)
        return samples


COLUMNS = ("rss_mb", "db_mb", "notifications", "checkpoints", "answers", "incidents")


def table(on: list[dict[str, Any]], off: list[dict[str, Any]]) -> str:
    """Return the samples side by side, retention on / off, and the end against the start."""
    head = f"{'hour':>4} {'sent':>7} " + " ".join(f"{c + ' on/off':>22}" for c in COLUMNS)
    lines = [head]
    for a, b in zip(on, off, strict=True):
        cells = " ".join(f"{f'{a[c]} / {b[c]}':>22}" for c in COLUMNS)
        lines.append(f"{a['hour']:>4} {a['sent']:>7} {cells}")
    # From a third of the day: by then every scaled age has passed once (a steady state).
    first = next((i for i, s in enumerate(on) if s["hour"] >= on[-1]["hour"] / 3), 0)
    for name, run in (("on", on), ("off", off)):
        start, end = run[first], run[-1]
        growth = " ".join(f"{c} x{end[c] / start[c]:.2f}" for c in COLUMNS if start[c])
        lines.append(f"retention {name}: hour {start['hour']} → {end['hour']}: {growth}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the soak with retention on, then off; print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--notifications", type=int, default=200_000, help="in the whole day")
    parser.add_argument("--hours", type=int, default=24, help="simulated hours")
    parser.add_argument("--senders", type=int, default=8, help="concurrent HTTP senders")
    parser.add_argument("--every", type=int, default=2, help="sample every N simulated hours")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    per_hour = max(1, args.notifications // args.hours)
    started = time.monotonic()
    on = run_one(args.hours, per_hour, args.senders, {"enabled": True, **SCALED}, args.every)
    off = run_one(args.hours, per_hour, args.senders, {"enabled": False}, args.every)
    if args.json:
        print(json.dumps({"retention_on": on, "retention_off": off}, indent=2))
    else:
        print(table(on, off))
        print(f"({args.notifications} storm notifications over {args.hours} simulated hours"
              " per run, plus each hour's closing resolves in `sent`; both runs took"
              f" {time.monotonic() - started:.0f} s)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
