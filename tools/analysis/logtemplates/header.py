"""Find the message in a raw log line: drop the header, unwrap JSON and logfmt lines."""

from __future__ import annotations

import json
import re

from opsloop.tools.analysis.logtemplates.access import is_access_line

# Fields that carry the human message in structured (JSON / logfmt) lines, by preference.
MESSAGE_KEYS = ("msg", "message", "log", "event", "text")
LEVELS = frozenset(
    "TRACE DEBUG FINE FINER FINEST INFO NOTICE WARN WARNING ERROR ERR SEVERE CRITICAL CRIT "
    "FATAL FAILURE ALERT EMERG EMERGENCY PANIC NOTE "
    # PostgreSQL's message kinds stand where a level stands.
    "LOG DETAIL HINT STATEMENT CONTEXT QUERY".split()
)
# PostgreSQL's secondary lines: they stay in the message, since a `STATEMENT:` line and the
# `ERROR:` line it belongs to say different things (and a statement alone is all variable).
KEPT_KINDS = frozenset("DETAIL HINT STATEMENT CONTEXT QUERY".split())
# PostgreSQL's `%u@%d` in log_line_prefix (`app@orders`, `[unknown]@[unknown]`).
_USER_AT_DB = re.compile(r"[\w.\-\[\]]*@[\w.\-\[\]]+")
# Zone abbreviations inside timestamps (`2026-12-04 07:12:42.341 UTC [4123] LOG: …`).
ZONES = frozenset("UTC GMT Z CET CEST EET EEST WET BST IST EST EDT CST CDT MST MDT PST PDT".split())
# nginx's `pid#tid: *connection` after the level.
_NGINX_IDS = re.compile(r"\d+#\d+:(?:\s+\*\d+)?\s*")
# The request context nginx appends to an error (`, client: …, server: …, request: "…",
# upstream: "…", host: "…", referrer: "…"`): values of the request, and some optional.
_NGINX_CONTEXT = re.compile(r", client: .*$")
MONTHS_DAYS = frozenset(
    "jan feb mar apr may jun jul aug sep oct nov dec mon tue wed thu fri sat sun".split()
)
# One header field: a bracketed group (`[Sun Dec 04 04:47:44 2005]`, `[main]`) or a word.
_FIELD = re.compile(r"\[[^\]]*\]|<[^<>\s]*>|\S+")
# A timestamp piece: dates, times, epochs, zones; digits and separators only.
_TIME = re.compile(r"[+-]?\d[\d\-/.:,T]*(?:Z|[+-]\d{2}:?\d{2})?|[+-]\d{2}:?\d{2}")
# A logger name worth dropping: has a package dot, `$`, `[pid]`, `(...)` or `/`.
# A field that is surely a timestamp: a time of day, a date, an epoch, a month or day name.
_STAMP = re.compile(r".*\d:\d\d.*|\d{2,4}[-/.]\d{1,2}[-/.]\d{1,4}.*|\d{9,}(?:[.,]\d+)?")
_LOGGER = re.compile(r"[\w.$\-/\[\]()#@]*[.$\[(/][\w.$\-/\[\]()#@]*:?")
# glog / klog: `E0102 10:00:00.123456   12345 controller.go:123] message`.
_GLOG = re.compile(r"[IWEF]\d{4} \d\d:\d\d:\d\d(?:\.\d+)?\s+\d+\s+[^\s\]]+:\d+\]\s*")
_LOGFMT_MSG = re.compile(r'(?:^|\s)(?:msg|message)=(?:"((?:[^"\\]|\\.)*)"|(\S+))')
# RFC 5424: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD-ELEMENT]… MSG` (or `-` for no SD).
_RFC5424 = re.compile(
    r"<\d{1,3}>\d{1,2} \S+ \S+ \S+ \S+ \S+ (?:-|(?:\[(?:[^\]\\\"]|\\.|\"(?:[^\"\\]|\\.)*\")*\])+)"
    r"(?: |$)(?:\ufeff)?"
)
# A syslog priority before an RFC 3164 line (`<34>Oct 11 22:14:15 …`), as sent on the wire.
_PRI = re.compile(r"<\d{1,3}>(?=[A-Z][a-z]{2} )")
# dmesg / kernel ring buffer time: `[ 1234.567890] `.
_KERNEL_TIME = re.compile(r"\[\s*\d+\.\d+\]\s*")
# `kubectl get events` rows: [NAMESPACE] LAST-SEEN TYPE REASON OBJECT MESSAGE.
_KUBE_EVENT = re.compile(
    r"(?:[a-z0-9][a-z0-9\-]*\s+)?(?:<unknown>|\d+[smhd](?:\d+[smhd])?|\d+[smhd] \(x\d+ over \S+\))"
    r"\s+(?:Normal|Warning)\s+[A-Z]\w+\s+[a-z.]+/\S+\s+"
)
# A syslog tag after the host: `prog:`, `prog[pid]:`, `prog(facility)[pid]:`, `kernel:`.
_TAG = re.compile(r"[A-Za-z_][\w.\-/]*(?:\([\w.\-]*\))?(?:\[\d+\])?:")
# Only the first fields can be header; a level further in belongs to the message.
MAX_HEADER_FIELDS = 10


