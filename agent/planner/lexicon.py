"""Words on-call engineers use, and typo-tolerant matching against them."""

from __future__ import annotations

import re
from functools import lru_cache


def _table(rows: dict[str, str]) -> dict[str, tuple[str, ...]]:
    """Turn {"key": "phrase one | phrase two"} into {"key": ("phrase one", "phrase two")}."""
    return {key: tuple(p.strip() for p in text.split("|")) for key, text in rows.items()}


# Signal vocabulary: signal → phrases. Multi-word phrases match the normalised text.
SIGNAL_WORDS = _table(
    {
        "latency_p99": "p99 | p999 | 99th | tail latency",
        "latency_p95": "p95 | 95th | p90",
        "latency_p50": "p50 | median | 50th",
        "latency": (
            "latency | latencies | slow | slowness | slower | response time | response times | "
            "duration | lag | laggy"
        ),
        "error_ratio": (
            "error | errors | 5xx | 5xxs | 500s | 500 | failures | failing | erroring | "
            "failed | err | errs | error rate | failure rate | error ratio | fail rate"
        ),
        "request_rate": (
            "traffic | rps | qps | throughput | requests | request rate | req/s | reqs | load | "
            "volume | calls"
        ),
        "cpu": "cpu | cores | throttling | processor",
        "memory": "memory | mem | rss | ram | oom | heap | ooms | oomkilled",
        "restarts": (
            "restart | restarts | restarting | restarted | crashloop | crashloopbackoff | "
            "crashing | crashes | crashed | bouncing"
        ),
    }
)
SIGNAL_PHRASES: dict[str, str] = {p: sig for sig, ps in SIGNAL_WORDS.items() for p in ps}

# Intent keywords. Phrases match normalised text; single words also match with typos.
INTENT_WORDS = _table(
    {
        "rollback": (
            "rollback | roll back | rollback to | revert | roll it back | go back to | "
            "undo the deploy | downgrade"
        ),
        "jobs": (
            "job status | status of the job | status of job | retraining status | "
            "training status | retrain status | is the retraining done | is retraining done | "
            "is the training done | retraining finished | training finished | "
            "retraining job status | training job status | jobs | retraining jobs | "
            "retrained | retrains"
        ),
        "changes": (
            "what changed | changed recently | recent changes | any changes | change log | "
            "changelog | deploys | deployments | any deploy | any deploys | was deployed | "
            "what was deployed | config change | config changes | config push | who changed | "
            "rollouts | what is changed | anything changed | anything deployed | "
            "deployed recently | recently deployed | rolled back | reverted | promoted | "
            "rollbacks | promotions | got deployed | deployed to | who deployed | pushed | "
            "who pushed | what shipped | went out | push to | pushes | pushed to"
        ),
        "retrain": (
            "retrain | re-train | re train | retraining | train again | refit | "
            "kick off training | start training | train a new | fine-tune | finetune | "
            "training job | training run | new training"
        ),
        "promote": (
            "promote | promotion | make the challenger | challenger live | "
            "ship the challenger | new champion | the champion instead | make it champion | "
            "make it the champion | promote the candidate"
        ),
        "compare": (
            "compare | comparison | diff | difference between | vs | versus | differ | "
            "stack up | against | better than | worse than"
        ),
        "drift": (
            "drift | drifting | drifted | psi | distribution shift | data shift | "
            "covariate shift | skew | feature shift"
        ),
        "forecast": (
            "forecast | run out | runs out | running out | exhaust | exhausted | time until | "
            "when will | how long until | how long before | how long till | projected | "
            "projection | hit the limit | hits its limit | reach its limit | hit its limit | "
            "oom soon | headroom | until it hits | before it hits | will it | going to hit | "
            "gonna hit | extrapolate | eta | till it | until it | keeps climbing | "
            "keeps growing | leak | leaking | how long til | max out | maxes out | gonna oom | "
            "going to oom | will oom | run dry | fill up | fills up"
        ),
        "anomaly": (
            "anomaly | anomalies | anomalous | unusual | abnormal | weird | strange | odd | "
            "spike | spikes | spiking | spiky | outlier | outliers | out of the ordinary | "
            "suspicious | unexpected | blip | blips | deviation | deviating | abnormally"
        ),
        "patterns": (
            "log patterns | patterns | most common errors | most common error | top errors | "
            "common errors | kinds of errors | types of errors | error types | templates | "
            "group the errors | group errors | top error messages | most frequent errors"
        ),
        "logs": (
            "log | logs | logging | exception | exceptions | stack trace | stacktrace | "
            "traceback | tracebacks | grep | error messages | error message | log lines | "
            "panic | panics | stack traces | messages | warnings | warn"
        ),
        "model_status": (
            "version | versions | champion | serving | served | registry | deployed model | "
            "model status | which model | current model | live model | in prod | "
            "in production | alias | aliases | challenger"
        ),
        "alerts": (
            # Not "fired" or "paging": spelling correction would read "fixed" and "paying".
            "alerts | firing | what's firing | whats firing | silences | silenced | alerting | "
            "alertmanager | open alerts | active alerts"
        ),
        "silence": "silence alerts | silence the alert | mute alerts | snooze alerts",
        "expire_silence": "expire silence | expire the silence | remove the silence | unsilence",
        "incident_status": (
            "this incident | the incident | current incident | latest incident | "
            "newest incident | that incident | our incident | ongoing incident | "
            "active incident"
        ),
        "incident_queue": (
            "open incidents | active incidents | current incidents | ongoing incidents | "
            "unresolved incidents | incident queue | list incidents | list the incidents | "
            "show incidents | show me incidents | show the incidents | show me the incidents | "
            "any incidents | what incidents | which incidents | incidents open | "
            "incidents are open | incidents right now | incidents today | new incidents | "
            "incidents being investigated | resolved incidents | recent incidents | "
            "incidents in progress | how many incidents"
        ),
        "incidents": (
            "incident | incidents | happened before | seen this before | postmortem | "
            "post-mortem | postmortems | similar | history of | last time | outage history | "
            "previous outages | past outages | before? | prior incidents | have we seen | "
            "seen this | like this before | ever happened | happened again"
        ),
        "help": "help | what can you do | how do i use | commands | what do you do | capabilities",
        "list": (
            "list services | what services | which services | services do we | all services | "
            "list models | what models | which models | list metrics | what metrics | "
            "which metrics | metric names | services are there | services exist | "
            "show services | show me the services | available metrics | available services | "
            "all metrics | list all | show metrics"
        ),
        "health": (
            "how is | how's | hows | how are | health | healthy | status | overview | doing | "
            "ok? | okay | state of | golden signals | summary | summarise | summarize | "
            "dashboard | look like | looking"
        ),
    }
)

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "for",
        "on",
        "in",
        "at",
        "to",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "what",
        "whats",
        "what's",
        "how",
        "hows",
        "show",
        "me",
        "tell",
        "give",
        "get",
        "me",
        "my",
        "our",
        "we",
        "us",
        "pls",
        "please",
        "plz",
        "can",
        "could",
        "would",
        "you",
        "do",
        "does",
        "did",
        "any",
        "anything",
        "and",
        "or",
        "with",
        "by",
        "from",
        "since",
        "over",
        "last",
        "past",
        "previous",
        "this",
        "that",
        "it",
        "its",
        "it's",
        "there",
        "their",
        "right",
        "now",
        "currently",
        "current",
        "today",
        "yesterday",
        "hour",
        "hours",
        "minutes",
        "minute",
        "mins",
        "min",
        "days",
        "day",
        "week",
        "weeks",
        "m",
        "h",
        "d",
        "s",
        "ago",
        "between",
        "than",
        "vs",
        "versus",
        "up",
        "down",
        "going",
        "on",
        "seeing",
        "see",
        "look",
        "looks",
        "check",
        "query",
        "graph",
        "chart",
        "which",
        "who",
        "where",
        "when",
        "why",
        "i",
        "im",
        "i'm",
        "hey",
        "hi",
        "yo",
        "so",
        # Common words one edit from vocabulary words ("still" is not "till").
        "still",
        "along",
        "stale",
        "open",
        "opened",
        "closed",
        "working",
    ]
)

