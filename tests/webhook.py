"""A loopback HTTP server that records Alertmanager webhook notifications."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Received:
    """Notifications received so far, with a polling wait."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def wait_for(self, match: Callable[[dict[str, Any]], bool], deadline_s: float) -> dict:
        """Poll until a notification matches, or raise TimeoutError with what did arrive."""
        stop = time.monotonic() + deadline_s
        while time.monotonic() < stop:
            with self.lock:
                for item in self.items:
                    if match(item):
                        return item
            time.sleep(0.2)
        with self.lock:
            seen = [(i.get("status"), i.get("groupLabels")) for i in self.items]
        raise TimeoutError(f"no matching notification in {deadline_s:.0f}s; got {seen}")


@contextmanager
def webhook_receiver() -> Iterator[tuple[str, Received]]:
    """Yield (url, received) for a receiver on a free loopback port."""
    received = Received()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with received.lock:
                received.items.append(json.loads(body or b"{}"))
            self.send_response(200)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/alerts/alertmanager", received
    finally:
        server.shutdown()
        server.server_close()


def firing(alertname: str, **labels: str) -> Callable[[dict[str, Any]], bool]:
    """Match a firing notification for `alertname` whose alerts carry `labels`."""
    return _match("firing", alertname, labels)


def resolved(alertname: str, **labels: str) -> Callable[[dict[str, Any]], bool]:
    """Match a resolved notification for `alertname`."""
    return _match("resolved", alertname, labels)


def _match(status: str, alertname: str, labels: dict[str, str]) -> Callable[[dict], bool]:
    def match(item: dict[str, Any]) -> bool:
        if item.get("status") != status or item.get("version") != "4":
            return False
        return any(
            a["labels"].get("alertname") == alertname
            and all(a["labels"].get(k) == v for k, v in labels.items())
            for a in item.get("alerts", [])
        )

    return match
