"""Encoder resolution and the real bundled MiniLM (offline), the embedding cache, and the pipeline end to end.

Pooling and the reducer are in test_embeddings_numeric.py, the FAISS index in test_embeddings_index.py.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

import embeddings
from embeddings import (
    CachedEncoder,
    EmbeddingCache,
    EmbeddingCacheError,
    EncoderError,
    SimilarityIndex,
    TextEncoder,
    TextReducer,
    load_encoder,
    pool_by_key,
    resolve_model,
)
from embeddings.encoder import ENV_MODEL, check_texts, l2_normalize, model_fingerprint


class FakeEncoder:
    """Deterministic pseudo-random unit vectors per text; records what it was asked to encode."""

    def __init__(self, dim: int = 8, model_id: str = "fake:0001"):
        self.dim = dim
        self.model_id = model_id
        self.calls: list[list[str]] = []

    def encode(self, texts, batch_size: int = 64) -> np.ndarray:
        texts = list(texts)
        self.calls.append(texts)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            seed = int.from_bytes(hashlib.sha256(t.encode()).digest()[:8], "little")
            out[i] = np.random.default_rng(seed).standard_normal(self.dim)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    @property
    def encoded_texts(self) -> list[str]:
        return [t for call in self.calls for t in call]


# ----------------------------------------------------------------------------- resolution


def test_import_is_cheap():
    # `import embeddings` must not drag in torch / faiss / sklearn (CLI start-up time).
    import subprocess
    import sys

    code = (
        "import sys, embeddings; "
        "print(sorted(m for m in ('torch','faiss','sklearn','sentence_transformers') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(embeddings.__file__).parents[1],
    )
    assert out.stdout.strip() == "[]"


def test_resolve_model_precedence(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_MODEL, raising=False)
    bundled = resolve_model()
    assert Path(bundled).is_dir() and (Path(bundled) / "modules.json").is_file()

    folder = tmp_path / "my-model"
    folder.mkdir()
    monkeypatch.setenv(ENV_MODEL, str(folder))
    assert resolve_model() == str(folder.resolve())
    other = tmp_path / "other"
    other.mkdir()
    assert resolve_model(other) == str(other.resolve())  # explicit beats env

    monkeypatch.setenv(ENV_MODEL, "  ")  # blank env var counts as unset
    assert resolve_model() == bundled


def test_resolve_model_errors(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_MODEL, raising=False)
    missing = tmp_path / "nope" / "model"
    with pytest.raises(EncoderError, match="nope"):
        resolve_model(str(missing))
    with pytest.raises(EncoderError, match="typo-model"):
        resolve_model("typo-model")  # bare name: neither a folder nor 'org/name'
    monkeypatch.setenv(ENV_MODEL, str(missing))
    with pytest.raises(EncoderError, match=ENV_MODEL):
        resolve_model()
    f = tmp_path / "weights.bin"
    f.write_bytes(b"x")
    with pytest.raises(EncoderError, match="is a file"):
        resolve_model(f)
    assert issubclass(EncoderError, ValueError)
    # Hub names pass through untouched (looked up in the local HF cache at load time).
    assert resolve_model("sentence-transformers/all-MiniLM-L6-v2") == "sentence-transformers/all-MiniLM-L6-v2"


def test_load_encoder_unknown_backend(monkeypatch):
    with pytest.raises(EncoderError, match="valid backends: torch, onnx, onnx-int8"):
        load_encoder(backend="tensorrt")
    monkeypatch.setenv("INSIGHT_EMBEDDING_BACKEND", "gpu")
    with pytest.raises(EncoderError, match=r"\$INSIGHT_EMBEDDING_BACKEND: unknown embedding backend 'gpu'"):
        load_encoder()
    with pytest.raises(EncoderError, match="unknown embedding backend"):
        embeddings.SentenceTransformerEncoder(backend="cuda")


def test_onnx_export_of_a_broken_model_leaves_nothing_behind(tmp_path):
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "bert"}')  # no weights, no tokenizer
    exports = tmp_path / "exports"
    with pytest.raises(EncoderError, match="broken-model"):
        embeddings.SentenceTransformerEncoder(broken, backend="onnx", export_dir=exports)
    assert not exports.exists() or list(exports.iterdir()) == []


def test_hub_name_not_cached_is_clear_error():
    # Offline mode forbids downloading, so an uncached hub name fails at once with a useful message.
    with pytest.raises(EncoderError, match="acme/not-a-model.*neither an existing folder"):
        embeddings.SentenceTransformerEncoder("acme/not-a-model")


def test_check_texts_rejects_bad_input():
    with pytest.raises(TypeError, match="single string"):
        check_texts("hello")
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        check_texts(["ok", None])
    assert check_texts(np.array(["a", "b"])) == ["a", "b"]


def test_model_fingerprint_tracks_contents_not_just_sizes(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"\x00" * 64)
    (tmp_path / "README.md").write_text("docs")
    fp = model_fingerprint(tmp_path)
    (tmp_path / "README.md").write_text("other docs")  # docs never change vectors
    assert model_fingerprint(tmp_path) == fp
    (tmp_path / "model.safetensors").write_bytes(b"\x01" * 64)  # "fine-tuned": same size, new weights
    assert model_fingerprint(tmp_path) != fp
    assert model_fingerprint(tmp_path, 128) != model_fingerprint(tmp_path, 256)


# ----------------------------------------------------------------------------- the real model


@pytest.fixture(scope="module")
def minilm():
    mp = pytest.MonkeyPatch()
    mp.delenv(ENV_MODEL, raising=False)
    try:
        yield load_encoder(backend="torch")  # the reference the other backends are compared with
    finally:
        mp.undo()


@pytest.mark.slow
def test_real_model_offline(minilm):
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"
    assert isinstance(minilm, TextEncoder)
    assert minilm.dim == 384
    assert minilm.model_id.startswith("all-MiniLM-L6-v2:")
    assert load_encoder(backend="torch") is minilm  # cached per process
    assert load_encoder(resolve_model(), "torch") is minilm  # explicit default resolves to the same entry

    texts = [
        "The delivery was late and the box arrived damaged.",
        "My parcel came days after the promised date, and the packaging was crushed.",
        "I love the soft fabric of this sweater.",
        "Quarterly tax filing deadlines for small businesses.",
    ]
    v = minilm.encode(texts)
    assert v.dtype == np.float32 and v.shape == (4, 384)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    sim = v @ v.T
    assert sim[0, 1] > sim[0, 2] + 0.2
    assert sim[0, 1] > sim[0, 3] + 0.2
    assert minilm.encode([]).shape == (0, 384)


@pytest.mark.slow
def test_real_model_preserves_order_despite_length_sorting(minilm):
    texts = ["short", "a much much longer review text about shoes that pinch at the toes", "mid length text", "", "ok"]
    batched = minilm.encode(texts, batch_size=2)  # several length-sorted batches
    single = np.vstack([minilm.encode([t]) for t in texts])
    np.testing.assert_allclose(batched, single, atol=1e-4)
    np.testing.assert_allclose(minilm.encode(texts[::-1], batch_size=3)[::-1], batched, atol=1e-4)


def test_a_huge_text_is_cut_before_tokenizing_and_embeds_as_its_start(minilm):
    """One 200 MB review had been tokenized whole (15 GB, minutes) before truncation to the model's tokens; it is cut
    first, at a length whose tokens always cover what the model reads, so its vector is its start's."""
    start = "The blender arrived broken and support never answered my three e-mails. " * 40
    huge = start + "x" * 20_000_000
    got = minilm.encode([huge, start])
    assert float(got[0] @ got[1]) > 0.9999


