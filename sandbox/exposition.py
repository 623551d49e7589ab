"""Render engine samples in the Prometheus text exposition format (version 0.0.4)."""

from __future__ import annotations

from collections.abc import Iterable

from opsloop.sandbox.series import Sample
from opsloop.tools.backends.prometheus.promql import escape_value


def render(samples: Iterable[Sample]) -> str:
    """Return the /metrics page for these samples, one HELP/TYPE header per family."""
    families: dict[str, list[Sample]] = {}
    for sample in samples:
        families.setdefault(sample[0], []).append(sample)
    lines: list[str] = []
    for family, rows in families.items():
        _, kind, help_text = rows[0][:3]
        # In the 0.0.4 text format a counter family is named with its _total suffix.
        name = f"{family}_total" if kind == "counter" else family
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        lines += [f"{r[3]}{labels(r[4])} {number(r[5])}" for r in rows]
    return "\n".join(lines) + "\n"


def labels(pairs: tuple[tuple[str, str], ...]) -> str:
    """Render `{a="b",…}` with escaped values."""
    if not pairs:
        return ""
    return "{" + ",".join(f'{k}="{escape_value(v)}"' for k, v in pairs) + "}"


def number(value: float) -> str:
    """Render integers without a decimal point and floats in full precision."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))
