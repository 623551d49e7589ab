"""Who is looking at the console: a signed session cookie, or a trusted proxy's user header.

A person signs in once with their personal token; the cookie then carries their name, signed
with the server's secret, so the token itself is never stored in the browser. Every form
carries a CSRF token derived from the session, and the cookie is SameSite=Strict.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

COOKIE = "opsloop_session"
SESSION_S = 12 * 3600  # an on-call shift


@dataclass(frozen=True)
class Viewer:
    """The person behind a request (None: anonymous) and how we know."""

    name: str | None
    via: str  # "session", "proxy", "token" or "anonymous"
    csrf: str = ""


class Sessions:
    """Sign and read session cookies; derive CSRF tokens from them."""

    def __init__(self, secret: str | None, user_header: str | None = None) -> None:
        # Without a configured secret, sessions last as long as this process (say so in docs:
        # replicas behind one URL need OPSLOOP_CONSOLE_SECRET).
        self.key = (secret or secrets.token_hex(32)).encode()
        self.user_header = (user_header or "").strip().lower() or None

    def issue(self, name: str, now: float | None = None) -> str:
        """Return a cookie value naming `name` until the session ends."""
        body = json.dumps({"n": name, "exp": int((now or time.time()) + SESSION_S)})
        payload = base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")
        return f"{payload}.{self._sign(payload)}"

    def read(self, value: str | None, now: float | None = None) -> str | None:
        """Return the name a valid, unexpired cookie carries."""
        payload, _, signature = (value or "").partition(".")
        if not payload or not hmac.compare_digest(signature, self._sign(payload)):
            return None
        try:
            data: Any = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except ValueError:
            return None
        if not isinstance(data, dict) or float(data.get("exp", 0)) < (now or time.time()):
            return None
        name = data.get("n")
        return name if isinstance(name, str) and name else None

    def viewer(self, request: Request) -> Viewer:
        """Return who is asking: the proxy's header (when trusted), else the session."""
        if self.user_header:
            name = (request.headers.get(self.user_header) or "").strip()
            if name:
                return Viewer(name, "proxy", self.csrf(f"proxy:{name}"))
        cookie = request.cookies.get(COOKIE)
        name = self.read(cookie)
        if name is not None and cookie is not None:
            return Viewer(name, "session", self.csrf(cookie))
        return Viewer(None, "anonymous")

    def csrf(self, session: str) -> str:
        """Return the CSRF token forms must echo for this session."""
        return self._sign("csrf:" + session)

    def _sign(self, text: str) -> str:
        return hmac.new(self.key, text.encode(), hashlib.sha256).hexdigest()[:43]
