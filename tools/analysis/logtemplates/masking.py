"""Mask the obvious variables of a log message and split it into tokens."""

from __future__ import annotations

import re

from opsloop.tools.analysis.logtemplates.http_terms import (
    CLIENT_REQUEST,
    METHODS,
    SERVER_TARGET,
    STATUS_WITH_REASON,
)

WILDCARD = "<*>"

# Masks for values that only some lines hold, each skipped unless one of its needles is in
# the message (a substring test is far cheaper than a regex scan). They go first: a whole
# statement or command line is one value before the numbers inside it are.
_RARE_MASKS: list[tuple[tuple[str, ...], re.Pattern[str], str]] = [
    # A logged SQL statement is one value, whatever its shape: PostgreSQL's `statement: …`,
    # `STATEMENT:  …` and `execute <name>: …` (log_statement, log_min_duration_statement).
    (
        ("statement", "STATEMENT", "QUERY"),
        re.compile(r"\b(statement|STATEMENT|QUERY):\s+\S.*"),
        r"\1: " + WILDCARD,
    ),
    (
        ("execute ", "bind ", "parse "),
        re.compile(r"(^|\bms\s+)((?:execute|bind|parse) (?:<unnamed>|[\w\-]+)):\s+\S.*"),
        r"\1\2: " + WILDCARD,
    ),
    # A logged command line is one value however many arguments it has: sudo's last field
    # `COMMAND=/usr/bin/cat /var/log/x`, cron's `CMD (run-parts /etc/cron.hourly)`.
    (("COMMAND=",), re.compile(r"\b(COMMAND=)\S.*"), r"\1" + WILDCARD),
    (("CMD (",), re.compile(r"\b(CMD \()\S.*\)$"), r"\1" + WILDCARD + ")"),
    # cron's `(user) EVENT (detail)`: the user in parentheses leads the message.
    ((") ",), re.compile(r"^\([\w.\-@$]+\)(?= [A-Z]+ \()"), "(" + WILDCARD + ")"),
    # A dict or list printed last after `: ` (a task's return value, a payload) is one
    # value, whatever its keys and length.
    ((": {", ": ["), re.compile(r"(?<=: )(?:\{.*\}|\[.*\])$"), WILDCARD),
    # A quoted value after its key (`db: 'shop'`, `reason="disk full"`) is one value, however
    # many words it holds; a quoted phrase elsewhere may be the message itself (klog).
    (
        ("'", '"'),
        re.compile(
            r"""(?:(?<=[=:])|(?<=: ))(?:"(?:[^"\\]|\\.)*"|'[^'\s][^']*')(?=[\s,;.)\]}]|$)"""
        ),
        WILDCARD,
    ),
    # The text after `error:` or `reason:` is what the program substituted there (Go's
    # `"…: %v", err`), of any length: one value, up to the parenthesis it sits in, the next
    # `, key:` or the next sentence.
    (
        ("error: ", "err: ", "reason: ", "cause: "),
        re.compile(
            r"(?<![\w\-])((?:error|err|reason|cause): )"
            r"(?:\([^()]*\)|(?!, [\w ]+: |\. [A-Z\d])[^()])+"
        ),
        r"\1" + WILDCARD,
    ),
    # A Java exception with its message (`[org.acme.NotFoundException: No item 7]`) is one
    # value: the handler that logs it prints whichever was thrown. Up to the enclosing `]`.
    (
        ("Exception", "Error"),
        re.compile(r"(?<![\w.$])(?:[a-z_][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error)(?::[^\]]*)?"),
        WILDCARD,
    ),
    (("://",), CLIENT_REQUEST, r"\g<origin>" + WILDCARD),
    (tuple(m + " " for m in sorted(METHODS)), SERVER_TARGET, r"\g<method> " + WILDCARD),
    # An empty value or a Python repr printed as a value, after `:`, `=`, `(`, `[` or `,`
    # (`succeeded in 0.1s: None`). Lower-case `true`/`false` stay: Java and Android print
    # flags that way, and a flag's state often tells events apart (`ret:true`, `ret:false`).
    (
        ("None", "True", "False", "null", "nil", "NaN", "undefined"),
        re.compile(
            r"(?:(?<=[:=,(\[])|(?<=[:=,(\[] ))"
            r"(?:None|True|False|null|nil|NaN|undefined)(?![\w\-])"
        ),
        WILDCARD,
    ),
]

