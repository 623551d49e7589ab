"""Log backends over HTTP: Loki (LogQL query_range) and Elasticsearch/OpenSearch (_search)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from opsloop.tools.backends.logs.base import (
    LogQuery,
    LogRecord,
    LogResult,
    at_least,
    level_in_text,
    normalise_level,
    parse_time,
)
from opsloop.tools.backends.logs.local import parse_line
from opsloop.tools.errors import BackendUnavailable, QueryError

FIX = "Check OPSLOOP_LOGS_URL and the logs credentials (see `opsloop config show`)."


def _call(client: httpx.Client, backend: str, method: str, url: str, **kwargs: Any) -> Any:
    """Make one request; turn transport and HTTP errors into clear ones."""
    try:
        response = client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise BackendUnavailable(backend, url, type(exc).__name__, FIX) from exc
    if response.status_code in (400, 422):
        raise QueryError(f"{backend} rejected the query: {response.text[:300]}")
    if response.status_code in (401, 403):
        raise BackendUnavailable(backend, url, f"HTTP {response.status_code}", FIX)
    if response.status_code >= 400:
        raise BackendUnavailable(
            backend, url, f"HTTP {response.status_code}: {response.text[:200]}", FIX
        )
    try:
        return response.json()
    except ValueError as exc:
        raise BackendUnavailable(backend, url, "the answer is not JSON", FIX) from exc


def logql_string(value: str) -> str:
    """Quote a value as a LogQL double-quoted string."""
    return json.dumps(value)


@dataclass
class LokiBackend:
    """Loki's /loki/api/v1/query_range with a LogQL built from the query."""

    url: str
    client: httpx.Client
    service_label: str = "service"
    name: str = "loki"

    def logql(self, query: LogQuery) -> str:
        """Build the LogQL for a query (label values and text are quoted, never spliced)."""
        selector = (
            f"{{{self.service_label}={logql_string(query.service)}}}"
            if query.service
            else f'{{{self.service_label}=~".+"}}'
        )
        parts = [selector]
        if query.text:
            parts.append(f"|= {logql_string(query.text)}")
        if query.level:
            words = "|".join(_level_words(query.level))
            # JSON or plain text alike: a "level" field, or an upper-case level word.
            pattern = f'"level"\\s*:\\s*"(?i:{words})"|\\b({words.upper()})\\b'
            parts.append(f"|~ {logql_string(pattern)}")
        return " ".join(parts)

    def search(self, query: LogQuery) -> LogResult:
        """Run query_range forward in time and flatten the streams."""
        logql = self.logql(query)
        data = _call(
            self.client,
            "Loki",
            "GET",
            f"{self.url.rstrip('/')}/loki/api/v1/query_range",
            params={
                "query": logql,
                "start": f"{int(query.start * 1e9)}",
                "end": f"{int(query.end * 1e9)}",
                "limit": query.limit + 1,
                "direction": "forward",
            },
        )
        records: list[LogRecord] = []
        for stream in data.get("data", {}).get("result", []):
            labels = stream.get("stream", {})
            service = labels.get(self.service_label, "")
            for ts, line in stream.get("values", []):
                record = parse_line(line, service) or LogRecord(0.0, "info", service, "", line)
                record.ts = parse_time(ts) or record.ts
                record.service = record.service or service
                record.pod = record.pod or labels.get("pod", "")
                if labels.get("level"):
                    record.level = normalise_level(labels["level"])
                records.append(record)
        records.sort(key=lambda r: r.ts)
        return LogResult(records[: query.limit], len(records) > query.limit, f"loki: {logql}")


@dataclass
class ElasticBackend:
    """Elasticsearch or OpenSearch `_search` with a simple_query_string and a time range."""

    url: str
    client: httpx.Client
    index: str = "logs-*"
    fields: dict[str, str] = field(default_factory=lambda: dict(ELASTIC_FIELDS))
    name: str = "elasticsearch"

    def body(self, query: LogQuery) -> dict[str, Any]:
        """Build the _search body: filters for time, service and level; the text on messages."""
        f = self.fields
        filters: list[dict[str, Any]] = [
            {
                "range": {
                    f["timestamp"]: {
                        "gte": _iso(query.start),
                        "lte": _iso(query.end),
                        "format": "strict_date_optional_time",
                    }
                }
            }
        ]
        if query.service:
            filters.append({"term": {f["service"]: query.service}})
        if query.level:
            filters.append({"terms": {f["level"]: _level_words(query.level, both_cases=True)}})
        bool_query: dict[str, Any] = {"filter": filters}
        if query.text:
            # simple_query_string, never query_string: the text comes from a person or a model,
            # and query_string would let it reach other fields (`password:*`), run regexes, or
            # fail the search on a stray bracket. Words must all appear, as in grep.
            bool_query["must"] = [
                {
                    "simple_query_string": {
                        "query": _boolean_words(query.text),
                        "fields": [f["message"]],
                        "default_operator": "and",
                    }
                }
            ]
        return {
            "size": query.limit + 1,
            "sort": [{f["timestamp"]: {"order": "asc"}}],
            "query": {"bool": bool_query},
        }

    def search(self, query: LogQuery) -> LogResult:
        """POST the search and read hits back as records."""
        body = self.body(query)
        url = f"{self.url.rstrip('/')}/{self.index}/_search"
        data = _call(self.client, "Elasticsearch", "POST", url, json=body)
        f = self.fields
        records = []
        for hit in data.get("hits", {}).get("hits", []):
            src = hit.get("_source", {})
            msg = str(_dig(src, f["message"]) or "")
            level = _dig(src, f["level"])
            records.append(
                LogRecord(
                    ts=parse_time(_dig(src, f["timestamp"])) or 0.0,
                    level=normalise_level(level) if level else level_in_text(msg),
                    service=str(_dig(src, f["service"]) or ""),
                    pod=str(_dig(src, f["pod"]) or ""),
                    msg=msg,
                )
            )
        return LogResult(
            records[: query.limit],
            len(records) > query.limit,
            f"elasticsearch: POST /{self.index}/_search {json.dumps(body)}",
        )


ELASTIC_FIELDS = {
    "timestamp": "@timestamp",
    "message": "message",
    "service": "service.name",
    "level": "log.level",
    "pod": "kubernetes.pod.name",
}


def _level_words(level: str, both_cases: bool = False) -> list[str]:
    words = {
        "debug": ["debug", "trace"],
        "info": ["info", "notice"],
        "warn": ["warn", "warning"],
        "error": ["error", "err", "fatal", "critical"],
    }
    out = [w for lvl in at_least(level) for w in words[lvl]]
    return [*out, *(w.upper() for w in out)] if both_cases else out


def _dig(source: dict[str, Any], dotted: str) -> Any:
    """Read `a.b.c` from nested or flat (`"a.b.c": …`) documents."""
    if dotted in source:
        return source[dotted]
    node: Any = source
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _boolean_words(text: str) -> str:
    """Spell AND / OR / NOT as simple_query_string's + | - (Lucene habits carry over)."""
    text = re.sub(r"\s+AND\s+", " + ", text)
    text = re.sub(r"\s+OR\s+", " | ", text)
    return re.sub(r"(^|\s)NOT\s+", r"\1-", text)
