"""Read web-server access lines (NCSA, Envoy, HAProxy, …): the request's route is the event.

Every line of an access log comes from one `log_format`, so the words of the line cannot tell
events apart. What an operator groups by is the request: its method and its route, the path
with ids, hashes, dates and query values taken out (`GET /v1/items/<*>`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from opsloop.tools.analysis.logtemplates.http_terms import METHODS
from opsloop.tools.analysis.logtemplates.masking import WILDCARD

# `%h %l %u %t "%r" %>s %b` (common), then `"%{Referer}i" "%{User-agent}i"` (combined) and
# anything else a server adds (request time, upstream address): all values. One more field
# may come first (Apache's `vhost_combined`: `%v:%p`).
_LINE = re.compile(
    r"(?:\S+ ){3,4}\[\d{1,2}/[A-Za-z]{3}/\d{4}:\d\d:\d\d:\d\d(?:\.\d+)?(?: [+-]\d{4})?\] "
    r'"(?P<request>(?:[^"\\]|\\.)*)" (?P<status>\d{3}|-) (?P<size>\d+|-)(?:\s|$)'
)
# Other layouts (Envoy's `[time] "%REQ% PROTO" code flags …`, HAProxy's httplog, which ends
# with the request, a vhost or an upstream in front): a quoted request line with its HTTP
# version, not right after a `key:`/`key=` (a message quoting a request) or an origin
# (`https://host:443 "GET …"`, a client's log), and a status code among the other fields.
_QUOTED_REQUEST = re.compile(
    r'(?:^|(?<=[\s\]]))(?<![:=]\s)"(?P<request>[A-Z][A-Z_\-]{1,19} \S+ HTTP/\d(?:\.\d)?)"(?=\s|$)'
)
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
# Envoy and nginx write 0 or 000 when the client left before any response.
_STATUS = re.compile(r"(?<!\S)(?:[1-5]\d\d|0{1,3})(?!\S)")
# `METHOD target HTTP/x.y` (HTTP/0.9 requests have no version).
_REQUEST = re.compile(r"(?P<method>[A-Z][A-Z_\-]{1,19}) (?P<target>\S+)(?: HTTP/\d(?:\.\d)?)?")
# A file name's extension: letters, maybe a digit (`woff2`, `mp4`), after the last dot.
_EXTENSION = re.compile(r"\.[A-Za-z][A-Za-z0-9]{0,4}$")
# Front-end assets: files a web server serves from a directory as they are (scripts, styles,
# images, fonts), not through a route of the app.
STATIC_EXTENSIONS = frozenset(
    "js mjs cjs css map png jpg jpeg gif svg ico webp avif bmp woff woff2 ttf otf eot wasm".split()
)
_UUID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
_HEX = re.compile(r"(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{6,}")
# Numbers, dates, times and versions: digits and separators only.
_NUMERIC = re.compile(r"[+-]?\d[\d\-_.:,~+]*")


@dataclass(frozen=True)
class Request:
    """One access line's request: the event key (method and route) and its tokens."""

    method: str
    route: str

    @property
    def key(self) -> str:
        """Return the event key: method and route, exactly."""
        return f"{self.method} {self.route}"

    @property
    def tokens(self) -> list[str]:
        """Return the template's tokens: the request line, then status and size as values."""
        if not self.method:
            return ['"' + WILDCARD + '"', WILDCARD, WILDCARD]
        return ['"' + self.method, self.route, "HTTP/" + WILDCARD + '"', WILDCARD, WILDCARD]


def parse_access(line: str) -> Request | None:
    """Return the request of an access line, or None when the line is not one."""
    line = line.strip()
    if line.startswith("{") and line.endswith("}"):
        return _json_request(line)
    match = _LINE.match(line) or _other_layout(line)
    if match is None:
        return None
    request = _REQUEST.fullmatch(match["request"])
    if request is None:
        # `"-"`, or TLS bytes sent to a plain HTTP port: no request line was read.
        return Request("", "")
    return Request(request["method"], route(request["target"]))


def is_access_line(line: str) -> bool:
    """Tell whether a raw line is an access line: NCSA, a quoted request and a status, or a
    JSON record of a request and its response."""
    line = line.strip()
    if line.startswith("{") and line.endswith("}"):
        return _json_request(line) is not None
    return _LINE.match(line) is not None or _other_layout(line) is not None


# Field names (lower case, without `_`, `-` and `.`) of a JSON access record, as servers and
# proxies write them (Caddy, Traefik, Envoy, nginx `escape=json`, GCP `httpRequest`, ECS).
_METHOD_KEYS = frozenset("method requestmethod httpmethod httprequestmethod verb".split())
_TARGET_KEYS = frozenset(
    "uri requesturi path requestpath url requesturl target urlpath urloriginal".split()
)
_STATUS_KEYS = frozenset(
    "status statuscode responsecode responsestatus downstreamstatus httpstatus"
    " httpresponsestatuscode".split()
)