def strip_header(line: str) -> str:
    """Return the message of a raw log line, without timestamp, level, pid or logger."""
    line = line.strip()
    if is_access_line(line):
        # The whole line is the record: the template miner reads its request.
        return line
    message = _structured_message(line)
    if message is not None:
        return message
    glog = _GLOG.match(line)
    if glog:
        return line[glog.end() :] or line
    rfc5424 = _RFC5424.match(line)
    if rfc5424:
        return line[rfc5424.end() :].strip() or line
    line = _PRI.sub("", line, count=1)
    event = _KUBE_EVENT.match(line)
    if event:
        return line[event.end() :] or line
    kernel = _KERNEL_TIME.match(line)
    if kernel:
        return line[kernel.end() :] or line
    fields = [(m.start(), m.end(), m.group()) for m in _FIELD.finditer(line)]
    start = _header_end(fields)
    if start is None:
        return line
    rest = line[start:].strip()
    ids = _NGINX_IDS.match(rest)
    if ids and ids.end() < len(rest):
        rest = _NGINX_CONTEXT.sub("", rest[ids.end() :])
    nested = _structured_message(rest)
    if nested is not None:
        return nested
    return rest or line


def _structured_message(text: str) -> str | None:
    """Return the message field of a JSON object or logfmt line, if it is one."""
    if text.startswith("{") and text.endswith("}"):
        try:
            record = json.loads(text)
        except ValueError:
            return None
        if isinstance(record, dict):
            for key in MESSAGE_KEYS:
                value = record.get(key)
                if isinstance(value, str):
                    return value.strip()
        return None
    if "level=" in text or "lvl=" in text:
        match = _LOGFMT_MSG.search(text)
        if match:
            quoted, bare = match.groups()
            return (quoted.replace('\\"', '"') if quoted is not None else bare).strip()
    return None


def _header_end(fields: list[tuple[int, int, str]]) -> int | None:
    """Return where the message starts, or None when the line has no recognisable header."""
    for i, (start, end, text) in enumerate(fields[:MAX_HEADER_FIELDS]):
        if _is_level(text):
            if text.strip("[]<>:,").upper() in KEPT_KINDS:
                return start
            return _after_logger(fields, i + 1, end)
        if not _is_header_field(text):
            break
    # No level: a syslog-like header is timestamps, then `host prog[pid]:` or `prog:`.
    i = 0
    while i < len(fields) and _is_time(fields[i][2]):
        i += 1
    if not any(_STAMP.fullmatch(f[2]) or f[2].lower() in MONTHS_DAYS for f in fields[:i]):
        return None
    end = fields[i - 1][1]
    for j in range(i, min(i + 2, len(fields) - 1)):
        tag = fields[j][2]
        if tag.endswith(":") and (_LOGGER.fullmatch(tag) or _TAG.fullmatch(tag)):
            return _after_kernel_time(fields, j)
    return end


