"""Which alerts the rules fire over a case's history, checked against Prometheus, and the
Alertmanager (webhook v4) notifications they become.

Rules are replayed the way Prometheus evaluates them: every 15 s, pending from the first
evaluation with a result, firing once the result has held for `for`. The incident's alerts
are the ones that start firing between the fault's onset and eight minutes before the end of
the history (so opsloop, judging at startsAt + 5 min, sees the fault).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from opsloop.evals.rca.world2.cases import Case, Rule, rules_

EVAL_S = 15.0
QUIET_BEFORE_S = 3 * 3600.0  # no rule may fire in the hours before the fault
SETTLE_S = 8 * 60.0  # an alert must start this long before the history ends
ALERTMANAGER = "http://alertmanager.world2.internal:9093"
PROMETHEUS = "http://prometheus.world2.internal:9090"


@dataclass
class Fired:
    """One alert: its rule, label set, when it became pending and firing, its value."""

    rule: Rule
    labels: dict[str, str]
    active_at: float
    fired_at: float
    value: float

    def full_labels(self) -> dict[str, str]:
        """Return the alert's labels: alertname, the result's labels, the rule's labels."""
        return {"alertname": self.rule.alert, **self.labels, **self.rule.labels}


@dataclass
class Check:
    """What the replay found: the incident's alerts and whether the case's are among them."""

    alerts: list[Fired] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # expected alerts that never fired
    extra: list[str] = field(default_factory=list)  # fired, but not listed by the case
    before: list[str] = field(default_factory=list)  # fired in the quiet hours before the fault
    holds: dict[str, bool] = field(default_factory=dict)  # expr holds at startsAt and +5 min
    yesterday: bool | None = None  # (false alarm) the rule fired at this time yesterday too

    @property
    def ok(self) -> bool:
        """Return True when the world raised exactly what the case says, and only then."""
        return (
            not self.missing
            and not self.before
            and all(self.holds.values())
            and self.yesterday is not False
        )


def query_range(url: str, expr: str, start: float, end: float, step: float = EVAL_S) -> list:
    """Return a range query's result (matrix)."""
    response = httpx.get(
        f"{url}/api/v1/query_range",
        params={"query": expr, "start": start, "end": end, "step": step},
        timeout=60.0,
    )
    response.raise_for_status()
    return response.json()["data"]["result"]


def query(url: str, expr: str, at: float) -> list:
    """Return an instant query's result (vector)."""
    response = httpx.get(f"{url}/api/v1/query", params={"query": expr, "time": at}, timeout=60.0)
    response.raise_for_status()
    return response.json()["data"]["result"]


def replay(url: str, rule: Rule, start: float, end: float) -> list[Fired]:
    """Return every firing episode of `rule` between `start` and `end`."""
    start = float(int(start // EVAL_S) * EVAL_S)
    out = []
    for row in query_range(url, rule.expr, start, end):
        present = {round(float(t)): float(v) for t, v in row["values"]}
        active = None
        fired = False
        stamp = start
        while stamp <= end:
            value = present.get(round(stamp))
            if value is None:
                active, fired = None, False
            else:
                active = stamp if active is None else active
                if not fired and stamp - active >= rule.hold_s:
                    out.append(Fired(rule, dict(row["metric"]), active, stamp, value))
                    fired = True
            stamp += EVAL_S
    return out


def check_case(url: str, case: Case, onset: float, end: float) -> Check:
    """Replay every rule over the history's last hours and sort what fired."""
    check = Check()
    for rule in rules_():
        for f in replay(url, rule, min(onset - QUIET_BEFORE_S, end - QUIET_BEFORE_S), end):
            name = describe(f)
            if f.fired_at < onset - 300.0:
                check.before.append(name)
            elif f.fired_at <= end - SETTLE_S:
                check.alerts.append(f)
    check.alerts.sort(key=lambda f: (f.fired_at, describe(f)))
    for want in case.alerts:
        hits = [f for f in check.alerts if _matches(f, want.alert, want.labels)]
        if not hits:
            check.missing.append(f"{want.alert}{want.labels}")
    expected = {w.alert for w in case.alerts}
    check.extra = [describe(f) for f in check.alerts if f.rule.alert not in expected]
    for f in check.alerts:
        check.holds[describe(f)] = all(
            _holds(url, f, at) for at in (f.fired_at, min(f.fired_at + 300.0, end))
        )
    if case.fault.type == "seasonal-peak" and check.alerts:
        first = check.alerts[0]
        day = 86400.0
        again = replay(url, first.rule, first.fired_at - day - 1800.0, first.fired_at - day + 900)
        check.yesterday = any(f.labels == first.labels for f in again)
    return check


def _matches(f: Fired, alert: str, labels: dict[str, str]) -> bool:
    return f.rule.alert == alert and all(f.labels.get(k) == v for k, v in labels.items())


def _holds(url: str, f: Fired, at: float) -> bool:
    return any(r["metric"] == f.labels for r in query(url, f.rule.expr, at))


def describe(f: Fired) -> str:
    """Return `Alert{labels}` for reports."""
    inner = ",".join(f"{k}={v}" for k, v in sorted(f.labels.items()))
    return f"{f.rule.alert}{{{inner}}}"


def fingerprint(labels: dict[str, str]) -> str:
    """Return Alertmanager's fingerprint of a label set (FNV-1a 64 over sorted pairs)."""
    value = 14695981039346656037
    for name in sorted(labels):
        for chunk in (name.encode(), b"\xff", labels[name].encode(), b"\xff"):
            for byte in chunk:
                value = ((value ^ byte) * 1099511628211) % (1 << 64)
    return f"{value:016x}"


def rfc3339(unix: float) -> str:
    """Return Alertmanager's time format."""
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _annotate(text: str, f: Fired) -> str:
    text = text.replace("{{ $value }}", f"{f.value:.3g}")
    return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: f.labels.get(m.group(1), ""), text)


def notifications(alerts: list[Fired]) -> list[dict[str, Any]]:
    """Group the alerts by alertname into Alertmanager webhook (version 4) payloads."""
    groups: dict[str, list[Fired]] = {}
    for f in alerts:
        groups.setdefault(f.rule.alert, []).append(f)
    out = []
    for name, members in groups.items():
        items = []
        for f in members:
            labels = f.full_labels()
            items.append({
                "status": "firing",
                "labels": labels,
                "annotations": {k: _annotate(v, f) for k, v in f.rule.annotations.items()},
                "startsAt": rfc3339(f.fired_at),
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": f"{PROMETHEUS}/graph?g0.expr={quote(f.rule.expr)}&g0.tab=1",
                "fingerprint": fingerprint(labels),
            })  # fmt: skip
        common = dict.fromkeys(items[0]["labels"])
        common = {
            k: items[0]["labels"][k]
            for k in common
            if all(i["labels"].get(k) == items[0]["labels"][k] for i in items)
        }
        out.append({
            "version": "4",
            "groupKey": f'{{}}:{{alertname="{name}"}}',
            "truncatedAlerts": 0,
            "status": "firing",
            "receiver": "opsloop",
            "groupLabels": {"alertname": name},
            "commonLabels": common,
            "commonAnnotations": {},
            "externalURL": ALERTMANAGER,
            "alerts": items,
        })  # fmt: skip
    return out
