"""Incident memory eval: recall@k of same-root-cause incidents told differently.

Every `stored` text of `incidents.yaml` goes into a fresh memory; each `query` (a new
occurrence of the same root cause, in other words, times, values and pods) must find its
incident in the top k; each `no_match` query must find nothing above the threshold.
`paraphrases.yaml` asks for the same incidents in plain words, without their identifiers.
Both run on any embedding (`embeddings()` names those installed: hashing, and minilm with
the weights of `make minilm`).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from opsloop.agent.stores.memory import Incident, IncidentMemory

DATA = Path(__file__).with_name("incidents.yaml")
PARAPHRASES = Path(__file__).with_name("paraphrases.yaml")
# Written blind by a helper who saw only the incidents' descriptions, not the code or queries.
BLIND_PARAPHRASES = Path(__file__).with_name("paraphrases_blind.yaml")


def load(path: Path = DATA) -> dict[str, Any]:
    """Read the eval set."""
    return yaml.safe_load(path.read_text())


def embeddings() -> list[str]:
    """Return the embedding settings this install can evaluate: hashing, and minilm if present."""
    from opsloop.agent.stores.minilm import available

    return ["hashing", "minilm"] if available() else ["hashing"]


def _fill(memory: IncidentMemory, data: dict[str, Any]) -> float:
    """Store every incident of the eval set; return the seconds it took."""
    started = time.perf_counter()
    for case in data["incidents"]:
        memory.add(
            Incident(
                id=case["id"],
                title=case["stored"].split(". ")[0][:120],
                text=case["stored"],
                cause_kind=case["kind"],
                cause_target=case["target"],
                resolution=case["resolution"],
                outcome="resolved",
                opened_at=1.0,
            )
        )
    return time.perf_counter() - started


def _open(tmp: str, embedding: str) -> IncidentMemory:
    """Open an empty memory with the embedding and its default threshold, as opsloop would."""
    from opsloop.agent.stores.embeddings import make_embedding
    from opsloop.agent.stores.memory import DEFAULT_THRESHOLD

    function = make_embedding(embedding)
    threshold = getattr(function, "threshold", DEFAULT_THRESHOLD)
    return IncidentMemory.open(Path(tmp) / "memory", embedding=function, threshold=threshold)


def run_paraphrases(
    path: Path = PARAPHRASES, incidents: Path = DATA, embedding: str = "hashing", k: int = 3
) -> dict[str, Any]:
    """Store the incidents, ask each paraphrase; return recall@1/@k and MRR, and the misses.

    `recall_at_*` counts what a user is shown (hits at or above the threshold);
    `ranked_recall_at_*` counts the ranking alone, whatever the similarity.
    """
    queries = load(path)["paraphrases"]
    with tempfile.TemporaryDirectory() as tmp:
        memory = _open(tmp, embedding)
        _fill(memory, load(incidents))
        ranks, shown, misses = [], [], []
        for case in queries:
            hits = memory.search(case["query"], k=k, threshold=-1.0)
            found = [m.incident.id for m in hits]
            rank = found.index(case["id"]) + 1 if case["id"] in found else None
            ranks.append(rank)
            shown.append(rank if rank and hits[rank - 1].score >= memory.threshold else None)
            if shown[-1] is None:
                misses.append({"id": case["id"], "query": case["query"], "got": found})
    n = len(ranks)
    return {
        "queries": n,
        "threshold": memory.threshold,
        "recall_at_1": round(sum(r == 1 for r in shown) / n, 4),
        f"recall_at_{k}": round(sum(r is not None for r in shown) / n, 4),
        "ranked_recall_at_1": round(sum(r == 1 for r in ranks) / n, 4),
        f"ranked_recall_at_{k}": round(sum(r is not None for r in ranks) / n, 4),
        "mrr": round(sum(1 / r for r in ranks if r) / n, 4),
        "misses": misses,
    }


def run(
    path: Path = DATA, threshold: float | None = None, k: int = 3, embedding: str = "hashing"
) -> dict[str, Any]:
    """Store, query and score; return recall@1/@k, MRR, no-match results and latency."""
    data = load(path)
    with tempfile.TemporaryDirectory() as tmp:
        memory = _open(tmp, embedding)
        if threshold is not None:
            memory.threshold = threshold
        # The first add loads the model (minilm): its cold start, apart from steady embedding.
        first = _fill(memory, {"incidents": data["incidents"][:1]})
        rest = _fill(memory, {"incidents": data["incidents"][1:]})
        ranks, misses, latencies, own = [], [], [], []
        for case in data["incidents"]:
            started = time.perf_counter()
            matches = memory.search(case["query"], k=k)
            latencies.append(time.perf_counter() - started)
            found = [m.incident.id for m in matches]
            own += [m.score for m in matches if m.incident.id == case["id"]]
            rank = found.index(case["id"]) + 1 if case["id"] in found else None
            ranks.append(rank)
            if rank is None:
                misses.append({"id": case["id"], "query": case["query"], "got": found})
        false_matches = []
        for query in data["no_match"]:
            hits = memory.search(query, k=1)
            if hits:
                false_matches.append(
                    {"query": query, "id": hits[0].incident.id, "score": hits[0].score}
                )
        top = [memory.search(q, k=1, threshold=-1.0) for q in data["no_match"]]
        n = len(ranks)
        latencies.sort()
        return {
            "embedding": embedding,
            "incidents": n,
            "no_match_queries": len(data["no_match"]),
            "threshold": memory.threshold,
            "recall_at_1": round(sum(r == 1 for r in ranks) / n, 4),
            f"recall_at_{k}": round(sum(r is not None for r in ranks) / n, 4),
            "mrr": round(sum(1 / r for r in ranks if r) / n, 4),
            "match_min_score": round(min(own, default=0.0), 4),
            "match_median_score": round(sorted(own)[len(own) // 2], 4) if own else 0.0,
            "no_match_clean": len(false_matches) == 0,
            "no_match_max_score": round(max((t[0].score for t in top if t), default=0.0), 4),
            "false_matches": false_matches,
            "misses": misses,
            "query_p50_ms": round(latencies[n // 2] * 1000, 2),
            "add_per_incident_ms": round(rest / max(n - 1, 1) * 1000, 2),
            "cold_first_add_s": round(first, 3),
        }