VOCABULARY = frozenset(
    w
    for phrases in (*INTENT_WORDS.values(), tuple(SIGNAL_PHRASES))
    for p in phrases
    for w in p.split()
    if len(w) >= 4 and w.isalpha()
)

_TOKEN = re.compile(r"[a-z0-9][a-z0-9_./:-]*[a-z0-9]|[a-z0-9]")


def tokens(text: str) -> list[str]:
    """Lower-case tokens, keeping hyphenated names like `fraud-api` whole."""
    return _TOKEN.findall(text.lower())


def edit_distance(a: str, b: str, limit: int = 2) -> int:
    """Damerau-Levenshtein distance (adjacent swaps count 1), stopping early past `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def tolerance(word: str) -> int:
    """Allowed typos for a word of this length."""
    return 0 if len(word) < 4 else 1 if len(word) < 8 else 2


@lru_cache(maxsize=4096)
def correct(word: str) -> str:
    """Return the vocabulary word `word` was probably meant to be, or `word` itself."""
    if word in VOCABULARY or word in STOPWORDS or not word.isalpha() or len(word) < 4:
        return word
    best, best_d = word, tolerance(word) + 1
    for candidate in VOCABULARY:
        d = edit_distance(word, candidate, tolerance(candidate))
        if d < best_d and d <= tolerance(candidate):
            best, best_d = candidate, d
    return best


def normalise(text: str) -> str:
    """Lower-case, spell-correct vocabulary words, and pad with spaces for phrase search."""
    return " " + " ".join(correct(t) for t in tokens(expand(text))) + " "


def expand(text: str) -> str:
    """Expand contractions so "how's" reads as "how is"."""
    text = text.replace("’", "'").lower()
    text = re.sub(r"'s\b", " is", re.sub(r"n't\b", " not", text))
    # Common on-call shorthand, so one phrase list covers both spellings.
    text = re.sub(r"(?<![\w-])svcs(?![\w-])", "services", text)
    text = re.sub(r"(?<![\w-])incs(?![\w-])", "incidents", text)
    text = re.sub(r"(?<![\w-])inc(?![\w-])", "incident", text)  # not an id: "inc-1a2b…"
    text = re.sub(r"(?<![\w-])b4(?![\w-])", "before", text)
    text = re.sub(r"(?<![\w/])w/(?!\w)", "with", text)
    # "paging" is alerting; kept out of the vocabulary, where "paying" would become it.
    text = re.sub(r"(?<![\w-])(?:paging|pages)(?![\w-])", "alerting", text)
    text = re.sub(r"(?<![\w-])wht(?![\w-])", "what", text)
    return re.sub(r"(?<![\w-])svc(?![\w-])", "service", text)


def has_phrase(normalised: str, phrase: str) -> bool:
    """Return True if `phrase` occurs as whole words in normalised text."""
    return f" {phrase} " in normalised or (
        phrase.endswith("?") and f" {phrase[:-1]} " in normalised
    )
