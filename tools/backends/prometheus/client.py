"""Prometheus client: PromQL over HTTP with clear errors and cached discovery."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime
from typing import Any

import requests
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect
from urllib3.util.retry import Retry

from opsloop.tools.backends.lru import LruCache
from opsloop.tools.deadline import DeadlineAdapter
from opsloop.tools.errors import BackendUnavailable, QueryError

_STATUS = re.compile(r"HTTP Status Code (\d+) \((.*)\)$", re.S)
FIX = "Start Prometheus or set OPSLOOP_PROMETHEUS_URL to its address (see `opsloop config show`)."


class PromClient:
    """PromQL queries and discovery against one Prometheus-compatible endpoint."""

    def __init__(
        self,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        verify: bool | str = True,
        timeout: float = 10.0,
        retries: int = 2,
        cache_ttl: float = 60.0,
        cache_size: int = 256,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        retry = Retry(
            total=retries,
            connect=retries,
            read=min(retries, 1),
            backoff_factor=0.2,
            status_forcelist=(502, 503, 504),
            allowed_methods=frozenset({"GET", "POST"}),
            raise_on_status=False,
        )
        session = requests.Session()
        session.verify = verify
        self._api = PrometheusConnect(
            url=self.url,
            headers=headers or None,
            auth=auth,
            retry=retry,
            session=session,
            timeout=timeout,  # type: ignore[arg-type]  # float works
        )
        # Same retries, with every request's timeout cut to the turn's deadline.
        session.mount(self.url, DeadlineAdapter(max_retries=retry))
        # Keyed by caller-chosen matchers: capped, so a long-running server stays bounded.
        self._cache: LruCache[Any] = LruCache(cache_size, cache_ttl)

    @classmethod
    def from_settings(cls, settings: Any) -> PromClient:
        """Build a client from Settings (auth, headers, TLS)."""
        headers = dict(settings.prometheus_headers)
        if settings.prometheus_bearer_token:
            headers["Authorization"] = (
                f"Bearer {settings.prometheus_bearer_token.get_secret_value()}"
            )
        auth = None
        if settings.prometheus_username:
            password = settings.prometheus_password
            auth = (settings.prometheus_username, password.get_secret_value() if password else "")
        verify: bool | str = settings.prometheus_verify_tls
        if verify and settings.prometheus_ca_bundle:
            verify = str(settings.prometheus_ca_bundle)
        return cls(
            settings.prometheus_url,
            headers=headers,
            auth=auth,
            verify=verify,
            timeout=settings.prometheus_timeout,
        )

    # -- queries -----------------------------------------------------------------------------

    def instant(self, query: str, at: datetime | None = None) -> list[dict[str, Any]]:
        """Run an instant query; return Prometheus's `result` list."""
        params = {"time": f"{(at or datetime.now(UTC)).timestamp():.3f}"}
        return self._call(self._api.custom_query, query, params=params)

    def range(
        self, query: str, start: datetime, end: datetime, step_s: float
    ) -> list[dict[str, Any]]:
        """Run a range query; return Prometheus's `result` list (matrix)."""
        return self._call(
            self._api.custom_query_range, query, start_time=start, end_time=end, step=f"{step_s:g}"
        )

    # -- discovery -------------------------------------------------------------------------

    def metric_names(self) -> list[str]:
        """Return every metric name Prometheus knows (cached)."""
        return self._cached(("names",), lambda: sorted(self._call(self._api.all_metrics)))

    def label_values(self, label: str, match: str | None = None) -> list[str]:
        """Return the values of `label`, optionally only on series matching `match`."""
        params = {"match[]": match} if match else None
        return self._cached(
            ("values", label, match or ""),
            lambda: sorted(self._call(self._api.get_label_values, label, params=params)),
        )

    def label_names(self, match: str | None = None) -> list[str]:
        """Return label names, optionally only on series matching `match`."""
        params = {"match[]": match} if match else None
        return self._cached(
            ("labels", match or ""),
            lambda: sorted(self._call(self._api.get_label_names, params=params)),
        )

    def alert_rules(self) -> list[dict[str, Any]]:
        """Return the alerting rules Prometheus evaluates: name, query, labels, annotations."""
        return self._cached(("rules",), self._alert_rules)

    def _alert_rules(self) -> list[dict[str, Any]]:
        def get() -> Any:
            api = self._api
            response = api._session.request(  # the client has no rules call; same session
                method="GET",
                url=f"{self.url}/api/v1/rules",
                params={"type": "alert"},
                headers=api.headers,
                auth=api.auth,
                verify=api._session.verify,
                timeout=self.timeout,
            )
            if response.status_code != 200:
                raise PrometheusApiClientException(
                    f"HTTP Status Code {response.status_code} ({response.content!r})"
                )
            return response.json().get("data", {})

        data = self._call(get)
        return [
            {
                "name": rule.get("name", ""),
                "query": rule.get("query", ""),
                "labels": dict(rule.get("labels") or {}),
                "annotations": dict(rule.get("annotations") or {}),
            }
            for group in data.get("groups", [])
            for rule in group.get("rules", [])
            if rule.get("type", "alerting") == "alerting"
        ]

    def clear_cache(self) -> None:
        """Forget discovery results."""
        self._cache.clear()

    # -- internals -------------------------------------------------------------------------

    def _cached(self, key: tuple[str, ...], load: Any) -> Any:
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        value = load()
        self._cache.put(key, value)
        return value

    def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except PrometheusApiClientException as exc:
            raise self._translate(str(exc)) from exc
        except requests.RequestException as exc:
            raise BackendUnavailable("Prometheus", self.url, _reason(exc), FIX) from exc
        except ValueError as exc:  # a non-JSON body: not a Prometheus API
            raise BackendUnavailable(
                "Prometheus", self.url, "the answer is not Prometheus API JSON", FIX
            ) from exc

    def _translate(self, message: str) -> Exception:
        match = _STATUS.match(message)
        if not match:
            return QueryError(message)
        code, body = int(match.group(1)), match.group(2)
        detail = _error_detail(body)
        if code in (400, 422):
            return QueryError(f"Prometheus rejected the query: {detail}")
        if code in (401, 403):
            return BackendUnavailable("Prometheus", self.url, f"HTTP {code}", AUTH_FIX)
        if code == 503 or code >= 500:
            return BackendUnavailable("Prometheus", self.url, f"HTTP {code}: {detail}", FIX)
        return QueryError(f"Prometheus answered HTTP {code}: {detail}")


AUTH_FIX = "Check OPSLOOP_PROMETHEUS_BEARER_TOKEN or OPSLOOP_PROMETHEUS_USERNAME/PASSWORD."


def _error_detail(body: str) -> str:
    """Pull Prometheus's `error` field out of a response body repr."""
    try:
        raw = ast.literal_eval(body)
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    except (ValueError, SyntaxError):
        text = body
    match = re.search(r'"error"\s*:\s*"((?:[^"\\]|\\.)*)"', text)
    detail = match.group(1).encode().decode("unicode_escape") if match else text
    return detail.strip()[:300]


def _reason(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return "timed out"
    text = str(exc)
    for needle in (
        "Connection refused",
        "Name or service not known",
        "No route to host",
        "certificate verify failed",
        "Temporary failure in name resolution",
    ):
        if needle in text:
            return needle.lower()
    return type(exc).__name__
