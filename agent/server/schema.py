"""The incident queue's tables (SQLite and PostgreSQL) and the shapes its rows are read in."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from opsloop.agent.db.sqlite import iso, load, open_database
from opsloop.agent.rca.alerts import Alert

SQLITE_SCHEMA = """
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY,
    dedup_key TEXT NOT NULL UNIQUE,
    received_at REAL NOT NULL,
    source TEXT NOT NULL,
    group_key TEXT NOT NULL,
    status TEXT NOT NULL,
    incident_id TEXT,
    raw TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY,
    group_key TEXT NOT NULL,
    status TEXT NOT NULL,
    opened_at REAL NOT NULL,
    resolved_at REAL,
    report TEXT,
    top_hypothesis TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until REAL NOT NULL DEFAULT 0,
    retry_at REAL NOT NULL DEFAULT 0,
    last_error TEXT,
    report_delivered_at REAL,
    resolved_notified_at REAL,
    -- alert names the last investigation saw, and whether a new one calls for another
    investigated_names TEXT NOT NULL DEFAULT '[]',
    rerun INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS incidents_by_status ON incidents (status, opened_at);
CREATE TABLE IF NOT EXISTS incident_groups (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    group_key TEXT NOT NULL,
    joined_at REAL NOT NULL,
    PRIMARY KEY (incident_id, group_key)
);
CREATE INDEX IF NOT EXISTS incident_groups_by_key ON incident_groups (group_key);
CREATE TABLE IF NOT EXISTS incident_alerts (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    fingerprint TEXT NOT NULL,
    alertname TEXT NOT NULL,
    service TEXT,
    labels TEXT NOT NULL,
    annotations TEXT NOT NULL,
    generator_url TEXT,
    status TEXT NOT NULL,
    starts_at REAL NOT NULL,
    ends_at REAL,
    PRIMARY KEY (incident_id, fingerprint)
);
COMMIT;
"""

# The same tables in PostgreSQL. `rowid` is spelt out: SQLite has it implicitly, and the
# queries order by it to break ties in insertion order.
PG_SCHEMA = """
CREATE TABLE IF NOT EXISTS notifications (
    id BIGSERIAL PRIMARY KEY,
    dedup_key TEXT NOT NULL UNIQUE,
    received_at DOUBLE PRECISION NOT NULL,
    source TEXT NOT NULL,
    group_key TEXT NOT NULL,
    status TEXT NOT NULL,
    incident_id TEXT,
    raw TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS incidents (
    rowid BIGSERIAL UNIQUE,
    id TEXT PRIMARY KEY,
    group_key TEXT NOT NULL,
    status TEXT NOT NULL,
    opened_at DOUBLE PRECISION NOT NULL,
    resolved_at DOUBLE PRECISION,
    report TEXT,
    top_hypothesis TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until DOUBLE PRECISION NOT NULL DEFAULT 0,
    retry_at DOUBLE PRECISION NOT NULL DEFAULT 0,
    last_error TEXT,
    report_delivered_at DOUBLE PRECISION,
    resolved_notified_at DOUBLE PRECISION,
    investigated_names TEXT NOT NULL DEFAULT '[]',
    rerun INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS incidents_by_status ON incidents (status, opened_at);
CREATE TABLE IF NOT EXISTS incident_groups (
    rowid BIGSERIAL UNIQUE,
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    group_key TEXT NOT NULL,
    joined_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (incident_id, group_key)
);
CREATE INDEX IF NOT EXISTS incident_groups_by_key ON incident_groups (group_key);
CREATE TABLE IF NOT EXISTS incident_alerts (
    rowid BIGSERIAL UNIQUE,
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    fingerprint TEXT NOT NULL,
    alertname TEXT NOT NULL,
    service TEXT,
    labels TEXT NOT NULL,
    annotations TEXT NOT NULL,
    generator_url TEXT,
    status TEXT NOT NULL,
    starts_at DOUBLE PRECISION NOT NULL,
    ends_at DOUBLE PRECISION,
    PRIMARY KEY (incident_id, fingerprint)
);
"""


def open_incidents_db(target: Path | str, busy_timeout_s: float = 30.0) -> Any:
    """Open the incident tables in a SQLite file, or PostgreSQL for a postgresql:// URL."""
    return open_database(
        target,
        sqlite_schema=SQLITE_SCHEMA,
        pg_schema=PG_SCHEMA,
        name="incidents",
        busy_timeout_s=busy_timeout_s,
    )


def summary(row: sqlite3.Row) -> dict[str, Any]:
    """Return an incident row (with `n_alerts`) in the DESIGN.md list shape."""
    return {
        "id": row["id"],
        "group_key": row["group_key"],
        "status": row["status"],
        "alerts": int(row["n_alerts"]),
        "opened_at": iso(row["opened_at"]),
        # Alerts may all resolve mid-investigation; the incident only closes after its report.
        "resolved_at": iso(row["resolved_at"]) if row["status"] == "resolved" else None,
        "top_hypothesis": load(row["top_hypothesis"]),
    }


def alert_row(incident_id: str, alert: Alert, service_label: str) -> tuple[Any, ...]:
    """Return the incident_alerts values for one alert."""
    url = None if alert.generator_url is None else str(alert.generator_url)
    return (
        incident_id, alert.fingerprint, alert.name, alert.service(service_label),
        json.dumps(alert.labels), json.dumps(alert.annotations), url, alert.status,
        alert.starts_at, alert.ends_at,
    )  # fmt: skip


def alert_public(row: sqlite3.Row) -> dict[str, Any]:
    """Rebuild `Alert.public()` from a stored row."""
    return Alert(
        name=row["alertname"],
        status=row["status"],
        labels=json.loads(row["labels"]),
        annotations=json.loads(row["annotations"]),
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        fingerprint=row["fingerprint"],
        generator_url=row["generator_url"],
    ).public()
