"""Offline text embeddings for incident memory: hashed word and character n-grams.

Incidents are told in on-call language full of identifiers (`fraud-api`, `OOMKilled`,
`connection pool exhausted`, `KubePodCrashLooping`), so the default embedding keeps both the
words and the pieces of words: unigrams and bigrams of words (numbers dropped: values differ
between occurrences), plus character 3–5-grams of each word, hashed into a fixed number of
signed buckets with sublinear term weights and L2-normalised. It needs no model download.

`minilm` (all-MiniLM-L6-v2 run in numpy, weights from `make minilm`; see
`minilm.py`), `sentence-transformers:NAME` (a locally installed model) and `openai:MODEL`
(any OpenAI-compatible embeddings endpoint) are optional backends, chosen by configuration.
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from itertools import pairwise
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function

DIMENSIONS = 512
_WORD = re.compile(r"[a-z][a-z0-9]*(?:[-_.][a-z0-9]+)*")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
STOPWORDS = frozenset(
    "a an and are as at be by for from had has have in is it its of on or that the then this "
    "to was were with we our after before when which while into over under about".split()
)


def features(text: str) -> Counter[str]:
    """Return the weighted features of a text: words, word pairs, character n-grams."""
    # Split camel case first so `KubePodCrashLooping` shares words with "pod crash looping".
    spaced = _CAMEL.sub(" ", text).lower()
    words = [w for w in _WORD.findall(spaced) if w not in STOPWORDS]
    out: Counter[str] = Counter()
    for word in words:
        out["w:" + word] += 2
        for part in re.split(r"[-_.]", word) if len(word) > 3 else ():
            if part != word and len(part) > 1:
                out["w:" + part] += 1
        padded = f"<{word}>"
        for n in (3, 4, 5):
            for i in range(len(padded) - n + 1):
                out["c:" + padded[i : i + n]] += 1
    for a, b in pairwise(words):
        out[f"b:{a} {b}"] += 2
    return out


def embed(text: str, dims: int = DIMENSIONS) -> np.ndarray:
    """Embed one text into a unit vector of `dims` signed hash buckets."""
    vec = np.zeros(dims, dtype=np.float32)
    for feature, count in features(text).items():
        h = zlib.crc32(feature.encode())
        vec[h % dims] += (1.0 if (h >> 31) & 1 else -1.0) * (1.0 + math.log(count))
    norm = float(np.linalg.norm(vec))
    return vec / norm if norm else vec


@register_embedding_function
class HashingEmbedding(EmbeddingFunction[Documents]):
    """Chroma embedding function over hashed word and character n-grams (offline)."""

    def __init__(self, dims: int = DIMENSIONS) -> None:
        self.dims = int(dims)

    def __call__(self, input: Documents) -> Embeddings:
        return [embed(text, self.dims) for text in input]

    @staticmethod
    def name() -> str:
        return "opsloop-hashing"

    def get_config(self) -> dict[str, Any]:
        return {"dims": self.dims}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> HashingEmbedding:
        return HashingEmbedding(int(config.get("dims", DIMENSIONS)))

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"


def make_embedding(spec: str, *, base_url: str | None = None, api_key: str | None = None):
    """Return the embedding function a `memory_embedding` setting names."""
    kind, _, name = spec.partition(":")
    if kind in ("", "hashing"):
        return HashingEmbedding(int(name) if name else DIMENSIONS)
    if kind == "minilm":
        from opsloop.agent.stores.minilm import MiniLMEmbedding

        return MiniLMEmbedding(name or None)
    if kind == "sentence-transformers":
        from chromadb.utils.embedding_functions import SentenceTransformerEmbeddingFunction

        # local_files_only: a model must already be on disk; nothing downloads at run time.
        return SentenceTransformerEmbeddingFunction(
            model_name=name or "all-MiniLM-L6-v2", local_files_only=True
        )
    if kind == "openai":
        from chromadb.utils.embedding_functions import OpenAIEmbeddingFunction

        return OpenAIEmbeddingFunction(
            api_key=api_key or "unused",
            api_base=base_url,
            model_name=name or "text-embedding-3-small",
        )
    raise ValueError(
        f"unknown memory embedding {spec!r}: use hashing, minilm, sentence-transformers:MODEL "
        "or openai:MODEL"
    )
