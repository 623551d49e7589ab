"""The words answers use for quantities, changes, windows and baselines, and for plain prose.

Shared by the claim parser (answers) and the fact reader (tool output), so that a figure
and the evidence it cites are read the same way.
"""

from __future__ import annotations

import re

from opsloop.agent.planner.timerange import UNIT_SECONDS

# Quantity families: a claim and a fact must share one to be about the same thing. Keys are
# matched on word starts in lower-cased text; metric names are split on "_" before matching.
QUANTITIES: dict[str, tuple[str, ...]] = {
    "latency": (
        "latenc",
        "p50",
        "p75",
        "p90",
        "p95",
        "p99",
        "p999",
        "median",
        "percentile",
        "duration",
        "response time",
        "slow",
        "fast",
        "round-trip",
        "tail",
    ),
    "error": ("error", "5xx", "fail", "fault", "exception", "non-2xx", "500s"),
    "rate": (
        "request rate",
        "requests",
        "rps",
        "qps",
        "req/s",
        "throughput",
        "traffic",
        "calls",
        "per second",
        "/s",
        "/min",
    ),
    "cpu": ("cpu", "core", "vcpu", "millicore"),
    "throttling": ("throttl",),
    "memory": ("memory", "rss", "working set", "heap", "ram", "mem "),
    "restarts": ("restart", "crash", "oom", "killed"),
    "auc": ("auc",),
    "psi": ("psi", "drift", "population stability"),
    "ks": ("ks", "kolmogorov"),
    "logloss": ("logloss", "log loss", "log-loss"),
    "precision": ("precision",),
    "recall": ("recall",),
    "accuracy": ("accuracy",),
    "lines": ("line", "log", "occurrence", "×", "times", "events", "messages"),
    "templates": ("template", "pattern"),
    "similarity": ("similar",),
    "zscore": ("z ", "z-score", "z score", "sigma", "standard deviation"),
    "score": ("score",),
    # A report's confidence is not its hypothesis score, though both run from 0 to 1.
    "confidence": ("confidence",),
    "outliers": ("outlier",),
    "saturation": ("saturat", "utili", "limit", "headroom"),
    "series": ("series",),
    "changes": ("changes", "deploy", "rollout", "registered", "alias"),
    "rows": ("row",),
    "distributions": ("distribution", "feature"),
    "versions": ("versions",),
    "eta": ("eta", "run out", "until", "exhaust"),
}


def _word_re(word: str) -> str:
    # Short words are whole words (plural allowed): "ram" is not "ramp", "ks" not "asks".
    head = r"(?<![a-z0-9])" if word[0].isalnum() else ""
    tail = r"s?(?![a-z])" if len(word) <= 3 and word.isalnum() else ""
    return head + re.escape(word) + tail


_QUANTITY_RES = {
    family: re.compile("|".join(_word_re(w) for w in words)) for family, words in QUANTITIES.items()
}
# Counted things that are series of a query: "3 pods", "5 services".
SERIES_NOUNS = frozenset("services pods instances containers replicas nodes jobs".split())
# A change in a rate-like family is still a rate ("request rate rose"); these are the families
# where a bare "rate" would mislead: "error rate" is an error quantity as well as a rate.
QUANTILE = re.compile(r"(?<![a-z0-9])(?:p(\d{2,3}(?:\.\d)?)|(median))(?![a-z0-9])")


def quantities(text: str) -> set[str]:
    """Return the quantity families `text` (lower case) names."""
    return {family for family, rx in _QUANTITY_RES.items() if rx.search(text)}


def quantity_spans(text: str) -> list[tuple[int, str]]:
    """Return (position, family) for each quantity word in `text` (lower case), in order."""
    spans = [(m.start(), family) for family, rx in _QUANTITY_RES.items() for m in rx.finditer(text)]
    return sorted(spans)


def quantile_of(text: str) -> float | None:
    """Return the quantile `text` names ("p99" → 0.99, "median" → 0.5), if one."""
    m = QUANTILE.search(text)
    if not m:
        return None
    if m.group(2):
        return 0.5
    digits = m.group(1)
    return float("0." + digits.replace(".", "")) if "." not in digits else float(digits) / 100


_WORD = r"(?<![a-z-])(?:{})(?![a-z-])"
APPROX = re.compile(
    r"(?<![a-z])(?:about|around|approximately|approx\.?|roughly|nearly|almost|close to|"
    r"some|circa|ca\.|on the order of)\s*$|[~≈∼]\s*$"
)
AT_LEAST = re.compile(r"(?<![a-z])(?:over|more than|above|exceeding|at least|upwards of|>=?)\s*$")
AT_MOST = re.compile(r"(?<![a-z])(?:under|below|less than|at most|up to|within|<=?)\s*$")

STATS: dict[str, tuple[str, ...]] = {
    "last": (
        "last",
        "now",
        "current",
        "currently",
        "latest",
        "right now",
        "at the moment",
        "at the end",
        "most recent",
        "most recently",
    ),
    "mean": ("mean", "average", "averaged", "averaging", "avg", "typical", "typically"),
    "min": ("min", "minimum", "lowest", "low of", "bottomed", "trough", "as low as"),
    "max": (
        "max",
        "maximum",
        "peak",
        "peaked",
        "peaking",
        "highest",
        "high of",
        "spiked to",
        "topped",
        "as high as",
        "worst",
    ),
    "previous": ("previous mean", "prior mean", "previously"),
    "baseline": ("baseline", "usual"),
}
_STAT_RES = {
    stat: re.compile(_WORD.format("|".join(re.escape(w) for w in words)))
    for stat, words in STATS.items()
}