@pytest.mark.slow
def test_real_model_through_cache(minilm, tmp_path):
    cache = EmbeddingCache(tmp_path / "emb.sqlite", minilm.model_id)
    enc = CachedEncoder(minilm, cache)
    first = enc.encode(["great service", "great service", "terrible service"])
    again = CachedEncoder(minilm, EmbeddingCache(tmp_path / "emb.sqlite", minilm.model_id))
    second = again.encode(["terrible service", "great service"])
    assert (enc.encoded, again.encoded, again.hits) == (2, 0, 2)
    np.testing.assert_array_equal(second, first[[2, 0]])


@pytest.mark.slow
@pytest.mark.parametrize("backend, min_cos, mean_cos", [("onnx", 0.9999, 0.9999), ("onnx-int8", 0.95, 0.98)])
def test_onnx_backends_agree_with_torch(minilm, tmp_path, backend, min_cos, mean_cos):
    texts = [
        "The delivery was late and the box arrived damaged.",
        "I love the soft fabric of this sweater.",
        "bought two more blenders as gifts",
        "browsed: office chairs, standing desks, monitor arms",
        "ok",
        "",
    ]
    enc = embeddings.SentenceTransformerEncoder(backend=backend, export_dir=tmp_path)
    assert enc.backend == backend and enc.dim == 384
    assert enc.model_id.startswith("all-MiniLM-L6-v2:") and enc.model_id != minilm.model_id  # never shares cache keys
    v = enc.encode(texts, batch_size=4)
    assert v.dtype == np.float32 and v.shape == (len(texts), 384)
    cos = (v * minilm.encode(texts)).sum(axis=1)
    assert cos.min() > min_cos and cos.mean() > mean_cos, cos
    # The export is made once and reused: a second encoder loads the same files and gives the same vectors.
    exported = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.onnx"))
    assert len(exported) == 2  # fp32 and int8 files
    again = embeddings.SentenceTransformerEncoder(backend=backend, export_dir=tmp_path)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.onnx")) == exported
    np.testing.assert_allclose(again.encode(texts, batch_size=4), v, atol=1e-6)
    assert again.model_id == enc.model_id
    # int8 *dynamic* quantization scales activations per batch, so a text's vector depends slightly on its
    # batch-mates; fp32 ONNX does not. Bounded here, measured at scale by bench/embeddings.py.
    rebatched = (again.encode(texts, batch_size=1) * v).sum(axis=1)
    assert rebatched.min() > (0.999999 if backend == "onnx" else 0.95), rebatched


