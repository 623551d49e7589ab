"""Offline root-cause ranking on RCAEval-style wide metric tables (BARO-style robust scores).

A table has a `time` column (Unix seconds) and one numeric column per `<service>_<metric>`.
Rows before the anomaly time are the normal period, rows at or after it the anomalous period.
Each metric is scored by its largest robust z (distance from the normal median in normal IQRs)
over the anomalous period (BARO, Pham et al., FSE 2024), taken as the level it held for a few
rows so that a one-scrape glitch does not win; a service scores its best metric. Near ties go
to the service that moved first and, given a call graph, to the callee, because a fault
propagates upwards from the callee to its callers, with a lag.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from opsloop.tools.callgraph import below, downstream

TIME = "time"
# Index-like columns that pandas or exporters add beside the data; never metrics.
_NOT_METRICS = {"time", "timestamp", "time.1", "index", "date", "datetime"}
# Prometheus naming: these suffixes are cumulative counters, whatever their shape.
_COUNTER_SUFFIXES = ("_total", "_count", "_sum", "_bucket")
MIN_NORMAL_ROWS = 3


@dataclass(frozen=True)
class RankedTarget:
    """One ranked service: score in [0, 1], strongest metric, its onset (Unix s) and its raw z.

    `z` is the robust z level that metric held for `hold` rows; `onset` is None for a metric
    that never stayed out of normal.
    """

    target: str
    score: float
    metric: str
    onset: float | None
    z: float


def split_column(name: str) -> tuple[str, str]:
    """Split an RCAEval column `<service>_<metric>` at its first underscore.

    Kubernetes service names (RFC 1123 labels) may hold `-` but never `_`, so the first underscore
    ends the service: `ts-auth-service_mem` → (`ts-auth-service`, `mem`), `cartservice_latency-90`
    → (`cartservice`, `latency-90`), `checkout_requests_total` → (`checkout`, `requests_total`);
    splitting at the last one would break metrics that contain underscores. A name without one
    is a service with a single metric, `value`.
    """
    service, sep, metric = name.strip().lstrip("_").partition("_")
    return (service, metric) if sep and metric else (service.rstrip("_"), "value")


def is_metric_column(name: str) -> bool:
    """Tell whether a column may hold a metric (not time, a timestamp or an unnamed index)."""
    key = str(name).strip().lower()
    return bool(key) and key not in _NOT_METRICS and not key.startswith("unnamed:")


def _seconds(column: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return column.astype(float)
    parsed = pd.to_datetime(column, errors="coerce", utc=True)
    if parsed.notna().mean() < 0.9:
        raise ValueError("column `time` must hold Unix seconds (or ISO timestamps)")
    return (parsed - pd.Timestamp(0, tz="UTC")).dt.total_seconds()


def clean_wide(raw: pd.DataFrame) -> pd.DataFrame:
    """Return `time` plus numeric metric columns, sorted, one row per time, gaps forward-filled.

    What was dropped or repaired is listed in `frame.attrs["notes"]`.
    """
    notes: list[str] = []
    time_col = next((c for c in raw.columns if str(c).strip().lower() == TIME), None)
    if time_col is None:
        shown = ", ".join(map(str, list(raw.columns)[:6])) or "none"
        raise ValueError(f"no `time` column (Unix seconds) in the table; columns: {shown}")
    times = _seconds(raw[time_col])
    candidates = [c for c in raw.columns if c != time_col and is_metric_column(c)]
    numeric = raw[candidates].select_dtypes(include=["number", "bool"]).astype(float)
    dropped: list[str] = []
    converted: dict[Any, pd.Series] = {}
    for col in raw[candidates].columns.difference(numeric.columns, sort=False):
        values = pd.to_numeric(raw[col], errors="coerce")
        # A column that is mostly text is a label, not a metric with a few bad cells.
        if raw[col].notna().any() and values.notna().sum() < 0.5 * raw[col].notna().sum():
            dropped.append(str(col))
        else:
            converted[col] = values.astype(float)
    if converted:  # joined at once: adding wide tables' columns one by one fragments the frame
        numeric = pd.concat([numeric, pd.DataFrame(converted, index=numeric.index)], axis=1)
    if dropped:
        notes.append(f"dropped {len(dropped)} non-numeric column(s): {', '.join(dropped[:5])}")
    # Keep the table's column order, whatever the dtype of each column was.
    kept = [c for c in candidates if c in numeric.columns]
    # One concat, not insert: a wide table's frame is often fragmented, and insert warns.
    frame = pd.concat(
        [times.rename(TIME), numeric[kept].rename(columns=lambda c: str(c).strip())], axis=1
    )
    if frame[TIME].isna().any():
        notes.append(f"dropped {int(frame[TIME].isna().sum())} row(s) without a time")
        frame = frame[frame[TIME].notna()]
    if not frame[TIME].is_monotonic_increasing:
        notes.append("sorted rows by time")
        frame = frame.sort_values(TIME, kind="stable")
    if frame[TIME].duplicated().any():
        notes.append(f"averaged {int(frame[TIME].duplicated().sum())} duplicate time row(s)")
        frame = frame.groupby(TIME, as_index=False, sort=True).mean()
    body = frame.drop(columns=TIME).replace([np.inf, -np.inf], np.nan)
    gaps = int(body.isna().sum().sum())
    # Forward fill holds the last scrape (what a dashboard shows); bfill covers leading gaps.
    body = body.ffill().bfill()
    empty = [str(c) for c in body.columns[body.isna().all().to_numpy()]]
    if gaps:
        notes.append(f"filled {gaps} missing or infinite value(s)")
    if empty:
        notes.append(f"dropped {len(empty)} empty column(s): {', '.join(empty[:5])}")
        body = body.drop(columns=empty)
    if body.shape[1] == 0:
        raise ValueError("no numeric metric columns beside `time` (expected `<service>_<metric>`)")
    if len(body) < 2:
        raise ValueError(f"the table has {len(body)} row(s) with a time; need at least two")
    out = pd.concat([frame[[TIME]], body], axis=1).reset_index(drop=True)
    out.attrs["notes"] = notes
    return out


def load_wide_csv(path: str | Path) -> pd.DataFrame:
    """Read and clean a wide metrics CSV; raise ValueError with a readable reason."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path} is a directory" if path.is_dir() else f"no such file: {path}")
    try:
        raw = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"{path} is not a readable CSV: {reason}") from None
    if raw.empty:
        raise ValueError(f"{path} has a header but no rows")
    return clean_wide(raw)


