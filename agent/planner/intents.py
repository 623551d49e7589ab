"""Classify a question into an intent, by keywords after spelling correction."""

from __future__ import annotations

import re

from opsloop.agent.planner.entities import Entities
from opsloop.agent.planner.lexicon import INTENT_WORDS, has_phrase

# Checked in this order: actions first, then specific questions, then broad ones.
# Words that only make sense about model versions, even with no model named.
_REGISTRY_WORDS = ("version", "versions", "champion", "challenger", "alias", "aliases")
ORDER = (
    "jobs",
    "expire_silence",
    "silence",
    "rollback",
    "promote",
    "retrain",
    "compare",
    "incident_status",
    "incident_queue",
    "alerts",
    "drift",
    "forecast",
    "incidents",
    "changes",
    "patterns",
    "logs",
    "anomaly",
    "model_status",
    "list",
    "health",
)


# Phrases with a name in the middle: "roll fraud-detector back", "make it the new champion".
# An incident named by id, or "the payments incident", "summarise the search-api incident".
_INCIDENT_ID = r" inc-[0-9a-f]{4,} "
_ONE_INCIDENT = r" (?:the|this|that|our) (?:\S+ ){0,3}incident "
# Incidents in a state now: "incidents still open", "active incidents", "being worked on".
_STATES = (
    r"(?:open|opened|active|ongoing|unresolved|resolved|closed|investigat\w*|in progress|"
    r"working|current|recent|new|firing)"
)
_QUEUE = (
    rf" incidents (?:\S+ ){{0,4}}{_STATES} | {_STATES} (?:\S+ ){{0,2}}incidents | "
    r"(?:what|which|any|list|show|how many|count) (?:\S+ ){0,2}incidents "
)
# Words that ask about the past, which incident memory answers.
MEMORY_WORDS = (
    "before | seen this | similar | like this | postmortem | postmortems | post-mortem | "
    "last time | history | past | previous | prior | ever"
).split(" | ")
PATTERNS = {
    # "silence the payments alerts for 1h", "mute HighLatency", "snooze search-api for 30m".
    "silence": re.compile(
        r"^ (?:(?:please|pls|can you|could you|lets|let's|go ahead and) )*(?:silence|mute|snooze|"
        r"shush|quiet) (?!of )| (?:silence|mute|snooze) (?:the |this |that |those |these |all )?"
        r"(?:\S+ ){0,3}(?:alert|alerts|for \d)"
    ),
    "expire_silence": re.compile(
        r" (?:expire|remove|delete|lift|end|drop|cancel|kill) (?:the |that |this |my |our )?"
        r"(?:\S+ ){0,2}silences? | unsilence | unmute "
        # a silence's id after the verb: "expire 0e5f8b21-c4a7-… pls"
        r"| (?:expire|remove|delete|lift|end|cancel|kill) (?:\S+ ){0,2}[0-9a-f]{8}-[0-9a-f]{4}-"
    ),
    "incident_status": re.compile(f"{_INCIDENT_ID}|{_ONE_INCIDENT}"),
    "incident_queue": re.compile(_QUEUE),
    "rollback": re.compile(r" roll (?:\S+ ){1,3}back "),
    "promote": re.compile(r" make (?:\S+ ){1,3}(?:the )?(?:new )?champion "),
    "patterns": re.compile(r" group (?:\S+ ){0,3}(?:errors|logs|messages|lines) "),
    "jobs": re.compile(
        r" j-[0-9a-f]{4,} | (?:status|progress) of (?:the |my )?(?:\S+ ){0,2}(?:job|retraining|"
        r"training|retrain) | (?:retraining|training|retrain) (?:job |run )?(?:still )?(?:done|"
        r"finish|finished|complete|completed|going|progress|status|running|underway) | "
        r"how far (?:along )?(?:is|are) (?:\S+ ){0,3}(?:retraining|training|retrain|job) | "
        r"when (?:will|does|is) (?:\S+ ){0,4}"
        r"(?:retraining|training|retrain|job) (?:\S+ ){0,3}(?:finish|be done|complete|end) "
    ),
}


_INCIDENT_ID_RE = re.compile(_INCIDENT_ID)
_VERSUS = ("vs", "versus", "than", "compared to", "compared with", "against")


def hits(norm: str, intent: str) -> bool:
    """Return True if any phrase of `intent` occurs in the normalised text."""
    pattern = PATTERNS.get(intent)
    if pattern is not None and pattern.search(norm):
        return True
    return any(has_phrase(norm, phrase) for phrase in INTENT_WORDS[intent])


# A question about an action that happened ("was there a rollback…", "did the retrain
# finish?", "who rolled back…") reads history; it must never become a write proposal.
_ASKS_HISTORY = re.compile(r"^ (?:was|were|did|has|have|had|who|when|how many|how often) ")
_PAST_FORMS = ("rolled back", "reverted", "promoted", "retrained", "rollbacks", "promotions")
_REQUEST = re.compile(r" (?:should|can|could|would|will|please|lets|let's|must|need to) ")
_HISTORY_OF = {
    "rollback": "changes",
    "promote": "changes",
    "retrain": "jobs",
    "silence": "alerts",
    "expire_silence": "alerts",
}


def asks_history(norm: str) -> bool:
    """Tell whether a question asks about past actions rather than requesting one."""
    if _REQUEST.search(norm):
        return False
    return bool(_ASKS_HISTORY.search(norm)) or any(has_phrase(norm, w) for w in _PAST_FORMS)


def classify(norm: str, ent: Entities) -> str:
    """Return the intent of a normalised question given its entities."""
    words = norm.split()
    if hits(norm, "help") and (len(words) <= 6 or not (ent.services or ent.models)):
        return "help"
    model_words = has_phrase(norm, "model") or has_phrase(norm, "models") or bool(ent.models)
    for intent in ORDER:
        if not hits(norm, intent):
            continue
        if intent in _HISTORY_OF and asks_history(norm):
            return _HISTORY_OF[intent]
        if intent in ("incident_status", "incident_queue") and _INCIDENT_ID_RE.search(norm):
            return "incident_status"  # an id names one incident, whatever else is said
        if intent in ("incident_status", "incident_queue") and any(
            has_phrase(norm, w) for w in MEMORY_WORDS
        ):
            continue  # "has the payments incident happened before?": memory
        if intent == "incidents" and ent.signals and any(has_phrase(norm, w) for w in _VERSUS):
            continue  # "p99 of payments vs 1h before" compares windows of a metric
        if intent == "alerts" and hits(norm, "changes") and asks_history(norm):
            return "changes"  # "who pushed to payments before the alerts started?"
        if intent == "compare" and not (len(ent.versions) >= 2 or (model_words and ent.versions)):
            continue
        if intent == "model_status" and not (
            model_words or any(has_phrase(norm, w) for w in _REGISTRY_WORDS)
        ):
            continue
        if intent == "health" and ent.signals:
            continue
        if intent == "list" and ent.signals:
            continue
        return intent
    if ent.signals:
        return "metrics"
    if has_phrase(norm, "changed"):
        return "changes"  # "anything changed on the cache?"; "p99 changed?" is a metric
    if ent.services:
        return "health"
    if ent.models:
        return "model_status"
    return "unknown"