@pytest.mark.slow
@pytest.mark.parametrize("backend, min_cos, mean_cos", [("openvino", 0.9999, 0.9999), ("openvino-int8", 0.98, 0.99)])
def test_openvino_backends_agree_with_torch(minilm, tmp_path, backend, min_cos, mean_cos):
    pytest.importorskip("openvino")
    pytest.importorskip("nncf")
    texts = [
        "The delivery was late and the box arrived damaged.",
        "I love the soft fabric of this sweater.",
        "bought two more blenders as gifts",
        "browsed: office chairs, standing desks, monitor arms",
        "ok",
        "",
    ]
    enc = embeddings.SentenceTransformerEncoder(backend=backend, export_dir=tmp_path)
    assert enc.backend == backend and enc.dim == 384
    assert enc.model_id.startswith("all-MiniLM-L6-v2:") and enc.model_id != minilm.model_id
    v = enc.encode(texts, batch_size=4)
    assert v.dtype == np.float32 and v.shape == (len(texts), 384)
    cos = (v * minilm.encode(texts)).sum(axis=1)
    assert cos.min() > min_cos and cos.mean() > mean_cos, cos
    # Converted (and quantized) once, locally, into the export folder; a second encoder reuses the files.
    exported = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.xml"))
    assert len(exported) == 2  # fp32 and static int8 IR
    again = embeddings.SentenceTransformerEncoder(backend=backend, export_dir=tmp_path)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.xml")) == exported
    assert again.model_id == enc.model_id
    np.testing.assert_allclose(again.encode(texts, batch_size=4), v, atol=1e-5)
    # Static quantization fixes the activation scales, and the int8 model runs texts of equal token length together,
    # unpadded: a text's vector does not depend on its batch-mates (tests/test_openvino_int8.py checks more texts).
    np.testing.assert_allclose(again.encode(texts, batch_size=1), v, rtol=0, atol=1e-5)


def test_int8_calibration_texts_are_fixed_and_synthetic():
    """The static int8 model is calibrated on the generator's texts at a fixed seed, never on user data."""
    from embeddings.encoder import CALIBRATION_TEXTS, calibration_texts

    texts = calibration_texts()
    assert len(texts) == CALIBRATION_TEXTS == len(set(texts)) and texts == calibration_texts()  # fixed seed, distinct


# ----------------------------------------------------------------------------- cache