def counter_mask(values: np.ndarray, names: list[str]) -> np.ndarray:
    """Flag columns that are cumulative counters: non-negative, rising, falling only at resets."""
    steps = np.diff(values, axis=0)
    n = max(steps.shape[0], 1)
    falls, rises = (steps < 0).sum(axis=0), (steps > 0).sum(axis=0)
    non_negative = (values >= 0).all(axis=0)
    # Shape alone: rises on most steps, and the rare fall is a process restart.
    shaped = (falls <= max(1, 0.01 * n)) & (rises >= 0.5 * n)
    named = np.array([name.endswith(_COUNTER_SUFFIXES) for name in names], dtype=bool)
    return non_negative & (shaped | (named & (falls <= max(1, 0.05 * n))))


def metric_matrix(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Return (times, values rows×metrics, names) with counters turned into per-second rates."""
    frame = clean_wide(df)
    times = frame[TIME].to_numpy(dtype=float)
    names = [c for c in frame.columns if c != TIME]
    values = frame[names].to_numpy(dtype=float)
    if len(times) < 2:
        return times, values, names
    counters = counter_mask(values, names)
    if counters.any():
        raw = values[:, counters]
        steps = np.diff(raw, axis=0)
        # After a reset the counter restarts from zero, so its new value is the increase.
        steps = np.where(steps < 0, raw[1:], steps)
        rates = steps / np.diff(times)[:, None]
        values = values.copy()
        values[:, counters] = np.vstack([rates[:1], rates])
    return times, values, names


def robust_z(
    normal: np.ndarray, anomalous: np.ndarray, flat_floor: float, cap: float
) -> np.ndarray:
    """Return |x - median(normal)| / IQR(normal) for each anomalous row, floored and capped.

    A series whose normal IQR is zero (it sat on one value, or mostly did) is scaled by its
    normal std instead, so occasional blips count as variability; failing that by 1 % of its
    level, and at least by `flat_floor`, so float noise on a flat zero stays small while a flat
    series that really moves reaches the cap.
    """
    median = np.median(normal, axis=0)
    q25, q75 = np.percentile(normal, [25, 75], axis=0)
    iqr = q75 - q25
    flat = np.maximum(np.maximum(normal.std(axis=0), 0.01 * np.abs(median)), flat_floor)
    # Relative floor: an IQR of float jitter on a constant series is still flat.
    scale = np.where(iqr > 1e-9 * np.abs(median), iqr, flat)
    return np.minimum(np.abs(anomalous - median) / scale, cap)


def onset_rows(z: np.ndarray, threshold: float, hold: int) -> np.ndarray:
    """Return, per column, the first row whose |z| exceeds threshold for `hold` rows (-1: none)."""
    above = z > threshold
    hold = max(1, min(hold, z.shape[0]))
    # A metric that only spikes (never stays out for `hold` rows) has no onset: a glitch.
    held = sliding_window_view(above, hold, axis=0).all(axis=-1)
    return np.where(held.any(axis=0), held.argmax(axis=0), -1)


def _promote_callees(
    order: list[int],
    z: np.ndarray,
    onset: np.ndarray,
    names: list[str],
    reach: dict[str, set[str]],
    margin: float,
    moved_z: float,
) -> list[int]:
    """Move each callee that moved nearly as much as a caller, and no later, ahead of it."""
    order = list(order)
    under = {name: below(reach, name) for name in reach}  # cycles: neither side moves
    for _ in range(len(order) ** 2):  # bounded: every move lifts a callee above a caller
        move = next(
            (
                (a, b)
                for a in range(len(order))
                for b in range(a + 1, len(order))
                if names[order[b]] in under.get(names[order[a]], set())
                and z[order[b]] >= max(moved_z, z[order[a]] * (1 - margin))
                and onset[order[b]] <= onset[order[a]]
            ),
            None,
        )
        if move is None:
            break
        a, b = move
        order.insert(a, order.pop(b))
    return order


def anomaly_split(times: np.ndarray, anomaly_time: float, min_normal: int) -> int:
    """Return the first row at or after `anomaly_time`; raise ValueError with advice when
    the table has no row after it or fewer than `min_normal` rows before it."""
    lo, hi = float(times[0]), float(times[-1])
    if not lo < anomaly_time <= hi:
        # Exporters often write milliseconds; say so rather than leave a puzzle.
        hint = " (milliseconds? use seconds)" if lo < anomaly_time / 1000 <= hi else ""
        raise ValueError(
            f"anomaly time {anomaly_time:.0f} is outside the table's time range "
            f"{lo:.0f}–{hi:.0f}{hint}: it needs a row before it (the normal period) and one at or "
            "after it"
        )
    split = int(np.searchsorted(times, anomaly_time, side="left"))
    if split < min_normal:
        raise ValueError(
            f"only {split} row(s) before the anomaly time {anomaly_time:g}; "
            f"need at least {min_normal} to learn what normal looks like"
        )
    return split


def rank_services(
    df: pd.DataFrame,
    anomaly_time: float,
    *,
    topology: dict[str, list[str]] | None = None,
    tie_margin: float = 0.1,
    topology_margin: float = 0.5,
    onset_z: float = 3.0,
    hold: int = 3,
    flat_floor: float = 1e-3,
    z_cap: float = 1e3,
) -> list[RankedTarget]:
    """Rank services by how far their metrics left normal after `anomaly_time`, best first.

    A metric scores the highest robust |z| it held for `hold` consecutive anomalous rows, and
    its onset is the first row from which |z| stayed above `onset_z` for `hold` rows; a service
    takes its best metric. Services within `tie_margin` (relative z) of a group leader are near
    ties, ordered by earlier onset. With `topology` (caller → callees), a callee whose z is
    within `topology_margin` of a caller's and whose onset is no later goes ahead of it. Scores
    are the sorted z / max z laid over the final order; `z` keeps each service's own value.
    """
    times, values, names = metric_matrix(df)
    split = anomaly_split(times, anomaly_time, MIN_NORMAL_ROWS)
    z = robust_z(values[:split], values[split:], flat_floor, z_cap)
    # Score the level a metric held for `hold` rows: a one-scrape glitch is not an incident.
    width = max(1, min(hold, z.shape[0]))
    col_z = sliding_window_view(z, width, axis=0).min(axis=-1).max(axis=0)
    starts = onset_rows(z, onset_z, hold)
    col_onset = np.where(starts >= 0, times[split + np.maximum(starts, 0)], np.nan)

    services = pd.Series([split_column(n)[0] for n in names])
    best = pd.Series(col_z).groupby(services, sort=False).idxmax()
    svc = list(best.index)
    svc_col = best.to_numpy()
    svc_z = col_z[svc_col]
    svc_onset = np.where(np.isnan(col_onset[svc_col]), np.inf, col_onset[svc_col])

    order = sorted(range(len(svc)), key=lambda i: (-svc_z[i], svc[i]))
    ranked: list[int] = []
    i = 0
    while i < len(order):
        lead, j = svc_z[order[i]], i + 1
        # Only services that really moved are reordered; the rest keep their score order.
        while lead >= onset_z and j < len(order) and svc_z[order[j]] >= lead * (1 - tie_margin):
            j += 1
        ranked.extend(sorted(order[i:j], key=lambda k: (svc_onset[k], -svc_z[k])))
        i = j
    if topology:
        reach = downstream(topology)
        ranked = _promote_callees(ranked, svc_z, svc_onset, svc, reach, topology_margin, onset_z)
    sorted_z = np.sort(svc_z)[::-1]
    top = float(sorted_z[0]) if len(sorted_z) and sorted_z[0] > 0 else 1.0
    return [
        RankedTarget(
            target=svc[k],
            score=round(float(sorted_z[pos]) / top, 6),
            metric=names[svc_col[k]],
            onset=None if np.isinf(svc_onset[k]) else float(svc_onset[k]),
            z=float(svc_z[k]),
        )
        for pos, k in enumerate(ranked)
    ]