# Order matters: whole entities (URLs, paths, IPs) go before the numbers inside them.
_MASKS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s\]\)}>,;'\"]+"), WILDCARD),
    (re.compile(r"\b[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\b"), WILDCARD),
    # SSH key fingerprints and other encoded digests (`SHA256:AbC…`, `MD5:aa:bb…`).
    (re.compile(r"\b(?:SHA\d+|MD5):[\w+/=:]+"), WILDCARD),
    # IPv6 (and MAC) addresses: hex groups with colons, with a hex letter or `::` in them,
    # so clock times (`07:12:01`) stay times. An unbracketed `addr:port` (HAProxy, Apache)
    # ends in a port too long for a hex group. A `]` goes only with its `[` (`[::1]:80`), so
    # `[client 2001:db8::1]` keeps the bracket an IPv4 address would keep.
    (
        re.compile(
            r"(\[)?(?<![\w:])(?=[0-9a-fA-F:]*(?:::|[a-fA-F]))(?:[0-9a-fA-F]{0,4}:){2,7}"
            r"[0-9a-fA-F]{0,4}(?:%\w+)?(?::\d{5})?(?![\w:])(?(1)\](?::\d+)?)"
        ),
        WILDCARD,
    ),
    # An address with its leading `/` (`from /10.0.0.1:50010`, as Java prints them).
    (re.compile(r"(?<![\w.])/?\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?(?![\w.])"), WILDCARD),
    # Paths of two segments or more; a single `/name` is often a fixed word (`/default-rack`).
    (re.compile(r"(?<![\w/<])(?:/[\w.\-~@%+$<>*:]+){2,}/?"), WILDCARD),
    # Ids such as `blk_-42`, `attempt_1445_0020_m_000003_0`: the kind stays, the rest goes,
    # so map and reduce attempts share a template.
    (
        re.compile(r"\b([A-Za-z][A-Za-z0-9]*)_(?:(?=[\w\-]*\d)[\w\-]+|[A-Za-z0-9]{12,}\b)"),
        r"\1_" + WILDCARD,
    ),
    # Kubernetes pod and replica-set names: random suffixes without vowels (`-7d9f8-xk2p1`).
    (
        re.compile(
            r"(?<![\w\-])[a-z0-9][a-z0-9\-]*-[b-df-hj-np-tv-z2-9]{5,10}"
            r"(?:-[b-df-hj-np-tv-z2-9]{5})?(?![\w\-])"
        ),
        WILDCARD,
    ),
    (re.compile(r"\b0[xX][0-9a-fA-F]+\b"), WILDCARD),
    # Host names: lower-case dotted names with two dots or more, or a domain-like suffix.
    # Module paths of that shape are values too (Celery's `Task app.tasks.send_mail[…]`).
    (
        re.compile(
            r"(?<![\w.\-/@<])(?=[a-z0-9_\-.]*[a-z])[a-z0-9_][a-z0-9_\-]*"
            r"(?:\.[a-z0-9_\-]+){2,}(?![\w\-]|\.\w)"
            r"|(?<![\w.\-/<])[a-z0-9][a-z0-9\-]*(?:\.[a-z0-9\-]+)*"
            r"\.(?:internal|local|lan|corp|com|net|org|io|svc|cluster)(?![\w\-]|\.\w)"
        ),
        WILDCARD,
    ),
    # Who: the name after `user`, or after `for`/`by` when an address follows
    # (`session opened for user news`, `Accepted publickey for deploy from …`).
    (re.compile(r"(?<![\w\-])(user:?\s+)(?!<\*>)[A-Za-z_][\w.\-@$]*"), r"\1" + WILDCARD),
    (
        re.compile(
            r"(?<![\w\-])((?:for|by)\s+)(?!<\*>|user\b|invalid\b)[A-Za-z_][\w.\-@$]*"
            r"(?=\s+(?:from|port|via)\b)"
        ),
        r"\1" + WILDCARD,
    ),
    # Durations and sizes with their units, so `12ms` and `1.52s` are one variable.
    (
        re.compile(
            r"(?<![\w.])\d+(?:\.\d+)?(?:ns|us|µs|ms|s|sec|secs|m|min|mins|h|hr|hrs|d)"
            r"(?:\d+(?:\.\d+)?(?:ms|s|m|h))*(?![\w])"
        ),
        WILDCARD,
    ),
    (
        re.compile(r"(?<![\w.])\d+(?:\.\d+)?\s?(?:[KMGTP]i?B|kB|kb|mb|gb|B|bytes)(?![\w])"),
        WILDCARD,
    ),
    # Hex ids and hashes: one case, with a digit and a letter (`ED25519` is a word).
    (
        re.compile(
            r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{6,}\b"
            r"|\b(?=[0-9A-F]*\d)(?=[0-9A-F]*[A-F])[0-9A-F]{8,}\b"
        ),
        WILDCARD,
    ),
    (STATUS_WITH_REASON, WILDCARD),
    # A value may carry its meaning in parentheses (`gfp_mask=0xcc0(GFP_KERNEL)`): one value.
    (
        re.compile(
            r"(?<![\w.\-])([A-Za-z_][\w.\-]*)="
            r"(?:(?!<\*>)[^\s,;()\]}&\"']+(?:\([\w|.:\-]*\))?|<\*>\([\w|.:\-]*\))"
        ),
        r"\1=" + WILDCARD,
    ),
    # Numbers not glued to a letter on their left (`r24`, `ext3` stay); units may follow.
    (re.compile(r"(?<![A-Za-z0-9])[-+]?\d+(?:\.\d+)*"), WILDCARD),
]
# A token made only of wildcards and separators is one variable (`<*>:<*>`, `<*>.<*>`).
_ALL_VARIABLE = re.compile(r"(?:<\*>[:.\-/_#]?)+")


def mask(message: str) -> str:
    """Replace numbers, ids, IPs, paths, URLs, hex and key=value values with `<*>`."""
    for needles, pattern, replacement in _RARE_MASKS:
        if any(needle in message for needle in needles):
            message = pattern.sub(replacement, message)
    for pattern, replacement in _MASKS:
        message = pattern.sub(replacement, message)
    return message


def tokenize(message: str) -> list[str]:
    """Mask a message and split it on whitespace, one `<*>` per run of variables."""
    tokens: list[str] = []
    for token in mask(message).split():
        if _ALL_VARIABLE.fullmatch(token):
            token = WILDCARD
        # A list of variables of any length (`<ip> <ip>`, `blk_<*> blk_<*>`) is one slot.
        if WILDCARD in token and tokens and tokens[-1] == token:
            continue
        tokens.append(token)
    return tokens
