"""Per-person API tokens: who calls the server, from a secret only that person holds.

The config holds only each token's SHA-256 (`[people.alice] token_sha256 = "…"`), so a
leaked opsloop.toml names people but lets nobody act as them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

TOKEN_PREFIX = "opl_"


def new_token() -> tuple[str, str]:
    """Return a fresh (token, its sha256 hex digest)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    """Return the hex SHA-256 of `token` (what the config stores)."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


class PeopleError(ValueError):
    """Raised when the [people] table cannot be read."""


class People:
    """Resolve an `Authorization: Bearer` header to the person whose token it is."""

    def __init__(self, spec: dict[str, Any] | None) -> None:
        self.hashes: dict[str, str] = {}
        for name, entry in (spec or {}).items():
            digest = entry.get("token_sha256") if isinstance(entry, dict) else entry
            if not isinstance(digest, str) or len(digest) != 64:
                raise PeopleError(
                    f"[people.{name}] needs token_sha256 = the 64-hex SHA-256 of the person's "
                    "token (`opsloop token new NAME` prints both)"
                )
            self.hashes[str(name)] = digest.lower()

    def __bool__(self) -> bool:
        return bool(self.hashes)

    def who(self, header: str | None) -> str | None:
        """Return the person whose token the header carries, else None."""
        scheme, _, value = (header or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return None
        given = token_hash(value.strip()).encode()
        found = None
        for name, digest in self.hashes.items():  # every entry compared: timing names no one
            if hmac.compare_digest(given, digest.encode()):
                found = name
        return found