def test_cached_encoder_second_run_encodes_nothing(tmp_path):
    fake = FakeEncoder()
    enc = CachedEncoder(fake, EmbeddingCache(tmp_path / "c.sqlite", fake.model_id))
    texts = ["alpha", "beta", "gamma"]
    v1 = enc.encode(texts)
    assert enc.stats() == {"requested": 3, "hits": 0, "misses": 3, "encoded": 3}
    v2 = enc.encode(texts)
    assert enc.stats() == {"requested": 6, "hits": 3, "misses": 3, "encoded": 3}
    assert fake.encoded_texts == texts  # the model saw each text once, ever
    np.testing.assert_array_equal(v1, v2)
    np.testing.assert_allclose(v1, fake.encode(texts), rtol=1e-6)

    # A new process (new cache object on the same file) also hits.
    fake2 = FakeEncoder()
    enc2 = CachedEncoder(fake2, EmbeddingCache(tmp_path / "c.sqlite", fake.model_id))
    v3 = enc2.encode(["gamma", "delta", "alpha"])
    assert fake2.encoded_texts == ["delta"]
    assert (enc2.hits, enc2.misses, enc2.encoded) == (2, 1, 1)
    np.testing.assert_array_equal(v3[[0, 2]], v1[[2, 0]])
    assert len(enc2.cache) == 4


def test_cached_encoder_deduplicates(tmp_path):
    fake = FakeEncoder()
    for cache in (None, EmbeddingCache(tmp_path / "c.sqlite", fake.model_id)):
        fake.calls.clear()
        enc = CachedEncoder(fake, cache)
        texts = ["b", "a", "b", "b", "c", "a"]
        v = enc.encode(texts)
        assert fake.encoded_texts == ["b", "a", "c"]  # each distinct text once, first-seen order
        assert enc.encoded == 3 and enc.requested == 6
        np.testing.assert_allclose(v, fake.encode(texts), rtol=1e-6)
    assert CachedEncoder(fake).encode([]).shape == (0, 8)


def test_cache_get_many_and_len(tmp_path):
    cache = EmbeddingCache(tmp_path / "c.sqlite", "m1")
    vecs, found = cache.get_many(["x", "y"])
    assert vecs.shape == (2, 0) and not found.any() and cache.dim is None and len(cache) == 0
    cache.put_many(["x", "y"], np.eye(2, 3, dtype=np.float32))
    vecs, found = cache.get_many(["y", "z", "x", "y"])
    assert found.tolist() == [True, False, True, True]
    np.testing.assert_array_equal(vecs, [[0, 1, 0], [0, 0, 0], [1, 0, 0], [0, 1, 0]])
    assert len(cache) == 2 and cache.dim == 3
    # Another model in the same file: separate keys, separate dim, separate count.
    other = EmbeddingCache(tmp_path / "c.sqlite", "m2")
    assert not other.get_many(["x"])[1].any()
    other.put_many(["x"], np.ones((1, 5)))
    assert (len(other), other.dim, len(cache)) == (1, 5, 2)
    assert cache.key("x") != other.key("x")
    conn = sqlite3.connect(tmp_path / "c.sqlite")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_cache_sees_writes_from_another_connection(tmp_path):
    a = EmbeddingCache(tmp_path / "c.sqlite", "m")
    b = EmbeddingCache(tmp_path / "c.sqlite", "m")  # opened before the model had any vectors
    a.put_many(["x"], np.ones((1, 3)) / np.sqrt(3))  # encoders store unit vectors
    vecs, found = b.get_many(["x"])
    assert found.all() and vecs.shape == (1, 3) and len(b) == 1
    with pytest.raises(EmbeddingCacheError, match="3-d"):
        b.put_many(["y"], np.ones((1, 2)))
    a.close()
    b.close()


def test_a_damaged_cached_vector_is_ignored_and_embedded_again(tmp_path):
    """A flipped bit in the cache file changed vectors that were still finite: 729 of 955 customers got other similar
    customers and the run exited 0. Every encoder stores unit vectors, so one that is not is damaged."""
    cache = EmbeddingCache(tmp_path / "c.sqlite", "m")
    unit = np.eye(3, dtype=np.float32)
    cache.put_many(["x", "y", "z"], unit)
    conn = sqlite3.connect(tmp_path / "c.sqlite")
    (blob,) = conn.execute("SELECT vec FROM vectors WHERE key = ?", (cache.key("y"),)).fetchone()
    flipped = bytearray(blob)
    flipped[7] ^= 0x40  # a high exponent bit of the second float: 0.0 becomes 2.0
    conn.execute("UPDATE vectors SET vec = ? WHERE key = ?", (bytes(flipped), cache.key("y")))
    conn.commit()
    conn.close()
    vecs, found = cache.get_many(["x", "y", "z"])
    assert found.tolist() == [True, False, True] and cache.damaged == 1
    np.testing.assert_array_equal(vecs[[0, 2]], unit[[0, 2]])


