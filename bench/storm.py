"""Alert storm: thousands of Alertmanager notifications into `opsloop serve` over loopback.

    python -m bench.storm [--notifications N] [--groups G] [--senders S] [--postgres] [--json]

A real `opsloop serve` app (uvicorn, the SQLite queue, the worker pool) runs in a child
process; its investigator only records each call, so the figures are the intake's, not the
RCA's. With --postgres the same storm also goes to a server whose queue is in a PostgreSQL
the bench starts (Debian's binaries, bench/engines.py), as replicas would share it.

The storm mixes new firing groups, Alertmanager's repeats (same payload: duplicates), groups
gaining an alert (same alertname, another instance), and resolves, with services paired in a
topology so that groups on connected services merge into one incident.

Checks, after the queue drains: every firing group belongs to exactly one incident per
firing episode, every incident was investigated exactly once, nothing accepted was lost.
Reports intake latency p50/p99, throughput and the server's peak RSS, side by side with a
baseline server that answers 200 without persisting anything.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from opsloop.sandbox.procs import free_port, stop_process

DRAIN_DEADLINE_S = 600.0


def payload(group: int, status: str, instances: int, service: str) -> dict[str, Any]:
    """Return an Alertmanager v4 notification for one group."""
    alerts = [
        {
            "status": status,
            "labels": {
                "alertname": "HighErrorRatio",
                "service": service,
                "instance": f"{service}-{i}",
                "severity": "page",
            },
            "annotations": {"summary": f"{service} fails"},
            "startsAt": "2026-12-01T12:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-12-01T12:30:00Z",
            "fingerprint": f"g{group}-i{i}",
        }
        for i in range(instances)
    ]
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="HighErrorRatio", group="{group}"}}',
        "status": status,
        "receiver": "opsloop",
        "groupLabels": {"alertname": "HighErrorRatio", "group": str(group)},
        "commonLabels": {"service": service},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "truncatedAlerts": 0,
        "alerts": alerts,
    }


def storm(n: int, groups: int, seed: int = 0) -> list[dict[str, Any]]:
    """Return `n` notifications over `groups` groups: firing, repeats, growth, resolves."""
    rng = random.Random(seed)
    service = {g: f"svc-{g % (groups // 4 or 1)}" for g in range(groups)}
    state = {g: (None, 0) for g in range(groups)}  # status, instances last sent
    out: list[dict[str, Any]] = []
    order = list(range(groups))
    rng.shuffle(order)
    for g in order:  # every group fires first
        state[g] = ("firing", 1)
        out.append(payload(g, "firing", 1, service[g]))
    while len(out) < n:
        g = rng.randrange(groups)
        status, instances = state[g]
        roll = rng.random()
        if status == "firing" and roll < 0.45:  # a repeat
            out.append(payload(g, status, instances, service[g]))
        elif status == "firing" and roll < 0.7 and instances < 5:  # another instance fires
            state[g] = ("firing", instances + 1)
            out.append(payload(g, "firing", instances + 1, service[g]))
        elif status == "firing":  # resolved
            state[g] = ("resolved", instances)
            out.append(payload(g, "resolved", instances, service[g]))
        elif roll < 0.5:  # flaps back
            state[g] = ("firing", 1)
            out.append(payload(g, "firing", 1, service[g]))
        else:  # resolved again: a repeat of the resolve
            out.append(payload(g, "resolved", instances, service[g]))
    return out[:n]


def topology(groups: int) -> dict[str, list[str]]:
    """Pair services: svc-0 → svc-1, svc-2 → svc-3, … (connected pairs merge)."""
    services = groups // 4 or 1
    return {f"svc-{i}": [f"svc-{i + 1}"] for i in range(0, services - 1, 2)}


# -- the server child ---------------------------------------------------------------------------


def child(home: Path, port: int, baseline: bool, topo: str, database_url: str | None) -> None:
    """Run the server (or the baseline) until killed; log investigations to a file."""
    import uvicorn

    if baseline:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        async def ok(request: Request) -> JSONResponse:
            await request.body()
            return JSONResponse({"status": "accepted"})

        async def health(request: Request) -> JSONResponse:
            return JSONResponse({"status": "ok", "queue": 0})

        app: Any = Starlette(
            routes=[Route("/alerts/alertmanager", ok, methods=["POST"]), Route("/healthz", health)]
        )
    else:
        from opsloop.agent.cli.serve import build_server
        from opsloop.agent.config import Settings

        log = (home / "investigated.log").open("a", buffering=1)

        def investigate(incident: dict[str, Any]) -> dict[str, Any]:
            log.write(incident["id"] + "\n")
            return {"answer": "storm", "hypotheses": [], "actions": [], "false_alarm": True}

        settings = Settings(
            home=home, topology=json.loads(topo), correlate_window_s=3600, database_url=database_url
        )
        app, _store, _pool = build_server(settings, workers=4, investigator=investigate)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def run_one(
    notes: list[dict[str, Any]],
    senders: int,
    baseline: bool,
    topo: dict,
    database_url: str | None = None,
) -> dict:
    """Start a server child, send the storm, wait for the queue to drain; return figures.

    The queue is a SQLite file in a temp home, or the (empty) PostgreSQL `database_url`.
    """
    with tempfile.TemporaryDirectory(prefix="opsloop-storm-") as tmp:
        home, port = Path(tmp), free_port()
        root = str(Path(__file__).resolve().parents[1])  # bench/ is not an installed package
        path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
        env = {**os.environ, "OPSLOOP_HOME": tmp, "PYTHONPATH": path}
        code = (
            "import sys; from pathlib import Path; from bench.storm import child; "
            f"child(Path({tmp!r}), {port}, {baseline!r}, {json.dumps(json.dumps(topo))},"
            f" {database_url!r})"
        )
        proc = subprocess.Popen([sys.executable, "-c", code], env=env)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_up(url, proc)
            bodies = [json.dumps(n).encode() for n in notes]
            latencies: list[float] = []
            statuses: dict[int, int] = {}
            with httpx.Client(base_url=url, timeout=30) as client:

                def send(body: bytes) -> tuple[int, float]:
                    started = time.perf_counter()
                    resp = client.post(
                        "/alerts/alertmanager",
                        content=body,
                        headers={"Content-Type": "application/json"},
                    )
                    return resp.status_code, time.perf_counter() - started

                started = time.perf_counter()
                with ThreadPoolExecutor(senders) as pool:
                    for status, seconds in pool.map(send, bodies):
                        statuses[status] = statuses.get(status, 0) + 1
                        latencies.append(seconds)
                wall = time.perf_counter() - started
                drained = _drain(client) if not baseline else 0.0
            latencies.sort()
            figures = {
                "notifications": len(notes),
                "statuses": statuses,
                "wall_s": round(wall, 3),
                "throughput_per_s": round(len(notes) / wall, 1),
                "p50_ms": round(statistics.median(latencies) * 1000, 2),
                "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))] * 1000, 2),
                "peak_rss_mb": _peak_rss_mb(proc.pid),
                "drain_s": round(drained, 3),
            }
            if not baseline:
                figures["check"] = check(home, notes, database_url)
            return figures
        finally:
            stop_process(proc, 15)


def _wait_up(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode} before it was up")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code in (200, 503):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError("the server did not come up within 60 s")


def _drain(client: httpx.Client) -> float:
    """Wait until nothing is queued or being investigated; return how long it took."""
    started = time.perf_counter()
    deadline = time.monotonic() + DRAIN_DEADLINE_S
    while time.monotonic() < deadline:
        health = client.get("/healthz").json()
        busy = client.get("/incidents", params={"status": "investigating", "limit": 1}).json()
        if not health.get("queue") and not busy:
            return time.perf_counter() - started
        time.sleep(0.2)
    raise TimeoutError(f"the queue did not drain within {DRAIN_DEADLINE_S:.0f} s")


def check(home: Path, notes: list[dict[str, Any]], database_url: str | None = None) -> dict:
    """Verify nothing was lost and every incident was investigated exactly once."""
    from opsloop.agent.server.schema import open_incidents_db

    store = open_incidents_db(database_url or home / "state" / "incidents.sqlite")
    db = store.conn()
    accepted = db.execute("SELECT count(*) FROM notifications").fetchone()[0]
    incidents = [r[0] for r in db.execute("SELECT id FROM incidents")]
    unfinished = db.execute(
        "SELECT count(*) FROM incidents WHERE status = 'investigating'"
    ).fetchone()[0]
    grouped = {r[0] for r in db.execute("SELECT group_key FROM incident_groups")}
    store.close()
    calls = (home / "investigated.log").read_text().split()
    distinct = {json.dumps(n, sort_keys=True) for n in notes}
    firing_groups = {n["groupKey"] for n in notes if n["status"] == "firing"}
    twice = sorted({c for c in calls if calls.count(c) > 1})
    return {
        "distinct_notifications": len(distinct),
        "accepted_distinct": accepted,
        "duplicates_dropped": len(notes) - accepted,
        "incidents": len(incidents),
        "investigations": len(calls),
        "investigated_twice": twice[:5],
        "never_investigated": sorted(set(incidents) - set(calls))[:5],
        "firing_groups": len(firing_groups),
        "groups_without_incident": len(firing_groups - grouped),
        "unfinished": unfinished,
        "ok": accepted == len(distinct)
        and not twice
        and set(incidents) == set(calls)
        and not (firing_groups - grouped)
        and unfinished == 0,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the storm against opsloop serve and the baseline; exit 1 if a check fails."""
    parser = argparse.ArgumentParser(prog="python -m bench.storm", description=__doc__)
    parser.add_argument("--notifications", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=2_000)
    parser.add_argument("--senders", type=int, default=16, help="concurrent HTTP senders")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--postgres", action="store_true", help="also run it with the queue in PostgreSQL"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    notes = storm(args.notifications, args.groups, args.seed)
    topo = topology(args.groups)
    base = run_one(notes, args.senders, True, topo)
    runs = {"opsloop": run_one(notes, args.senders, False, topo)}
    if args.postgres:
        from bench.engines import postgres_server

        with postgres_server() as pg:
            runs["opsloop_postgres"] = run_one(notes, args.senders, False, topo, pg.database())
    report: dict[str, Any] = {**runs, "baseline": base}
    for name, real in runs.items():
        report["ratio" if name == "opsloop" else f"ratio_{name.split('_', 1)[1]}"] = {
            "throughput": round(real["throughput_per_s"] / base["throughput_per_s"], 3),
            "p50": round(real["p50_ms"] / base["p50_ms"], 2),
            "p99": round(real["p99_ms"] / base["p99_ms"], 2),
            "peak_rss": round(real["peak_rss_mb"] / base["peak_rss_mb"], 2),
        }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print_table(runs, base)
    return 0 if all(r["check"]["ok"] for r in runs.values()) else 1


def _print_table(runs: dict[str, dict[str, Any]], base: dict[str, Any]) -> None:
    names = {"opsloop": "serve (SQLite)", "opsloop_postgres": "serve (PostgreSQL)"}
    header = "".join(f"{names[n]:>20}{'ratio':>7}" for n in runs)
    print(f"{'':13}{header}{'baseline':>10}")
    rows = (
        ("throughput/s", "throughput_per_s"),
        ("p50 ms", "p50_ms"),
        ("p99 ms", "p99_ms"),
        ("peak RSS MB", "peak_rss_mb"),
    )
    for label, key in rows:
        cells = "".join(f"{r[key]:>20}{r[key] / base[key]:>7.2f}" for r in runs.values())
        print(f"{label:13}{cells}{base[key]:>10}")
    for name, real in runs.items():
        print(f"{names[name]}: drain {real['drain_s']} s; statuses {real['statuses']}")
        print(f"  checks: {json.dumps(real['check'])}")


if __name__ == "__main__":
    sys.exit(main())
