"""Log backends: the local SQLite store for real; Loki and Elasticsearch against local HTTP
servers that answer with their documented response shapes (no real Loki/ES runs in CI)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from opsloop.tools.backends.logs.base import LogQuery
from opsloop.tools.backends.logs.local import LocalLogStore, fts_phrase
from opsloop.tools.backends.logs.remote import ElasticBackend, LokiBackend
from opsloop.tools.errors import BackendUnavailable, QueryError

T0 = 1_800_000_000.0


def line(ts: float, level: str, msg: str, service: str = "fraud-api") -> str:
    return (
        json.dumps(
            {
                "timestamp": ts,
                "level": level,
                "service": service,
                "pod": "p-1",
                "msg": msg,
                "trace_id": "ab",
            }
        )
        + "\n"
    )


def test_local_store_ingests_incrementally_and_filters(tmp_path: Path):
    log = tmp_path / "fraud-api.log"
    log.write_text(line(T0, "INFO", "started") + line(T0 + 1, "ERROR", "upstream timeout 2000ms"))
    store = LocalLogStore(tmp_path / "db.sqlite", [str(tmp_path / "*.log")])
    assert store.ingest() == 2 and store.ingest() == 0
    with log.open("a") as handle:
        handle.write(line(T0 + 2, "WARN", "slow query") + '{"partial": ')
    assert store.ingest() == 1  # the half-written line waits for its newline
    result = store.search(LogQuery(T0, T0 + 10, service="fraud-api", level="warn"))
    assert [r.msg for r in result.records] == ["upstream timeout 2000ms", "slow query"]
    assert store.search(LogQuery(T0, T0 + 10, text="timeout")).records[0].level == "error"
    assert not store.search(LogQuery(T0, T0 + 10, service="checkout")).records


def test_local_store_restarts_a_rotated_file_and_reads_plain_text(tmp_path: Path):
    log = tmp_path / "gateway.log"
    log.write_text("2026-11-22T10:00:00Z ERROR upstream reset\n")
    store = LocalLogStore(tmp_path / "db.sqlite", [str(log)])
    store.ingest()
    log.unlink()
    log.write_text("2026-11-22T10:00:05Z INFO back\n")  # rotated: a new inode
    assert store.ingest() == 1
    records = store.search(LogQuery(0, 2e9)).records
    assert [(r.service, r.level, r.msg) for r in records] == [
        ("gateway", "error", "upstream reset"),
        ("gateway", "info", "back"),
    ]


def test_fts_operators_in_user_text_are_quoted():
    assert fts_phrase('timeout OR "x" NEAR(a b)') == '"timeout" "OR" "x" "NEAR" "a" "b"'


@contextmanager
def http_server(respond) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _handle(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
            request = {
                "method": self.command,
                "path": urlparse(self.path).path,
                "params": parse_qs(urlparse(self.path).query),
                "headers": dict(self.headers),
                "json": json.loads(body) if body else None,
            }
            seen.append(request)
            code, payload = respond(request)
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


LOKI_STREAMS = {
    "status": "success",
    "data": {
        "resultType": "streams",
        "result": [
            {
                "stream": {"service": "fraud-api", "pod": "fraud-api-1", "level": "error"},
                "values": [[str(int((T0 + 2) * 1e9)), "upstream timeout calling feature-store"]],
            },
            {
                "stream": {"service": "fraud-api", "pod": "fraud-api-2"},
                "values": [[str(int((T0 + 1) * 1e9)), line(T0 + 1, "WARN", "slow").strip()]],
            },
        ],
    },
}


def test_loki_query_range_request_and_response():
    with http_server(lambda r: (200, LOKI_STREAMS)) as (url, seen):
        client = httpx.Client(headers={"X-Scope-OrgID": "team-a", "Authorization": "Bearer t"})
        backend = LokiBackend(url, client)
        result = backend.search(LogQuery(T0, T0 + 60, "fraud-api", "warn", 'time"out'))
    [req] = seen
    assert req["path"] == "/loki/api/v1/query_range"
    assert req["params"]["query"][0].startswith('{service="fraud-api"} |= "time\\"out" |~ ')
    assert req["params"]["start"] == [str(int(T0 * 1e9))]
    assert req["params"]["direction"] == ["forward"]
    assert req["headers"]["X-Scope-OrgID"] == "team-a"
    assert [(r.level, r.pod, r.msg) for r in result.records] == [
        ("warn", "p-1", "slow"),
        ("error", "fraud-api-1", "upstream timeout calling feature-store"),
    ]
    assert result.query.startswith("loki: {service=")


ES_HITS = {
    "took": 3,
    "timed_out": False,
    "hits": {
        "total": {"value": 2, "relation": "eq"},
        "hits": [
            {
                "_index": "logs-1",
                "_source": {
                    "@timestamp": "2027-01-15T08:00:01.000Z",
                    "message": "payment failed",
                    "log": {"level": "ERROR"},
                    "service": {"name": "checkout"},
                },
            },
            {
                "_index": "logs-1",
                "_source": {
                    "@timestamp": "2027-01-15T08:00:02.000Z",
                    "message": "WARN retrying",
                    "service.name": "checkout",
                },
            },
        ],
    },
}


def test_elasticsearch_search_request_and_response():
    with http_server(lambda r: (200, ES_HITS)) as (url, seen):
        backend = ElasticBackend(url, httpx.Client(), index="logs-*")
        result = backend.search(LogQuery(T0, T0 + 60, "checkout", "error", "payment AND failed"))
    [req] = seen
    assert req["method"] == "POST" and req["path"] == "/logs-*/_search"
    body = req["json"]
    filters = body["query"]["bool"]["filter"]
    assert filters[0]["range"]["@timestamp"]["gte"].endswith("Z")
    assert {"term": {"service.name": "checkout"}} in filters
    assert "ERROR" in filters[2]["terms"]["log.level"]
    [text] = body["query"]["bool"]["must"]
    assert text == {
        "simple_query_string": {
            "query": "payment + failed",
            "fields": ["message"],
            "default_operator": "and",
        }
    }
    assert body["sort"] == [{"@timestamp": {"order": "asc"}}]
    assert [(r.level, r.service, r.msg) for r in result.records] == [
        ("error", "checkout", "payment failed"),
        ("warn", "checkout", "WARN retrying"),
    ]


def test_elasticsearch_text_cannot_reach_other_fields_or_run_queries():
    backend = ElasticBackend("http://es", httpx.Client())
    body = backend.body(LogQuery(T0, T0 + 60, None, None, "password:* OR /.*/ NOT x"))
    [text] = body["query"]["bool"]["must"]
    assert "query_string" not in text
    assert text["simple_query_string"]["fields"] == ["message"]
    assert text["simple_query_string"]["query"] == "password:* | /.*/ -x"


@pytest.mark.parametrize(
    ("code", "error"), [(400, QueryError), (500, BackendUnavailable), (401, BackendUnavailable)]
)
def test_backend_errors_are_clear(code, error):
    with http_server(lambda r: (code, {"error": "bad"})) as (url, _):
        with pytest.raises(error):
            LokiBackend(url, httpx.Client()).search(LogQuery(T0, T0 + 1))
        with pytest.raises(error):
            ElasticBackend(url, httpx.Client()).search(LogQuery(T0, T0 + 1))


def test_unreachable_backend_names_the_url():
    from opsloop.sandbox.procs import free_port

    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(BackendUnavailable, match=url):
        LokiBackend(url, httpx.Client()).search(LogQuery(T0, T0 + 1))