def test_cache_dim_mismatch_detected(tmp_path):
    path = tmp_path / "c.sqlite"
    EmbeddingCache(path, "fake:0001").put_many(["a"], np.ones((1, 8), dtype=np.float32))
    cache = EmbeddingCache(path, "fake:0001")
    with pytest.raises(EmbeddingCacheError, match="8-d.*4-d"):
        cache.put_many(["b"], np.ones((1, 4)))
    with pytest.raises(EmbeddingCacheError, match="8-d"):
        CachedEncoder(FakeEncoder(dim=4, model_id="fake:0001"), cache)


def test_cache_model_id_mismatch_refused(tmp_path):
    cache = EmbeddingCache(tmp_path / "c.sqlite", "model-a")
    with pytest.raises(EmbeddingCacheError, match="model-a"):
        CachedEncoder(FakeEncoder(model_id="model-b"), cache)


def test_cache_corrupt_or_foreign_file(tmp_path):
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(EmbeddingCacheError, match="garbage.sqlite"):
        EmbeddingCache(garbage, "m")

    foreign = tmp_path / "foreign.sqlite"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE customers (id TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(EmbeddingCacheError, match="not an embedding cache"):
        EmbeddingCache(foreign, "m")

    with pytest.raises(EmbeddingCacheError, match="not a file"):
        EmbeddingCache(tmp_path, "m")

    # A truncated vector inside a valid file is reported, not silently reshaped.
    path = tmp_path / "c.sqlite"
    EmbeddingCache(path, "m").put_many(["a"], np.ones((1, 4)))
    conn = sqlite3.connect(path)
    conn.execute("UPDATE vectors SET vec = ?", (b"\x00" * 6,))
    conn.commit()
    conn.close()
    with pytest.raises(EmbeddingCacheError, match="corrupt"):
        EmbeddingCache(path, "m").get_many(["a"])


def test_cache_put_many_validation(tmp_path):
    cache = EmbeddingCache(tmp_path / "c.sqlite", "m")
    with pytest.raises(ValueError, match="shape"):
        cache.put_many(["a", "b"], np.ones((1, 3)))
    with pytest.raises(ValueError, match="NaN"):
        cache.put_many(["a"], np.full((1, 3), np.nan))
    assert len(cache) == 0 and cache.dim is None  # nothing half-written


def test_cached_encoder_rejects_bad_encoder_output(tmp_path):
    class Broken(FakeEncoder):
        def encode(self, texts, batch_size=64):
            return np.ones((len(texts), self.dim + 1), dtype=np.float32)

    with pytest.raises(ValueError, match="shape"):
        CachedEncoder(Broken()).encode(["a"])
    with pytest.raises(TypeError):
        CachedEncoder(object())


# ----------------------------------------------------------------------------- end to end


def test_pipeline_texts_to_similar_customers(tmp_path):
    fake = FakeEncoder(dim=16)
    enc = CachedEncoder(fake, EmbeddingCache(tmp_path / "c.sqlite", fake.model_id))
    customers = np.array(["c1", "c2", "c1", "c3", "c2", "c4"])
    texts = ["late delivery", "love it", "late delivery", "love it", "great fit", "late delivery"]
    keys, pooled = pool_by_key(customers, enc.encode(texts))
    assert keys.tolist() == ["c1", "c2", "c3", "c4"] and enc.encoded == 3
    feats = TextReducer(n_components=4).fit_transform(pooled)
    assert feats.shape == (4, 4)
    index = SimilarityIndex.build(keys.tolist(), pooled)
    ids, scores = index.neighbours_of("c1", k=1)
    assert ids == ["c4"] and scores[0] == pytest.approx(1.0, abs=1e-5)


def test_pool_indexed_matches_pool_by_key_without_per_row_vectors():
    from embeddings.pooling import pool_indexed

    rng = np.random.default_rng(5)
    distinct = l2_normalize(rng.normal(size=(7, 12)))
    item = rng.integers(0, 7, 200)
    key = rng.integers(0, 30, 200)  # some of the 40 keys get no rows
    w = rng.uniform(0, 1, 200)
    got = pool_indexed(key, 40, item, distinct, weights=w)
    keys, ref = pool_by_key(key, distinct[item], weights=w)
    np.testing.assert_allclose(got[keys], ref, atol=1e-6)
    assert not got[np.setdiff1d(np.arange(40), keys)].any()  # keys without rows stay zero
    with pytest.raises(ValueError, match="out of range"):
        pool_indexed(key, 10, item, distinct)
    with pytest.raises(ValueError, match="non-negative"):
        pool_indexed(key, 40, item, distinct, weights=-w)
    with pytest.raises(ValueError, match="disagree on length"):
        pool_indexed(key[:5], 40, item, distinct)


def test_default_backend_falls_back_without_openvino(monkeypatch):
    from embeddings import encoder

    monkeypatch.delenv("INSIGHT_EMBEDDING_BACKEND", raising=False)
    monkeypatch.setattr(encoder, "openvino_available", lambda: False)
    assert encoder.resolve_backend() == encoder.FALLBACK_BACKEND == "onnx"
    assert (
        encoder.resolve_backend("openvino-int8") == "openvino-int8"
    )  # explicit: kept, and loading says what to install
    monkeypatch.setattr(encoder, "openvino_available", lambda: True)
    assert encoder.resolve_backend() == encoder.DEFAULT_BACKEND
    monkeypatch.setenv("INSIGHT_EMBEDDING_BACKEND", "torch")
    assert encoder.resolve_backend() == "torch"


def test_an_export_finished_by_another_process_is_kept_not_replaced(tmp_path):
    """Two processes exporting at once (API workers on a fresh machine): the second keeps the first's complete folder,
    which the first may be loading; an incomplete one (an older export) is replaced; a failed build changes nothing.
    No temporary folder is left behind."""
    from embeddings.exports import build_in_place

    target = tmp_path / "exports" / "fingerprint"

    def build(tmp, files=("model.xml", "model.bin", "int8/model.xml"), tag="second"):
        for f in files:
            (tmp / f).parent.mkdir(parents=True, exist_ok=True)
            (tmp / f).write_text(tag)

    build_in_place(target, lambda t: build(t, tag="first"), "export")
    inode = (target / "model.xml").stat().st_ino
    build_in_place(target, build, "export")  # finished second: the first one's folder stays
    assert (target / "model.xml").read_text() == "first" and (target / "model.xml").stat().st_ino == inode

    (target / "int8" / "model.xml").unlink()  # an older export without the int8 model
    build_in_place(target, build, "export")
    assert (target / "int8" / "model.xml").read_text() == "second" and (target / "model.xml").read_text() == "second"

    def broken(tmp):
        raise RuntimeError("disk full")

    with pytest.raises(embeddings.EncoderError, match="export: disk full"):
        build_in_place(target, broken, "export")
    assert (target / "model.xml").read_text() == "second"
    assert sorted(p.name for p in target.parent.iterdir()) == ["fingerprint"]


def test_a_killed_exports_folders_are_removed_by_the_next_export_and_a_running_ones_kept(tmp_path):
    """An export killed mid-way (kill -9) leaves its temporary folder; the next export removes it, because its writer is
    gone, but never the folder of an export that is still running (its writer is alive)."""
    import subprocess
    import sys

    from embeddings.exports import build_in_place

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    exports = tmp_path / "exports"
    killed = exports / f".fingerprint.tmp-{int(dead.stdout)}-abc"
    running = exports / f".fingerprint.tmp-{os.getppid()}-xyz"  # pytest's parent shell: alive
    for d in (killed, running):
        (d / "openvino").mkdir(parents=True)
        (d / "openvino" / "openvino_model.bin").write_bytes(b"half")

    build_in_place(exports / "fingerprint", lambda t: (t / "model.xml").write_text("m"), "export")
    assert (exports / "fingerprint" / "model.xml").read_text() == "m"
    assert not killed.exists() and running.exists()
    assert sorted(p.name for p in exports.iterdir()) == sorted(["fingerprint", running.name])
