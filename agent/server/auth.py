"""Who may call the server: webhook senders (write) and readers of incidents, kept apart."""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any

from opsloop.agent.approvals.people import People


class WebhookAuth:
    """Bearer token and/or HTTP basic credentials for `/alerts/*`; open when neither is set."""

    def __init__(self, settings: Any) -> None:
        self.token = _secret(getattr(settings, "webhook_token", None))
        self.username = _secret(getattr(settings, "webhook_username", None))
        self.password = _secret(getattr(settings, "webhook_password", None))
        self.basic = bool(self.username and self.password)

    @property
    def enabled(self) -> bool:
        """Return True when a credential is required."""
        return bool(self.token) or self.basic

    def challenge(self) -> str:
        """Return the WWW-Authenticate value listing the schemes accepted."""
        schemes = ['Bearer realm="opsloop"'] if self.token else []
        return ", ".join([*schemes, *(['Basic realm="opsloop"'] if self.basic else [])])

    def expected(self) -> str:
        """Say in words which credential to send."""
        ways = ["Authorization: Bearer <OPSLOOP_WEBHOOK_TOKEN>"] if self.token else []
        return " or ".join([*ways, *(["HTTP basic auth"] if self.basic else [])])

    def allows(self, header: str | None) -> bool:
        """Return True if the Authorization header carries a valid credential."""
        if not self.enabled:
            return True
        scheme, _, value = (header or "").strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and self.token:
            return _same(value, self.token)
        if scheme.lower() == "basic" and self.basic:
            try:
                user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
            # Both compared, always: timing says nothing about which half was wrong.
            ok_user = _same(user, self.username or "")
            return _same(password, self.password or "") and ok_user
        return False


class ReadAuth:
    """Bearer token for the endpoints that return data (`/incidents*`, optionally `/metrics`).

    A separate credential from the webhook's: whoever may post alerts (Alertmanager's config
    holds that token) need not read reports with log lines, and a dashboard that reads
    incidents must not be able to post alerts.
    """

    def __init__(self, settings: Any) -> None:
        self.token = _secret(getattr(settings, "read_token", None))
        self.metrics = bool(getattr(settings, "metrics_auth", False))
        # A person who may decide writes may read what they decide on.
        self.people = People(getattr(settings, "people", None) or {})

    def allows(self, header: str | None) -> bool:
        """Return True if reads are open or the header carries the read or a personal token."""
        if not self.token:
            return True
        scheme, _, value = (header or "").strip().partition(" ")
        if scheme.lower() == "bearer" and _same(value.strip(), self.token):
            return True
        return self.people.who(header) is not None

    def who(self, header: str | None) -> str | None:
        """Return "reader" for the read token, a person's name for theirs, else None.

        Unlike `allows`, never open: for endpoints that refuse anyone without a token.
        """
        scheme, _, value = (header or "").strip().partition(" ")
        if self.token and scheme.lower() == "bearer" and _same(value.strip(), self.token):
            return "reader"
        return self.people.who(header)


def _secret(value: Any) -> str | None:
    if value is None:
        return None
    text = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
    return text or None


def _same(given: str, expected: str) -> bool:
    # Bytes, not str: compare_digest refuses non-ASCII str, and a header may contain any byte.
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode())
