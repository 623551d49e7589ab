#!/usr/bin/env python3
"""Generate the third held-out labelled log-format corpus (8 formats).

Deterministic: one random.Random("logformats-holdout3-<format>") per format. Writes
evals/logformats_holdout3/<format>.jsonl and prints per-event counts.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent / "evals" / "logformats_holdout3"
BASE = dt.datetime(2026, 12, 4, 7, 0, 0, tzinfo=dt.timezone.utc)
EPOCH = BASE.timestamp()


def when(t: float) -> dt.datetime:
    return BASE + dt.timedelta(seconds=t)


def uid(r: random.Random) -> str:
    return str(uuid.UUID(int=r.getrandbits(128), version=4))


def hexs(r: random.Random, n: int) -> str:
    return "".join(r.choice("0123456789abcdef") for _ in range(n))


def doc_ip(r: random.Random) -> str:
    return r.choice(["192.0.2", "198.51.100", "203.0.113"]) + "." + str(r.randint(2, 254))


def iso_ms(t: float) -> str:
    return when(t).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when(t).microsecond // 1000:03d}Z"


def syslog_ts(t: float) -> str:
    d = when(t)
    return d.strftime("%b ") + f"{d.day:2d}" + d.strftime(" %H:%M:%S")


# ---------------------------------------------------------------- squid_access
def squid_access() -> list:
    r = random.Random("logformats-holdout3-squid_access")
    out = []

    def line(t, elapsed, client, code, size, method, url, user, hier, mtype, ev):
        s = f"{EPOCH + t:.3f} {elapsed:6d} {client} {code} {size} {method} {url} {user} {hier} {mtype}"
        out.append((t, s, ev))

    clients = [f"10.40.{r.randint(1, 9)}.{r.randint(10, 250)}" for _ in range(12)]
    users = ["-", "-", "-", "jmartin", "akoval", "svc-build"]
    tunnel_hosts = [
        ("api.github.com", "140.82.112.6"),
        ("registry.npmjs.org", "104.16.24.35"),
        ("login.microsoftonline.com", "20.190.160.22"),
        ("pypi.org", "151.101.0.223"),
        ("files.pythonhosted.org", "151.101.64.223"),
        ("outlook.office365.com", "52.97.146.162"),
        ("www.example.com", "93.184.215.14"),
        ("update.googleapis.com", "142.250.74.35"),
    ]
    # E1 CONNECT tunnels (dominant)
    for _ in range(34):
        t = r.uniform(0, 3600)
        h, ip = r.choice(tunnel_hosts)
        code = r.choice(["TCP_TUNNEL/200"] * 9 + ["TCP_TUNNEL_ABORTED/200"])
        line(
            t,
            r.randint(40, 180000),
            r.choice(clients),
            code,
            r.randint(3900, 2500000),
            "CONNECT",
            f"{h}:443",
            r.choice(users),
            f"HIER_DIRECT/{ip}",
            "-",
            "E1",
        )
    # E2/E3 apt runs through the proxy on build hosts
    pkgs = [
        ("o", "openssl", "openssl_3.0.15-1~deb12u1_amd64.deb"),
        ("c", "curl", "libcurl4_7.88.1-10+deb12u8_amd64.deb"),
        ("t", "tzdata", "tzdata_2024b-0+deb12u1_all.deb"),
        ("libx", "libxml2", "libxml2_2.9.14+dfsg-1.3~deb12u1_amd64.deb"),
        ("p", "python3.11", "python3.11-minimal_3.11.2-6+deb12u4_amd64.deb"),
        ("g", "git", "git-man_2.39.5-0+deb12u1_all.deb"),
    ]
    for run in range(4):
        t = 300 + run * 800 + r.uniform(0, 60)
        host = f"10.40.20.{r.randint(10, 40)}"
        for suite in ["bookworm", "bookworm-updates"]:
            hit = r.random() < 0.5
            line(
                t,
                r.randint(3, 90),
                host,
                "TCP_REFRESH_UNMODIFIED/304" if hit else "TCP_MISS/200",
                r.randint(300, 400) if hit else r.randint(50000, 160000),
                "GET",
                f"http://deb.debian.org/debian/dists/{suite}/InRelease",
                "-",
                "HIER_DIRECT/151.101.2.132",
                "-" if hit else "application/octet-stream",
                "E3",
            )
            t += r.uniform(0.05, 0.4)
        for _ in range(r.randint(2, 4)):
            a, pkg, f = r.choice(pkgs)
            hit = r.random() < 0.4
            line(
                t,
                r.randint(1, 9) if hit else r.randint(80, 2400),
                host,
                "TCP_MEM_HIT/200" if hit else "TCP_MISS/200",
                r.randint(40000, 3200000),
                "GET",
                f"http://deb.debian.org/debian/pool/main/{a}/{pkg}/{f}",
                "-",
                "HIER_NONE/-" if hit else "HIER_DIRECT/151.101.2.132",
                "application/vnd.debian.binary-package",
                "E2",
            )
            t += r.uniform(0.1, 2)
    # E4 OCSP posts
    for _ in range(9):
        t = r.uniform(0, 3600)
        line(
            t,
            r.randint(15, 140),
            r.choice(clients),
            "TCP_MISS/200",
            r.randint(900, 1100),
            "POST",
            r.choice(["http://ocsp.digicert.com/", "http://r10.o.lencr.org/"]),
            "-",
            r.choice(["HIER_DIRECT/192.229.211.108", "HIER_DIRECT/23.215.0.136"]),
            "application/ocsp-response",
            "E4",
        )
    # E5 connectivity checks
    for _ in range(6):
        t = r.uniform(0, 3600)
        line(
            t,
            r.randint(10, 60),
            r.choice(clients),
            "TCP_MISS/204",
            r.randint(180, 260),
            "GET",
            "http://connectivity-check.ubuntu.com/",
            "-",
            "HIER_DIRECT/185.125.190.17",
            "-",
            "E5",
        )
    # E6 internal package API with query
    for _ in range(5):
        t = r.uniform(0, 3600)
        pid = r.randint(1000, 99999)
        line(
            t,
            r.randint(8, 400),
            f"10.40.20.{r.randint(10, 40)}",
            r.choice(["TCP_MISS/200", "TCP_MISS/200", "TCP_MISS/404"]),
            r.randint(400, 9000),
            "GET",
            f"http://pkg.example.internal/api/v1/packages/{pid}?arch={r.choice(['amd64', 'arm64'])}&channel={r.choice(['stable', 'edge'])}",
            "svc-build",
            "HIER_DIRECT/10.40.30.5",
            "application/json",
            "E6",
        )
    # E7 denied malware fetch (rare)
    t = 2210.4
    for p in ["bins/x86", "bins/mips"]:
        line(
            t,
            0,
            "10.40.7.66",
            "TCP_DENIED/403",
            3906,
            "GET",
            f"http://198.51.100.77/{p}",
            "-",
            "HIER_NONE/-",
            "text/html",
            "E7",
        )
        t += 0.8
    # E8 invalid request (rare)
    line(
        1502.113,
        0,
        "10.40.3.19",
        "NONE_NONE/400",
        3945,
        "NONE",
        "error:invalid-request",
        "-",
        "HIER_NONE/-",
        "text/html",
        "E8",
    )
    return out


# ---------------------------------------------------------------- iis_w3c
def iis_w3c() -> list:
    r = random.Random("logformats-holdout3-iis_w3c")
    out = []
    fields = (
        "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip "
        "cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken"
    )

    def header(t):
        out.append((t, "#Software: Microsoft Internet Information Services 10.0", "E1"))
        out.append((t, "#Version: 1.0", "E2"))
        out.append((t, "#Date: " + when(t).strftime("%Y-%m-%d %H:%M:%S"), "E3"))
        out.append((t, fields, "E4"))

    header(0.0)
    header(2741.0)
    sip = "10.12.0.21"
    uas = [
        "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)+AppleWebKit/537.36+(KHTML,+like+Gecko)+Chrome/131.0.0.0+Safari/537.36+Edg/131.0.0.0",
        "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64;+rv:133.0)+Gecko/20100101+Firefox/133.0",
    ]
    users = ["CORP\\jdoe", "CORP\\mlopez", "CORP\\tnguyen", "CORP\\asmith"]
    clients = [f"10.12.{r.randint(4, 9)}.{r.randint(10, 250)}" for _ in range(8)]

    def req(t, method, stem, query, port, user, cip, ua, ref, status, sub, win32, taken, ev):
        d = when(t)
        out.append(
            (
                t,
                f"{d:%Y-%m-%d %H:%M:%S} {sip} {method} {stem} {query} {port} {user} {cip} {ua} {ref} "
                f"{status} {sub} {win32} {taken}",
                ev,
            )
        )

    # user sessions
    for _ in range(9):
        t = r.uniform(5, 3500)
        if 2741 <= t < 2760:
            t += 30
        cip, ua, user = r.choice(clients), r.choice(uas), r.choice(users)
        # 401 challenge then authenticated
        req(t, "GET", "/", "-", 443, "-", cip, ua, "-", 401, 2, 5, r.randint(0, 3), "E5")
        req(t + 0.05, "GET", "/", "-", 443, user, cip, ua, "-", 200, 0, 0, r.randint(15, 90), "E5")
        t += 0.4
        for b in ["/bundles/site", "/bundles/vendor"]:
            req(
                t,
                "GET",
                b,
                f"v={hexs(r, 43)}",
                443,
                user,
                cip,
                ua,
                "https://orders.corp.example.com/",
                200,
                0,
                0,
                r.randint(0, 30),
                "E6",
            )
        for _ in range(r.randint(1, 4)):
            t += r.uniform(2, 40)
            req(
                t,
                "GET",
                f"/api/orders/{r.randint(100000, 999999)}",
                "-",
                443,
                user,
                cip,
                ua,
                "https://orders.corp.example.com/",
                r.choice([200, 200, 200, 404]),
                0,
                0,
                r.randint(20, 700),
                "E7",
            )
        if r.random() < 0.6:
            t += r.uniform(5, 60)
            req(
                t,
                "POST",
                "/api/orders",
                "-",
                443,
                user,
                cip,
                ua,
                "https://orders.corp.example.com/orders/new",
                r.choice([201, 201, 400, 500]),
                0,
                0,
                r.randint(80, 2400),
                "E8",
            )
        if r.random() < 0.5:
            t += r.uniform(5, 60)
            req(
                t,
                "GET",
                "/Reports/Viewer.aspx",
                f"ReportId={r.randint(1, 40)}&Format={r.choice(['PDF', 'EXCELOPENXML', 'HTML5'])}",
                443,
                user,
                cip,
                ua,
                "https://orders.corp.example.com/reports",
                200,
                0,
                r.choice([0, 0, 64]),
                r.randint(900, 31000),
                "E9",
            )
    # load balancer probes
    for i in range(14):
        t = 30 + i * 250 + r.uniform(0, 5)
        req(
            t,
            "GET",
            "/healthcheck.aspx",
            "-",
            80,
            "-",
            r.choice(["10.12.0.2", "10.12.0.3"]),
            "-",
            "-",
            200 if not (2741 <= t < 2800) else 503,
            0,
            0,
            r.randint(0, 4),
            "E10",
        )
    # scanner
    t = 1888.0
    for stem in ["/wp-login.php", "/wp-login.php"]:
        req(
            t,
            "GET",
            stem,
            "-",
            443,
            "-",
            "203.0.113.45",
            "Mozilla/5.0+(compatible;+scan/1.0)",
            "-",
            404,
            0,
            2,
            r.randint(0, 2),
            "E11",
        )
        t += 1.3
    return out


# ---------------------------------------------------------------- pino_json
def pino_json() -> list:
    r = random.Random("logformats-holdout3-pino_json")
    out = []
    host, pid = "mailer-worker-7c9d5f8b6-qz2lm", 1

    def emit(t, level, msg, **kw):
        rec = {"level": level, "time": int((EPOCH + t) * 1000), "pid": pid, "hostname": host}
        rec.update(kw)
        rec["msg"] = msg
        return rec

    def add(t, ev, rec):
        out.append((t, json.dumps(rec, separators=(",", ":"), ensure_ascii=False), ev))

    add(0.2, "E9", emit(0.2, 30, "Server listening at http://0.0.0.0:9464"))
    job = 48000
    domains = ["example.com", "example.org", "example.net"]
    names = ["welcome-email", "password-reset", "invoice-ready", "weekly-digest"]
    for _ in range(24):
        t = r.uniform(1, 3500)
        job += r.randint(1, 9)
        name = r.choice(names)
        add(
            t, "E1", emit(t, 30, "job started", queue="email", jobId=str(job), name=name, attempt=1)
        )
        t += r.uniform(0.05, 0.9)
        if r.random() < 0.2:
            add(
                t,
                "E4",
                emit(
                    t,
                    50,
                    "job failed",
                    queue="email",
                    jobId=str(job),
                    err={
                        "type": "SMTPError",
                        "message": f"connect ECONNREFUSED 10.0.{r.randint(1, 5)}.{r.randint(2, 200)}:587",
                        "stack": "SMTPError: connect ECONNREFUSED\n    at SMTPConnection._onError (/app/node_modules/nodemailer/lib/smtp-connection/index.js:791:20)",
                        "code": "ECONNECTION",
                    },
                ),
            )
            delay = r.choice([2000, 4000, 8000])
            add(
                t + 0.001,
                "E5",
                emit(t + 0.001, 40, f"retrying job {job} in {delay}ms", queue="email"),
            )
            continue
        to = f"{r.choice(['ana', 'li.wei', 'omar', 'k.schmidt', 'noreply-test'])}@{r.choice(domains)}"
        add(
            t,
            "E3",
            emit(
                t,
                30,
                "email delivered",
                jobId=str(job),
                to=to,
                provider=r.choice(["ses", "ses", "smtp-relay"]),
                messageId=f"<{uid(r)}@email.amazonses.com>",
                latencyMs=r.randint(80, 1800),
            ),
        )
        add(
            t + 0.002,
            "E2",
            emit(
                t + 0.002,
                30,
                "job completed",
                queue="email",
                jobId=str(job),
                durationMs=r.randint(90, 2000),
            ),
        )
    for i in range(7):
        t = 250 + i * 500 + r.uniform(0, 3)
        add(
            t,
            "E8",
            emit(
                t,
                30,
                "queue stats",
                queue="email",
                waiting=r.randint(0, 300),
                active=r.randint(0, 8),
                delayed=r.randint(0, 20),
                failed=r.randint(0, 40),
            ),
        )
    add(
        1803.5,
        "E6",
        emit(
            1803.5,
            50,
            "redis connection lost",
            err={"type": "Error", "message": "read ECONNRESET", "code": "ECONNRESET"},
        ),
    )
    add(
        1809.9,
        "E7",
        emit(
            1809.9, 30, "redis reconnected", host="redis-master.mail.svc.cluster.local", port=6379
        ),
    )
    for t in (2400.2, 2400.9):
        add(
            t,
            "E10",
            emit(
                t,
                40,
                "rate limited by provider, backing off",
                provider="ses",
                retryAfterMs=r.choice([1000, 5000]),
            ),
        )
    return out


# ---------------------------------------------------------------- prometheus_logfmt
def prometheus_logfmt() -> list:
    r = random.Random("logformats-holdout3-prometheus_logfmt")
    out = []

    def add(t, ev, caller, level, rest):
        out.append((t, f"ts={iso_ms(t)} caller={caller} level={level} {rest}", ev))

    rw = "component=remote remote_name=8e6a3f url=https://mimir.example.net/api/v1/push"
    # remote write outage 07:20-07:31 (dominant)
    for i in range(22):
        t = 1200 + i * 30 + r.uniform(0, 4)
        add(
            t,
            "E1",
            "dedupe.go:112",
            "warn",
            f'{rw} msg="Failed to send batch, retrying" err="Post \\"https://mimir.example.net/api/v1/push\\": '
            + r.choice(
                [
                    "context deadline exceeded",
                    "dial tcp 203.0.113.80:443: i/o timeout",
                    "read tcp 10.0.8.14:51234->203.0.113.80:443: read: connection reset by peer",
                ]
            )
            + '"',
        )
    for t, a, b in [(1330.0, 4, 9), (1630.0, 9, 14), (2100.0, 14, 6)]:
        add(
            t,
            "E12",
            "dedupe.go:112",
            "info",
            f'{rw} msg="Remote storage resharding" from={a} to={b}',
        )
    # head compaction every 2h, plus checkpoints
    for k, t0 in enumerate([0, 7200, 14400]):
        t = t0 + 61 + r.uniform(0, 2)
        mint = 1796349600000 + k * 7200000
        dur = r.uniform(1.1, 4.5)
        add(
            t,
            "E2",
            "compact.go:576",
            "info",
            f'component=tsdb msg="write block" mint={mint} maxt={mint + 7200000} ulid=01J{hexs(r, 23).upper()} duration={dur:.9f}s ooo_enabled=false',
        )
        t += dur + 0.2
        add(
            t,
            "E3",
            "head.go:1312",
            "info",
            f'component=tsdb msg="Head GC completed" caller=truncateMemory duration={r.uniform(50, 400):.6f}ms',
        )
        if k < 2:
            seg = 812 + k * 9
            add(
                t + 0.01,
                "E4",
                "checkpoint.go:101",
                "info",
                f'component=tsdb msg="Creating checkpoint" from_segment={seg} to_segment={seg + 6} mint={mint + 7200000}',
            )
            add(
                t + 3.2,
                "E5",
                "head.go:1281",
                "info",
                f'component=tsdb msg="WAL checkpoint complete" first={seg} last={seg + 6} duration={r.uniform(2, 5):.6f}s',
            )
    add(
        14520.0,
        "E9",
        "compact.go:759",
        "info",
        f'component=tsdb msg="compact blocks" count=3 mint=1796335200000 maxt=1796356800000 ulid=01J{hexs(r, 23).upper()} '
        f'sources="[01J{hexs(r, 23).upper()} 01J{hexs(r, 23).upper()} 01J{hexs(r, 23).upper()}]" duration=6.803111482s',
    )
    # rule evaluation failures (middle)
    rules = [
        (
            "/etc/prometheus/rules/node.yml",
            "node.rules",
            'record: instance:node_cpu:rate5m\\nexpr: rate(node_cpu_seconds_total{mode!=\\"idle\\"}[5m])\\n',
        ),
        (
            "/etc/prometheus/rules/slo.yml",
            "slo-api",
            'record: slo:errors:ratio_rate1h\\nexpr: sum(rate(http_requests_total{code=~\\"5..\\"}[1h])) / sum(rate(http_requests_total[1h]))\\n',
        ),
    ]
    for _ in range(9):
        t = r.uniform(0, 15000)
        f, g, rule = r.choice(rules)
        add(
            t,
            "E6",
            "group.go:469",
            "warn",
            f'component="rule manager" file={f} group={g} name={rule.split(chr(92))[0].split(": ")[1]} index={r.randint(0, 6)} '
            f'msg="Evaluating rule failed" rule="{rule}" err="vector contains metrics with the same labelset after applying rule labels"',
        )
    # scrape dup samples (middle)
    targets = [
        "http://10.0.9.21:9100/metrics",
        "http://10.0.9.22:9100/metrics",
        "http://10.0.11.5:8080/actuator/prometheus",
    ]
    for _ in range(11):
        t = r.uniform(0, 15000)
        tg = r.choice(targets)
        pool = "spring-apps" if "actuator" in tg else "node"
        add(
            t,
            "E7",
            "scrape.go:1825",
            "warn",
            f'component="scrape manager" scrape_pool={pool} target={tg} msg="Error on ingesting samples with different value but same timestamp" num_dropped={r.randint(1, 40)}',
        )
    # notifier failing (rare-ish)
    for t in (9001.7, 9061.7):
        add(
            t,
            "E8",
            "notifier.go:530",
            "error",
            "component=notifier alertmanager=http://10.0.8.30:9093/api/v2/alerts count="
            + str(r.randint(1, 12))
            + ' msg="Error sending alert" err="Post \\"http://10.0.8.30:9093/api/v2/alerts\\": dial tcp 10.0.8.30:9093: connect: connection refused"',
        )
    # config reload
    add(
        10800.0,
        "E10",
        "main.go:1372",
        "info",
        'msg="Loading configuration file" filename=/etc/prometheus/prometheus.yml',
    )
    add(
        10800.09,
        "E11",
        "main.go:1409",
        "info",
        'msg="Completed loading of configuration file" filename=/etc/prometheus/prometheus.yml totalDuration=93.817211ms '
        "db_storage=2.1µs remote_storage=1.203ms web_handler=800ns query_engine=1.4µs scrape=512.33µs scrape_sd=88.1µs "
        "notify=41.02µs notify_sd=19.7µs rules=88.72911ms tracing=7.3µs",
    )
    return out


# ---------------------------------------------------------------- pgbouncer
def pgbouncer() -> list:
    r = random.Random("logformats-holdout3-pgbouncer")
    out = []
    pid = 1187

    def add(t, ev, level, msg):
        d = when(t)
        out.append(
            (t, f"{d:%Y-%m-%d %H:%M:%S}.{d.microsecond // 1000:03d} UTC [{pid}] {level} {msg}", ev)
        )

    def ptr():
        return "0x55d5c8" + hexs(r, 6)

    apps = [f"10.0.1.{r.randint(10, 60)}" for _ in range(6)]
    servers = {"appdb": "10.0.2.10", "reporting": "10.0.2.11"}
    for _ in range(17):
        t = r.uniform(0, 3600)
        db = r.choice(["appdb", "appdb", "appdb", "reporting"])
        user = "app" if db == "appdb" else "metabase"
        c = ptr()
        cli = f"{r.choice(apps)}:{r.randint(32768, 60999)}"
        tls = r.choice(["no", "TLSv1.3/TLS_AES_256_GCM_SHA384/ECDH=X25519"])
        add(
            t,
            "E1",
            "LOG",
            f"C-{c}: {db}/{user}@{cli} login attempt: db={db} user={user} tls={tls} replication=no",
        )
        if r.random() < 0.35:
            s = ptr()
            add(
                t + 0.004,
                "E3",
                "LOG",
                f"S-{s}: {db}/{user}@{servers[db]}:5432 new connection to server (from 10.0.1.5:{r.randint(32768, 60999)})",
            )
        age = r.randint(0, 900)
        reason = r.choice(["client close request", "client close request", "client unexpected eof"])
        add(
            t + age, "E2", "LOG", f"C-{c}: {db}/{user}@{cli} closing because: {reason} (age={age}s)"
        )
    for _ in range(6):
        t = r.uniform(600, 3600)
        db = r.choice(["appdb", "reporting"])
        user = "app" if db == "appdb" else "metabase"
        add(
            t,
            "E4",
            "LOG",
            f"S-{ptr()}: {db}/{user}@{servers[db]}:5432 closing because: "
            + r.choice(["server idle timeout", "server lifetime over", "server idle timeout"])
            + f" (age={r.randint(600, 3700)}s)",
        )
    for i in range(1, 7):
        t = i * 60 * 10 - 0.5 + r.random() * 0.01
        add(
            t,
            "E5",
            "LOG",
            f"stats: {r.randint(20, 300)} xacts/s, {r.randint(100, 2000)} queries/s, 0 client parses/s, 0 server parses/s, "
            f"0 binds/s, in {r.randint(20000, 400000)} B/s, out {r.randint(100000, 4000000)} B/s, xact {r.randint(500, 9000)} us, "
            f"query {r.randint(200, 3000)} us, wait {r.randint(0, 900)} us",
        )
    # pool exhaustion on reporting: query_wait_timeout
    for k in range(3):
        t = 2100 + k * 0.7
        c = ptr()
        cli = f"10.0.1.44:{r.randint(32768, 60999)}"
        add(t, "E6", "WARNING", f"C-{c}: reporting/metabase@{cli} pooler error: query_wait_timeout")
        add(
            t + 0.001,
            "E2",
            "LOG",
            f"C-{c}: reporting/metabase@{cli} closing because: query_wait_timeout (age=120s)",
        )
    # bad database name from outside
    c = ptr()
    cli = f"{doc_ip(r)}:{r.randint(32768, 60999)}"
    add(
        1402.3,
        "E6",
        "WARNING",
        f"C-{c}: (nodb)/(nouser)@{cli} pooler error: no such database: postgres",
    )
    add(
        1402.301,
        "E2",
        "LOG",
        f"C-{c}: (nodb)/(nouser)@{cli} closing because: no such database: postgres (age=0s)",
    )
    # primary restarts
    s = ptr()
    add(
        3001.2,
        "E7",
        "WARNING",
        f"S-{s}: appdb/app@10.0.2.10:5432 server login failed: FATAL the database system is shutting down",
    )
    add(
        3001.201,
        "E4",
        "LOG",
        f"S-{s}: appdb/app@10.0.2.10:5432 closing because: server login failed: FATAL the database system is shutting down (age=0s)",
    )
    add(3120.0, "E8", "LOG", "got SIGHUP, re-reading config")
    return out


# ---------------------------------------------------------------- zap_console
def zap_console() -> list:
    r = random.Random("logformats-holdout3-zap_console")
    out = []

    def add(t, ev, level, name, caller, msg, fields=None):
        s = f"{iso_ms(t)}\t{level}\t{name}\t{caller}\t{msg}"
        if fields:
            s += (
                "\t{"
                + ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in fields.items())
                + "}"
            )
        out.append((t, s, ev))

    add(
        0.1,
        "E6",
        "info",
        "ledger",
        "cmd/ledgerd/main.go:74",
        "grpc server listening",
        {"addr": "[::]:9090", "version": "v1.14.2"},
    )
    add(
        0.4,
        "E7",
        "info",
        "ledger.leader",
        "leader/lease.go:61",
        "leader lease acquired",
        {"holder": "ledgerd-2", "ttl": "15s"},
    )
    for _ in range(30):
        t = r.uniform(1, 3500)
        f = {
            "transfer_id": uid(r),
            "from_account": f"acc_{hexs(r, 12)}",
            "to_account": f"acc_{hexs(r, 12)}",
            "amount_cents": r.randint(100, 2500000),
            "currency": r.choice(["EUR", "EUR", "USD", "GBP"]),
            "duration": f"{r.uniform(1.2, 48):.4f}ms",
        }
        if r.random() < 0.17:
            f2 = {
                "transfer_id": f["transfer_id"],
                "reason": r.choice(["insufficient_funds", "account_frozen", "limit_exceeded"]),
                "request_id": hexs(r, 16),
            }
            add(t, "E3", "warn", "ledger", "ledger/transfer.go:203", "transfer rejected", f2)
        else:
            add(t, "E1", "info", "ledger", "ledger/transfer.go:188", "transfer committed", f)
    for i in range(14):
        t = 120 + i * 245 + r.uniform(0, 2)
        add(
            t,
            "E2",
            "info",
            "ledger.outbox",
            "outbox/relay.go:97",
            "outbox batch published",
            {
                "count": r.randint(1, 250),
                "topic": "ledger.transfers.v1",
                "duration": f"{r.uniform(3, 90):.3f}ms",
            },
        )
    for _ in range(6):
        t = r.uniform(1, 3500)
        add(
            t,
            "E4",
            "warn",
            "ledger.store",
            "store/postgres.go:142",
            "slow query",
            {
                "sql": r.choice(
                    [
                        "SELECT balance_cents FROM accounts WHERE id = $1 FOR UPDATE",
                        "INSERT INTO entries (transfer_id, account_id, delta_cents) VALUES ($1, $2, $3), ($4, $5, $6)",
                    ]
                ),
                "duration": f"{r.uniform(250, 1900):.3f}ms",
                "rows": r.randint(1, 2),
            },
        )
    # kafka broker hiccup
    t = 1710.0
    for a in range(1, 4):
        add(
            t,
            "E5",
            "error",
            "ledger.outbox",
            "outbox/relay.go:121",
            "kafka producer error",
            {
                "error": "kafka: Failed to produce message to topic ledger.transfers.v1: kafka server: Request exceeded the user-specified time limit in the request",
                "broker": "10.0.6.12:9092",
            },
        )
        add(
            t + 0.001,
            "E9",
            "warn",
            "ledger.outbox",
            "outbox/relay.go:129",
            "retrying outbox publish",
            {"attempt": a, "backoff": f"{2 ** (a - 1)}s"},
        )
        t += 2 ** (a - 1) + 0.05
    add(
        3300.0,
        "E8",
        "warn",
        "ledger.leader",
        "leader/lease.go:88",
        "leader lease lost",
        {"holder": "ledgerd-2", "error": "context deadline exceeded"},
    )
    add(
        3316.0,
        "E7",
        "info",
        "ledger.leader",
        "leader/lease.go:61",
        "leader lease acquired",
        {"holder": "ledgerd-2", "ttl": "15s"},
    )
    return out


# ---------------------------------------------------------------- postfix_maillog
def postfix_maillog() -> list:
    r = random.Random("logformats-holdout3-postfix_maillog")
    out = []
    host = "mx1"

    def add(t, ev, prog, pid, msg):
        out.append((t, f"{syslog_ts(t)} {host} postfix/{prog}[{pid}]: {msg}", ev))

    def qid():
        return "".join(r.choice("0123456789ABCDEF") for _ in range(10))

    qmgr = 1021
    senders = [
        ("mail-out.example.net", "198.51.100.23"),
        ("smtp.example.org", "203.0.113.17"),
        ("mx.example.com", "192.0.2.41"),
    ]
    local = ["alice", "bob", "ops", "billing", "h.tanaka"]
    for _ in range(7):
        t = r.uniform(0, 3500)
        pid = r.randint(20000, 29999)
        h, ip = r.choice(senders)
        q = qid()
        add(t, "E1", "smtpd", pid, f"connect from {h}[{ip}]")
        add(t + 0.3, "E3", "smtpd", pid, f"{q}: client={h}[{ip}]")
        add(
            t + 0.4,
            "E4",
            "cleanup",
            r.randint(20000, 29999),
            f"{q}: message-id=<{hexs(r, 16)}.{r.randint(1000, 9999)}@{h}>",
        )
        add(
            t + 0.5,
            "E5",
            "qmgr",
            qmgr,
            f"{q}: from=<notifications@{h.split('.', 1)[1]}>, size={r.randint(3000, 90000)}, nrcpt=1 (queue active)",
        )
        add(
            t + 0.6,
            "E2",
            "smtpd",
            pid,
            f"disconnect from {h}[{ip}] ehlo=2 starttls=1 mail=1 rcpt=1 data=1 quit=1 commands=7",
        )
        d = r.uniform(0.1, 0.6)
        rcpt = r.choice(local)
        add(
            t + 0.5 + d,
            "E6",
            "lmtp",
            r.randint(20000, 29999),
            f"{q}: to=<{rcpt}@example.com>, relay=mail.example.com[private/dovecot-lmtp], delay={0.6 + d:.2g}, "
            f"delays=0.4/0.01/0.02/{d:.2f}, dsn=2.0.0, status=sent (250 2.0.0 <{rcpt}@example.com> {hexs(r, 22)} Saved)",
        )
        add(t + 0.55 + d, "E7", "qmgr", qmgr, f"{q}: removed")
    # outbound from webapp via pickup-less submission on localhost
    dests = [
        ("gmail.com", "gmail-smtp-in.l.google.com", "142.250.153.27"),
        ("example.org", "mx.example.org", "203.0.113.17"),
        ("outlook.com", "outlook-com.olc.protection.outlook.com", "52.101.41.3"),
    ]
    for _ in range(5):
        t = r.uniform(0, 3500)
        pid = r.randint(20000, 29999)
        q = qid()
        add(t, "E1", "smtpd", pid, "connect from localhost[127.0.0.1]")
        add(t + 0.01, "E3", "smtpd", pid, f"{q}: client=localhost[127.0.0.1]")
        add(
            t + 0.02,
            "E4",
            "cleanup",
            r.randint(20000, 29999),
            f"{q}: message-id=<{uid(r)}@example.com>",
        )
        add(
            t + 0.03,
            "E5",
            "qmgr",
            qmgr,
            f"{q}: from=<noreply@example.com>, size={r.randint(2000, 40000)}, nrcpt=1 (queue active)",
        )
        add(
            t + 0.04,
            "E2",
            "smtpd",
            pid,
            "disconnect from localhost[127.0.0.1] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5",
        )
        dom, mx, mip = r.choice(dests)
        d = r.uniform(0.3, 2.5)
        if dom == "example.org" and r.random() < 0.7:
            add(
                t + d,
                "E6",
                "smtp",
                r.randint(20000, 29999),
                f"{q}: to=<user{r.randint(1, 99)}@{dom}>, relay=none, delay={d:.3g}, delays=0.03/0.01/{d - 0.04:.2f}/0, dsn=4.4.1, "
                f"status=deferred (connect to {mx}[{mip}]:25: Connection timed out)",
            )
        else:
            add(
                t + d,
                "E6",
                "smtp",
                r.randint(20000, 29999),
                f"{q}: to=<user{r.randint(1, 99)}@{dom}>, relay={mx}[{mip}]:25, delay={d:.3g}, delays=0.03/0.01/0.2/{d - 0.24:.2f}, "
                f"dsn=2.0.0, status=sent (250 2.0.0 OK  {int(EPOCH + t)} {hexs(r, 8)}.{r.randint(100, 999)} - gsmtp)",
            )
            add(t + d + 0.01, "E7", "qmgr", qmgr, f"{q}: removed")
    # relay-probing and SASL guessing from unknown hosts
    for _ in range(4):
        t = r.uniform(0, 3500)
        pid = r.randint(20000, 29999)
        ip = doc_ip(r)
        add(t, "E1", "smtpd", pid, f"connect from unknown[{ip}]")
        if r.random() < 0.5:
            add(
                t + 0.5,
                "E8",
                "smtpd",
                pid,
                f"NOQUEUE: reject: RCPT from unknown[{ip}]: 554 5.7.1 <spam{r.randint(1, 999)}@example.net>: Relay access denied; "
                f"from=<test@{ip}> to=<spam{r.randint(1, 999)}@example.net> proto=ESMTP helo=<{r.choice(['User', 'WIN-' + hexs(r, 6).upper()])}>",
            )
            add(
                t + 0.9,
                "E2",
                "smtpd",
                pid,
                f"disconnect from unknown[{ip}] ehlo=1 mail=1 rcpt=0/1 rset=1 quit=1 commands=4/5",
            )
        else:
            add(
                t + 0.6,
                "E11",
                "smtpd",
                pid,
                f"warning: unknown[{ip}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6",
            )
            add(t + 0.7, "E10", "smtpd", pid, f"lost connection after AUTH from unknown[{ip}]")
            add(
                t + 0.71,
                "E2",
                "smtpd",
                pid,
                f"disconnect from unknown[{ip}] ehlo=1 auth=0/1 commands=1/2",
            )
    add(
        812.4,
        "E9",
        "smtpd",
        24411,
        "warning: hostname mail.bad-ptr.example does not resolve to address 198.51.100.190: Name or service not known",
    )
    add(
        3560.0,
        "E12",
        "anvil",
        2207,
        f"statistics: max connection rate 3/60s for (smtp:{doc_ip(r)}) at {syslog_ts(1202)}",
    )
    add(3560.0, "E13", "anvil", 2207, f"statistics: max cache size 4 at {syslog_ts(1202)}")
    return out


# ---------------------------------------------------------------- hdfs_namenode
def hdfs_namenode() -> list:
    r = random.Random("logformats-holdout3-hdfs_namenode")
    out = []

    def add(t, ev, level, logger, msg):
        d = when(t)
        out.append(
            (t, f"{d:%Y-%m-%d %H:%M:%S},{d.microsecond // 1000:03d} {level} {logger}: {msg}", ev)
        )

    dns = [f"10.0.4.{i}:9866" for i in (11, 12, 13, 14, 15)]
    blk, gs = 1073815201, 74377
    sc = "org.apache.hadoop.hdfs.StateChange"
    bsc = "BlockStateChange"
    paths = [
        "/user/etl/staging/orders/_temporary/0/_temporary/attempt_202612040700_0004_m_0000{:02d}_0/part-m-000{:02d}",
        "/data/warehouse/events/dt=2026-12-04/hour=07/part-{:05d}-{}.c000.snappy.parquet",
        "/tmp/hive/hive/{}/inuse.info",
    ]
    dead = "10.0.4.13:9866"
    for _ in range(14):
        t = r.uniform(0, 3500)
        k = r.randrange(3)
        n = r.randint(0, 40)
        p = (
            paths[0].format(n, n)
            if k == 0
            else paths[1].format(n, uid(r))
            if k == 1
            else paths[2].format(uid(r))
        )
        nrep = 3 if k != 2 else r.choice([1, 3])
        live = [d for d in dns if not (1500 <= t <= 2600 and d == dead)]
        reps = r.sample(live, nrep)
        blk += r.randint(1, 30)
        gs += r.randint(1, 30)
        add(
            t,
            "E1",
            "INFO",
            sc,
            f"BLOCK* allocate blk_{blk}_{gs}, replicas={', '.join(reps)} for {p}",
        )
        for j, d in enumerate(reps):
            add(
                t + 0.3 + j * 0.01,
                "E3",
                "INFO",
                bsc,
                f"BLOCK* addStoredBlock: {d} is added to blk_{blk}_{gs} (size={r.randint(1000, 134217728)})",
            )
        add(
            t + 0.4,
            "E2",
            "INFO",
            sc,
            f"DIR* completeFile: {p} is closed by DFSClient_NONMAPREDUCE_{r.randint(-2000000000, 2000000000)}_{r.randint(1, 90)}",
        )
    for i in range(6):
        t = 100 + i * 600 + r.uniform(0, 3)
        add(
            t,
            "E4",
            "INFO",
            "org.apache.hadoop.hdfs.server.namenode.FSEditLog",
            f"Number of transactions: {r.randint(20, 900)} Total time for transactions(ms): {r.randint(5, 200)} Number of transactions batched in Syncs: "
            f"{r.randint(0, 300)} Number of syncs: {r.randint(10, 600)} SyncTimes(ms): {r.randint(20, 2000)} ",
        )
    # edit log roll (from standby checkpointer)
    add(
        1800.0,
        "E5",
        "INFO",
        "org.apache.hadoop.hdfs.server.namenode.FSNamesystem",
        "Roll Edit Log from 10.0.4.2",
    )
    add(
        1800.01,
        "E6",
        "INFO",
        "org.apache.hadoop.hdfs.server.namenode.FSEditLog",
        "Starting log segment at 48213377",
    )
    # datanode dies and comes back
    add(
        1500.0,
        "E7",
        "INFO",
        "org.apache.hadoop.hdfs.StateChange",
        f"BLOCK* removeDeadDatanode: lost heartbeat from {dead}, removeBlocksFromBlockMap true",
    )
    add(
        1500.01,
        "E8",
        "INFO",
        "org.apache.hadoop.net.NetworkTopology",
        f"Removing a node: /default-rack/{dead}",
    )
    for _ in range(5):
        t = r.uniform(1503, 1600)
        src, dst = r.sample([d for d in dns if d != dead], 2)
        add(
            t,
            "E9",
            "INFO",
            bsc,
            f"BLOCK* ask {src} to replicate blk_{r.randint(1073700000, 1073815000)}_{r.randint(60000, 74000)} to datanode(s) {dst}",
        )
    duuid = uid(r)
    reg = (
        f"DatanodeRegistration({dead}, datanodeUuid={duuid}, infoPort=9864, infoSecurePort=0, ipcPort=9867, "
        f"storageInfo=lv=-57;cid=CID-{uid(r)};nsid=1476382277;c=1721898123456)"
    )
    add(2600.0, "E10", "INFO", sc, f"BLOCK* registerDatanode: from {reg} storage {duuid}")
    add(
        2600.01,
        "E11",
        "INFO",
        "org.apache.hadoop.net.NetworkTopology",
        f"Adding a new node: /default-rack/{dead}",
    )
    add(
        2601.2,
        "E12",
        "INFO",
        bsc,
        f"BLOCK* processReport 0x{hexs(r, 16)}: from storage DS-{uid(r)} node {reg}, blocks: {r.randint(30000, 90000)}, "
        f"hasStaleStorage: false, processing time: {r.randint(20, 300)} msecs, invalidatedBlocks: {r.randint(0, 40)}",
    )
    # permission denied from a client
    for t, user in ((700.2, "alice"), (2950.7, "svc-spark")):
        add(
            t,
            "E13",
            "INFO",
            "org.apache.hadoop.ipc.Server",
            f"IPC Server handler {r.randint(0, 9)} on default port 8020, call Call#{r.randint(100, 99999)} Retry#0 "
            f"org.apache.hadoop.hdfs.protocol.ClientProtocol.{r.choice(['mkdirs', 'create'])} from 10.0.5.{r.randint(2, 99)}:{r.randint(32768, 60999)}: "
            f"org.apache.hadoop.security.AccessControlException: Permission denied: user={user}, access=WRITE, "
            f'inode="/data/warehouse":hive:hadoop:drwxr-xr-x',
        )
    return out


FORMATS = {
    "squid_access": squid_access,
    "iis_w3c": iis_w3c,
    "pino_json": pino_json,
    "prometheus_logfmt": prometheus_logfmt,
    "pgbouncer": pgbouncer,
    "zap_console": zap_console,
    "postfix_maillog": postfix_maillog,
    "hdfs_namenode": hdfs_namenode,
}


def main() -> None:
    total_l = total_e = 0
    for name, fn in FORMATS.items():
        rows = sorted(fn(), key=lambda x: x[0])  # stable sort by time
        with (HERE / f"{name}.jsonl").open("w", encoding="utf-8") as fh:
            for _, line, ev in rows:
                fh.write(json.dumps({"line": line, "event": ev}, ensure_ascii=False) + "\n")
        c = Counter(ev for _, _, ev in rows)
        order = sorted(c, key=lambda e: int(e[1:]))
        total_l += len(rows)
        total_e += len(c)
        print(
            f"{name}: {len(rows)} lines, {len(c)} events: " + " ".join(f"{e}={c[e]}" for e in order)
        )
    print(f"total: {total_l} lines, {total_e} events")


if __name__ == "__main__":
    main()
