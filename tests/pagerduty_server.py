"""A local stand-in for PagerDuty: its REST API's incident notes, and signed V3 webhooks.

It speaks the shapes PagerDuty documents (`POST /incidents/{id}/notes` with a `{"note":
{"content"}}` body, `Authorization: Token token=…`, a `From` header; `{"note": {...}}` or
`{"error": {...}}` answers) over HTTPS, because the `pagerduty` client refuses any other
scheme, and records every request. PagerDuty itself cannot be reached from CI.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import itertools
import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

TOKEN = "u+pd-test-token"
FROM = "oncall-bot@example.com"
MISSING = "P404404"  # an incident id this PagerDuty does not know


class FakePagerDuty:
    """Recorded requests, scripted failures, and a way to wait for a request."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Condition()
        self.fail: list[int] = []  # statuses to answer the next note requests with
        self.url = ""
        self.ca = Path()
        self._ids = itertools.count(1)

    def answer(self, path: str, headers: dict[str, str], body: Any) -> tuple[int, dict[str, Any]]:
        """Record a request and return PagerDuty's answer to it."""
        with self.lock:
            self.requests.append({"path": path, "headers": headers, "body": body})
            self.lock.notify_all()
            if self.fail:
                status = self.fail.pop(0)
                return status, {"error": {"message": "Scripted failure", "code": 9999}}
        parts = path.strip("/").split("/")
        if headers.get("authorization") != f"Token token={TOKEN}":
            return 401, {"error": {"message": "Unauthorized", "code": 2006}}
        if len(parts) != 3 or parts[0] != "incidents" or parts[2] != "notes":
            return 404, {"error": {"message": "Not Found", "code": 2100}}
        if parts[1] == MISSING:
            return 404, {"error": {"message": "Incident Not Found", "code": 5001}}
        if not headers.get("from"):
            errors = ["The From header is required for account-level API keys"]
            return 400, {"error": {"message": "Invalid Input", "code": 2001, "errors": errors}}
        content = (body or {}).get("note", {}).get("content")
        if not isinstance(content, str) or not content:
            return 400, {"error": {"message": "Invalid Input", "code": 2001}}
        note = {
            "id": f"PNOTE{next(self._ids):03d}",
            "content": content,
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "user": {"id": "PBOT001", "type": "user_reference", "summary": "opsloop"},
        }
        return 201, {"note": note}

    def notes(self, incident: str | None = None) -> list[dict[str, Any]]:
        """Return the note requests (to `incident`, if given), in order."""
        with self.lock:
            return [
                r
                for r in self.requests
                if r["path"].endswith("/notes")
                and (incident is None or f"/{incident}/" in r["path"])
            ]

    def wait_for(
        self, match: Callable[[dict[str, Any]], bool] = lambda _: True, timeout: float = 30.0
    ) -> dict[str, Any]:
        """Wait until a recorded request satisfies `match`; return it."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                for request in self.requests:
                    if match(request):
                        return request
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [r["path"] for r in self.requests]
                    raise AssertionError(f"no matching request within {timeout} s; saw {seen}")
                self.lock.wait(min(left, 0.5))


def self_signed(folder: Path) -> tuple[Path, Path]:
    """Write a certificate for 127.0.0.1 and its key; return (cert, key) paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "pd-cert.pem", folder / "pd-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@contextmanager
def fake_pagerduty(folder: Path) -> Iterator[FakePagerDuty]:
    """Serve the fake REST API over HTTPS on a free loopback port; `.ca` verifies it."""
    pd = FakePagerDuty()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                body = json.loads(raw or b"null")
            except ValueError:
                body = None
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, answer = pd.answer(self.path, headers, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    cert, key = self_signed(folder)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    pd.url, pd.ca = f"https://127.0.0.1:{server.server_address[1]}", cert
    try:
        yield pd
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def signature(body: bytes, *secrets: str) -> dict[str, str]:
    """Return the header PagerDuty signs a delivery with: `v1=<hex>` per secret, comma-joined."""
    sigs = [f"v1={hmac.new(s.encode(), body, hashlib.sha256).hexdigest()}" for s in secrets]
    return {"X-PagerDuty-Signature": ",".join(sigs), "Content-Type": "application/json"}


def incident_event(
    event_type: str = "incident.triggered",
    incident: str = "PT4KHLK",
    title: str = "HighErrorRatio on checkout",
    service: str = "checkout",
    event_id: str | None = None,
) -> dict[str, Any]:
    """Return a V3 webhook payload for an incident event, as PagerDuty documents it."""
    status = {"incident.resolved": "resolved", "incident.acknowledged": "acknowledged"}
    ref = "https://acme.pagerduty.com"
    now = dt.datetime.now(dt.UTC)
    return {
        "event": {
            "id": event_id or f"01{incident}{event_type.split('.')[-1].upper()}",
            "event_type": event_type,
            "resource_type": "incident",
            "occurred_at": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "agent": {"id": "PLH1HKV", "summary": "Tenex Engineer", "type": "user_reference"},
            "client": {"name": "PagerDuty"},
            "data": {
                "id": incident,
                "type": "incident",
                "self": f"https://api.pagerduty.com/incidents/{incident}",
                "html_url": f"{ref}/incidents/{incident}",
                "number": 1234,
                "status": status.get(event_type, "triggered"),
                "incident_key": f"key-{incident}",
                "created_at": (now - dt.timedelta(minutes=2)).isoformat(timespec="seconds"),
                "title": title,
                "service": {
                    "html_url": f"{ref}/services/PF9KMXH",
                    "id": "PF9KMXH",
                    "self": "https://api.pagerduty.com/services/PF9KMXH",
                    "summary": service,
                    "type": "service_reference",
                },
                "assignees": [{"id": "PTUXL6G", "summary": "User 123", "type": "user_reference"}],
                "escalation_policy": {"id": "PUS0KTE", "summary": "Default"},
                "teams": [{"id": "PFCVPS0", "summary": "Engineering", "type": "team_reference"}],
                "priority": {"id": "PSO75BM", "summary": "P1", "type": "priority_reference"},
                "urgency": "high",
                "conference_bridge": None,
                "resolve_reason": None,
            },
        }
    }
