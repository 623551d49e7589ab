"""Safe PromQL building: escaped label values, validated names, durations."""

from __future__ import annotations

import re
from collections.abc import Iterable

METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|y|w|d|h|m|s)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
MATCH_OPS = ("=", "!=", "=~", "!~")


def escape_value(value: str) -> str:
    """Escape a label value for a double-quoted PromQL string."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")


def regex_literal(value: str) -> str:
    """Escape regex metacharacters so a user value matches literally under `=~`."""
    return re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", value)


def check_metric_name(name: str) -> str:
    """Return `name` if it is a valid metric name, else raise ValueError."""
    if not METRIC_NAME.match(name):
        raise ValueError(f"invalid metric name {name!r}")
    return name


def check_label_name(name: str) -> str:
    """Return `name` if it is a valid label name, else raise ValueError."""
    if not LABEL_NAME.match(name):
        raise ValueError(f"invalid label name {name!r}")
    return name


def matcher(label: str, value: str, op: str = "=") -> str:
    """Build one label matcher with the value escaped."""
    if op not in MATCH_OPS:
        raise ValueError(f"invalid matcher operator {op!r}")
    return f'{check_label_name(label)}{op}"{escape_value(value)}"'


def selector(metric: str, matchers: Iterable[str] = ()) -> str:
    """Build `metric{m1,m2}` from already-built matchers."""
    inner = ",".join(matchers)
    return f"{check_metric_name(metric)}{{{inner}}}" if inner else check_metric_name(metric)


def parse_duration(text: str) -> float:
    """Parse a Prometheus duration such as `1h30m` or `90s` into seconds."""
    text = text.strip()
    pos, total = 0, 0.0
    for match in _DURATION.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(f"invalid duration {text!r} (use e.g. 30s, 5m, 2h, 1d)")
    return total


def format_duration(seconds: float) -> str:
    """Format seconds as a compact Prometheus duration (`90` → `1m30s`)."""
    seconds = round(seconds)
    if seconds <= 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
