"""Figures: numbers as written in text, with unit, dimension, base value and precision."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

# Dates, clock times, evidence ids and code are context, not figures.
SKIP = re.compile(
    r"```.*?```"  # code blocks
    r"|`[^`\n]*`"  # inline code: PromQL, metric names
    r"|\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
    r"|\b\d{1,2}:\d{2}(?::\d{2})?\b(?:\s*(?:UTC|Z|[AP]M))?"
    r"|\[E\d+\]|\bE\d+\b"
    r"|(?:https?://|www\.)\S+",
    re.S,
)
MATCHER = re.compile(r'\b([a-zA-Z_][a-zA-Z0-9_.]*)=~?"([^"]*)"')
_NUMBER = re.compile(
    r"(?<![\w.])([-+−]?\d+(?:,\d{3})*(?:\.\d+)?(?:[eE][-+]?\d+)?)(?:\s?(?:"
    r"(ms|µs|us|ns|sec|seconds?|s|minutes?|mins?|min|m|hours?|hrs?|hr|h|days?|d|"
    r"%|percent|percentage points|pp|KiB|MiB|GiB|TiB|KB|MB|GB|TB|kB|B|bytes|"
    r"millicores|cores?|vCPUs?|"
    r"(?:KiB|MiB|GiB|KB|MB|GB|kB|B)/(?:s|sec|min|h)|"
    r"(?:requests?|reqs?|calls|queries|ops|events|lines)\s?"
    r"(?:/\s?s|/\s?sec|/\s?min|per second|per minute)|"
    r"rps|qps|/s|/sec|/min|per second|per minute|x)"
    r"|([kKM])(?=\s?(?:/s|rps|req|requests))))?(?![\w/])"
)
LIST_MARK = re.compile(r"^\s*(?:\d+[.)]|[-*•+])\s+")
VERSION = re.compile(
    r"(?<![\w-])(?:v(\d+)|versions?\s+(\d+)(?:\s*(?:to|and|or|vs\.?|->|→|,)\s*v?(\d+))?)(?![\w.])",
    re.I,
)

# Base-unit scale and dimension of each written unit.
UNITS: dict[str, tuple[float, str]] = {
    "ns": (1e-9, "time"),
    "µs": (1e-6, "time"),
    "us": (1e-6, "time"),
    "ms": (1e-3, "time"),
    "s": (1, "time"),
    "sec": (1, "time"),
    "second": (1, "time"),
    "seconds": (1, "time"),
    "m": (60, "time"),
    "min": (60, "time"),
    "mins": (60, "time"),
    "minute": (60, "time"),
    "minutes": (60, "time"),
    "h": (3600, "time"),
    "hr": (3600, "time"),
    "hrs": (3600, "time"),
    "hour": (3600, "time"),
    "hours": (3600, "time"),
    "d": (86400, "time"),
    "day": (86400, "time"),
    "days": (86400, "time"),
    "%": (0.01, "ratio"),
    "percent": (0.01, "ratio"),
    "pp": (0.01, "ratio"),
    "percentage points": (0.01, "ratio"),
    "B": (1, "bytes"),
    "bytes": (1, "bytes"),
    "KiB": (2**10, "bytes"),
    "MiB": (2**20, "bytes"),
    "GiB": (2**30, "bytes"),
    "TiB": (2**40, "bytes"),
    "kB": (1e3, "bytes"),
    "KB": (1e3, "bytes"),
    "MB": (1e6, "bytes"),
    "GB": (1e9, "bytes"),
    "TB": (1e12, "bytes"),
    "cores": (1, "cores"),
    "core": (1, "cores"),
    "vCPU": (1, "cores"),
    "vCPUs": (1, "cores"),
    "millicores": (1e-3, "cores"),
    "/s": (1, "per_second"),
    "/sec": (1, "per_second"),
    "req/s": (1, "per_second"),
    "rps": (1, "per_second"),
    "qps": (1, "per_second"),
    "per second": (1, "per_second"),
    "/min": (1 / 60, "per_second"),
    "per minute": (1 / 60, "per_second"),
    "x": (1, "times"),
}
for _u, _scale in (("B", 1), ("KiB", 2**10), ("MiB", 2**20), ("GiB", 2**30), ("KB", 1e3),
                   ("kB", 1e3), ("MB", 1e6), ("GB", 1e9)):  # fmt: skip
    for _per, _s in (("s", 1), ("sec", 1), ("min", 60), ("h", 3600)):
        UNITS[f"{_u}/{_per}"] = (_scale / _s, "bytes_rate")
# Decimal byte units are often written for binary ones ("1.1 GB" for 1.1 GiB): accept both.
BINARY_TWIN = {"KB": "KiB", "kB": "KiB", "MB": "MiB", "GB": "GiB", "TB": "TiB"}
DIMENSION_OF_UNIT = {
    "seconds": "time",
    "ratio": "ratio",
    "percent": "ratio",
    "bytes": "bytes",
    "per_second": "per_second",
    "cores": "cores",
    "bytes_rate": "bytes_rate",
    "count": "",
    "": "",
}
# Families a dimension implies when the words name none ("412 ms" is a latency).
FAMILY_OF_DIMENSION = {
    "time": "latency",
    "per_second": "rate",
    "bytes": "memory",
    "cores": "cpu",
    "bytes_rate": "trend",
}


_UNIT_ALIAS = {"second": "s", "seconds": "s"}


@dataclass(frozen=True)
class Figure:
    """A number as written: its value in base units, dimension and written precision."""

    text: str
    start: int
    value: float  # base units (seconds, fraction, bytes, per second, cores)
    written: float  # as written
    unit: str
    dimension: str  # time | ratio | bytes | cores | per_second | times | ""
    tolerance: float  # half the last written digit, in base units
    guessed: bool = False  # the unit is read from a neighbouring figure ("62–63.9 ms")


_DURATION_ADJECTIVE = re.compile(
    r"-(?:seconds?|minutes?|hours?|days?|weeks?|before|after|ago|window|long|old)(?![a-z])"
)


def figures(text: str) -> list[Figure]:
    """Return the figures in `text`: measurements, not ids, dates, versions or list numbers."""
    clean = SKIP.sub(lambda m: " " * len(m.group(0)), text)
    clean = VERSION.sub(lambda m: " " * len(m.group(0)), clean)
    clean = MATCHER.sub(lambda m: " " * len(m.group(0)), clean)
    mark = LIST_MARK.match(clean)
    if mark and mark.group(0).strip()[0].isdigit():
        clean = " " * mark.end() + clean[mark.end() :]
    out = []
    for m in _NUMBER.finditer(clean):
        number, unit, si = m.group(1), m.group(2) or "", m.group(3)
        end = m.end()
        if not unit and not si and end < len(clean) and re.match(r"[A-Za-z_]", clean[end]):
            continue  # "5xx", "3rd"
        start = m.start()
        if start > 0 and (clean[start - 1].isalpha() or clean[start - 1] in "#@"):
            continue  # "p99", "#3", "precision@5%"
        if _DURATION_ADJECTIVE.match(clean, end):
            continue  # "a 30-minute window", "the 2h-before baseline": windows, not figures
        raw = number.replace(",", "").replace("−", "-")
        try:
            written = float(raw)
        except ValueError:
            continue
        if not math.isfinite(written):
            continue
        unit = re.sub(r"\s+", " ", unit)
        unit = _UNIT_ALIAS.get(unit, unit)
        if re.match(r"(?:requests?|reqs?|calls|queries|ops|events|lines)\s?(?:/|per)", unit):
            unit = "/min" if unit.endswith(("min", "minute")) else "/s"
        scale, dim = UNITS.get(unit, (1.0, ""))
        if si:
            scale, dim = {"k": 1e3, "K": 1e3, "M": 1e6}[si], "per_second"
        mantissa = raw.lstrip("+-").lower().split("e")[0]
        if "." in mantissa:
            step = 10 ** -len(mantissa.split(".")[1])
        else:
            zeros = len(mantissa) - len(mantissa.rstrip("0")) if mantissa.strip("0") else 0
            step = 10 ** min(zeros, 1)  # "100" may be rounded to tens, not hundreds
        exp = int(raw.lower().split("e")[1]) if "e" in raw.lower() else 0
        tol = 0.5 * step * 10**exp * scale
        out.append(Figure(m.group(0).strip(), start, written * scale, written, unit, dim, tol))
    return out
