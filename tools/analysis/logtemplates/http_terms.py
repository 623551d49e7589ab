"""HTTP's fixed words that logs print as values: request methods and status reason phrases."""

from __future__ import annotations

import re

METHODS = frozenset("GET HEAD POST PUT PATCH DELETE OPTIONS CONNECT TRACE".split())

# RFC 9110 section 15 (and the older names still printed), as Go's `resp.Status` and
# Python's `http.HTTPStatus` write them after the code (`404 Not Found`).
REASON_PHRASES = (
    "Continue|Switching Protocols|Processing|Early Hints|OK|Created|Accepted"
    "|Non-Authoritative Information|No Content|Reset Content|Partial Content|Multi-Status"
    "|Already Reported|IM Used|Multiple Choices|Moved Permanently|Found|See Other"
    "|Not Modified|Use Proxy|Temporary Redirect|Permanent Redirect|Bad Request|Unauthorized"
    "|Payment Required|Forbidden|Not Found|Method Not Allowed|Not Acceptable"
    "|Proxy Authentication Required|Request Timeout|Conflict|Gone|Length Required"
    "|Precondition Failed|Content Too Large|Payload Too Large|Request Entity Too Large"
    "|URI Too Long|Request-URI Too Long|Unsupported Media Type|Range Not Satisfiable"
    "|Requested Range Not Satisfiable|Expectation Failed|I'm a teapot|Misdirected Request"
    "|Unprocessable Content|Unprocessable Entity|Locked|Failed Dependency|Too Early"
    "|Upgrade Required|Precondition Required|Too Many Requests"
    "|Request Header Fields Too Large|Unavailable For Legal Reasons|Internal Server Error"
    "|Not Implemented|Bad Gateway|Service Unavailable|Gateway Timeout"
    "|HTTP Version Not Supported|Variant Also Negotiates|Insufficient Storage|Loop Detected"
    "|Not Extended|Network Authentication Required"
)

# A status code with its reason phrase is one value: the phrase follows the code.
STATUS_WITH_REASON = re.compile(rf"(?<![\w.])[1-5]\d\d (?:{REASON_PHRASES})(?![\w\-])")

_METHOD = "(?:" + "|".join(sorted(METHODS)) + ")"
_URL = r"[a-zA-Z][\w+.\-]*://"

# A request a client sends: to an absolute URL (client-go's `GET https://10.96.0.1/api/…`),
# or to an origin printed before it (urllib3's `https://host:443 "GET /x HTTP/1.1"`). A
# client's one log call prints every method, so the method is a value there.
CLIENT_REQUEST = re.compile(
    rf"(?<![\w\-]){_METHOD} {_URL}[^\s\"'<>]*(?![^\s\"'])"
    rf"|(?<=://)(?P<origin>[^\s/\"]+ \"){_METHOD}(?= )"
)

# A request a server handles (`"GET /v1/x HTTP/1.1"`, `GET /healthz`): the method says
# which endpoint it was and stays; the target is a value, even a one-segment path.
SERVER_TARGET = re.compile(
    rf"(?<![\w\-])(?P<method>{_METHOD}) "
    r"(?:<\*>[^\s\"']*|\*|/[^\s\"'<>]*)(?![^\s\"'])"
)
