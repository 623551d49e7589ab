#!/usr/bin/env python3
"""Generate the held-out log-format corpus (written 2026-12-04, blind to the parser).

Every format has its own seeded RNG and a handful of scenarios. Each scenario emits
(time, line, event) tuples in the order the real software would write them; all tuples of a
format are then sorted by time (stable) and written as JSONL: {"line": ..., "event": ...}.

Run:  python3 scripts/make_logformats_holdout.py   (writes evals/logformats_holdout/<format>.jsonl and prints counts)
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from collections import Counter
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "evals" / "logformats_holdout"
BASE = dt.datetime(2026, 12, 4, 7, 0, 0, tzinfo=dt.timezone.utc)
MON = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
DOW = "Mon Tue Wed Thu Fri Sat Sun".split()


# --------------------------------------------------------------------------- helpers
def R(name: str) -> random.Random:
    return random.Random("logformats-holdout-" + name)


def at(sec: float) -> dt.datetime:
    # A fixed, strictly increasing warp so hand-placed scenario times (1200.0, 1502.3, ...)
    # do not print as suspiciously round timestamps; order and small gaps are preserved.
    return BASE + dt.timedelta(seconds=sec * 1.00073129 + 0.1379173)


def hexs(r, n):
    return "%0*x" % (n, r.getrandbits(4 * n))


def uid(r):
    return str(uuid.UUID(int=r.getrandbits(128), version=4))


def ip_doc(r):
    return r.choice(["192.0.2.", "198.51.100.", "203.0.113."]) + str(r.randint(2, 254))


def ip_v6(r):
    return "2001:db8:%x:%x::%x" % (
        r.randrange(1, 0xFFFF),
        r.randrange(0, 0xFF),
        r.randrange(1, 0xFFFF),
    )


def ip_priv(r):
    k = r.random()
    if k < 0.6:
        return "10.%d.%d.%d" % (r.randint(0, 9), r.randint(0, 255), r.randint(2, 254))
    if k < 0.8:
        return "172.%d.%d.%d" % (r.randint(16, 31), r.randint(0, 255), r.randint(2, 254))
    return "192.168.%d.%d" % (r.randint(0, 20), r.randint(2, 254))


def client_ip(r, v6=0.15, priv=0.2):
    k = r.random()
    if k < v6:
        return ip_v6(r)
    if k < v6 + priv:
        return ip_priv(r)
    return ip_doc(r)


def eport(r):
    return r.randint(32768, 60999)


UA_BROWSER = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36",
]
UA_BOT = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
]
UA_TOOL = ["curl/8.5.0", "python-requests/2.32.3", "Go-http-client/1.1", "okhttp/4.12.0"]


def ua(r, browser=0.7, bot=0.15):
    k = r.random()
    if k < browser:
        return r.choice(UA_BROWSER)
    if k < browser + bot:
        return r.choice(UA_BOT)
    return r.choice(UA_TOOL)


def clf_time(t):  # 04/Dec/2026:07:12:39 +0000
    return "%02d/%s/%d:%02d:%02d:%02d +0000" % (
        t.day,
        MON[t.month - 1],
        t.year,
        t.hour,
        t.minute,
        t.second,
    )


def syslog_time(t):  # Dec  4 07:12:01  (RFC 3164, space-padded day)
    return "%s %2d %02d:%02d:%02d" % (MON[t.month - 1], t.day, t.hour, t.minute, t.second)


def journal_time(t):  # Dec 04 07:12:01  (journalctl -o short, zero-padded day)
    return "%s %02d %02d:%02d:%02d" % (MON[t.month - 1], t.day, t.hour, t.minute, t.second)


def iso_ms(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def iso_us(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_ns(t, r):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "%03dZ" % r.randint(0, 999)


def comma_ms(t):  # 2026-12-04 07:12:01,123
    return t.strftime("%Y-%m-%d %H:%M:%S,") + "%03d" % (t.microsecond // 1000)


def jitter(r, s, lo=0.001, hi=0.9):
    return s + r.uniform(lo, hi)


def spread(r, n, start, end):
    return sorted(r.uniform(start, end) for _ in range(n))


# --------------------------------------------------------------------------- 1 apache_access
WIKI_PAGES = [
    "Main_Page",
    "Kafka_retention",
    "Runbooks/Postgres_failover",
    "On-call_rota",
    "Onboarding",
    "Runbooks/Redis_OOM",
    "Team:SRE",
    "Incident_2026-11-28",
    "Service_catalog",
    "VPN_setup",
    "Terraform_style_guide",
    "Category:Runbooks",
    "Release_process",
]


def apache_access():
    r = R("apache_access")
    rows = []
    W = "wiki.example.org:443"

    def line(t, vhost, ip, user, req, status, size, ref, agent, ev):
        rows.append(
            (
                t,
                '%s %s - %s [%s] "%s" %d %s "%s" "%s"'
                % (vhost, ip, user, clf_time(t), req, status, size, ref, agent),
                ev,
            )
        )

    # page views: page + a couple of load.php + sometimes thumbs
    for s in spread(r, 30, 0, 2400):
        ip = client_ip(r)
        agent = ua(r, 0.75, 0.2)
        proto = "HTTP/2.0" if ("Mozilla" in agent and r.random() < 0.7) else "HTTP/1.1"
        page = r.choice(WIKI_PAGES[:6]) if r.random() < 0.6 else r.choice(WIKI_PAGES)
        ref = r.choice(
            [
                "-",
                "-",
                "https://wiki.example.org/wiki/" + r.choice(WIKI_PAGES),
                "https://www.google.com/",
            ]
        )
        st = r.choice([200] * 6 + [304])
        line(
            at(s),
            W,
            ip,
            "-",
            "GET /wiki/%s %s" % (page, proto),
            st,
            r.randint(18000, 96000) if st == 200 else r.randint(240, 310),
            ref,
            agent,
            "E1",
        )
        if "bot" in agent:
            continue
        for k in range(r.choice([0, 1, 1, 2])):
            mods = r.choice(
                [
                    "startup",
                    "site.styles",
                    "skins.vector.styles.legacy",
                    "ext.echo.styles.badge%7Cjquery.makeCollapsible.styles",
                    "mediawiki.page.ready%2Csearch%7Cskins.vector.js",
                ]
            )
            line(
                at(s + 0.2 + 0.1 * k),
                W,
                ip,
                "-",
                "GET /w/load.php?lang=en&modules=%s&only=%s&skin=vector-2022 %s"
                % (mods, r.choice(["styles", "scripts"]), proto),
                200,
                r.randint(900, 140000),
                "https://wiki.example.org/wiki/" + page,
                agent,
                "E2",
            )
        if r.random() < 0.3:
            f = r.choice(
                ["Kafka-isr.png", "Redis_fork.svg", "Oncall-2026.jpg", "Failover_diagram.png"]
            )
            h = hexs(r, 2)
            wpx = r.choice([180, 220, 300, 640])
            tail = f if not f.endswith(".svg") else f + ".png"
            line(
                at(s + 0.5),
                W,
                ip,
                "-",
                "GET /images/thumb/%s/%s/%s/%dpx-%s %s" % (h[0], h, f, wpx, tail, proto),
                200,
                r.randint(4000, 80000),
                "https://wiki.example.org/wiki/" + page,
                agent,
                "E6",
            )
    # apache_exporter scraping mod_status
    for s in spread(r, 9, 0, 2400):
        line(
            at(s),
            "web-2.example.internal:80",
            r.choice(["127.0.0.1", "::1"]),
            "-",
            "GET /server-status?auto HTTP/1.1",
            200,
            r.randint(1100, 1300),
            "-",
            "Go-http-client/1.1",
            "E3",
        )
    # editors using the API
    for s in spread(r, 8, 300, 2200):
        ip = ip_priv(r)
        line(
            at(s),
            W,
            ip,
            "-",
            "POST /w/api.php HTTP/1.1",
            r.choice([200, 200, 200, 429]),
            r.randint(400, 3200),
            "-",
            r.choice(["MediaWiki-Bot/1.2 (ops-sync; sre@example.org)", "python-requests/2.32.3"]),
            "E4",
        )
    # edit / history views
    for s in spread(r, 6, 0, 2400):
        page = r.choice(WIKI_PAGES)
        line(
            at(s),
            W,
            ip_priv(r),
            "-",
            "GET /w/index.php?title=%s&action=%s HTTP/2.0"
            % (page, r.choice(["edit", "history", "raw"])),
            200,
            r.randint(9000, 70000),
            "https://wiki.example.org/wiki/" + page,
            r.choice(UA_BROWSER),
            "E5",
        )
    # search
    for s in spread(r, 4, 0, 2400):
        q = r.choice(["kafka+isr", "redis+oom", "failover", "pg_hba", "vpn+mfa%C3%A9"])
        line(
            at(s),
            W,
            client_ip(r),
            "-",
            "GET /w/index.php?search=%s&title=Special%%3ASearch&fulltext=1 HTTP/2.0" % q,
            200,
            r.randint(12000, 40000),
            "https://wiki.example.org/wiki/Main_Page",
            r.choice(UA_BROWSER),
            "E10",
        )
    # scanners
    for s in (611.2, 1744.9):
        line(
            at(s),
            W,
            ip_doc(r),
            "-",
            "GET /.env HTTP/1.1",
            404,
            437,
            "-",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/81.0.4044.129 Safari/537.36",
            "E7",
        )
    # mpm internal dummy connections during a graceful restart
    for s in (1502.4, 1502.5):
        line(
            at(s),
            "web-2.example.internal:80",
            "::1",
            "-",
            "OPTIONS * HTTP/1.0",
            200,
            126,
            "-",
            "Apache/2.4.62 (Debian) (internal dummy connection)",
            "E8",
        )
    # request timeouts (no request line read)
    for s in (402.0, 2011.7):
        line(at(s), "wiki.example.org:443", ip_doc(r), "-", "-", 408, 0, "-", "-", "E9")
    # plain-http redirects
    for s in spread(r, 3, 0, 2400):
        line(
            at(s),
            "wiki.example.org:80",
            client_ip(r),
            "-",
            "GET / HTTP/1.1",
            301,
            571,
            "-",
            ua(r),
            "E11",
        )
    return rows


# --------------------------------------------------------------------------- 2 apache_error
def apache_error():
    r = R("apache_error")
    rows = []
    pids = [31577, 31578, 31802]
    tids = {
        p: [r.randrange(139_900_000_000_000, 140_100_000_000_000) for _ in range(4)] for p in pids
    }

    def line(t, mod, lvl, msg, pid=None, tid=None, client=None, oserr=None):
        pid = pid or r.choice(pids)
        tid = tid or r.choice(tids.get(pid, [140_033_211_512_384]))
        ts = "%s %s %02d %02d:%02d:%02d.%06d %d" % (
            DOW[t.weekday()],
            MON[t.month - 1],
            t.day,
            t.hour,
            t.minute,
            t.second,
            t.microsecond,
            t.year,
        )
        s = "[%s] [%s:%s] [pid %d:tid %d] " % (ts, mod, lvl, pid, tid)
        if oserr:
            s += oserr + ": "
        if client:
            s += "[client %s] " % client
        return s + msg

    def cl():
        ip = client_ip(r, 0.2, 0.15)
        return "%s:%d" % (ip, eport(r))

    # E1 PHP warnings from php-fpm (dominant), often with referer
    keys = ["user_id", "lang", "page", "HTTP_X_FORWARDED_PROTO", "sort"]
    files = [
        ("/var/www/shop/src/Controller/CartController.php", 88),
        ("/var/www/shop/src/View/header.php", 12),
        ("/var/www/shop/lib/Session.php", 241),
    ]
    for s in spread(r, 24, 0, 2400):
        f, ln = r.choice(files)
        msg = (
            "AH01071: Got error 'PHP message: PHP Warning:  Undefined array key \"%s\" in %s on line %d'"
            % (r.choice(keys), f, ln)
        )
        if r.random() < 0.5:
            msg += ", referer: https://shop.example.com/%s" % r.choice(
                ["cart", "", "product/%d" % r.randint(100, 9999)]
            )
        rows.append((at(s), line(at(s), "proxy_fcgi", "error", msg, client=cl()), "E1"))
    # E2 client denied (server-status / .git from outside)
    for s in spread(r, 11, 0, 2400):
        p = r.choice(
            [
                "/var/www/shop/.git/config",
                "/var/www/html/server-status",
                "/var/www/shop/.env",
                "/var/www/shop/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
            ]
        )
        rows.append(
            (
                at(s),
                line(
                    at(s),
                    "authz_core",
                    "error",
                    "AH01630: client denied by server configuration: " + p,
                    client=cl(),
                ),
                "E2",
            )
        )
    # backend timeout burst: E3 + E4 pairs
    for s in spread(r, 7, 900, 1140):
        c = cl()
        pid = r.choice(pids)
        tid = r.choice(tids[pid])
        rows.append(
            (
                at(s),
                line(
                    at(s),
                    "proxy_http",
                    "error",
                    "AH01102: error reading status line from remote server 127.0.0.1:8080",
                    pid,
                    tid,
                    c,
                    "(70007)The timeout specified has expired",
                ),
                "E3",
            )
        )
        path = r.choice(
            ["/api/orders/%d" % r.randint(10000, 99999), "/api/cart", "/api/search?q=usb"]
        )
        rows.append(
            (
                at(s + 0.000041),
                line(
                    at(s + 0.000041),
                    "proxy",
                    "error",
                    "AH00898: Error reading from remote server returned by " + path,
                    pid,
                    tid,
                    c,
                ),
                "E4",
            )
        )
    # backend down: E5 (server-level) + E6 (request) + first time E7
    for i, s in enumerate(spread(r, 4, 1150, 1210)):
        c = cl()
        pid = r.choice(pids)
        tid = r.choice(tids[pid])
        rows.append(
            (
                at(s),
                line(
                    at(s),
                    "proxy",
                    "error",
                    "AH00957: http: attempt to connect to 127.0.0.1:8080 (127.0.0.1:8080) failed",
                    pid,
                    tid,
                    None,
                    "(111)Connection refused",
                ),
                "E5",
            )
        )
        if i in (0, 3):
            rows.append(
                (
                    at(s + 0.00002),
                    line(
                        at(s + 0.00002),
                        "proxy",
                        "error",
                        "AH00959: ap_proxy_connect_backend disabling worker for (127.0.0.1:8080) for 60s",
                        pid,
                        tid,
                    ),
                    "E7",
                )
            )
        rows.append(
            (
                at(s + 0.00004),
                line(
                    at(s + 0.00004),
                    "proxy_http",
                    "error",
                    "AH01114: HTTP: failed to make connection to backend: 127.0.0.1",
                    pid,
                    tid,
                    c,
                ),
                "E6",
            )
        )
    # invalid URI attempts
    for s in (333.1, 1877.0):
        rows.append(
            (
                at(s),
                line(
                    at(s),
                    "core",
                    "error",
                    "AH00126: Invalid URI in request GET /cgi-bin/.%2e/.%2e/.%2e/.%2e/bin/sh HTTP/1.1",
                    client=cl(),
                ),
                "E12",
            )
        )
    # MaxRequestWorkers during the timeout burst
    rows.append(
        (
            at(1100.4),
            line(
                at(1100.4),
                "mpm_event",
                "error",
                "AH00484: server reached MaxRequestWorkers setting, consider raising the MaxRequestWorkers setting",
                812,
                140_081_114_339_200,
            ),
            "E13",
        )
    )
    # graceful restart at ~1500s: E10, E11, E8, E9
    t = 1502.3
    rows.append(
        (
            at(t),
            line(
                at(t),
                "mpm_event",
                "notice",
                "AH00493: SIGUSR1 received.  Doing graceful restart",
                812,
                140_081_114_339_200,
            ),
            "E10",
        )
    )
    rows.append(
        (
            at(t + 0.02),
            line(
                at(t + 0.02),
                "ssl",
                "warn",
                "AH01909: shop.example.com:443:0 server certificate does NOT include an ID which matches the server name",
                812,
                140_081_114_339_200,
            ),
            "E11",
        )
    )
    rows.append(
        (
            at(t + 0.03),
            line(
                at(t + 0.03),
                "ssl",
                "warn",
                "AH01909: legacy.example.com:443:0 server certificate does NOT include an ID which matches the server name",
                812,
                140_081_114_339_200,
            ),
            "E11",
        )
    )
    rows.append(
        (
            at(t + 0.05),
            line(
                at(t + 0.05),
                "mpm_event",
                "notice",
                "AH00489: Apache/2.4.62 (Debian) OpenSSL/3.0.15 configured -- resuming normal operations",
                812,
                140_081_114_339_200,
            ),
            "E8",
        )
    )
    rows.append(
        (
            at(t + 0.05),
            line(
                at(t + 0.0501),
                "core",
                "notice",
                "AH00094: Command line: '/usr/sbin/apache2'",
                812,
                140_081_114_339_200,
            ),
            "E9",
        )
    )
    return rows


# --------------------------------------------------------------------------- 3 haproxy
def haproxy():
    r = R("haproxy")
    rows = []
    hpid = 2211
    conns = [0]

    def http(s, fe, be_srv, ta_parts, status, size, term, req, ev, ip=None, ssl=True):
        ip = ip or client_ip(r, 0.15, 0.1)
        tr, tw, tc, trr, ta = ta_parts
        accept = at(s)
        emit = at(s + max(ta, 0) / 1000.0)
        act = r.randint(40, 160)
        fec = act - r.randint(0, 6)
        bec = r.randint(1, 40)
        srvc = r.randint(0, 15)
        retries = (
            "+1" if term.startswith("--") and r.random() < 0.03 else str(r.choice([0] * 20 + [1]))
        )
        line = (
            '%s lb-1 haproxy[%d]: %s:%d [%s.%03d] %s%s %s %s/%s/%s/%s/%s %d %d - - %s %d/%d/%d/%d/%s 0/0 "%s"'
            % (
                syslog_time(emit),
                hpid,
                ip if ":" not in ip else ip,
                eport(r),
                clf_time(accept)[:-6],
                accept.microsecond // 1000,
                fe,
                "~" if ssl else "",
                be_srv,
                tr,
                tw,
                tc,
                trr,
                ta,
                status,
                size,
                term,
                act,
                fec,
                bec,
                srvc,
                retries,
                req,
            )
        )
        rows.append((emit, line, ev))

    def timing(fast=True):
        tr = r.randint(0, 3)
        tc = r.randint(0, 2)
        trr = r.randint(2, 60) if fast else r.randint(80, 900)
        return (tr, 0, tc, trr, tr + tc + trr + r.randint(0, 2))

    api = ["api-1", "api-2", "api-3"]
    # E1 GET /api/v2/users/<id>
    for s in spread(r, 28, 0, 2400):
        srv = r.choice(api if not 1300 < s < 1500 else api[:2])
        st = r.choice([200] * 12 + [404, 304])
        http(
            s,
            "fe_https",
            "be_api/" + srv,
            timing(),
            st,
            r.randint(480, 4200) if st != 304 else 182,
            "----",
            "GET /api/v2/users/%d HTTP/1.1" % r.randint(1000, 999999),
            "E1",
        )
    # E2 product listing with query strings
    for s in spread(r, 14, 0, 2400):
        srv = r.choice(api if not 1300 < s < 1500 else api[:2])
        http(
            s,
            "fe_https",
            "be_api/" + srv,
            timing(False),
            200,
            r.randint(9000, 88000),
            "----",
            "GET /api/v2/products?category=%s&page=%d&sort=%s HTTP/1.1"
            % (
                r.choice(["cables", "audio", "laptops", "gift%20cards"]),
                r.randint(1, 12),
                r.choice(["price", "-price", "rating"]),
            ),
            "E2",
        )
    # E3 POST orders (incl. a slow / timed-out one)
    for i, s in enumerate(spread(r, 9, 0, 2400)):
        srv = r.choice(api[:2])
        if i == 4:
            http(
                s,
                "fe_https",
                "be_api/" + srv,
                (1, 0, 0, -1, 30001),
                504,
                194,
                "sH--",
                "POST /api/v2/orders HTTP/1.1",
                "E3",
            )
        else:
            http(
                s,
                "fe_https",
                "be_api/" + srv,
                timing(False),
                r.choice([201, 201, 201, 422]),
                r.randint(300, 1400),
                "----",
                "POST /api/v2/orders HTTP/1.1",
                "E3",
            )
    # E4 external uptime probe over plain http
    for s in spread(r, 8, 0, 2400):
        http(
            s,
            "fe_http",
            "be_api/" + r.choice(api[:2]),
            timing(),
            200,
            121,
            "----",
            "GET /healthz HTTP/1.1",
            "E4",
            ip=r.choice(["198.51.100.17", "198.51.100.18"]),
            ssl=False,
        )
    # E5 static assets
    for s in spread(r, 10, 0, 2400):
        http(
            s,
            "fe_https",
            "be_static/static-1",
            timing(),
            r.choice([200, 200, 304]),
            r.randint(2000, 240000),
            "----",
            "GET /static/%s.%s.%s HTTP/1.1"
            % (r.choice(["app", "vendor", "main"]), hexs(r, 8), r.choice(["js", "css"])),
            "E5",
        )
    # api-3 health checks fail -> DOWN -> later UP
    for k, s in enumerate([1290.0, 1292.0]):
        rows.append(
            (
                at(s),
                '%s lb-1 haproxy[%d]: Health check for server be_api/api-3 failed, reason: Layer7 wrong status, code: 503, info: "Service Unavailable", check duration: %dms, status: %d/3 UP.'
                % (syslog_time(at(s)), hpid, r.randint(2, 9), 2 - k),
                "E10",
            )
        )
    s = 1294.0
    rows.append(
        (
            at(s),
            '%s lb-1 haproxy[%d]: Server be_api/api-3 is DOWN, reason: Layer7 wrong status, code: 503, info: "Service Unavailable", check duration: 4ms. 2 active and 0 backup servers left. 3 sessions active, 0 requeued, 0 remaining in queue.'
            % (syslog_time(at(s)), hpid),
            "E6",
        )
    )
    s = 1512.0
    rows.append(
        (
            at(s),
            "%s lb-1 haproxy[%d]: Server be_api/api-3 is UP, reason: Layer7 check passed, code: 200, check duration: 3ms. 3 active and 0 backup servers online. 0 sessions requeued, 0 total in queue."
            % (syslog_time(at(s)), hpid),
            "E7",
        )
    )
    # TLS handshake failures
    for s in spread(r, 3, 0, 2400):
        rows.append(
            (
                at(s),
                "%s lb-1 haproxy[%d]: %s:%d [%s.%03d] fe_https/1: SSL handshake failure"
                % (
                    syslog_time(at(s)),
                    hpid,
                    ip_doc(r),
                    eport(r),
                    clf_time(at(s))[:-6],
                    at(s).microsecond // 1000,
                ),
                "E8",
            )
        )
    # bad requests
    for s in (712.3, 1933.8):
        http(
            s,
            "fe_http",
            "fe_http/<NOSRV>",
            (-1, -1, -1, -1, 0),
            400,
            0,
            "PR--",
            "<BADREQ>",
            "E9",
            ip=ip_doc(r),
            ssl=False,
        )
    return rows


# --------------------------------------------------------------------------- 4 envoy_access
def envoy_access():
    r = R("envoy_access")
    rows = []
    carts = ["10.4.%d.%d:8080" % (r.randint(0, 3), r.randint(2, 250)) for _ in range(3)]
    cat = ["10.4.%d.%d:9000" % (r.randint(0, 3), r.randint(2, 250)) for _ in range(2)]
    chk = ["10.4.%d.%d:50051" % (r.randint(0, 3), r.randint(2, 250)) for _ in range(2)]
    rec = "10.4.2.77:8081"

    def line(s, method, path, proto, code, flags, rx, tx, dur, ust, xff, agent, host, up, ev):
        t = at(s)
        rows.append(
            (
                t,
                '[%s] "%s %s %s" %d %s %d %d %d %s "%s" "%s" "%s" "%s" "%s"'
                % (
                    iso_ms(t),
                    method,
                    path,
                    proto,
                    code,
                    flags,
                    rx,
                    tx,
                    dur,
                    ust,
                    xff,
                    agent,
                    uid(r),
                    host,
                    up,
                ),
                ev,
            )
        )

    def xff():
        return r.choice([client_ip(r, 0.2, 0.0), client_ip(r, 0.2, 0.0) + "," + ip_priv(r), "-"])

    for s in spread(r, 30, 0, 2400):  # E1
        d = r.randint(2, 40)
        line(
            s,
            "GET",
            "/api/v1/cart/" + uid(r),
            r.choice(["HTTP/1.1", "HTTP/2"]),
            200,
            "-",
            0,
            r.randint(300, 5000),
            d + 1,
            str(d),
            xff(),
            ua(r, 0.8, 0.0),
            "shop.example.com",
            r.choice(carts),
            "E1",
        )
    for s in spread(r, 12, 0, 2400):  # E2
        d = r.randint(5, 90)
        line(
            s,
            "POST",
            "/api/v1/cart/%s/items" % uid(r),
            "HTTP/2",
            r.choice([201, 201, 201, 409]),
            "-",
            r.randint(60, 400),
            r.randint(80, 900),
            d + 1,
            str(d),
            xff(),
            ua(r, 0.9, 0.0),
            "shop.example.com",
            r.choice(carts),
            "E2",
        )
    for s in spread(r, 9, 0, 2400):  # E3
        d = r.randint(8, 200)
        ids = ",".join(str(r.randint(1000, 99999)) for _ in range(r.randint(1, 5)))
        line(
            s,
            "GET",
            "/api/v1/catalog/products?ids=%s&fields=price,stock" % ids,
            "HTTP/1.1",
            200,
            "-",
            0,
            r.randint(900, 30000),
            d + 2,
            str(d),
            "-",
            "Go-http-client/1.1",
            "catalog.internal:9000",
            r.choice(cat),
            "E3",
        )
    # gRPC checkout, with an upstream outage episode
    for s in spread(r, 12, 0, 2400):  # E4
        if 1610 < s < 1700:
            line(
                s,
                "POST",
                "/checkout.v1.CheckoutService/PlaceOrder",
                "HTTP/2",
                200,
                "UF,URX",
                r.randint(120, 300),
                0,
                r.randint(250, 1200),
                "-",
                "-",
                "grpc-go/1.68.1",
                "checkout.internal:50051",
                chk[1],
                "E4",
            )
        else:
            d = r.randint(20, 400)
            line(
                s,
                "POST",
                "/checkout.v1.CheckoutService/PlaceOrder",
                "HTTP/2",
                200,
                "-",
                r.randint(120, 300),
                r.randint(40, 200),
                d + 1,
                str(d),
                "-",
                "grpc-go/1.68.1",
                "checkout.internal:50051",
                r.choice(chk),
                "E4",
            )
    for s in [1620.5, 1640.2, 1655.9]:  # checkout cluster with no healthy hosts
        line(
            s,
            "POST",
            "/checkout.v1.CheckoutService/PlaceOrder",
            "HTTP/2",
            200,
            "UH",
            148,
            0,
            0,
            "-",
            "-",
            "grpc-go/1.68.1",
            "checkout.internal:50051",
            "-",
            "E4",
        )
    for s in spread(r, 7, 0, 2400):  # E5 kubelet probe through the sidecar
        line(
            s,
            "GET",
            "/ready",
            "HTTP/1.1",
            200,
            "-",
            0,
            2,
            1,
            "0",
            "-",
            "kube-probe/1.31",
            "10.4.1.9:15021",
            "127.0.0.1:8080",
            "E5",
        )
    for s in spread(r, 6, 0, 2400):  # E6 recommendations, some upstream timeouts
        if r.random() < 0.4:
            line(
                s,
                "GET",
                "/api/v1/recommendations?user_id=%d&limit=%d"
                % (r.randint(1, 500000), r.choice([4, 8, 12])),
                "HTTP/2",
                504,
                "UT",
                0,
                24,
                15000 + r.randint(0, 4),
                "-",
                xff(),
                r.choice(UA_BROWSER),
                "shop.example.com",
                rec,
                "E6",
            )
        else:
            d = r.randint(60, 900)
            line(
                s,
                "GET",
                "/api/v1/recommendations?user_id=%d&limit=%d"
                % (r.randint(1, 500000), r.choice([4, 8, 12])),
                "HTTP/2",
                200,
                "-",
                0,
                r.randint(1200, 9000),
                d + 1,
                str(d),
                xff(),
                r.choice(UA_BROWSER),
                "shop.example.com",
                rec,
                "E6",
            )
    for s in spread(r, 5, 0, 2400):  # E7 grpc health
        line(
            s,
            "POST",
            "/grpc.health.v1.Health/Check",
            "HTTP/2",
            200,
            "-",
            5,
            7,
            r.randint(0, 2),
            "0",
            "-",
            "grpc-health-probe/0.4.35",
            "checkout.internal:50051",
            r.choice(chk),
            "E7",
        )
    for s in (822.0, 1333.3):  # E8 delete item
        d = r.randint(4, 30)
        line(
            s,
            "DELETE",
            "/api/v1/cart/%s/items/SKU-%05d" % (uid(r), r.randint(0, 99999)),
            "HTTP/2",
            204,
            "-",
            0,
            0,
            d + 1,
            str(d),
            xff(),
            r.choice(UA_BROWSER),
            "shop.example.com",
            r.choice(carts),
            "E8",
        )
    # client gave up before response (DC) on the cart route: still E1
    line(
        1901.7,
        "GET",
        "/api/v1/cart/" + uid(r),
        "HTTP/2",
        0,
        "DC",
        0,
        0,
        3012,
        "-",
        xff(),
        r.choice(UA_BROWSER),
        "shop.example.com",
        carts[0],
        "E1",
    )
    # E9 unknown route (no route configured)
    line(
        1200.2,
        "GET",
        "/wp-admin/setup-config.php",
        "HTTP/1.1",
        404,
        "NR",
        0,
        0,
        0,
        "-",
        ip_doc(r),
        "Mozilla/5.0 zgrab/0.x",
        "203.0.113.40",
        "-",
        "E9",
    )
    return rows


# --------------------------------------------------------------------------- 5 mysql_error
def mysql_error():
    r = R("mysql_error")
    rows = []

    def conn_id(s):  # connection ids grow with time; the server restarts at ~1985s
        if s < 1985:
            return 48211 + int(s * 0.83) + r.randint(0, 3)
        return 8 + int((s - 1985) * 0.83) + r.randint(0, 3)

    def line(s, thr, lvl, code, sub, msg, ev):
        t = at(s)
        rows.append((t, "%s %d [%s] [MY-%06d] [%s] %s" % (iso_us(t), thr, lvl, code, sub, msg), ev))

    apps = [("shop", "app", "10.0.3.%d" % r.randint(10, 40)) for _ in range(4)] + [
        ("reporting", "metabase", "10.0.5.23")
    ]
    for s in spread(r, 30, 0, 2400):  # E1 aborted connections
        db, u, h = r.choice(apps)
        why = r.choice(
            ["Got an error reading communication packets"] * 3
            + [
                "Got timeout reading communication packets",
                "Got an error writing communication packets",
            ]
        )
        c = conn_id(s - r.uniform(1, 600))
        line(
            s,
            c,
            "Note",
            10914,
            "Server",
            "Aborted connection %d to db: '%s' user: '%s' host: '%s' (%s)." % (c, db, u, h, why),
            "E1",
        )
    # scanner: IP resolve warning + access denied
    for s in spread(r, 9, 0, 2400):
        ip = ip_doc(r)
        n = conn_id(s)
        line(
            s,
            n,
            "Warning",
            10055,
            "Server",
            "IP address '%s' could not be resolved: Name or service not known" % ip,
            "E2",
        )
        for k in range(r.choice([1, 1, 2])):
            line(
                s + 0.05 + 0.2 * k,
                n + k,
                "Note",
                10926,
                "Server",
                "Access denied for user '%s'@'%s' (using password: %s)"
                % (
                    r.choice(["root", "admin", "mysql", "test", "wordpress"]),
                    ip,
                    r.choice(["YES", "YES", "NO"]),
                ),
                "E4",
            )
    # legacy client using mysql_native_password
    for s in spread(r, 8, 0, 2400):
        line(
            s,
            conn_id(s),
            "Warning",
            13360,
            "Server",
            "Plugin mysql_native_password reported: ''mysql_native_password' is deprecated and will be removed in a future release. Please use caching_sha2_password instead'",
            "E3",
        )
    # report query fills temp table
    rep = conn_id(690.0)  # the reporting session that runs the big GROUP BY
    for s in spread(r, 4, 700, 760):
        line(
            s,
            rep,
            "ERROR",
            13132,
            "Server",
            "The table '/tmp/#sql%x_%x_%d' is full!"
            % (r.randint(0x100, 0xFFF), rep % 0x10000, r.randint(0, 9)),
            "E5",
        )
    # lock wait / replica error
    line(
        1450.0,
        2,
        "ERROR",
        10584,
        "Repl",
        "Replica SQL for channel '': Worker 1 failed executing transaction 'ANONYMOUS' at source log mysql-bin.000412, end_log_pos 88213419; Could not execute Write_rows event on table shop.orders; Duplicate entry '3318842' for key 'orders.PRIMARY', Error_code: 1062; handler error HA_ERR_FOUND_DUPP_KEY; the event's source log mysql-bin.000412, end_log_pos 88213419, Error_code: MY-001062",
        "E6",
    )
    line(
        1450.002,
        1,
        "ERROR",
        10586,
        "Repl",
        "Error running query, replica SQL thread aborted. Fix the problem, and restart the replica SQL thread with \"START REPLICA\". We stopped at log 'mysql-bin.000412' position 88212977",
        "E7",
    )
    # restart for upgrade
    t0 = 1980.0
    line(
        t0,
        0,
        "System",
        13172,
        "Server",
        "Received SHUTDOWN from user <via user signal>. Shutting down mysqld (Version: 8.0.40).",
        "E8",
    )
    line(
        t0 + 2.4,
        0,
        "System",
        10910,
        "Server",
        "/usr/sbin/mysqld: Shutdown complete (mysqld 8.0.40)  MySQL Community Server - GPL.",
        "E9",
    )
    line(
        t0 + 5.1,
        0,
        "System",
        10116,
        "Server",
        "/usr/sbin/mysqld (mysqld 8.0.40) starting as process 1",
        "E10",
    )
    line(t0 + 5.2, 1, "System", 13576, "InnoDB", "InnoDB initialization has started.", "E11")
    line(t0 + 6.9, 1, "System", 13577, "InnoDB", "InnoDB initialization has ended.", "E12")
    line(t0 + 7.4, 0, "Warning", 10068, "Server", "CA certificate ca.pem is self signed.", "E13")
    line(
        t0 + 7.6,
        0,
        "System",
        10931,
        "Server",
        "/usr/sbin/mysqld: ready for connections. Version: '8.0.40'  socket: '/var/run/mysqld/mysqld.sock'  port: 3306  MySQL Community Server - GPL.",
        "E14",
    )
    return rows


# --------------------------------------------------------------------------- 6 redis
def redis():
    r = R("redis")
    rows = []
    pid = 1
    cid = [3100]
    apps = ["10.0.4.%d" % r.randint(2, 250) for _ in range(5)]

    def line(s, role, lvl, msg, ev, p=None):
        t = at(s)
        rows.append(
            (
                t,
                "%d:%s %02d %s %d %02d:%02d:%02d.%03d %s %s"
                % (
                    p or pid,
                    role,
                    t.day,
                    MON[t.month - 1],
                    t.year,
                    t.hour,
                    t.minute,
                    t.second,
                    t.microsecond // 1000,
                    lvl,
                    msg,
                ),
                ev,
            )
        )

    def cinfo(addr, age, cmd, s):
        cid[0] = 3100 + int(s / 7)  # client ids grow with time
        return (
            "id=%d addr=%s laddr=10.0.3.17:6379 fd=%d name= age=%d idle=0 flags=N db=0 sub=0 psub=0 ssub=0 "
            "multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=1024 rbp=%d obl=0 oll=0 omem=0 tot-mem=1928 "
            "events=r cmd=%s user=default redir=-1 resp=2 lib-name= lib-ver="
        ) % (cid[0], addr, r.randint(9, 80), age, r.choice([0, 5, 42]), cmd)

    # short-lived clients (cron jobs / php): accepted + closed
    for s in spread(r, 24, 0, 2400):
        a = "%s:%d" % (r.choice(apps), eport(r))
        line(s, "M", "-", "Accepted " + a, "E1")
        if r.random() < 0.9:
            age = r.choice([0, 0, 1, 2, 14])
            line(
                s + age + r.uniform(0.01, 0.5),
                "M",
                "-",
                "Client closed connection "
                + cinfo(a, age, r.choice(["get", "set", "hgetall", "quit", "expire", "mget"]), s),
                "E2",
            )
    # verbose serverCron DB stats
    keys = 48213
    for s in spread(r, 14, 0, 2400):
        keys += r.randint(-40, 400)
        line(
            s,
            "M",
            "-",
            "DB 0: %d keys (%d volatile) in %d slots HT."
            % (keys, keys // 3 + r.randint(0, 50), 65536),
            "E3",
        )
    # snapshot cycles: save point triggered or BGSAVE from backup cron
    for i, s in enumerate(spread(r, 5, 100, 2300)):
        child = r.randint(2000, 32000)
        if i != 2:
            line(
                s,
                "M",
                "*",
                "%d changes in %d seconds. Saving..."
                % r.choice([(100, 300), (10000, 60), (1, 3600)]),
                "E4",
            )
        line(s + 0.003, "M", "*", "Background saving started by pid %d" % child, "E5")
        d = r.uniform(0.4, 3.5)
        line(s + d, "C", "*", "DB saved on disk", "E6", p=child)
        line(
            s + d + 0.001,
            "C",
            "*",
            "Fork CoW for RDB: current %d MB, peak %d MB, average %d MB"
            % (r.randint(1, 9), r.randint(9, 40), r.randint(1, 8)),
            "E7",
            p=child,
        )
        line(s + d + 0.1, "M", "*", "Background saving terminated with success", "E8")
    # replica reconnects after a network blip
    t = 1377.0
    line(t, "M", "#", "Connection with replica 10.0.3.18:6379 lost.", "E9")
    line(t + 4.2, "M", "*", "Replica 10.0.3.18:6379 asks for synchronization", "E10")
    line(
        t + 4.2005,
        "M",
        "*",
        "Partial resynchronization request from 10.0.3.18:6379 accepted. Sending 48213 bytes of backlog starting from offset 918273344.",
        "E11",
    )
    t = 1905.0
    line(t, "M", "#", "Connection with replica 10.0.3.19:6379 lost.", "E9")
    line(t + 1.1, "M", "*", "Replica 10.0.3.19:6379 asks for synchronization", "E10")
    line(
        t + 1.1004,
        "M",
        "*",
        "Partial resynchronization request from 10.0.3.19:6379 accepted. Sending 2211 bytes of backlog starting from offset 918990112.",
        "E11",
    )
    # cross-protocol scripting probe from the internet
    line(
        822.7,
        "M",
        "#",
        "Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: commands to Redis. This is likely due to an attacker attempting to use Cross Protocol Scripting to compromise your Redis instance. Connection from 203.0.113.61:47022 aborted.",
        "E12",
    )
    # slow pubsub consumer
    line(
        1611.2,
        "M",
        "#",
        "Client %s scheduled to be closed ASAP for overcoming of output buffer limits."
        % cinfo("10.0.4.77:51190", 3311, "subscribe", 1611.2 - 3311)
        .replace("flags=N", "flags=P")
        .replace("sub=0 psub=0", "sub=3 psub=0"),
        "E13",
    )
    return rows


# --------------------------------------------------------------------------- 7 java_spring_boot
def java_spring_boot():
    r = R("java_spring_boot")
    rows = []
    PID = 1

    def line(s, lvl, thread, logger, msg, ev):
        t = at(s)
        th = thread[-15:].rjust(15)
        lg = logger if len(logger) <= 40 else logger[-40:]
        rows.append(
            (
                t,
                "%s %5s %d --- [order-service] [%s] %-40s : %s"
                % (iso_ms(t), lvl, PID, th, lg, msg),
                ev,
            )
        )

    def web():
        return "http-nio-8080-exec-%d" % r.randint(1, 12)

    kafka_thr = "org.springframework.kafka.KafkaListenerEndpointContainer#0-0-C-1"
    # startup
    line(
        0.1,
        "INFO",
        "main",
        "o.s.b.w.embedded.tomcat.TomcatWebServer",
        "Tomcat started on port 8080 (http) with context path '/'",
        "E8",
    )
    line(
        0.2,
        "INFO",
        "main",
        "c.e.orders.OrderServiceApplication",
        "Started OrderServiceApplication in 7.412 seconds (process running for 8.03)",
        "E9",
    )
    line(
        0.9,
        "INFO",
        kafka_thr,
        "o.s.k.l.KafkaMessageListenerContainer",
        "order-events-group: partitions assigned: [order-events-0, order-events-1, order-events-2]",
        "E10",
    )
    line(
        2.4,
        "INFO",
        web(),
        "o.a.c.c.C.[Tomcat].[localhost].[/]",
        "Initializing Spring DispatcherServlet 'dispatcherServlet'",
        "E14",
    )
    line(
        2.5,
        "INFO",
        "http-nio-8080-exec-1",
        "o.s.web.servlet.DispatcherServlet",
        "Completed initialization in 2 ms",
        "E2",
    )
    # E1 order reads (dominant)
    for s in spread(r, 28, 3, 2400):
        if 1300 < s < 1420:
            continue
        line(
            s,
            "INFO",
            web(),
            "c.e.orders.web.OrderController",
            "Fetched order %s for customer %d in %dms"
            % (uid(r), r.randint(1000, 99999), r.randint(3, 180)),
            "E1",
        )
    # E11 kafka consumption
    for s in spread(r, 18, 3, 2400):
        line(
            s,
            "INFO",
            kafka_thr,
            "c.e.orders.kafka.OrderEventListener",
            "Consumed event %s for order %s (partition %d, offset %d)"
            % (
                r.choice(["OrderShipped", "OrderPaid", "OrderShipped", "ReturnRequested"]),
                uid(r),
                r.randint(0, 2),
                r.randint(400000, 480000),
            ),
            "E11",
        )
    # payment declines
    for s in spread(r, 6, 3, 2400):
        line(
            s,
            "WARN",
            web(),
            "c.e.orders.service.PaymentClient",
            "Payment authorization for order %s declined: %s"
            % (
                uid(r),
                r.choice(
                    [
                        "insufficient_funds",
                        "card_expired",
                        "do_not_honor",
                        '"3-D Secure authentication failed"',
                    ]
                ),
            ),
            "E6",
        )
    # DB pool exhaustion episode 1300-1420
    for s in spread(r, 5, 1300, 1420):
        th = web()
        line(
            s,
            "WARN",
            th,
            "o.h.engine.jdbc.spi.SqlExceptionHelper",
            "SQL Error: 0, SQLState: null",
            "E4",
        )
        line(
            s + 0.001,
            "ERROR",
            th,
            "o.h.engine.jdbc.spi.SqlExceptionHelper",
            "HikariPool-1 - Connection is not available, request timed out after 30000ms (total=10, active=10, idle=0, waiting=%d)."
            % r.randint(1, 14),
            "E3",
        )
        if r.random() < 0.7:
            line(
                s + 0.004,
                "ERROR",
                th,
                "o.a.c.c.C.[.[.[/].[dispatcherServlet]",
                "Servlet.service() for servlet [dispatcherServlet] in context with path [] threw exception [Request processing failed: org.springframework.transaction.CannotCreateTransactionException: Could not open JPA EntityManager for transaction] with root cause",
                "E7",
            )
    line(
        1301.0,
        "WARN",
        "HikariPool-1 housekeeper",
        "com.zaxxer.hikari.pool.HikariPool",
        "HikariPool-1 - Thread starvation or clock leap detected (housekeeper delta=1m2s11ms).",
        "E12",
    )
    # rebalance
    line(
        1810.3,
        "INFO",
        kafka_thr,
        "o.s.k.l.KafkaMessageListenerContainer",
        "order-events-group: partitions revoked: [order-events-0, order-events-1, order-events-2]",
        "E13",
    )
    line(
        1814.8,
        "INFO",
        kafka_thr,
        "o.s.k.l.KafkaMessageListenerContainer",
        "order-events-group: partitions assigned: [order-events-1, order-events-2]",
        "E10",
    )
    # resolved exceptions
    for s, m in [
        (
            512.0,
            "org.springframework.web.HttpRequestMethodNotSupportedException: Request method 'DELETE' is not supported",
        ),
        (
            1122.5,
            "org.springframework.web.servlet.resource.NoResourceFoundException: No static resource favicon.ico.",
        ),
        (
            2020.9,
            "org.springframework.web.method.annotation.MethodArgumentTypeMismatchException: Method parameter 'id': Failed to convert value of type 'java.lang.String' to required type 'java.util.UUID'; Invalid UUID string: 42",
        ),
    ]:
        line(
            s, "WARN", web(), ".w.s.m.s.DefaultHandlerExceptionResolver", "Resolved [%s]" % m, "E5"
        )
    return rows


# --------------------------------------------------------------------------- 8 kubelet_journald
def kubelet_journald():
    r = R("kubelet_journald")
    rows = []
    KP, CP, NODE = 1187, 812, "ip-10-0-3-17"

    def jl(s, ident, pid, body, ev):
        t = at(s)
        rows.append((t, "%s %s %s[%d]: %s" % (journal_time(t), NODE, ident, pid, body), ev))

    def klog(s, lvl, src, body, ev):
        t = at(s)
        jl(
            s,
            "kubelet",
            KP,
            "%s%02d%02d %02d:%02d:%02d.%06d %7d %s] %s"
            % (lvl, t.month, t.day, t.hour, t.minute, t.second, t.microsecond, KP, src, body),
            ev,
        )

    def ctd(s, lvl, msg, extra, ev):
        jl(
            s,
            "containerd",
            CP,
            'time="%s" level=%s msg="%s"%s' % (iso_ns(at(s), r), lvl, msg, extra),
            ev,
        )

    # crashlooping pod: payments/ledger-worker
    pod, ns, puid = "ledger-worker-6b7f9c8d5-x2kq9", "payments", uid(r)
    sandbox = hexs(r, 64)
    backoffs = ["10s", "20s", "40s", "1m20s", "2m40s", "5m0s", "5m0s", "5m0s", "5m0s"]
    s = 60.0
    for attempt, bo in enumerate(backoffs, start=3):
        cidn = hexs(r, 64)
        ctd(
            s,
            "info",
            'CreateContainer within sandbox \\"%s\\" for container &ContainerMetadata{Name:worker,Attempt:%d,}'
            % (sandbox, attempt),
            "",
            "E6",
        )
        jl(
            s + 0.08,
            "systemd",
            1,
            "Started cri-containerd-%s.scope - libcontainer container %s." % (cidn, cidn),
            "E10",
        )
        ctd(s + 0.21, "info", 'StartContainer for \\"%s\\" returns successfully' % cidn, "", "E5")
        klog(
            s + 0.6,
            "I",
            "kubelet.go:2470",
            '"SyncLoop (PLEG): event for pod" pod="%s/%s" event={"ID":"%s","Type":"ContainerStarted","Data":"%s"}'
            % (ns, pod, puid, cidn),
            "E3",
        )
        die = s + r.uniform(2, 9)
        ctd(die, "info", "shim disconnected", " id=%s namespace=k8s.io" % cidn, "E7")
        klog(
            die + 0.9,
            "I",
            "kubelet.go:2470",
            '"SyncLoop (PLEG): event for pod" pod="%s/%s" event={"ID":"%s","Type":"ContainerDied","Data":"%s"}'
            % (ns, pod, puid, cidn),
            "E3",
        )
        if attempt > 3:
            klog(
                die + 0.95,
                "I",
                "scope.go:117",
                '"RemoveContainer" containerID="%s"' % hexs(r, 64),
                "E2",
            )
        # repeated sync errors while in back-off
        nerr = {"10s": 1, "20s": 1, "40s": 2}.get(bo, 3)
        wait = dt.timedelta(seconds=0)
        for k in range(nerr):
            klog(
                die + 1.0 + 11.3 * k,
                "E",
                "pod_workers.go:1301",
                '"Error syncing pod, skipping" err="failed to \\"StartContainer\\" for \\"worker\\" with CrashLoopBackOff: \\"back-off %s restarting failed container=worker pod=%s_%s(%s)\\"" pod="%s/%s" podUID="%s"'
                % (bo, pod, ns, puid, ns, pod, puid),
                "E1",
            )
        secs = {"10s": 10, "20s": 20, "40s": 40, "1m20s": 80, "2m40s": 160, "5m0s": 300}[bo]
        s = die + secs + r.uniform(1, 6)
    # readiness probe failures on a slow-starting api pod
    api, apiuid, apiip = (
        "checkout-api-7d4f8b9c6-mz5tn",
        uid(r),
        "10.244.%d.%d" % (r.randint(0, 9), r.randint(2, 250)),
    )
    for s in spread(r, 7, 400, 560):
        klog(
            s,
            "I",
            "prober.go:107",
            '"Probe failed" probeType="Readiness" pod="shop/%s" podUID="%s" containerName="api" probeResult="failure" output="Get \\"http://%s:8080/ready\\": dial tcp %s:8080: connect: connection refused"'
            % (api, apiuid, apiip, apiip),
            "E4",
        )
    # pod startups observed
    for s in spread(r, 5, 300, 2200):
        p = r.choice(["checkout-api-7d4f8b9c6-", "cart-5f6d7c8b9-", "web-59c7b9d8f-"]) + "".join(
            r.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5)
        )
        t = at(s)
        created = t - dt.timedelta(seconds=r.uniform(2, 30))
        d = (t - created).total_seconds()
        fmt = lambda x: x.strftime("%Y-%m-%d %H:%M:%S") + " +0000 UTC"
        fsp = (
            '"0001-01-01 00:00:00 +0000 UTC"'
            if r.random() < 0.5
            else '"%s m=+%.9f"'
            % (
                fmt(created + dt.timedelta(seconds=0.4)).replace(
                    " +0000 UTC", ".%06d +0000 UTC" % r.randint(0, 999999)
                ),
                r.uniform(1000, 9000),
            )
        )
        klog(
            s,
            "I",
            "pod_startup_latency_tracker.go:104",
            '"Observed pod startup duration" pod="shop/%s" podStartSLOduration=%.6g podStartE2EDuration="%.9gs" podCreationTimestamp="%s" firstStartedPulling=%s lastFinishedPulling=%s observedRunningTime="%s" watchObservedRunningTime="%s"'
            % (
                p,
                d,
                d,
                fmt(created),
                fsp,
                fsp,
                fmt(t).replace(" +0000 UTC", ".%06d +0000 UTC" % r.randint(0, 999999)),
                fmt(t).replace(" +0000 UTC", ".%06d +0000 UTC" % r.randint(0, 999999)),
            ),
            "E11",
        )
    # memory pressure -> eviction
    t = 1720.0
    klog(
        t,
        "I",
        "eviction_manager.go:366",
        '"Eviction manager: attempting to reclaim" resourceName="memory"',
        "E8",
    )
    klog(
        t + 0.01,
        "I",
        "eviction_manager.go:377",
        '"Eviction manager: must evict pod(s) to reclaim" resourceName="memory"',
        "E9",
    )
    vic, vuid = "report-builder-28893410-qk8vd", uid(r)
    klog(
        t + 0.02,
        "I",
        "kuberuntime_container.go:809",
        '"Killing container with a grace period" pod="batch/%s" podUID="%s" containerName="builder" containerID="containerd://%s" gracePeriod=0'
        % (vic, vuid, hexs(r, 64)),
        "E12",
    )
    # rollout: old pods killed
    for s in spread(r, 3, 2250, 2300):
        p = "web-6c8d9f7b5-" + "".join(r.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
        klog(
            s,
            "I",
            "kuberuntime_container.go:809",
            '"Killing container with a grace period" pod="shop/%s" podUID="%s" containerName="nginx" containerID="containerd://%s" gracePeriod=30'
            % (p, uid(r), hexs(r, 64)),
            "E12",
        )
    return rows


# --------------------------------------------------------------------------- 9 docker_daemon
def docker_daemon():
    r = R("docker_daemon")
    rows = []

    def line(s, lvl, msg, extra, ev):
        t = at(s)
        rows.append((t, 'time="%s" level=%s msg=%s%s' % (iso_ns(t, r), lvl, msg, extra), ev))

    def q(m):
        return '"' + m.replace('"', '\\"') + '"'

    def trace():
        return " spanID=%s traceID=%s" % (hexs(r, 16), hexs(r, 32))

    # CI runner: short-lived containers exit -> ignoring event (dominant)
    for s in spread(r, 26, 0, 2400):
        c = hexs(r, 64)
        line(
            s,
            "info",
            q("ignoring event"),
            ' container=%s module=libcontainerd namespace=moby topic=/tasks/delete type="*events.TaskDelete"'
            % c,
            "E1",
        )
        if r.random() < 0.35:
            line(s + 0.004, "info", q("shim disconnected"), " id=%s namespace=moby" % c, "E2")
            line(
                s + 0.0045,
                "warning",
                q("cleaning up after shim disconnected"),
                " id=%s namespace=moby" % c,
                "E3",
            )
    # stop with timeout
    for s in spread(r, 7, 0, 2400):
        c = hexs(r, 64)
        line(
            s,
            "info",
            q(
                "Container failed to exit within %ds of signal 15 - using the force"
                % r.choice([10, 10, 30])
            ),
            " container=%s%s" % (c, trace()),
            "E4",
        )
    # flaky health checks
    for s in spread(r, 9, 600, 1500):
        c = "4f1c9e07a2b8d3c56e0f7a9b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d"
        why = r.choice(
            ["context deadline exceeded", "timed out starting health check for container " + c[:12]]
        )
        line(s, "warning", q("Health check for container %s error: %s" % (c, why)), "", "E5")
    # pull failures against a private registry
    for s in spread(r, 3, 900, 960):
        line(
            s,
            "info",
            q(
                'Attempting next endpoint for pull after error: Get "https://registry.example.internal/v2/": dial tcp 10.0.9.4:443: i/o timeout'
            ),
            trace(),
            "E6",
        )
    line(
        961.0,
        "error",
        q(
            'Not continuing with pull after error: Get "https://registry.example.internal/v2/": dial tcp 10.0.9.4:443: i/o timeout'
        ),
        trace(),
        "E7",
    )
    # port conflicts
    for s in (1402.2, 1405.9):
        c = hexs(r, 64)
        line(
            s,
            "error",
            q(
                "Handler for POST /v1.47/containers/%s/start returned error: driver failed programming external connectivity on endpoint %s (%s): Bind for 0.0.0.0:8080 failed: port is already allocated"
                % (c[:12], r.choice(["web", "web-2"]), hexs(r, 64))
            ),
            trace(),
            "E8",
        )
    # image prune
    for s in spread(r, 6, 2100, 2106):
        line(s, "info", q("Layer sha256:%s cleaned up" % hexs(r, 64)), "", "E9")
    # daemon restart (live-restore)
    t = 1700.0
    line(t, "info", q("Processing signal 'terminated'"), "", "E10")
    line(t + 3.1, "info", q("Starting up"), "", "E11")
    line(t + 4.0, "info", q("Loading containers: start."), "", "E12")
    line(t + 4.9, "info", q("Loading containers: done."), "", "E13")
    line(
        t + 5.1,
        "info",
        q("Docker daemon"),
        " commit=41ca978 containerd-snapshotter=false storage-driver=overlay2 version=27.3.1",
        "E14",
    )
    line(t + 5.2, "info", q("Daemon has completed initialization"), "", "E15")
    line(t + 5.25, "info", q("API listen on /run/docker.sock"), "", "E16")
    return rows


# --------------------------------------------------------------------------- 10 kafka_broker
def kafka_broker():
    r = R("kafka_broker")
    rows = []
    BID = 1
    D = "/var/lib/kafka/data"

    def line(s, lvl, msg, cls, ev):
        t = at(s)
        rows.append((t, "[%s] %s %s (%s)" % (comma_ms(t), lvl, msg, cls), ev))

    topics = [("orders", 12), ("payments", 6), ("clickstream", 24), ("__consumer_offsets", 50)]
    off = {}
    # segment rolls (dominant) + producer snapshot
    for s in spread(r, 22, 0, 2400):
        tp, n = r.choice(topics[:3] * 2 + topics[3:])
        p = "%s-%d" % (tp, r.randrange(n))
        o = off.setdefault(p, r.randint(1_000_000, 90_000_000))
        off[p] = o + r.randint(50_000, 400_000)
        line(
            s,
            "INFO",
            "[LocalLog partition=%s, dir=%s] Rolled new log segment at offset %d in %d ms."
            % (p, D, off[p], r.randint(0, 6)),
            "kafka.log.LocalLog",
            "E1",
        )
        line(
            s + 0.002,
            "INFO",
            "[ProducerStateManager partition=%s] Wrote producer snapshot at offset %d with %d producer ids in %d ms."
            % (p, off[p], r.randint(0, 12), r.randint(0, 3)),
            "kafka.log.ProducerStateManager",
            "E2",
        )
    # retention deletes
    for s in spread(r, 6, 0, 2400):
        p = "clickstream-%d" % r.randrange(24)
        base = r.randint(10_000_000, 60_000_000)
        sz = r.randint(900_000_000, 1_073_741_000)
        lm = 1_764_230_400_000 + r.randint(0, 86_400_000)
        line(
            s,
            "INFO",
            "[UnifiedLog partition=%s, dir=%s] Deleting segment LogSegment(baseOffset=%d, size=%d, lastModifiedTime=%d, largestRecordTimestamp=%d) due to log retention time 604800000ms breach based on the largest record timestamp in the segment"
            % (p, D, base, sz, lm, lm - r.randint(0, 2000)),
            "kafka.log.UnifiedLog",
            "E3",
        )
        line(
            s + 0.001,
            "INFO",
            "[UnifiedLog partition=%s, dir=%s] Incremented log start offset to %d due to SegmentDeletion"
            % (p, D, base + r.randint(200_000, 900_000)),
            "kafka.log.UnifiedLog",
            "E4",
        )
    # replication lag episode with broker 3
    parts = ["orders-%d" % i for i in (2, 5, 9)] + ["payments-1"]
    line(
        1200.0,
        "INFO",
        "[ReplicaFetcher replicaId=1, leaderId=3, fetcherId=0] Error sending fetch request (sessionId=%d, epoch=%d) to node 3:"
        % (r.randint(10**8, 2 * 10**9), r.randint(100, 9000)),
        "org.apache.kafka.clients.FetchSessionHandler",
        "E5",
    )
    for s in spread(r, 3, 1201, 1260):
        line(
            s,
            "WARN",
            "[ReplicaFetcher replicaId=1, leaderId=3, fetcherId=0] Connection to node 3 (kafka-3.kafka-headless.data.svc.cluster.local/10.0.7.33:9092) could not be established. Node may not be available.",
            "org.apache.kafka.clients.NetworkClient",
            "E6",
        )
    line(
        1262.0,
        "INFO",
        "[ReplicaFetcher replicaId=1, leaderId=3, fetcherId=0] Error sending fetch request (sessionId=INVALID, epoch=INITIAL) to node 3:",
        "org.apache.kafka.clients.FetchSessionHandler",
        "E5",
    )
    for k, p in enumerate(parts):
        hw = r.randint(1_000_000, 9_000_000)
        line(
            1212.0 + k * 0.7,
            "INFO",
            "[Partition %s broker=%d] Shrinking ISR from 1,2,3 to 1,2. Leader: (highWatermark: %d, endOffset: %d). Out of sync replicas: (brokerId: 3, endOffset: %d, lastCaughtUpTimeMs: %d)."
            % (
                p,
                BID,
                hw,
                hw + r.randint(0, 300),
                hw - r.randint(500, 9000),
                1_796_368_300_000 + r.randint(0, 60_000),
            ),
            "kafka.cluster.Partition",
            "E7",
        )
        line(
            1212.05 + k * 0.7,
            "INFO",
            "[Partition %s broker=%d] ISR updated to 1,2 and version updated to %d"
            % (p, BID, r.randint(10, 60)),
            "kafka.cluster.Partition",
            "E8",
        )
        line(
            1300.0 + k * 1.3,
            "INFO",
            "[Partition %s broker=%d] Expanding ISR from 1,2 to 1,2,3" % (p, BID),
            "kafka.cluster.Partition",
            "E9",
        )
        line(
            1300.05 + k * 1.3,
            "INFO",
            "[Partition %s broker=%d] ISR updated to 1,2,3 and version updated to %d"
            % (p, BID, r.randint(61, 90)),
            "kafka.cluster.Partition",
            "E8",
        )
    # consumer group rebalances
    for g, s, gen, members, reason in [
        (
            "payments-consumer",
            640.0,
            41,
            3,
            "Leaving group caused by consumer-payments-consumer-2-%s" % uid(r),
        ),
        (
            "fraud-scorer",
            1530.0,
            7,
            2,
            "Adding new member consumer-fraud-scorer-1-%s with group instance id null; client reason: rebalance failed due to MemberIdRequiredException"
            % uid(r),
        ),
        (
            "payments-consumer",
            2105.0,
            42,
            4,
            "Adding new member consumer-payments-consumer-4-%s with group instance id null; client reason: need to revoke partitions and re-join"
            % uid(r),
        ),
    ]:
        sp = "__consumer_offsets-%d" % r.randrange(50)
        line(
            s,
            "INFO",
            "[GroupCoordinator %d]: Preparing to rebalance group %s in state PreparingRebalance with old generation %d (%s) (reason: %s)"
            % (BID, g, gen, sp, reason),
            "kafka.coordinator.group.GroupCoordinator",
            "E10",
        )
        line(
            s + 3.0,
            "INFO",
            "[GroupCoordinator %d]: Stabilized group %s generation %d (%s) with %d members"
            % (BID, g, gen + 1, sp, members),
            "kafka.coordinator.group.GroupCoordinator",
            "E11",
        )
        line(
            s + 3.02,
            "INFO",
            "[GroupCoordinator %d]: Assignment received from leader consumer-%s-1-%s for group %s for generation %d. The group has %d members, 0 of which are static."
            % (BID, g, uid(r), g, gen + 1, members),
            "kafka.coordinator.group.GroupCoordinator",
            "E12",
        )
    # auth failures from a misconfigured client
    for s in spread(r, 4, 0, 2400):
        ip = ip_doc(r)
        line(
            s,
            "INFO",
            "[SocketServer listenerType=BROKER, nodeId=%d] Failed authentication with /%s (channelId=10.0.7.31:9093-%s:%d-%d) (Unexpected Kafka request of type METADATA during SASL handshake.)"
            % (BID, ip, ip, eport(r), r.randint(1, 400)),
            "org.apache.kafka.common.network.Selector",
            "E13",
        )
    line(
        1777.7,
        "WARN",
        "[SocketServer listenerType=BROKER, nodeId=%d] Unexpected error from /10.0.4.19 (channelId=10.0.7.31:9092-10.0.4.19:51544-212); closing connection"
        % BID,
        "org.apache.kafka.common.network.Selector",
        "E14",
    )
    return rows


# --------------------------------------------------------------------------- main
FORMATS = [
    apache_access,
    apache_error,
    haproxy,
    envoy_access,
    mysql_error,
    redis,
    java_spring_boot,
    kubelet_journald,
    docker_daemon,
    kafka_broker,
]


def main():
    summary = []
    for fn in FORMATS:
        rows = fn()
        rows.sort(key=lambda x: x[0])  # stable: same-time lines keep emission order
        path = OUT / (fn.__name__ + ".jsonl")
        with path.open("w", encoding="utf-8") as fh:
            for _, line, ev in rows:
                assert "\n" not in line
                fh.write(json.dumps({"line": line, "event": ev}, ensure_ascii=False) + "\n")
        c = Counter(ev for _, _, ev in rows)
        summary.append(
            (fn.__name__, len(rows), len(c), sorted(c.items(), key=lambda kv: int(kv[0][1:])))
        )
    for name, n, ne, c in summary:
        print("%-18s %4d lines %3d events  %s" % (name, n, ne, " ".join("%s=%d" % kv for kv in c)))


if __name__ == "__main__":
    main()
