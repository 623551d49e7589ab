#!/usr/bin/env python3
"""Generate the second held-out labelled log-format corpus (10 formats).

Deterministic: one random.Random("logformats-holdout2-<format>") per format.
Run `python3 scripts/make_logformats_holdout2.py`; it rewrites evals/logformats_holdout2/*.jsonl and prints counts.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import random
import sys
import uuid as uuidlib
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent / "evals" / "logformats_holdout2"
T0 = dt.datetime(2026, 12, 4, 7, 0, 0, tzinfo=dt.timezone.utc)
SPAN = 1800.0  # seconds of log per format
MON = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()

# ----------------------------------------------------------------- helpers


def at(t: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=t)


def ip_public(r: random.Random) -> str:
    k = r.random()
    if k < 0.3:
        return f"192.0.2.{r.randint(1, 254)}"
    if k < 0.6:
        return f"198.51.100.{r.randint(1, 254)}"
    if k < 0.85:
        return f"203.0.113.{r.randint(1, 254)}"
    return ip6(r)


def ip6(r: random.Random) -> str:
    return "2001:db8:%x:%x::%x" % (r.randint(1, 0xFFF), r.randint(1, 0xFF), r.randint(1, 0xFFFF))


def ip_priv(r: random.Random, net: str = "10.0") -> str:
    return f"{net}.{r.randint(1, 9)}.{r.randint(2, 250)}"


def uid(r: random.Random) -> str:
    return str(uuidlib.UUID(int=r.getrandbits(128), version=4))


def hexs(r: random.Random, n: int) -> str:
    return "".join(r.choice("0123456789abcdef") for _ in range(n))


def eport(r: random.Random) -> int:
    return r.randint(32768, 60999)


UAS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36",
]


class Log:
    def __init__(self, name: str):
        self.name = name
        self.r = random.Random(f"logformats-holdout2-{name}")
        self.rows: list[tuple[float, int, str, str]] = []
        self.counter: int | None = None

    def add(self, t: float, line: str, ev: str) -> None:
        self.rows.append((t, len(self.rows), line, ev))

    def write(self) -> tuple[int, collections.Counter]:
        self.rows.sort(key=lambda x: (x[0], x[1]))
        if self.counter is not None:  # e.g. traefik's request counter, monotonic in time
            n = self.counter
            fixed = []
            for row in self.rows:
                if "\x00REQ\x00" in row[2]:
                    n += 1
                    row = (row[0], row[1], row[2].replace("\x00REQ\x00", str(n)), row[3])
                fixed.append(row)
            self.rows = fixed
        with open(HERE / f"{self.name}.jsonl", "w", encoding="utf-8") as f:
            for _, _, line, ev in self.rows:
                assert "\n" not in line, line
                f.write(json.dumps({"line": line, "event": ev}, ensure_ascii=False) + "\n")
        return len(self.rows), collections.Counter(ev for *_, ev in self.rows)


def times(r: random.Random, n: int, lo: float = 0.0, hi: float = SPAN) -> list[float]:
    return sorted(r.uniform(lo, hi) for _ in range(n))


# ------------------------------------------------------------- caddy_json
def caddy_json() -> Log:
    L = Log("caddy_json")
    r = L.r
    host = "shop.example.com"
    base_epoch = T0.timestamp()

    def tls() -> dict:
        return {
            "resumed": r.random() < 0.3,
            "version": 772,
            "cipher_suite": 4865,
            "proto": "h2",
            "server_name": host,
        }

    def access(
        t,
        method,
        uri,
        status,
        size,
        ev,
        ua=None,
        ctype="application/json",
        remote=None,
        h2=True,
        req_host=host,
        bytes_read=0,
        dur=None,
    ):
        ip = remote or ip_public(r)
        req = {
            "remote_ip": ip,
            "remote_port": str(eport(r)),
            "client_ip": ip,
            "proto": "HTTP/2.0" if h2 else "HTTP/1.1",
            "method": method,
            "host": req_host,
            "uri": uri,
            "headers": {
                "User-Agent": [ua or r.choice(UAS)],
                "Accept": ["*/*"],
                "Accept-Encoding": ["gzip, deflate, br"],
            },
        }
        if h2:
            req["tls"] = tls()
        resp = {"Server": ["Caddy"], "Content-Type": [ctype]}
        if status < 300:
            resp["Content-Encoding"] = ["gzip"]
        obj = {
            "level": "error" if status >= 500 else "info",
            "ts": round(base_epoch + t, 7),
            "logger": "http.log.access.log0",
            "msg": "handled request",
            "request": req,
            "bytes_read": bytes_read,
            "user_id": "",
            "duration": dur if dur is not None else round(r.uniform(0.0006, 0.09), 9),
            "size": size,
            "status": status,
            "resp_headers": resp,
        }
        L.add(t, json.dumps(obj, separators=(",", ":")), ev)
        return req

    # scenario: product browsing sessions (page api + assets)
    assets = ["app", "vendor", "checkout", "styles"]
    for t in times(r, 14, 0, 1700):
        ip = ip_public(r)
        ua = r.choice(UAS)
        for k in range(r.randint(1, 2)):
            name = r.choice(assets)
            ext = "css" if name == "styles" else "js"
            access(
                t + 0.05 * k,
                "GET",
                f"/assets/{name}.{hexs(r, 8)}.{ext}",
                r.choice([200, 200, 304]),
                r.randint(2000, 180000),
                "E3",
                ua=ua,
                remote=ip,
                ctype="text/css; charset=utf-8"
                if ext == "css"
                else "text/javascript; charset=utf-8",
            )
        cat = r.choice(["shoes", "jackets", "bags", "hats"])
        access(
            t + 0.4,
            "GET",
            f"/api/products?category={cat}&page={r.randint(1, 6)}",
            200,
            r.randint(900, 14000),
            "E2",
            ua=ua,
            remote=ip,
        )
        for k in range(r.randint(1, 3)):
            access(
                t + 1.5 + 3 * k,
                "GET",
                f"/api/products/{r.randint(1000, 98000)}",
                r.choice([200] * 8 + [404]),
                r.randint(300, 4000),
                "E1",
                ua=ua,
                remote=ip,
            )
        if r.random() < 0.55:
            access(
                t + 12,
                "POST",
                f"/api/cart/{uid(r)}/items",
                201,
                r.randint(150, 600),
                "E4",
                ua=ua,
                remote=ip,
                bytes_read=r.randint(40, 120),
            )
    # extra product views from crawlers
    for t in times(r, 6):
        access(
            t,
            "GET",
            f"/api/products/{r.randint(1000, 98000)}",
            200,
            r.randint(300, 4000),
            "E1",
            ua="Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        )
    # health checks from the internal LB, plain HTTP
    for t in times(r, 8):
        access(
            t,
            "GET",
            "/healthz",
            200,
            2,
            "E5",
            ua="kube-probe/1.31",
            remote=ip_priv(r),
            h2=False,
            req_host=f"{ip_priv(r)}:80",
            ctype="text/plain; charset=utf-8",
        )
    # checkouts, including an upstream outage (php-fpm at 127.0.0.1:9000 down)
    for t in times(r, 3, 0, 800):
        access(
            t,
            "POST",
            "/api/checkout",
            200,
            r.randint(400, 900),
            "E6",
            bytes_read=r.randint(300, 900),
        )
    outage = 1210.0
    for k in range(3):
        t = outage + k * 7.3
        ip = ip_public(r)
        errid = "".join(
            r.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
            for _ in range(9)
        )
        req = access(
            t,
            "POST",
            "/api/checkout",
            502,
            0,
            "E6",
            remote=ip,
            bytes_read=r.randint(300, 900),
            dur=round(r.uniform(0.0004, 0.003), 9),
        )
        err = {
            "level": "error",
            "ts": round(base_epoch + t, 7),
            "logger": "http.log.error.log0",
            "msg": "dial tcp 127.0.0.1:9000: connect: connection refused",
            "request": req,
            "duration": round(r.uniform(0.0004, 0.003), 9),
            "status": 502,
            "err_id": errid,
            "err_trace": "reverseproxy.statusError (reverseproxy.go:1269)",
        }
        L.add(t - 0.0001, json.dumps(err, separators=(",", ":")), "E7")
    for t in times(r, 2, 1300, 1750):
        access(
            t,
            "POST",
            "/api/checkout",
            200,
            r.randint(400, 900),
            "E6",
            bytes_read=r.randint(300, 900),
        )
    # certificate renewal
    t = 905.2
    L.add(
        t,
        json.dumps(
            {
                "level": "info",
                "ts": round(base_epoch + t, 7),
                "logger": "tls.cache.maintenance",
                "msg": "certificate expires soon; queuing for renewal",
                "identifiers": [host],
                "remaining": 2591998.853,
            },
            separators=(",", ":"),
        ),
        "E8",
    )
    L.add(
        t + 0.01,
        json.dumps(
            {
                "level": "info",
                "ts": round(base_epoch + t + 0.01, 7),
                "logger": "tls.renew",
                "msg": "renewing certificate",
                "identifier": host,
                "remaining": 2591998.843,
            },
            separators=(",", ":"),
        ),
        "E9",
    )
    L.add(
        t + 4.2,
        json.dumps(
            {
                "level": "info",
                "ts": round(base_epoch + t + 4.2, 7),
                "logger": "tls.renew",
                "msg": "certificate renewed successfully",
                "identifier": host,
                "issuer": "acme-v02.api.letsencrypt.org-directory",
            },
            separators=(",", ":"),
        ),
        "E10",
    )
    # scanner
    for t in times(r, 2):
        access(
            t,
            "GET",
            "/.git/config",
            404,
            0,
            "E11",
            ua="Mozilla/5.0 zgrab/0.x",
            h2=False,
            ctype="text/plain; charset=utf-8",
        )
    return L


# ---------------------------------------------------------- traefik_access
def traefik_access() -> Log:
    L = Log("traefik_access")
    r = L.r

    def clf(
        t,
        ip,
        method,
        path,
        status,
        size,
        ref,
        ua,
        router,
        backend,
        ms,
        ev,
        user="-",
        proto="HTTP/1.1",
    ):
        ts = at(t)
        stamp = f"{ts.day:02d}/{MON[ts.month - 1]}/{ts.year}:{ts:%H:%M:%S} +0000"
        L.add(
            t,
            f'{ip} - {user} [{stamp}] "{method} {path} {proto}" {status} {size} "{ref}" "{ua}" '
            f'\x00REQ\x00 "{router}" "{backend}" {ms}ms',
            ev,
        )

    L.counter = 18211
    graf = "http://172.18.0.7:3000"
    gitea = "http://172.18.0.9:3000"
    # grafana dashboard viewers: dashboard load, assets, then periodic ds queries
    dashes = [hexs(r, 9), hexs(r, 9), "f3a9c2Kx1"]
    for t in times(r, 5, 0, 1500):
        ip = ip_priv(r, "10.20")
        ua = r.choice(UAS)
        user = "-"
        ref = "https://grafana.example.org/"
        for k in range(2):
            clf(
                t + 0.1 * k,
                ip,
                "GET",
                f"/public/build/{r.choice(['app', 'runtime', 'vendors~app'])}.{hexs(r, 20)}.js",
                r.choice([200, 304]),
                r.randint(0, 900000),
                ref,
                ua,
                "grafana@docker",
                graf,
                r.randint(1, 12),
                "E3",
                user=user,
                proto="HTTP/2.0",
            )
        d = r.choice(dashes)
        clf(
            t + 0.6,
            ip,
            "GET",
            f"/api/dashboards/uid/{d}",
            200,
            r.randint(4000, 60000),
            f"https://grafana.example.org/d/{d}",
            ua,
            "grafana@docker",
            graf,
            r.randint(4, 40),
            "E2",
            proto="HTTP/2.0",
        )
        for k in range(r.randint(3, 5)):
            clf(
                t + 1 + 30 * k,
                ip,
                "POST",
                f"/api/ds/query?ds_type=prometheus&requestId=SQR{r.randint(100, 999)}",
                r.choice([200] * 9 + [504]),
                r.randint(800, 90000),
                f"https://grafana.example.org/d/{d}",
                ua,
                "grafana@docker",
                graf,
                r.randint(30, 2400),
                "E1",
                proto="HTTP/2.0",
            )
        if r.random() < 0.5:
            clf(
                t + 0.8,
                ip,
                "GET",
                "/api/live/ws",
                101,
                0,
                "-",
                ua,
                "grafana@docker",
                graf,
                r.randint(30000, 900000),
                "E4",
                proto="HTTP/1.1",
            )
    # gitea browsing
    repos = [("infra", "terraform-modules"), ("platform", "api-gateway"), ("web", "storefront")]
    for t in times(r, 10):
        o, n = r.choice(repos)
        clf(
            t,
            ip_priv(r, "10.20"),
            "GET",
            f"/{o}/{n}/commit/{hexs(r, 40)}",
            200,
            r.randint(20000, 200000),
            f"https://git.example.org/{o}/{n}/commits/branch/main",
            r.choice(UAS),
            "gitea@docker",
            gitea,
            r.randint(20, 400),
            "E5",
            proto="HTTP/2.0",
        )
    # CI polls PRs and posts statuses
    for t in times(r, 7):
        o, n = r.choice(repos)
        clf(
            t,
            ip_priv(r, "10.30"),
            "GET",
            f"/api/v1/repos/{o}/{n}/pulls?state=open&page=1&limit={r.choice([20, 50])}",
            200,
            r.randint(2, 30000),
            "-",
            "go-gitea-sdk/0.19",
            "gitea@docker",
            gitea,
            r.randint(10, 200),
            "E6",
            user="ci-bot",
        )
    for t in times(r, 6):
        o, n = r.choice(repos)
        clf(
            t,
            ip_priv(r, "10.30"),
            "POST",
            f"/api/v1/repos/{o}/{n}/statuses/{hexs(r, 40)}",
            201,
            r.randint(700, 1100),
            "-",
            "woodpecker/2.7.3",
            "gitea@docker",
            gitea,
            r.randint(15, 90),
            "E7",
            user="ci-bot",
        )
    # traefik's own ping endpoint (docker healthcheck)
    for t in times(r, 9):
        clf(
            t,
            "127.0.0.1",
            "GET",
            "/ping",
            200,
            2,
            "-",
            "Go-http-client/1.1",
            "ping@internal",
            "-",
            0,
            "E8",
        )
    # scanners
    for t in times(r, 2):
        clf(
            t,
            ip_public(r),
            "GET",
            "/wp-login.php",
            404,
            19,
            "-",
            "Mozilla/5.0 (compatible; scan/1.0)",
            "-",
            "-",
            0,
            "E9",
        )
    clf(
        1433.7,
        ip_priv(r, "10.20"),
        "GET",
        "/api/health",
        200,
        101,
        "-",
        "Blackbox Exporter/0.25.0",
        "grafana@docker",
        graf,
        2,
        "E10",
    )
    return L


# ------------------------------------------------------------------ aws_alb
def aws_alb() -> Log:
    L = Log("aws_alb")
    r = L.r
    elb = "app/prod-api-alb/50dc6c495c0c9188"
    tg = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/prod-api-tg/73e2d6bc24d8a067"
    cert = "arn:aws:acm:us-east-1:123456789012:certificate/8f1c2a3b-4d5e-4f60-9a7b-0c1d2e3f4a5b"
    targets = ["10.0.1.17:8080", "10.0.2.31:8080", "10.0.3.44:8080"]

    def alb(
        t,
        method,
        path,
        status,
        ev,
        ua=None,
        tstatus=None,
        target=None,
        times3=None,
        https=True,
        action="forward",
        redirect="-",
        rbytes=None,
        sbytes=None,
        ip=None,
    ):
        ts = at(t)
        created = at(t - r.uniform(0.0005, 0.004))
        tgt = target or r.choice(targets)
        ptimes = times3 or ("0.000", f"{r.uniform(0.002, 0.35):.3f}", "0.000")
        scheme, port = ("https", 443) if https else ("http", 80)
        ip = ip or ip_public(r)
        client = f"{ip}:{eport(r)}"
        req = f"{method} {scheme}://api.example.com:{port}{path} HTTP/{'2.0' if https else '1.1'}"
        tsc = tstatus if tstatus is not None else str(status)
        cipher, proto = ("ECDHE-RSA-AES128-GCM-SHA256", "TLSv1.2") if https else ("-", "-")
        line = (
            f"{'h2' if https else 'http'} {ts:%Y-%m-%dT%H:%M:%S.%f}Z {elb} {client} {tgt} "
            f"{ptimes[0]} {ptimes[1]} {ptimes[2]} {status} {tsc} {rbytes if rbytes is not None else r.randint(30, 900)} "
            f'{sbytes if sbytes is not None else r.randint(200, 12000)} "{req}" "{ua or r.choice(UAS)}" '
            f"{cipher} {proto} {tg if tgt != '-' else '-'} "
            f'"Root=1-{int(ts.timestamp()):08x}-{hexs(r, 24)}" "{"api.example.com" if https else "-"}" "{cert if https else "-"}" '
            f'{0 if action == "redirect" else r.choice([1, 2])} {created:%Y-%m-%dT%H:%M:%S.%f}Z "{action}" '
            f'"{redirect}" "-" "{tgt}" "{tsc}" "-" "-" TID_{hexs(r, 32)}'
        )
        L.add(t, line, ev)

    mob = "okhttp/4.12.0"
    # mobile app sessions
    for t in times(r, 12, 0, 1750):
        ip = ip_public(r)
        u = r.randint(10000, 99999)
        alb(t, "GET", f"/v1/users/{u}", 200, "E1", ua=mob, ip=ip)
        if r.random() < 0.8:
            alb(
                t + 0.7,
                "GET",
                f"/v1/orders?status={r.choice(['open', 'shipped', 'all'])}&limit=20",
                200,
                "E2",
                ua=mob,
                ip=ip,
            )
        if r.random() < 0.45:
            alb(
                t + 3.1,
                "PUT",
                f"/v1/users/{u}/preferences",
                204,
                "E5",
                ua=mob,
                ip=ip,
                sbytes=r.randint(180, 260),
            )
        if r.random() < 0.4:
            alb(
                t + 5.0,
                "GET",
                f"/v1/files/{uid(r)}/download",
                r.choice([200, 200, 403]),
                "E7",
                ua=mob,
                ip=ip,
                sbytes=r.randint(40000, 5000000),
            )
    # web clients
    for t in times(r, 10):
        alb(
            t, "GET", f"/v1/users/{r.randint(10000, 99999)}", r.choice([200] * 6 + [404, 304]), "E1"
        )
    # orders, with one target failing (connection refused -> 502 with -1 times)
    for t in times(r, 7, 0, 1750):
        alb(t, "POST", "/v1/orders", 201, "E3", rbytes=r.randint(400, 2000))
    for k in range(3):
        alb(
            1020 + 4.4 * k,
            "POST",
            "/v1/orders",
            502,
            "E3",
            tstatus="-",
            target="10.0.2.31:8080",
            times3=("-1", "-1", "-1"),
            rbytes=r.randint(400, 2000),
            sbytes=272,
        )
    # uptime monitor
    for t in times(r, 9):
        alb(
            t,
            "GET",
            "/health",
            200,
            "E4",
            ua="Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
            sbytes=r.randint(180, 190),
        )
    # plain http hits are redirected by the listener rule
    for t in times(r, 3):
        alb(
            t,
            "GET",
            "/",
            301,
            "E6",
            tstatus="-",
            target="-",
            times3=("-1", "-1", "-1"),
            https=False,
            action="redirect",
            redirect="https://api.example.com:443/",
            sbytes=0,
        )
    for t in times(r, 2):
        alb(
            t,
            "DELETE",
            f"/v1/sessions/{hexs(r, 32)}",
            204,
            "E8",
            ua=mob,
            sbytes=r.randint(150, 170),
        )
    return L


# ------------------------------------------------------------ mongodb_json
def mongodb_json() -> Log:
    L = Log("mongodb_json")
    r = L.r

    def m(t, s, c, idn, ctx, msg, attr=None, ev="?"):
        date = at(t).isoformat(timespec="milliseconds")
        head = '{"t":{"$date":"%s"},' % date
        sp = '"s":"%s",' % s
        sp = sp + " " * max(0, 10 - len(sp))
        cp = '"c":"%s",' % c
        cp = cp + " " * max(0, 16 - len(cp))
        ip = '"id":%d,' % idn
        ip = ip + " " * max(0, 14 - len(ip))
        body = '"ctx":%s,"msg":%s' % (json.dumps(ctx), json.dumps(msg))
        if attr is not None:
            body += ',"attr":' + json.dumps(attr, separators=(",", ":"))
        L.add(t, head + sp + cp + ip + body + "}", ev)

    conn = 41200
    drivers = [
        ({"name": "nodejs", "version": "6.10.0"}, "Node.js v20.18.0, LE (unified)"),
        ({"name": "PyMongo", "version": "4.10.1"}, "CPython 3.12.7.final.0"),
        ({"name": "mongo-go-driver", "version": "1.17.1"}, "go1.23.3"),
    ]
    sessions = []
    for t in times(r, 12, 0, 1600):
        conn += r.randint(1, 40)
        ip = f"10.0.{r.randint(1, 3)}.{r.randint(10, 90)}"
        port = eport(r)
        m(
            t,
            "I",
            "NETWORK",
            22943,
            "listener",
            "Connection accepted",
            {
                "remote": f"{ip}:{port}",
                "isLoadBalanced": False,
                "uuid": {"uuid": {"$uuid": uid(r)}},
                "connectionId": conn,
                "connectionCount": r.randint(40, 120),
            },
            "E1",
        )
        drv, plat = r.choice(drivers)
        m(
            t + 0.004,
            "I",
            "NETWORK",
            51800,
            f"conn{conn}",
            "client metadata",
            {
                "remote": f"{ip}:{port}",
                "client": f"conn{conn}",
                "negotiatedCompressors": [],
                "doc": {
                    "driver": drv,
                    "platform": plat,
                    "os": {
                        "type": "Linux",
                        "name": "linux",
                        "architecture": "x64",
                        "version": "6.1.0-27-amd64",
                    },
                },
            },
            "E2",
        )
        m(
            t + 0.03,
            "I",
            "ACCESS",
            5286306,
            f"conn{conn}",
            "Authentication succeeded",
            {
                "mechanism": "SCRAM-SHA-256",
                "speculative": True,
                "principalName": r.choice(["shop_app", "reporting", "etl"]),
                "authenticationDatabase": "admin",
                "remote": f"{ip}:{port}",
                "extraInfo": {},
            },
            "E5",
        )
        sessions.append((t, conn, ip, port))
    # slow queries on the open connections
    shapes = ["find", "aggregate", "update", "getMore"]
    for t in times(r, 18, 30, 1750):
        cands = [s for s in sessions if s[0] < t] or sessions[:1]
        _, c, ip, port = r.choice(cands)
        kind = r.choice(shapes)
        dur = r.randint(101, 4800)
        if kind == "find":
            cmd = {
                "find": "orders",
                "filter": {
                    "customerId": r.randint(1000, 99999),
                    "status": {"$in": ["open", "paid"]},
                },
                "sort": {"createdAt": -1},
                "limit": 50,
                "lsid": {"id": {"$uuid": uid(r)}},
                "$db": "shop",
            }
            attr = {
                "type": "command",
                "ns": "shop.orders",
                "command": cmd,
                "planSummary": "COLLSCAN",
                "keysExamined": 0,
                "docsExamined": r.randint(100000, 900000),
                "nreturned": r.randint(0, 50),
                "queryHash": hexs(r, 8).upper(),
                "reslen": r.randint(200, 40000),
                "protocol": "op_msg",
                "durationMillis": dur,
            }
        elif kind == "aggregate":
            cmd = {
                "aggregate": "events",
                "pipeline": [
                    {"$match": {"ts": {"$gte": {"$date": "2026-12-03T00:00:00.000Z"}}}},
                    {"$group": {"_id": "$type", "n": {"$sum": 1}}},
                ],
                "cursor": {},
                "$db": "analytics",
            }
            attr = {
                "type": "command",
                "ns": "analytics.events",
                "command": cmd,
                "planSummary": "IXSCAN { ts: 1 }",
                "keysExamined": r.randint(1000, 500000),
                "docsExamined": r.randint(1000, 500000),
                "nreturned": r.randint(3, 20),
                "reslen": r.randint(300, 3000),
                "protocol": "op_msg",
                "durationMillis": dur,
            }
        elif kind == "update":
            cmd = {
                "q": {"sku": f"SKU-{r.randint(10000, 99999)}"},
                "u": {"$inc": {"stock": -r.randint(1, 5)}},
                "multi": False,
                "upsert": False,
            }
            attr = {
                "type": "update",
                "ns": "shop.inventory",
                "command": cmd,
                "planSummary": "IXSCAN { sku: 1 }",
                "keysExamined": 1,
                "docsExamined": 1,
                "nMatched": 1,
                "nModified": 1,
                "numYields": 0,
                "writeConflicts": r.randint(0, 3),
                "durationMillis": dur,
            }
        else:
            cmd = {
                "getMore": r.randint(10**17, 10**18),
                "collection": "orders",
                "batchSize": 1000,
                "$db": "shop",
            }
            attr = {
                "type": "command",
                "ns": "shop.orders",
                "command": cmd,
                "originatingCommand": {"find": "orders"},
                "planSummary": "COLLSCAN",
                "cursorExhausted": True,
                "nreturned": r.randint(10, 1000),
                "reslen": r.randint(1000, 900000),
                "protocol": "op_msg",
                "durationMillis": dur,
            }
        m(
            t,
            "I",
            "COMMAND" if kind != "update" else "WRITE",
            51803,
            f"conn{c}",
            "Slow query",
            attr,
            "E4",
        )
    # connections ending
    for t0, c, ip, port in sessions:
        if r.random() < 0.9:
            m(
                t0 + r.uniform(60, 400),
                "I",
                "NETWORK",
                22944,
                f"conn{c}",
                "Connection ended",
                {
                    "remote": f"{ip}:{port}",
                    "isLoadBalanced": False,
                    "uuid": {"uuid": {"$uuid": uid(r)}},
                    "connectionId": c,
                    "connectionCount": r.randint(40, 120),
                },
                "E3",
            )
    # failed auth from a misconfigured job
    for t in (733.2, 733.9):
        conn += 1
        m(
            t,
            "I",
            "ACCESS",
            5286307,
            f"conn{conn}",
            "Authentication failed",
            {
                "mechanism": "SCRAM-SHA-256",
                "speculative": False,
                "principalName": "etl",
                "authenticationDatabase": "admin",
                "remote": f"10.0.7.{r.randint(10, 90)}:{eport(r)}",
                "extraInfo": {},
                "error": "AuthenticationFailed: SCRAM authentication failed, storedKey mismatch",
            },
            "E6",
        )
    # checkpoints every 60s
    for k in range(8):
        t = 40 + 220 * k + r.uniform(0, 2)
        m(
            t,
            "I",
            "WTCHKPT",
            22430,
            "Checkpointer",
            "WiredTiger message",
            {
                "message": {
                    "ts_sec": int(T0.timestamp() + t),
                    "ts_usec": r.randint(0, 999999),
                    "thread": f"1:0x7f{hexs(r, 10)}",
                    "session_name": "WT_SESSION.checkpoint",
                    "category": "WT_VERB_CHECKPOINT_PROGRESS",
                    "category_id": 6,
                    "verbose_level": "DEBUG_1",
                    "verbose_level_id": 1,
                    "msg": f"saving checkpoint snapshot min: {900 + k * 37}, snapshot max: {900 + k * 37}"
                    f" snapshot count: 0, oldest timestamp: ({1796367000 + k * 60}, 1) , meta checkpoint "
                    f"timestamp: ({1796367000 + k * 60}, 1) base write gen: {30211 + k}",
                }
            },
            "E7",
        )
    # a secondary goes away and comes back
    m(
        1111.4,
        "I",
        "REPL_HB",
        23974,
        "ReplCoord-7",
        "Heartbeat failed after max retries",
        {
            "target": "mongo-2.db.internal:27017",
            "maxHeartbeatRetries": 2,
            "error": {
                "code": 6,
                "codeName": "HostUnreachable",
                "errmsg": "Error connecting to mongo-2.db.internal:27017 (10.0.4.12:27017) :: caused by :: Connection refused",
            },
        },
        "E8",
    )
    m(
        1111.5,
        "I",
        "REPL",
        21215,
        "ReplCoord-7",
        "Member is in new state",
        {"hostAndPort": "mongo-2.db.internal:27017", "newState": "(not reachable/healthy)"},
        "E9",
    )
    m(
        1203.8,
        "I",
        "REPL",
        21215,
        "ReplCoord-9",
        "Member is in new state",
        {"hostAndPort": "mongo-2.db.internal:27017", "newState": "SECONDARY"},
        "E9",
    )
    m(
        1500.2,
        "I",
        "STORAGE",
        20320,
        "conn41877",
        "createCollection",
        {
            "namespace": "shop.audit_2026_12",
            "uuidDisposition": "generated",
            "uuid": {"uuid": {"$uuid": uid(r)}},
            "options": {},
        },
        "E10",
    )
    m(
        1500.3,
        "I",
        "INDEX",
        20345,
        "conn41877",
        "Index build: done building",
        {
            "buildUUID": None,
            "collectionUUID": {"uuid": {"$uuid": uid(r)}},
            "namespace": "shop.audit_2026_12",
            "index": "_id_",
            "ident": f"index-{r.randint(100, 999)}-{r.randint(10**18, 10**19)}",
            "collectionIdent": f"collection-{r.randint(100, 999)}-{r.randint(10**18, 10**19)}",
            "commitTimestamp": None,
        },
        "E11",
    )
    return L


# ------------------------------------------------------------- nomad_hclog
def nomad_hclog() -> Log:
    L = Log("nomad_hclog")
    r = L.r
    node = uid(r)

    def h(t, lvl, body, ev):
        stamp = at(t).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at(t).microsecond // 1000:03d}Z"
        L.add(t, f"{stamp} [{lvl}]{' ' * (6 - len(lvl))}{body}", ev)

    def d(lo, hi):
        us = r.uniform(lo, hi)
        return f"{us:.3f}µs" if us < 1000 else f"{us / 1000:.6f}ms"

    # API polling (debug)
    for t in times(r, 24):
        k = r.random()
        if k < 0.5:
            path = "/v1/agent/health?type=client"
        elif k < 0.8:
            path = f"/v1/node/{node}/allocations?index={r.randint(91000, 92000)}"
        else:
            path = "/v1/metrics?format=prometheus"
        h(
            t,
            "DEBUG",
            f"http: request complete: method=GET path={path} duration={d(80, 4000)}",
            "E1",
        )

    def start_task(t, alloc, task, restart=False):
        h(
            t,
            "INFO",
            f"client.alloc_runner.task_runner: Task event: alloc_id={alloc} task={task} type=Received "
            f'msg="Task received by client" failed=false',
            "E2",
        ) if not restart else None
        h(
            t + 0.01,
            "INFO",
            f"client.alloc_runner.task_runner.task_hook.logmon.nomad: opening fifo: alloc_id={alloc} "
            f"task={task} @module=logmon path=/opt/nomad/data/alloc/{alloc}/alloc/logs/.{task}.stdout.fifo "
            f"timestamp={at(t + 0.01).strftime('%Y-%m-%dT%H:%M:%S.')}{at(t + 0.01).microsecond // 1000:03d}Z",
            "E11",
        )
        if not restart:
            h(
                t + 0.2,
                "INFO",
                f'agent: (runner) rendered "(dynamic)" => "/opt/nomad/data/alloc/{alloc}/{task}/local/config.yml"',
                "E7",
            ) if r.random() < 0.6 else None
        cid = hexs(r, 64)
        h(
            t + 0.9,
            "INFO",
            f"client.driver_mgr.docker: created container: driver=docker container_id={cid}",
            "E3",
        )
        h(
            t + 1.3,
            "INFO",
            f"client.driver_mgr.docker: started container: driver=docker container_id={cid}",
            "E4",
        )
        h(
            t + 1.35,
            "INFO",
            f"client.alloc_runner.task_runner: Task event: alloc_id={alloc} task={task} type=Started "
            f'msg="Task started by client" failed=false',
            "E2",
        )

    h(5.0, "INFO", "client: node registration complete", "E10")
    allocs = []
    for t in times(r, 3, 20, 600):
        a = uid(r)
        task = r.choice(["web", "worker", "cache"])
        start_task(t, a, task)
        allocs.append((a, task))
    # a crash-looping task restarts a few times
    a, task = uid(r), "worker"
    start_task(700, a, task)
    t = 760.0
    for k in range(3):
        h(
            t,
            "INFO",
            f"client.alloc_runner.task_runner: Task event: alloc_id={a} task={task} type=Terminated "
            f'msg="Exit Code: 1, Exit Message: \\"Docker container exited with non-zero exit code: 1\\"" failed=false',
            "E2",
        )
        h(
            t + 0.02,
            "INFO",
            f"client.alloc_runner.task_runner.task_hook.logmon: plugin process exited: alloc_id={a} "
            f"task={task} path=/usr/local/bin/nomad pid={r.randint(20000, 40000)}",
            "E12",
        )
        delay = 15 + r.uniform(0, 3) + 10 * k
        h(
            t + 0.03,
            "INFO",
            f"client.alloc_runner.task_runner: restarting task: alloc_id={a} task={task} "
            f'reason="Restart within policy" delay={delay:.6f}s',
            "E5",
        )
        h(
            t + 0.04,
            "INFO",
            f"client.alloc_runner.task_runner: Task event: alloc_id={a} task={task} type=Restarting "
            f'msg="Task restarting in {delay:.6f}s" failed=false',
            "E2",
        )
        start_task(t + delay, a, task, restart=True)
        t += delay + 30 + 20 * k
    # lost connection to servers
    h(
        1305.1,
        "ERROR",
        'client.rpc: error performing RPC to server: error="rpc error: failed to get conn: dial tcp '
        '10.0.0.10:4647: connect: connection refused" rpc=Node.GetClientAllocs server=10.0.0.10:4647',
        "E8",
    )
    h(
        1305.4,
        "ERROR",
        'client.rpc: error performing RPC to server: error="rpc error: EOF" rpc=Node.UpdateAlloc '
        "server=10.0.0.11:4647",
        "E8",
    )
    h(
        1306.0,
        "ERROR",
        "client.rpc: error performing RPC to server which is not safe to automatically retry: "
        'error="rpc error: EOF" rpc=Node.UpdateStatus server=10.0.0.11:4647',
        "E9",
    )
    # GC of stopped allocs
    for (a, task), t in zip(allocs, (1500.0, 1620.0, 1700.0)):
        h(t, "INFO", f"client.gc: marking allocation for GC: alloc_id={a}", "E6")
        h(
            t + 0.2,
            "INFO",
            f"client.alloc_runner.task_runner.task_hook.logmon: plugin process exited: alloc_id={a} "
            f"task={task} path=/usr/local/bin/nomad pid={r.randint(20000, 40000)}",
            "E12",
        ) if t > 1600 else None
    return L


# ----------------------------------------------------------- elasticsearch
def elasticsearch() -> Log:
    L = Log("elasticsearch")
    r = L.r
    node = "es-node-1"

    def e(t, lvl, logger, msg, ev):
        ts = at(t)
        stamp = ts.strftime("%Y-%m-%dT%H:%M:%S,") + f"{ts.microsecond // 1000:03d}"
        L.add(t, f"[{stamp}][{lvl:<5}][{logger:<25}] [{node}] {msg}", ev)

    b62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
    iid = lambda: "".join(r.choice(b62) for _ in range(22))
    indices = {f"logs-{svc}-2026.12.04": iid() for svc in ("nginx", "app", "audit", "k8s")}
    # new daily indices created by bulk, then mapping updates
    for k, (idx, u) in enumerate(list(indices.items())[:3]):
        t = 2 + 3.3 * k
        e(
            t,
            "INFO",
            "o.e.c.m.MetadataCreateIndexService",
            f"[{idx}] creating index, cause [auto(bulk api)], templates [{idx.split('-')[1]}-template], shards [1]/[1]",
            "E3",
        )
        e(
            t + 0.4,
            "INFO",
            "o.e.c.r.a.AllocationService",
            f"Cluster health status changed from [YELLOW] to [GREEN] (reason: [shards started [[{idx}][0]]]).",
            "E4",
        ) if k == 2 else None
    for t in times(r, 16, 5, 1700):
        idx, u = r.choice(list(indices.items())[:3])
        e(t, "INFO", "o.e.c.m.MetadataMappingService", f"[{idx}/{u}] update_mapping [_doc]", "E2")
    # GC pressure
    gcn = 88211
    for t in times(r, 19):
        gcn += r.randint(1, 90)
        e(
            t,
            "WARN",
            "o.e.m.j.JvmGcMonitorService",
            f"[gc][{gcn}] overhead, spent [{r.randint(500, 990)}ms] collecting in the last [1s]",
            "E1",
        )
    # ILM rollovers
    steps = [
        ("check-rollover-ready", "attempt-rollover"),
        ("attempt-rollover", "wait-for-active-shards"),
        ("wait-for-active-shards", "update-rollover-lifecycle-date"),
    ]
    for ds, t0 in (("logs-nginx-default", 420.0), ("metrics-system.cpu-default", 1330.0)):
        gen = r.randint(10, 40)
        for j, (a, b) in enumerate(steps):
            e(
                t0 + j * 0.2,
                "INFO",
                "o.e.x.i.IndexLifecycleTransition",
                f'moving index [.ds-{ds}-2026.11.27-{gen:06d}] from [{{"phase":"hot","action":"rollover","name":"{a}"}}] '
                f'to [{{"phase":"hot","action":"rollover","name":"{b}"}}] in policy [{ds.split("-")[0]}]',
                "E9",
            )
    # old indices deleted by curator
    for k in range(3):
        e(
            600 + k * 0.6,
            "INFO",
            "o.e.c.m.MetadataDeleteIndexService",
            f"[logs-{r.choice(['nginx', 'app', 'audit'])}-2026.11.{k + 2:02d}/{iid()}] deleting index",
            "E8",
        )
    # disk filling on es-node-2
    nid = iid()
    e(
        900.0,
        "WARN",
        "o.e.c.r.a.DiskThresholdMonitor",
        f"low disk watermark [85%] exceeded on [{nid}][es-node-2][/var/lib/elasticsearch] free: 14.2gb[13.9%], "
        f"replicas will not be assigned to this node",
        "E7",
    )
    e(
        960.0,
        "WARN",
        "o.e.c.r.a.DiskThresholdMonitor",
        f"low disk watermark [85%] exceeded on [{nid}][es-node-2][/var/lib/elasticsearch] free: 12.9gb[12.6%], "
        f"replicas will not be assigned to this node",
        "E7",
    )
    for k, free in enumerate(("9.8gb[9.6%]", "9.1gb[8.9%]", "8.7gb[8.5%]")):
        e(
            1020.0 + 60 * k,
            "WARN",
            "o.e.c.r.a.DiskThresholdMonitor",
            f"high disk watermark [90%] exceeded on [{nid}][es-node-2][/var/lib/elasticsearch] free: {free}, shards will "
            f"be relocated away from this node; currently relocating away shards totalling [{r.randint(0, 9) * 1024**3}] "
            f"bytes; the node is expected to continue to exceed the high disk watermark when these relocations are complete",
            "E5",
        )
    e(
        1290.0,
        "INFO",
        "o.e.c.r.a.DiskThresholdMonitor",
        f"low disk watermark [85%] no longer exceeded on [{nid}][es-node-2][/var/lib/elasticsearch] free: 31.0gb[30.4%]",
        "E6",
    )
    # node 3 leaves and rejoins
    n3 = f"{{es-node-3}}{{{iid()}}}{{{iid()}}}{{es-node-3}}{{10.0.0.7}}{{10.0.0.7:9300}}{{cdfhilmrstw}}"
    e(
        1400.5,
        "INFO",
        "o.e.c.s.ClusterApplierService",
        f"removed {{{n3}}}, term: 7, version: 4412, reason: Publication{{term=7, version=4412}}",
        "E11",
    )
    e(
        1400.7,
        "INFO",
        "o.e.c.r.a.AllocationService",
        "Cluster health status changed from [GREEN] to [YELLOW] (reason: [{es-node-3}{"
        + nid[:8]
        + "} reason: disconnected]).",
        "E4",
    )
    e(
        1466.1,
        "INFO",
        "o.e.c.s.ClusterApplierService",
        f"added {{{n3}}}, term: 7, version: 4419, reason: Publication{{term=7, version=4419}}",
        "E12",
    )
    e(
        1498.0,
        "INFO",
        "o.e.c.r.a.AllocationService",
        "Cluster health status changed from [YELLOW] to [GREEN] (reason: [shards started [[logs-app-2026.12.04][0]]]).",
        "E4",
    )
    for t in (310.2, 1140.8):
        e(
            t,
            "WARN",
            "o.e.h.AbstractHttpServerTransport",
            f"caught exception while handling client http traffic, closing connection Netty4HttpChannel"
            f"{{localAddress=/10.0.0.5:9200, remoteAddress=/10.0.2.{r.randint(10, 90)}:{eport(r)}}}",
            "E10",
        )
    # a beat agent with a stale password
    for t in (1050.3, 1110.3, 1170.4):
        e(
            t,
            "WARN",
            "o.e.x.s.a.RealmsAuthenticator",
            "Authentication to realm native1 failed - Password authentication failed for filebeat_writer",
            "E13",
        )
    # 4th index created later
    idx, u = list(indices.items())[3]
    e(
        1600.0,
        "INFO",
        "o.e.c.m.MetadataCreateIndexService",
        f"[{idx}] creating index, cause [auto(bulk api)], templates [k8s-template], shards [1]/[1]",
        "E3",
    )
    e(1600.5, "INFO", "o.e.c.m.MetadataMappingService", f"[{idx}/{u}] update_mapping [_doc]", "E2")
    return L


# --------------------------------------------------------------- zookeeper
def zookeeper() -> Log:
    L = Log("zookeeper")
    r = L.r
    acc = "NIOServerCxn.Factory:0.0.0.0/0.0.0.0:2181"

    def z(t, lvl, thread, loc, msg, ev):
        ts = at(t)
        stamp = ts.strftime("%Y-%m-%d %H:%M:%S,") + f"{ts.microsecond // 1000:03d}"
        L.add(t, f"{stamp} [myid:1] - {lvl:<5} [{thread}:{loc}] - {msg}", ev)

    sid = 0x16C9A2B3F4D0000
    live = []
    # client sessions: accept, attempt, established ... later closed
    for t in times(r, 13, 0, 1650):
        sid += r.randint(1, 9)
        s = f"0x{sid:x}"
        cl = f"/10.0.{r.randint(1, 3)}.{r.randint(10, 90)}:{eport(r)}"
        z(t, "INFO", acc, "NIOServerCnxnFactory@192", f"Accepted socket connection from {cl}", "E1")
        z(
            t + 0.002,
            "INFO",
            acc,
            "ZooKeeperServer@942",
            f"Client attempting to establish new session at {cl}",
            "E2",
        )
        z(
            t + 0.011,
            "INFO",
            "CommitProcessor:1",
            "ZooKeeperServer@687",
            f"Established session {s} with negotiated timeout {r.choice([6000, 18000, 30000, 40000])} for client {cl}",
            "E3",
        )
        live.append((t, s, cl))
    for j, (t0, s, cl) in enumerate(live):
        k = 0.9 if j in (3, 9) else r.random()
        t = t0 + r.uniform(30, 300)
        if k < 0.55:
            z(
                t,
                "INFO",
                "ProcessThread(sid:1 cport:-1):",
                "PrepRequestProcessor@487",
                f"Processed session termination for sessionid: {s}",
                "E6",
            )
            z(
                t + 0.003,
                "INFO",
                acc,
                "NIOServerCnxn@1044",
                f"Closed socket connection for client {cl} which had sessionid {s}",
                "E5",
            )
        elif k < 0.85:
            z(
                t,
                "WARN",
                acc,
                "NIOServerCnxn@376",
                f"Unable to read additional data from client sessionid {s}, likely client has closed socket",
                "E4",
            )
            z(
                t + 0.001,
                "INFO",
                acc,
                "NIOServerCnxn@1044",
                f"Closed socket connection for client {cl} which had sessionid {s}",
                "E5",
            )
        else:
            z(
                t + 30,
                "INFO",
                "SessionTracker",
                "ZooKeeperServer@358",
                f"Expiring session {s}, timeout of 30000ms exceeded",
                "E7",
            )
            z(
                t + 30.002,
                "INFO",
                "ProcessThread(sid:1 cport:-1):",
                "PrepRequestProcessor@487",
                f"Processed session termination for sessionid: {s}",
                "E6",
            )
    # kafka brokers' user-level exceptions
    errs = [
        ("create", "-110", "/brokers/ids/{b}", "NodeExists"),
        ("delete", "-101", "/admin/reassign_partitions", "NoNode"),
        ("setData", "-103", "/controller_epoch", "BadVersion"),
        ("create", "-110", "/controller", "NodeExists"),
    ]
    for t in times(r, 9):
        typ, _, path, code = r.choice(errs)
        path = path.format(b=r.randint(1, 3))
        s = r.choice(live)[1]
        z(
            t,
            "INFO",
            "ProcessThread(sid:1 cport:-1):",
            "PrepRequestProcessor@653",
            f"Got user-level KeeperException when processing sessionid:{s} type:{typ} cxid:0x{r.randint(1, 400):x} "
            f"zxid:0x{0x2000A1B00 + r.randint(0, 4000):x} txntype:-1 reqpath:n/a Error Path:{path} "
            f"Error:KeeperErrorCode = {code} for {path}",
            "E8",
        )
    # log rolls and a snapshot
    for t in (412.3, 1288.0):
        zx = f"{0x2000A1B00 + int(t * 3):x}"
        z(t, "INFO", "SyncThread:1", "FileTxnLog@213", f"Creating new log file: log.{zx}", "E9")
    z(
        1288.01,
        "INFO",
        "Snapshot Thread",
        "FileTxnSnapLog@240",
        f"Snapshotting: 0x{0x2000A1B00 + int(1288 * 3):x} to /var/lib/zookeeper/version-2/snapshot.{0x2000A1B00 + int(1288 * 3):x}",
        "E12",
    )
    for t, ms in ((1289.9, 1432), (1291.2, 2107)):
        z(
            t,
            "WARN",
            "SyncThread:1",
            "FileTxnLog@338",
            f"fsync-ing the write ahead log in SyncThread:1 took {ms}ms which will adversely effect operation latency. "
            f"See the ZooKeeper troubleshooting guide",
            "E10",
        )
    for t in (980.1, 980.4, 981.0):
        z(
            t,
            "WARN",
            acc,
            "NIOServerCnxnFactory@188",
            "Too many connections from /10.0.3.9 - max is 60",
            "E11",
        )
    return L


# ---------------------------------------------------------------- rabbitmq
def rabbitmq() -> Log:
    L = Log("rabbitmq")
    r = L.r

    def q(t, lvl, pid, msg, ev):
        ts = at(t)
        L.add(t, f"{ts:%Y-%m-%d %H:%M:%S.%f}+00:00 [{lvl}] {pid} {msg}", ev)

    srv = "10.0.0.4:5672"
    apps = [
        ("orders", "/orders", "orders-api"),
        ("billing", "/billing", "billing-worker"),
        ("notify", "/", "notifier"),
    ]
    conns = []
    for t in times(r, 13, 0, 1600):
        p = f"<0.{r.randint(1000, 60000)}.0>"
        src = f"10.0.{r.randint(1, 3)}.{r.randint(10, 90)}:{eport(r)}"
        user, vh, name = r.choice(apps)
        q(t, "info", p, f"accepting AMQP connection {p} ({src} -> {srv})", "E1")
        if r.random() < 0.8:
            q(
                t + 0.003,
                "info",
                p,
                f"Connection {p} ({src} -> {srv}) has a client-provided name: {name}-{hexs(r, 4)}",
                "E9",
            )
        q(
            t + 0.006,
            "info",
            p,
            f"connection {p} ({src} -> {srv}): user '{user}' authenticated and granted access to "
            f"vhost '{vh}'",
            "E2",
        )
        conns.append((t, p, src, user, vh))
    for j, (t0, p, src, user, vh) in enumerate(conns):
        t = t0 + r.uniform(40, 400)
        k = 0.95 if j == 4 else r.random()
        if k < 0.6:
            q(
                t,
                "info",
                p,
                f"closing AMQP connection {p} ({src} -> {srv}, vhost: '{vh}', user: '{user}')",
                "E3",
            )
            q(
                t + 0.002,
                "info",
                f"<0.{r.randint(1000, 60000)}.0>",
                f"Closing all channels from connection '{src} -> {srv}' because it has been closed",
                "E12",
            )
        else:
            q(
                t,
                "warning",
                p,
                f"closing AMQP connection {p} ({src} -> {srv}, vhost: '{vh}', user: '{user}'):",
                "E4",
            )
            if k < 0.93:
                q(t, "warning", p, "client unexpectedly closed TCP connection", "E5")
            else:
                q(t, "warning", p, "missed heartbeats from client, timeout: 60s", "E6")
            q(
                t + 0.002,
                "info",
                f"<0.{r.randint(1000, 60000)}.0>",
                f"Closing all channels from connection '{src} -> {srv}' because it has been closed",
                "E12",
            )
    # a client with default credentials
    for t in (512.4, 540.9):
        p = f"<0.{r.randint(1000, 60000)}.0>"
        src = f"10.0.9.{r.randint(10, 90)}:{eport(r)}"
        q(t, "info", p, f"accepting AMQP connection {p} ({src} -> {srv})", "E1")
        q(
            t + 0.004,
            "error",
            p,
            f"Error on AMQP connection {p} ({src} -> {srv}, state: starting):",
            "E7",
        )
        q(t + 0.004, "error", p, "PLAIN login refused: user 'guest' - invalid credentials", "E8")
    # memory alarm
    q(
        1201.2,
        "info",
        "<0.512.0>",
        "vm_memory_high_watermark set. Memory used:3435973837 allowed:3435973836",
        "E10",
    )
    q(
        1201.2,
        "warning",
        "<0.510.0>",
        "memory resource limit alarm set on node 'rabbit@mq-1'.",
        "E11",
    )
    q(
        1262.7,
        "info",
        "<0.512.0>",
        "vm_memory_high_watermark clear. Memory used:2954936729 allowed:3435973836",
        "E13",
    )
    q(
        1262.7,
        "warning",
        "<0.510.0>",
        "memory resource limit alarm cleared on node 'rabbit@mq-1'",
        "E14",
    )
    return L


# --------------------------------------------------------------- cassandra
def cassandra() -> Log:
    L = Log("cassandra")
    r = L.r

    def c(t, lvl, thread, loc, msg, ev):
        ts = at(t)
        stamp = ts.strftime("%Y-%m-%d %H:%M:%S,") + f"{ts.microsecond // 1000:03d}"
        L.add(t, f"{lvl:<5} [{thread}] {stamp} {loc} - {msg}", ev)

    tables = {"orders": hexs(r, 32), "order_items": hexs(r, 32), "sessions": hexs(r, 32)}
    gen = {k: r.randint(40, 300) for k in tables}

    def mib(lo, hi):
        return f"{r.uniform(lo, hi):.3f}MiB"

    # memtable flushes
    for t in times(r, 10, 0, 1750):
        tb = r.choice(list(tables))
        pct = r.randint(1, 9)
        c(
            t,
            "INFO",
            "NativePoolCleaner",
            "ColumnFamilyStore.java:878",
            f"Enqueuing flush of {tb}: {mib(2, 60)} ({pct}%) on-heap, 0.000KiB (0%) off-heap",
            "E1",
        )
        w = r.randint(0, 1)
        fl = f"PerDiskMemtableFlushWriter_{w}:{r.randint(1, 40)}"
        c(
            t + 0.01,
            "INFO",
            fl,
            "Memtable.java:469",
            f"Writing Memtable-{tb}@{r.randint(10**8, 2 * 10**9)}({mib(1, 20)} serialized bytes, {r.randint(2000, 90000)} ops, "
            f"{pct}%/0% of on/off-heap limit), flushed range = (min(-9223372036854775808), max(9223372036854775807)]",
            "E2",
        )
        gen[tb] += 1
        c(
            t + r.uniform(0.1, 0.8),
            "INFO",
            fl,
            "Memtable.java:498",
            f"Completed flushing /var/lib/cassandra/data/shop/{tb}-{tables[tb]}/nb-{gen[tb]}-big-Data.db ({mib(0.5, 12)}) "
            f"for commitlog position CommitLogPosition(segmentId={1796360000000 + r.randint(0, 9999999)}, "
            f"position={r.randint(1000, 33554432)})",
            "E3",
        )
    # compactions
    for t in times(r, 5, 60, 1750):
        tb = r.choice(list(tables))
        n = r.randint(2, 6)
        gen[tb] += 1
        a = r.uniform(5, 200)
        b = a * r.uniform(0.6, 0.95)
        ms = r.randint(300, 40000)
        parts = r.randint(1000, 90000)
        c(
            t,
            "INFO",
            f"CompactionExecutor:{r.randint(1, 8)}",
            "CompactionTask.java:253",
            f"Compacted ({uid(r)}) {n} sstables to [/var/lib/cassandra/data/shop/{tb}-{tables[tb]}/nb-{gen[tb]}-big,] "
            f"to level=0.  {a:.3f}MiB to {b:.3f}MiB (~{int(100 * b / a)}% of original) in {ms:,}ms.  "
            f"Read Throughput = {a / (ms / 1000):.3f}MiB/s, Write Throughput = {b / (ms / 1000):.3f}MiB/s, "
            f"Row Throughput = ~{r.randint(1000, 90000):,}/s.  {parts:,} total partitions merged to {int(parts * 0.8):,}.  "
            f"Partition merge counts were {{1:{int(parts * 0.6)}, 2:{int(parts * 0.2)}, }}",
            "E4",
        )
    # GC
    for t in times(r, 12):
        eden = r.randint(500, 1500) * 1048576
        old = r.randint(900, 3000) * 1048576
        surv = r.randint(20, 90) * 1048576
        c(
            t,
            "INFO",
            "Service Thread",
            "GCInspector.java:294",
            f"G1 Young Generation GC in {r.randint(201, 900)}ms.  G1 Eden Space: {eden} -> 0; "
            f"G1 Old Gen: {old} -> {old + r.randint(0, 90) * 1048576}; G1 Survivor Space: {surv} -> {surv + r.randint(-10, 10) * 1048576}; ",
            "E5",
        )
    # tombstones
    for t in times(r, 4, 300, 1500):
        cid = r.randint(1000, 99999)
        c(
            t,
            "WARN",
            f"ReadStage-{r.randint(1, 16)}",
            "ReadCommand.java:569",
            f"Read {r.randint(1, 5000)} live rows and {r.randint(1001, 90000)} tombstone cells for query SELECT * FROM "
            f"shop.sessions WHERE user_id = {cid} LIMIT 5000; token {r.randint(-9 * 10**18, 9 * 10**18)} "
            f"(see tombstone_warn_threshold)",
            "E6",
        )
    for t in times(r, 6):
        c(
            t,
            "INFO",
            "ScheduledTasks:1",
            "NoSpamLogger.java:92",
            "Some operations were slow, details available at debug level (debug.log)",
            "E7",
        )
    # peer restart
    c(
        1180.0,
        "INFO",
        "GossipStage:1",
        "Gossiper.java:1145",
        "InetAddress /10.0.0.13:7000 is now DOWN",
        "E8",
    )
    c(
        1255.3,
        "INFO",
        "GossipStage:1",
        "Gossiper.java:1104",
        "Node /10.0.0.13:7000 has restarted, now UP",
        "E9",
    )
    c(
        1255.4,
        "INFO",
        "GossipStage:1",
        "Gossiper.java:1077",
        "InetAddress /10.0.0.13:7000 is now UP",
        "E10",
    )
    host = uid(r)
    for k in range(2):
        c(
            1262.0 + 1.5 * k,
            "INFO",
            f"HintsDispatcher:{k + 1}",
            "HintsDispatchExecutor.java:282",
            f"Finished hinted handoff of file {host}-{1796368380000 + r.randint(0, 99999)}-2.hints to endpoint "
            f"/10.0.0.13:7000: {host}",
            "E11",
        )
    c(
        1420.6,
        "WARN",
        "Native-Transport-Requests-5",
        "NoSpamLogger.java:108",
        "Maximum memory usage reached (512.000MiB), cannot allocate chunk of 1.000MiB",
        "E12",
    )
    return L


# ----------------------------------------------------------- celery_worker
def celery_worker() -> Log:
    L = Log("celery_worker")
    r = L.r

    def cl(t, lvl, proc, msg, ev):
        ts = at(t)
        stamp = ts.strftime("%Y-%m-%d %H:%M:%S,") + f"{ts.microsecond // 1000:03d}"
        L.add(t, f"[{stamp}: {lvl}/{proc}] {msg}", ev)

    def boot(t, node):
        cl(t, "INFO", "MainProcess", "Connected to redis://redis.internal:6379/0", "E9")
        cl(t + 0.02, "INFO", "MainProcess", "mingle: searching for neighbors", "E10")
        cl(t + 1.05, "INFO", "MainProcess", "mingle: all alone", "E11")
        cl(t + 1.12, "INFO", "MainProcess", f"{node} ready.", "E12")

    boot(0.4, "celery@worker-2")
    workers = [f"ForkPoolWorker-{i}" for i in range(1, 5)]
    jobs = [
        ("shop.tasks.send_order_email", 0.08, 0.9, ["None"]),
        ("shop.tasks.resize_image", 0.3, 4.0, ["'ok'", "{'width': 640, 'height': 480}"]),
        ("shop.tasks.update_search_index", 0.02, 0.3, ["None", "3"]),
    ]
    for t in times(r, 20, 5, 1750):
        name, lo, hi, rets = r.choice(jobs)
        tid = uid(r)
        cl(t, "INFO", "MainProcess", f"Task {name}[{tid}] received", "E1")
        if r.random() < 0.92:
            cl(
                t + hi,
                "INFO",
                r.choice(workers),
                f"Task {name}[{tid}] succeeded in {r.uniform(lo, hi):.{r.choice([6, 9, 12])}f}s: "
                f"{r.choice(rets)}",
                "E2",
            )
    # inventory sync logs from inside the task; sometimes retried
    for t in times(r, 6, 30, 1700):
        tid = uid(r)
        w = r.choice(workers)
        cl(t, "INFO", "MainProcess", f"Task shop.tasks.sync_inventory[{tid}] received", "E1")
        if r.random() < 0.5:
            cl(
                t + 2.0,
                "WARNING",
                w,
                f"shop.tasks.sync_inventory[{tid}]: Warehouse API wh-{r.randint(1, 4):02d} "
                f"returned 503, will retry",
                "E8",
            )
            cl(
                t + 2.01,
                "INFO",
                w,
                f"Task shop.tasks.sync_inventory[{tid}] retry: Retry in {r.choice([30, 60])}s: "
                f"HTTPError('503 Server Error: Service Unavailable for url: "
                f"https://wh.example.net/api/stock?since={int(T0.timestamp() + t) - 900}')",
                "E4",
            )
        else:
            dur = r.uniform(1, 9)
            cl(
                t + dur,
                "INFO",
                w,
                f"shop.tasks.sync_inventory[{tid}]: Synced {r.randint(20, 900)} SKUs from warehouse "
                f"wh-{r.randint(1, 4):02d} in {dur:.1f}s",
                "E3",
            )
            cl(
                t + dur + 0.01,
                "INFO",
                w,
                f"Task shop.tasks.sync_inventory[{tid}] succeeded in {dur + 0.01:.9f}s: None",
                "E2",
            )
    # a report task hits the hard time limit, child killed, pool replaces it
    tid = uid(r)
    cl(990.0, "INFO", "MainProcess", f"Task shop.tasks.generate_report[{tid}] received", "E1")
    cl(
        1290.0,
        "ERROR",
        "MainProcess",
        f"Hard time limit (300s) exceeded for shop.tasks.generate_report[{tid}]",
        "E5",
    )
    cl(
        1290.2,
        "ERROR",
        "MainProcess",
        f"Process 'ForkPoolWorker-3' pid:{r.randint(2000, 9000)} exited with 'signal 9 (SIGKILL)'",
        "E6",
    )
    # broker restart: connection error with celery's two-line message
    for k, when in enumerate((2.0, 4.0)):
        t = 1500.0 + k * 2.1
        cl(
            t,
            "ERROR",
            "MainProcess",
            "consumer: Cannot connect to redis://redis.internal:6379/0: Error 111 connecting to "
            "redis.internal:6379. Connection refused..",
            "E7",
        )
        L.add(t, f"Trying again in {when:.2f} seconds... ({k + 1}/100)", "E13")
    cl(1506.5, "INFO", "MainProcess", "Connected to redis://redis.internal:6379/0", "E9")
    cl(1506.6, "INFO", "MainProcess", "mingle: searching for neighbors", "E10")
    cl(1507.6, "INFO", "MainProcess", "mingle: all alone", "E11")
    cl(1777.0, "INFO", "MainProcess", "Events of group {task} enabled by remote.", "E14")
    return L


FORMATS = [
    caddy_json,
    traefik_access,
    aws_alb,
    mongodb_json,
    nomad_hclog,
    elasticsearch,
    zookeeper,
    rabbitmq,
    cassandra,
    celery_worker,
]


def main() -> int:
    total_l = total_e = 0
    for fn in FORMATS:
        log = fn()
        n, cnt = log.write()
        total_l += n
        total_e += len(cnt)
        order = sorted(cnt, key=lambda e: int(e[1:]))
        print(
            f"{log.name:16s} lines={n:4d} events={len(cnt):3d}  "
            + " ".join(f"{e}:{cnt[e]}" for e in order)
        )
    print(f"total lines={total_l} events={total_e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