def _json_request(line: str) -> Request | None:
    """Return the request of a JSON access record, or None when the line is not one.

    A record is one when it holds a method and a target (or a request line), a status and
    a size (`size`, `bytes_sent`), as servers write them. An app's `request completed`
    message with a status, or a server's error line quoting the request, has no size.
    """
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    fields: dict[str, Any] = {}
    _flatten(record, fields, 3)
    method = next((fields[k] for k in _METHOD_KEYS if k in fields), None)
    target = next((fields[k] for k in _TARGET_KEYS if k in fields), None)
    line_field = fields.get("request")
    if method is None and isinstance(line_field, str):
        # nginx's `"request":"$request"`: the request line itself.
        request = _REQUEST.fullmatch(line_field)
        if request is not None and " HTTP/" in line_field:
            method, target = request["method"], request["target"]
    status = next((fields[k] for k in _STATUS_KEYS if k in fields), None)
    sized = any(("size" in k or "bytes" in k) and _is_number(v) for k, v in fields.items())
    if not (
        isinstance(method, str)
        and method.upper() in METHODS
        and isinstance(target, str)
        and target.startswith(("/", "http://", "https://"))
        and _is_number(status)
        and sized
    ):
        return None
    return Request(method.upper(), route(target))


def _flatten(record: dict[str, Any], fields: dict[str, Any], depth: int) -> None:
    """Collect a record's scalar fields by normalised name; the outermost one wins."""
    nested = []
    for key, value in record.items():
        if isinstance(value, dict):
            nested.append(value)
            continue
        name = re.sub(r"[_\-.]", "", key.lower())
        fields.setdefault(name, value)
        if "." in key:  # ECS's flat `url.path`: its last part names it too
            fields.setdefault(re.sub(r"[_\-]", "", key.lower().rpartition(".")[2]), value)
    if depth > 1:
        for value in nested:
            _flatten(value, fields, depth - 1)


def _is_number(value: object) -> bool:
    """Tell whether a JSON value is a number, or a string of digits."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int | float) or (isinstance(value, str) and value.isdigit())


def _other_layout(line: str) -> re.Match[str] | None:
    """Return the quoted request of a non-NCSA access line, or None when it is not one."""
    if '"' not in line:
        return None
    match = _QUOTED_REQUEST.search(line)
    if match is None or "://" in line[: match.start()]:
        return None
    return match if _STATUS.search(_QUOTED.sub(" ", line)) else None


def route(target: str) -> str:
    """Return a request target's route: variable path segments and query values masked."""
    target = re.sub(r"^[a-zA-Z][\w+.\-]*://[^/?#]*", "", target)  # absolute-form (proxies)
    path, _, query = target.partition("?")
    path = path.split("#", 1)[0]
    segments = path.split("/")
    masked = [_segment(s) for s in segments]
    last = segments[-1]
    extension = _EXTENSION.search(last)
    # A static file below a directory: the tree under the mount point (`/static/`) is
    # build output (`js/app.6029f47e.js`), so the mount point is the route. A path with an
    # id in it (`/users/<*>/avatar.png`) is the app's own route and keeps its shape.
    # A directory named like a file (`/thumb/a/ab/Map.png/120px-Map.png`) is a tree of
    # derived assets (resized images, renditions): its mount point is the route too.
    if (
        extension
        and extension.group()[1:].lower() in STATIC_EXTENSIONS
        and len(segments) > 2
        and (WILDCARD not in "".join(masked[:-1]) or any(_is_static(s) for s in segments[1:-1]))
    ):
        masked = [masked[0], masked[1], WILDCARD]
    result = "/".join(masked) or "/"
    if query:
        keys = [part.split("=", 1)[0] for part in query.split("&") if part]
        result += "?" + "&".join(f"{_segment(k)}={WILDCARD}" for k in keys)
    return result


def _is_static(segment: str) -> bool:
    """Tell whether a path segment is a front-end asset's file name (`logo.png`)."""
    extension = _EXTENSION.search(segment)
    return bool(extension) and extension.group()[1:].lower() in STATIC_EXTENSIONS


def _segment(segment: str) -> str:
    """Return a path segment, or `<*>` (or `<*>.ext`) when it is an id, hash, date or number."""
    if not segment:
        return segment
    extension = _EXTENSION.search(segment)
    stem, ext = (segment[: extension.start()], extension.group()) if extension else (segment, "")
    parts = stem.split(".")
    masked = [WILDCARD if _is_variable(p) else p for p in parts]
    if all(p == WILDCARD for p in masked):
        return WILDCARD + ext
    return ".".join(masked) + ext


def _is_variable(part: str) -> bool:
    """Tell whether a path part is a value: a number, uuid, hex hash, date, or opaque id."""
    if not part:
        return False
    if _NUMERIC.fullmatch(part) or _UUID.fullmatch(part) or _HEX.fullmatch(part):
        return True
    if "%" in part or "@" in part:  # percent-encoded text, an email address
        return True
    digits = sum(c.isdigit() for c in part)
    # `v1`, `v2beta1`, `oauth2` name an API; `p971`, `ORD-2024-00042`, tokens are values.
    return digits >= 3 or (digits and len(part) >= 16)