def stat_spans(text: str) -> list[tuple[int, str]]:
    """Return (position, statistic) for each statistic word in `text` (lower case)."""
    found = [(m.start(), m.end(), s) for s, rx in _STAT_RES.items() for m in rx.finditer(text)]
    # "prior mean 380 ms" is the previous window's mean: the longer phrase holds the word.
    return sorted(
        (lo, s)
        for lo, hi, s in found
        if not any(a <= lo and hi <= b and b - a > hi - lo for a, b, _ in found)
    )


# Windows and baselines, in seconds.
_UNIT_S = UNIT_SECONDS  # "30m", "2 hours": the planner reads windows the same way


def _span_re(tag: str) -> str:
    """A duration ("30m", "2 hours", "an hour", "half hour") with group names ending in `tag`."""
    return (
        rf"(?:(?P<n{tag}>\d+(?:\.\d+)?|an?|one|two|three|six|twelve|half an?)\s*[- ]?\s*"
        rf"(?P<u{tag}>seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|w)(?![a-z])"
        rf"|(?P<bare{tag}>hour|day|week|minute|half hour|half-hour)(?![a-z]))"
    )


_WORDS_N = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "six": 6, "twelve": 12}
WINDOW = re.compile(
    r"(?<![a-z])(?:(?:in|over|during|for|within|across|from)\s+)?(?:the\s+)?"
    r"(?:last|past|recent|latest)\s+"
    + _span_re("1")
    + r"|(?<![a-z])(?:over|in|across|during|within)\s+(?:the\s+|a\s+)?"
    + _span_re("2")
    + r"(?:\s+window)?"
    + r"|(?<![a-z])"
    + _span_re("3")
    + r"\s+window"
)
BASELINE = re.compile(
    r"(?<![a-z])(?:(?:vs\.?|versus|compared (?:with|to)|relative to|against|than(?: in| during)?)"
    r"\s+(?:the\s+|a\s+)?(?:previous|prior|preceding|earlier|last)"
    r"|(?:from|over|since|before|on|in|to)\s+(?:the\s+|a\s+)?(?:previous|prior|preceding))\s+"
    + _span_re("b")
    + r"|(?P<yday>yesterday|a day (?:ago|earlier|before)|24 ?h(?:ours)? (?:ago|earlier|before)|"
    r"day[- ]over[- ]day|the day before)"
    r"|(?P<yavg>(?:its|the|a)\s+(?:24[- ]?h(?:ours?)?|daily|one-day|1-day)\s+"
    r"(?:average|mean|baseline|norm|level))"
    r"|(?P<week>last week|a week (?:ago|earlier)|previous week|week[- ]over[- ]week|"
    r"(?:its|the|a)\s+(?:weekly|7[- ]?day|one-week)\s+(?:average|mean|baseline|norm|level)|"
    r"the week before)"
    r"|(?P<deploy>(?:since|before|after) (?:the |this |that )?(?:deploy|deployment|rollout|"
    r"release|rollback|change|incident|upgrade)|pre-deploy|post-deploy)"
    r"|(?:the\s+)?(?P<ago>" + _span_re("a") + r")[\s-]+before(?![a-z])"
)


def _groups(g: dict[str, str | None], tags: str) -> tuple[str | None, str | None, str | None]:
    for tag in tags:
        if g.get(f"n{tag}") or g.get(f"u{tag}") or g.get(f"bare{tag}"):
            return g.get(f"n{tag}"), g.get(f"u{tag}"), g.get(f"bare{tag}")
    return None, None, None


def _span_s(n: str | None, unit: str | None, bare: str | None) -> float | None:
    if bare:
        bare = bare.replace("-", " ")
        return 1800.0 if bare.startswith("half") else float(_UNIT_S[bare.split()[-1]])
    if not unit:
        return None
    if n is None:
        count = 1.0
    elif n.startswith("half"):
        count = 0.5
    else:
        count = float(_WORDS_N.get(n, n)) if n in _WORDS_N or n[0].isdigit() else 1.0
    return count * _UNIT_S[unit]


def windows(text: str) -> list[tuple[int, int, float]]:
    """Return (start, end, seconds) for each time window `text` (lower case) names."""
    out = []
    for m in WINDOW.finditer(text):
        s = _span_s(*_groups(m.groupdict(), "123"))
        if s:
            out.append((m.start(), m.end(), s))
    return out


def baselines(text: str) -> list[tuple[int, int, str]]:
    """Return (start, end, baseline) for each comparison `text` (lower case) names.

    A baseline reads `previous:<seconds>` (the window before), `day`, `week` or `deploy`.
    """
    out = []
    for m in BASELINE.finditer(text):
        g = m.groupdict()
        if g.get("yday") or g.get("yavg"):
            kind = "day"
        elif g.get("week"):
            kind = "week"
        elif g.get("deploy"):
            kind = "deploy"
        else:
            s = _span_s(*_groups(g, "ab"))
            # "0.99 s before recovering" is a figure; baselines are minutes or more
            kind = f"previous:{s:g}" if s and s >= 60 else ""
        if kind:
            out.append((m.start(), m.end(), kind))
    return out


# Name-like parts: a hyphenated word with one of these is a service, model or pod name.
# Generic words ("model", "pod", "service", "job") are not: "model-registry" is prose.
NAME_PARTS = frozenset(
    """svc api srv db database worker proxy gateway store cache queue backend frontend router
    scheduler consumer producer exporter ingest etl redis kafka postgres pg mysql mongo
    controller broker daemon cron predictor classifier ranker scorer serving inference
    embedder encoder""".split()
)
# Hyphenated words that are prose even when a part is name-like ("api-driven").
PROSE_SUFFIXES = frozenset(
    """based driven side level wide facing bound related aware only like style ready
    free heavy friendly specific""".split()
)
TIME_WORDS = frozenset(
    "second seconds minute minutes hour hours day days week weeks month ms min h d".split()
)
