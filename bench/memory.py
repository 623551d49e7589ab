"""Incident memory at scale: query latency over 100,000 stored incidents, against bare Chroma.

    python -m bench.memory [--incidents N] [--queries Q] [--json]

Builds a persistent store of N seeded synthetic incidents (services, models, symptoms, causes
and fixes drawn from on-call vocabulary, with random values and pods), then, in a fresh
process that opens the store from disk, times Q `IncidentMemory.search` calls (embedding the
text, querying Chroma's index, filtering by threshold, parsing records) side by side with
bare `collection.query` calls on the same query vectors (embedding done beforehand). Reports
p50/p95 and the ratio, and the query process's peak RSS beside the size of the stored
vectors: search asks the index for k neighbours and never reads every record. The RSS
figures are the query process's after imports, after opening the store and querying, and
its peak.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

SERVICES = (
    "gateway checkout fraud-api feature-store postgres recommender search-api payments auth "
    "kafka redis inventory"
).split()
MODELS = ["fraud-detector", "recsys-ranker", "churn-model", "eta-model"]
SYMPTOMS = [
    "HighErrorRatio on {s}: 5xx at {n}% for {m} minutes",
    "LatencySLOBurn: {s} p99 {n}00 ms since {h}:{mm}",
    "MemorySaturation: {s} pod {pod} OOMKilled {n} times",
    "ModelQualityDrop: {model} online AUC {f} on {s}",
    "FeatureDrift on {model}: PSI {f} for txn_velocity",
    "KubePodCrashLooping {s}-{pod} restarts {n}",
    "connection pool exhausted on {s} talking to postgres, {n} waiters",
    "CPUSaturation on {s}: throttled {n}% of periods",
]
CAUSES = [
    (
        "model_version",
        "{model} v{n} released with an inverted feature",
        "rolled back {model} {n} → {k}",
    ),
    ("data", "upstream schema change in the {s} feed", "retrained {model} on the last 7d"),
    ("dependency", "postgres slow queries after vacuum", "failed over postgres"),
    ("service", "bad config push to {s}", "reverted the {s} config"),
    ("infra", "node {pod} disk full", "drained the node and expanded the volume"),
]


def synthetic(i: int, rng: np.random.Generator) -> dict[str, Any]:
    """Return one synthetic incident's fields."""
    s = SERVICES[rng.integers(len(SERVICES))]
    model = MODELS[rng.integers(len(MODELS))]
    values = {
        "s": s,
        "model": model,
        "n": int(rng.integers(2, 99)),
        "k": int(rng.integers(1, 9)),
        "m": int(rng.integers(3, 90)),
        "h": int(rng.integers(0, 24)),
        "mm": f"{int(rng.integers(0, 60)):02d}",
        "f": f"{rng.random():.2f}",
        "pod": f"{s}-{rng.integers(16**5):05x}",
    }
    kind, cause, fix = CAUSES[rng.integers(len(CAUSES))]
    symptoms = [SYMPTOMS[j].format(**values) for j in rng.choice(len(SYMPTOMS), 2, replace=False)]
    return {
        "id": f"INC-{i:06d}",
        "title": symptoms[0],
        "text": ". ".join(symptoms) + f". Cause: {cause.format(**values)}.",
        "cause_kind": kind,
        "cause_target": model if kind in ("model_version", "data") else s,
        "resolution": fix.format(**values),
        "services": [s],
    }


def build(path: Path, n: int, seed: int = 7, batch: int = 2000) -> dict[str, float]:
    """Fill a persistent store with n incidents; return timings."""
    from opsloop.agent.stores.embeddings import HashingEmbedding
    from opsloop.agent.stores.memory import Incident, IncidentMemory

    memory = IncidentMemory.open(path)
    rng = np.random.default_rng(seed)
    embedder = HashingEmbedding()
    embed_s = add_s = 0.0
    for start in range(0, n, batch):
        items = [
            Incident(**synthetic(i, rng), opened_at=1.7e9 + i)
            for i in range(start, min(n, start + batch))
        ]
        docs = [x.document() for x in items]
        t = time.perf_counter()
        vectors = embedder(docs)
        embed_s += time.perf_counter() - t
        t = time.perf_counter()
        memory.collection.add(
            ids=[x.id for x in items],
            documents=docs,
            metadatas=[x.metadata() for x in items],
            embeddings=vectors,
        )
        add_s += time.perf_counter() - t
        print(f"  stored {min(n, start + batch)}/{n}", file=sys.stderr, flush=True)
    return {"embed_s": round(embed_s, 1), "add_s": round(add_s, 1), "count": memory.count()}


def measure(path: Path, queries: int, seed: int = 11) -> dict[str, Any]:
    """Open the store from disk and time memory.search against bare collection.query."""
    from opsloop.agent.stores.embeddings import HashingEmbedding
    from opsloop.agent.stores.memory import IncidentMemory

    rss_before = _rss_mb()
    memory = IncidentMemory.open(path)
    rng = np.random.default_rng(seed)
    texts = [synthetic(10**7 + i, rng)["text"] for i in range(queries)]
    vectors = HashingEmbedding()(texts)
    memory.collection.query(query_embeddings=[vectors[0]], n_results=3)  # warm the index
    ours, bare = [], []
    for text, vec in zip(texts, vectors, strict=True):
        t = time.perf_counter()
        memory.collection.query(query_embeddings=[vec], n_results=3, include=["distances"])
        bare.append(time.perf_counter() - t)
        t = time.perf_counter()
        memory.search(text, k=3)
        ours.append(time.perf_counter() - t)
    p = lambda xs, q: float(np.percentile(np.array(xs) * 1000, q))  # noqa: E731
    return {
        "count": memory.count(),
        "queries": queries,
        "ours_p50_ms": round(p(ours, 50), 2),
        "ours_p95_ms": round(p(ours, 95), 2),
        "bare_p50_ms": round(p(bare, 50), 2),
        "bare_p95_ms": round(p(bare, 95), 2),
        "ratio_p50": round(p(ours, 50) / p(bare, 50), 2),
        "ratio_p95": round(p(ours, 95) / p(bare, 95), 2),
        "rss_after_imports_mb": round(rss_before, 1),
        "rss_after_queries_mb": round(_rss_mb(), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "store_on_disk_mb": round(
            sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20, 1
        ),
    }


def _rss_mb() -> float:
    """Return this process's resident set size now (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    """Build, then measure in a fresh process; print the figures."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.memory",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--incidents", type=int, default=100_000, help="incidents to store")
    parser.add_argument("--queries", type=int, default=200, help="queries to time")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.queries)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "memory"
        t = time.perf_counter()
        built = build(path, args.incidents)
        built["build_s"] = round(time.perf_counter() - t, 1)
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.memory",
                "--measure",
                str(path),
                "--queries",
                str(args.queries),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        report = {"build": built, **json.loads(proc.stdout.strip().splitlines()[-1])}
        report["vectors_mb"] = round(args.incidents * 512 * 4 / 2**20, 1)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for key, value in report.items():
            print(f"{key:28} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
