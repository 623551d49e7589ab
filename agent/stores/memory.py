"""Incident memory on Chroma: past incidents, what caused them and what resolved them.

Records live in one Chroma collection (cosine space) with an offline embedding function;
search asks Chroma's index for the nearest records, so nothing loads every record into
memory. A record's metadata holds what RCA and answers need: services, models, alert names,
root-cause kind and target, resolution, times, outcome and people's feedback.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

# Chroma reads these at import: no telemetry, no hub downloads.
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

COLLECTION = "incidents"
DEFAULT_THRESHOLD = 0.27
MAX_DOCUMENT_CHARS = 4000
_LIST_FIELDS = ("services", "models", "alerts")


@dataclass
class Incident:
    """One remembered incident."""

    id: str
    title: str
    text: str
    services: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    cause_kind: str = ""  # model_version | service | dependency | data | infra
    cause_target: str = ""
    resolution: str = ""
    opened_at: float = 0.0
    resolved_at: float | None = None
    outcome: str = "open"  # open | resolved | answered | false_alarm
    feedback: str = ""
    source: str = "opsloop"  # opsloop | postmortem | alert | slack
    # "question": a plain question kept from before memory held incidents only; never recalled.
    kind: str = "incident"

    @property
    def when(self) -> str:
        """Return the opening date as YYYY-MM-DD."""
        return datetime.fromtimestamp(self.opened_at or 0, UTC).date().isoformat()

    def document(self) -> str:
        """Return the text that is embedded: what happened, its cause and its fix."""
        parts = [self.title, self.text]
        if self.cause_kind or self.cause_target:
            parts.append(f"root cause: {self.cause_kind} {self.cause_target}".strip())
        if self.resolution:
            parts.append(f"resolved by: {self.resolution}")
        if self.feedback:
            parts.append(f"feedback: {self.feedback}")
        return "\n".join(p for p in parts if p)[:MAX_DOCUMENT_CHARS]

    def metadata(self) -> dict[str, Any]:
        """Return Chroma metadata: scalars only, lists as comma-joined text."""
        meta: dict[str, Any] = {}
        for key, value in asdict(self).items():
            if key == "id":
                continue
            if key == "text":  # kept apart from the embedded document, which adds cause and fix
                value = value[-MAX_DOCUMENT_CHARS:]
            if key in _LIST_FIELDS:
                value = ",".join(value)
            meta[key] = -1.0 if value is None else value
        return meta

    def line(self) -> str:
        """Describe the incident in one line, as answers quote it."""
        fix = f": resolved by {self.resolution}" if self.resolution else f" ({self.outcome})"
        return f"{self.id} on {self.when} — {self.title}{fix}"


@dataclass(frozen=True)
class Match:
    """A search hit: the incident and its cosine similarity to the query."""

    incident: Incident
    score: float


def _incident(record_id: str, document: str, meta: dict[str, Any]) -> Incident:
    values = dict(meta)
    for key in _LIST_FIELDS:
        values[key] = [v for v in str(values.get(key, "")).split(",") if v]
    if values.get("resolved_at") in (-1, -1.0):
        values["resolved_at"] = None
    known = set(Incident.__dataclass_fields__) - {"id", "text"}
    text = values.get("text")
    if not isinstance(text, str):  # records written before text was kept in metadata
        text = document.split("\n", 1)[1] if "\n" in document else document
    return Incident(id=record_id, text=text, **{k: v for k, v in values.items() if k in known})


class IncidentMemory:
    """Store, search, update and forget incidents in a Chroma collection."""

    def __init__(
        self,
        client: Any,
        embedding: Any = None,
        *,
        collection: str = COLLECTION,
        threshold: float = DEFAULT_THRESHOLD,
    ) -> None:
        from opsloop.agent.stores.embeddings import HashingEmbedding

        self.threshold = threshold
        self.embedding = embedding or HashingEmbedding()
        try:
            self.collection = client.get_or_create_collection(
                collection,
                embedding_function=self.embedding,
                metadata={"hnsw:space": "cosine"},
            )
        except ValueError as exc:
            if "conflict" not in str(exc):
                raise
            # Vectors of two embeddings cannot be compared: say which setting to keep.
            raise ValueError(
                f"this incident memory was embedded with another embedding than "
                f"{self.embedding.name()}: keep its OPSLOOP_MEMORY_EMBEDDING or use a new "
                f"store (OPSLOOP_HOME or OPSLOOP_MEMORY_URL) ({exc})"
            ) from exc
        self._hide_plain_questions()

    def _hide_plain_questions(self) -> None:
        """Mark question records written before only incidents were kept, once per record.

        Earlier versions stored every answered question; those that neither found a cause
        nor resolved anything are plain questions, kept for listing but out of search.
        """
        got = self.collection.get(where={"outcome": "answered"}, include=["metadatas"])
        ids, metas = [], []
        for rid, meta in zip(got["ids"], got["metadatas"], strict=True):
            if "kind" in meta:
                continue
            plain = not (meta.get("resolution") or meta.get("cause_kind"))
            ids.append(rid)
            metas.append({**meta, "kind": "question" if plain else "incident"})
        if ids:
            self.collection.update(ids=ids, metadatas=metas)

    @classmethod
    def open(
        cls,
        path: Path | None = None,
        url: str | None = None,
        embedding: Any = None,
        threshold: float = DEFAULT_THRESHOLD,
    ) -> IncidentMemory:
        """Open a persistent store at `path`, or a Chroma server at `url`."""
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        if url:
            from urllib.parse import urlsplit

            parts = urlsplit(url)
            client = chromadb.HttpClient(
                host=parts.hostname or "localhost",
                port=parts.port or (443 if parts.scheme == "https" else 8000),
                ssl=parts.scheme == "https",
                settings=settings,
            )
        else:
            assert path is not None, "a path or a url is needed"
            path.mkdir(parents=True, exist_ok=True)
            client = chromadb.PersistentClient(path=str(path), settings=settings)
        return cls(client, embedding, threshold=threshold)

    def add(self, incident: Incident) -> str:
        """Insert or replace an incident; return its id."""
        if not incident.opened_at:
            incident.opened_at = time.time()
        self.collection.upsert(
            ids=[incident.id], documents=[incident.document()], metadatas=[incident.metadata()]
        )
        return incident.id

    def get(self, incident_id: str) -> Incident | None:
        """Return one incident, or None."""
        got = self.collection.get(ids=[incident_id], include=["documents", "metadatas"])
        if not got["ids"]:
            return None
        return _incident(got["ids"][0], got["documents"][0], got["metadatas"][0])

    def update(self, incident_id: str, **changes: Any) -> Incident:
        """Change fields of an incident (feedback is appended); raise KeyError if unknown."""
        incident = self.get(incident_id)
        if incident is None:
            raise KeyError(incident_id)
        feedback = changes.pop("feedback", None)
        for key, value in changes.items():
            if key not in Incident.__dataclass_fields__ or key == "id":
                raise ValueError(f"unknown incident field {key!r}")
            if value is not None:
                setattr(incident, key, value)
        if feedback:
            incident.feedback = "; ".join(f for f in (incident.feedback, feedback) if f)
        self.add(incident)
        return incident

    def forget(self, incident_id: str) -> bool:
        """Delete an incident; return whether it existed."""
        if self.get(incident_id) is None:
            return False
        self.collection.delete(ids=[incident_id])
        return True

    def count(self) -> int:
        """Return how many incidents are stored."""
        return int(self.collection.count())

    def list(self, limit: int = 50, offset: int = 0) -> list[Incident]:
        """Return stored incidents, newest first within the page."""
        got = self.collection.get(include=["documents", "metadatas"], limit=limit, offset=offset)
        found = [
            _incident(i, d, m)
            for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        ]
        return sorted(found, key=lambda x: -x.opened_at)

    def search(
        self,
        text: str,
        k: int = 3,
        *,
        threshold: float | None = None,
        exclude: set[str] | None = None,
    ) -> list[Match]:
        """Return up to `k` incidents similar to `text`, best first, above the threshold."""
        if not text.strip():
            return []
        floor = self.threshold if threshold is None else threshold
        exclude = exclude or set()
        # No count() first: it scans the table, and Chroma returns fewer hits when it has fewer.
        got = self.collection.query(
            query_texts=[text],
            n_results=k + len(exclude),
            where={"kind": {"$ne": "question"}},
            include=["documents", "metadatas", "distances"],
        )
        out = []
        for rid, doc, meta, dist in zip(
            got["ids"][0],
            got["documents"][0],
            got["metadatas"][0],
            got["distances"][0],
            strict=True,
        ):
            score = 1.0 - float(dist)
            if rid not in exclude and score >= floor:
                out.append(Match(_incident(rid, doc, meta), round(score, 4)))
        return out[:k]

    def import_markdown(self, directory: Path) -> list[str]:
        """Import one Markdown postmortem, or every `*.md` under a folder; return the ids."""
        where = Path(directory)
        ids = []
        for path in [where] if where.is_file() else sorted(where.rglob("*.md")):
            ids.append(self.add(parse_postmortem(path.read_text(errors="replace"), path.stem)))
        return ids


_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.MULTILINE)
_SECTIONS = {
    "resolution": ("resolution", "remediation", "fix", "mitigation", "how it was resolved"),
    "cause": ("root cause", "cause", "root causes", "what went wrong"),
}


def parse_postmortem(markdown: str, fallback_id: str) -> Incident:
    """Read a Markdown postmortem: optional YAML front matter, a title, cause and fix sections."""
    meta: dict[str, Any] = {}
    body = markdown
    front = _FRONT.match(markdown)
    if front:
        loaded = yaml.safe_load(front.group(1)) or {}
        meta = loaded if isinstance(loaded, dict) else {}
        body = markdown[front.end() :]
    headings = _HEADING.findall(body)
    title = str(meta.get("title") or (headings[0] if headings else fallback_id))
    sections = _split_sections(body)
    resolution = str(meta.get("resolution") or _section(sections, "resolution"))
    opened = meta.get("date") or meta.get("opened_at")
    return Incident(
        id=str(meta.get("id") or fallback_id),
        title=title,
        text=_HEADING.sub(lambda m: m.group(1) + ":", body).strip(),
        services=_as_list(meta.get("services") or meta.get("service")),
        models=_as_list(meta.get("models") or meta.get("model")),
        alerts=_as_list(meta.get("alerts")),
        cause_kind=str(meta.get("root_cause_kind") or meta.get("kind") or ""),
        cause_target=str(meta.get("root_cause_target") or meta.get("target") or ""),
        resolution=resolution.split("\n")[0][:300],
        opened_at=_timestamp(opened),
        resolved_at=_timestamp(meta.get("resolved_at")) or None,
        outcome="resolved",
        source="postmortem",
    )


def _split_sections(body: str) -> dict[str, str]:
    out, current, lines = {}, "", []
    for line in body.splitlines():
        heading = _HEADING.match(line)
        if heading:
            out[current] = "\n".join(lines).strip()
            current, lines = heading.group(1).strip().lower(), []
        else:
            lines.append(line)
    out[current] = "\n".join(lines).strip()
    return out


def _section(sections: dict[str, str], kind: str) -> str:
    for name in _SECTIONS[kind]:
        if sections.get(name):
            return sections[name]
    return ""


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


def _timestamp(value: Any) -> float:
    if value is None or value == "":
        return 0.0
    if isinstance(value, int | float):
        return float(value)
    if hasattr(value, "isoformat"):  # YAML dates and datetimes
        dt = value if isinstance(value, datetime) else datetime.fromisoformat(value.isoformat())
        return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()
    try:
        dt = datetime.fromisoformat(str(value))
    except ValueError:
        return 0.0
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def new_id(prefix: str = "INC") -> str:
    """Return a fresh incident id."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