def _after_kernel_time(fields: list[tuple[int, int, str]], j: int) -> int:
    """End of a syslog tag, and of the kernel's `[ 12.345]` right after it if there."""
    end = fields[j][1]
    if j + 1 < len(fields) and re.fullmatch(r"\[\s*\d+\.\d+\]|\[", fields[j + 1][2]):
        following = fields[j + 1][2]
        if (
            following == "["
            and j + 2 < len(fields)
            and re.fullmatch(r"\d+\.\d+\]", fields[j + 2][2])
        ):
            return fields[j + 2][1]
        if following != "[":
            return fields[j + 1][1]
    return end


def _after_logger(fields: list[tuple[int, int, str]], i: int, end: int) -> int:
    """Skip `[thread] logger:` or `logger -` after the level, when they are there."""
    j = i
    while j < len(fields) and (_is_bracketed(fields[j][2]) or _is_pid_or_rule(fields, j)):
        j += 1
    if j < len(fields) and fields[j][2] in ("-", ":", "|"):
        return fields[j][1]
    if j + 1 >= len(fields):
        return end
    name = fields[j][2]
    if name.endswith(":") and _LOGGER.fullmatch(name):
        return fields[j][1]
    if fields[j + 1][2] in ("-", ":") and _LOGGER.fullmatch(name) and j + 2 < len(fields):
        return fields[j + 1][1]
    # `nova.compute.manager [req-... - -] message`: a dotted logger, then a request context.
    following = fields[j + 1][2]
    if "." in name and _LOGGER.fullmatch(name) and following[:1] == "[" and j + 2 < len(fields):
        return fields[j + 1][1]
    # Without a logger, bracketed ids and names (`[MY-010055] [Server]`, `[pid 9:tid 12]`)
    # are header; other groups may be message text (`[client 1.2.3.4]`).
    k = i
    while k < j and _HEADER_GROUP.fullmatch(fields[k][2]):
        k += 1
    return fields[k][0] if k > i and k < len(fields) else end


# A bracketed header field: one word or id, or `key number` pairs (`[pid 9:tid 12]`).
_HEADER_GROUP = re.compile(r"\[[^\s\[\]]+\]|\[[a-z]+ \d+(?:[:,] ?[a-z]+ \d+)*\]")


def _is_bracketed(text: str) -> bool:
    """Tell whether a field is one bracketed group (`[main]`, `[  worker-3]`)."""
    return text.startswith("[") and text.endswith("]")


def _is_pid_or_rule(fields: list[tuple[int, int, str]], j: int) -> bool:
    """Tell whether a field is a rule (`---`) or a pid before one or before a `[thread]`.

    Spring Boot writes `LEVEL pid --- [app] [thread] logger : message`.
    """
    text = fields[j][2]
    if re.fullmatch(r"-{3,}", text):
        return True
    following = fields[j + 1][2] if j + 1 < len(fields) else ""
    return text.isdigit() and (_is_bracketed(following) or re.fullmatch(r"-{3,}", following))


def _is_level(text: str) -> bool:
    """Tell whether a field is a severity: `INFO`, `Info,`, `[error]`, `<warn>`, `WARN:`."""
    if text[:1] in "[<" and text[-1:] in "]>":
        # Apache's `[module:level]` (`[proxy:error]`, `[core:notice]`).
        # Celery's `[time: LEVEL/ProcessName]`: the level, then the process writing.
        level = text[1:-1].strip().rpartition(":")[2].strip().partition("/")[0]
        return level.upper() in LEVELS
    word = text.rstrip(":,")
    # A lowercase word is more likely message text (`error connecting ...`) than a level.
    return (word.isupper() or word.istitle()) and word.upper() in LEVELS


def _is_time(text: str) -> bool:
    """Tell whether a field is part of a timestamp (or a bare number such as a pid)."""
    return bool(_TIME.fullmatch(text)) or text.lower() in MONTHS_DAYS or text in ZONES


def _is_header_field(text: str) -> bool:
    """Tell whether a field may precede the level: times, ids, host codes, `[...]`, `-`."""
    if text[:1] == "[" and text[-1:] == "]":
        return True
    # A dotted logger name may come before the level (`%(asctime)s - %(name)s - %(levelname)s`).
    if "." in text and not text.endswith(".") and _LOGGER.fullmatch(text):
        return True
    if _USER_AT_DB.fullmatch(text):
        return True
    return _is_time(text) or not any(c.islower() for c in text)
