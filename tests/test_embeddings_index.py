"""FAISS similarity index: exact and HNSW search, neighbours, atomic save/load, corrupt directories."""

from __future__ import annotations

import json

import numpy as np
import pytest

from embeddings import SimilarityIndex, SimilarityIndexError


def unit(rng, n, d):
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(42)
    vectors = unit(rng, 2000, 48)
    ids = [f"cust-{i:04d}" for i in range(2000)]
    return ids, vectors


@pytest.fixture(scope="module")
def exact(data):
    return SimilarityIndex.build(*data)


@pytest.fixture(scope="module")
def hnsw(data):
    return SimilarityIndex.build(*data, approximate_above=0)


def test_exact_search_returns_self_first(data, exact):
    ids, vectors = data
    assert exact.kind == "flat" and len(exact) == 2000 and exact.dim == 48
    found, scores = exact.search(vectors[:50], k=5)
    assert [row[0] for row in found] == ids[:50]
    np.testing.assert_allclose(scores[:, 0], 1.0, atol=1e-5)
    assert scores.shape == (50, 5) and scores.dtype == np.float32
    assert np.all(np.diff(scores, axis=1) <= 1e-6)  # best first
    # Scores are cosines: compare with numpy.
    np.testing.assert_allclose(scores[0], np.sort(vectors @ vectors[0])[::-1][:5], atol=1e-5)


def test_hnsw_recall_vs_exact(data, exact, hnsw):
    ids, vectors = data
    assert hnsw.kind == "hnsw" and hnsw.ef_search == 64
    truth, _ = exact.search(vectors, k=10)
    approx, _ = hnsw.search(vectors, k=10)
    recall = np.mean([len(set(t) & set(a)) / 10 for t, a in zip(truth, approx)])
    assert recall >= 0.9, recall
    hnsw.ef_search = 128
    assert hnsw.ef_search == 128
    with pytest.raises(SimilarityIndexError):
        exact.ef_search = 10


def test_neighbours_of_excludes_self(data, exact, hnsw):
    ids, vectors = data
    for index in (exact, hnsw):
        nbrs, scores = index.neighbours_of("cust-0007", k=5)
        assert len(nbrs) == 5 and "cust-0007" not in nbrs and scores.shape == (5,)
        assert nbrs[0] == exact.search(vectors[7], k=2)[0][0][1]
    with pytest.raises(KeyError, match="nobody"):
        exact.neighbours_of("nobody")
    with pytest.raises(KeyError, match="nobody"):
        hnsw.vector_of("nobody")


def test_identical_vectors_are_neighbours_not_dropped():
    v = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0]], dtype=np.float32)
    index = SimilarityIndex.build(["a", "b", "c"], v)
    nbrs, scores = index.neighbours_of("b", k=5)  # k larger than the index: clamped
    assert nbrs == ["a", "c"]
    np.testing.assert_allclose(scores, [1.0, 0.0], atol=1e-6)


def test_build_normalises_and_validates():
    index = SimilarityIndex.build(["a", "b"], np.array([[3.0, 4.0], [0.0, 2.0]]))
    _, scores = index.search(np.array([6.0, 8.0]), k=1)  # 1-d query = one row
    assert scores[0, 0] == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError, match="duplicate.*'a'"):
        SimilarityIndex.build(["a", "b", "a"], np.ones((3, 2)))
    with pytest.raises(ValueError, match="length"):
        SimilarityIndex.build(["a"], np.ones((2, 2)))
    with pytest.raises(ValueError, match="no vectors"):
        SimilarityIndex.build([], np.zeros((0, 4)))
    with pytest.raises(TypeError, match="str"):
        SimilarityIndex.build([1, 2], np.ones((2, 2)))
    with pytest.raises(ValueError, match="finite"):
        SimilarityIndex.build(["a"], np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="dim 3.*dim 2"):
        index.search(np.ones((1, 3)), k=1)
    with pytest.raises(ValueError, match="k must"):
        index.search(np.ones((1, 2)), k=0)


@pytest.mark.parametrize("which", ["exact", "hnsw"])
def test_save_load_round_trip(which, data, request, tmp_path):
    ids, vectors = data
    index = request.getfixturevalue(which)
    target = tmp_path / "store" / "similar"
    assert index.save(target) == target
    assert sorted(p.name for p in target.iterdir()) == ["ids.json", "index.faiss", "meta.json"]
    meta = json.loads((target / "meta.json").read_text())
    assert (meta["kind"], meta["dim"], meta["count"]) == (index.kind, 48, 2000)
    loaded = SimilarityIndex.load(target)
    assert (loaded.kind, len(loaded), loaded.dim, loaded.ids) == (index.kind, 2000, 48, ids)
    a_ids, a_scores = index.search(vectors[:20], k=10)
    b_ids, b_scores = loaded.search(vectors[:20], k=10)
    assert a_ids == b_ids
    np.testing.assert_allclose(a_scores, b_scores, atol=1e-6)

    # Saving over an existing index replaces it whole and leaves no temp directories behind.
    small = SimilarityIndex.build(["x", "y"], np.eye(2, dtype=np.float32))
    small.save(target)
    assert SimilarityIndex.load(target).ids == ["x", "y"]
    assert [p.name for p in target.parent.iterdir()] == ["similar"]


def test_load_rejects_missing_and_corrupt(tmp_path):
    with pytest.raises(FileNotFoundError):
        SimilarityIndex.load(tmp_path / "absent")

    def fresh(name):
        """An index as saved before checksums (so the structural checks below are what a damaged one meets)."""
        d = SimilarityIndex.build(["a", "b", "c"], np.eye(3, dtype=np.float32)).save(tmp_path / name)
        meta = json.loads((d / "meta.json").read_text())
        (d / "meta.json").write_text(json.dumps({k: v for k, v in meta.items() if k != "sha256"}))
        return d

    d = fresh("missing")
    (d / "ids.json").unlink()
    with pytest.raises(SimilarityIndexError, match="missing ids.json"):
        SimilarityIndex.load(d)

    d = fresh("garbage")
    (d / "index.faiss").write_bytes(b"garbage" * 20)
    with pytest.raises(SimilarityIndexError, match="index.faiss is corrupt"):
        SimilarityIndex.load(d)

    d = fresh("truncated")
    blob = (d / "index.faiss").read_bytes()
    (d / "index.faiss").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(SimilarityIndexError, match="corrupt"):
        SimilarityIndex.load(d)

    d = fresh("badmeta")
    (d / "meta.json").write_text("{not json")
    with pytest.raises(SimilarityIndexError, match="meta.json"):
        SimilarityIndex.load(d)

    d = fresh("count")
    (d / "ids.json").write_text(json.dumps(["a", "b"]))
    with pytest.raises(SimilarityIndexError, match="inconsistent"):
        SimilarityIndex.load(d)

    d = fresh("dupes")
    (d / "ids.json").write_text(json.dumps(["a", "a", "b"]))
    with pytest.raises(SimilarityIndexError, match="distinct"):
        SimilarityIndex.load(d)

    d = fresh("kind")
    meta = json.loads((d / "meta.json").read_text())
    (d / "meta.json").write_text(json.dumps({**meta, "kind": "hnsw"}))
    with pytest.raises(SimilarityIndexError, match="IndexHNSWFlat"):
        SimilarityIndex.load(d)


def test_a_damaged_or_changed_index_is_refused_by_its_checksums(tmp_path):
    """Random bytes over the vectors, or two ids swapped, had loaded and served wrong neighbours (a similarity of
    3.8e36 once); the files are checked against the sha256 written with them."""
    rng = np.random.default_rng(3)
    ids = [f"C{i:03d}" for i in range(200)]
    vectors = unit(rng, 200, 16)
    good = SimilarityIndex.build(ids, vectors).save(tmp_path / "good")
    assert SimilarityIndex.load(good).search(vectors[:1], k=1)[0][0] == ["C000"]

    flipped = SimilarityIndex.build(ids, vectors).save(tmp_path / "flipped")
    blob = bytearray((flipped / "index.faiss").read_bytes())
    blob[len(blob) // 2 : len(blob) // 2 + 64] = rng.integers(0, 256, 64, dtype=np.uint8).tobytes()
    (flipped / "index.faiss").write_bytes(bytes(blob))
    with pytest.raises(SimilarityIndexError, match="index.faiss does not match the checksum"):
        SimilarityIndex.load(flipped)

    swapped = SimilarityIndex.build(ids, vectors).save(tmp_path / "swapped")
    (swapped / "ids.json").write_text(json.dumps([ids[1], ids[0], *ids[2:]]))
    with pytest.raises(SimilarityIndexError, match="ids.json does not match the checksum"):
        SimilarityIndex.load(swapped)


def test_ivf_index_finds_neighbours_saves_and_loads(tmp_path):
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(20, 16))
    x = (centres[rng.integers(0, 20, 4000)] + rng.normal(scale=0.1, size=(4000, 16))).astype(np.float32)
    ids = [f"c{i}" for i in range(len(x))]
    exact = SimilarityIndex.build(ids, x, kind="flat")
    ivf = SimilarityIndex.build(ids, x, kind="ivf", nprobe=8)
    assert ivf.kind == "ivf" and ivf.nprobe == 8 and ivf.ef_search is None
    e_ids, _ = exact.search(x[:50], 10)
    a_ids, _ = ivf.search(x[:50], 10)
    recall = np.mean([len(set(e) & set(a)) / 10 for e, a in zip(e_ids, a_ids)])
    assert recall > 0.9
    np.testing.assert_allclose(ivf.vectors(), exact.vectors(), atol=1e-6)
    np.testing.assert_allclose(ivf.vector_of("c7"), exact.vector_of("c7"), atol=1e-6)
    ivf.save(tmp_path / "idx")
    back = SimilarityIndex.load(tmp_path / "idx")
    assert back.kind == "ivf" and back.nprobe == 8
    assert back.neighbours_of("c1", 5)[0] == ivf.neighbours_of("c1", 5)[0]
    with pytest.raises(SimilarityIndexError, match="IVF"):
        exact.nprobe = 4
    with pytest.raises(ValueError, match="unknown index kind 'lsh'"):
        SimilarityIndex.build(ids, x, kind="lsh")


def test_hnsw_pca_reranks_exactly_saves_and_loads(tmp_path):
    """HNSW over a PCA projection finds candidates; their scores are exact cosines on the full vectors."""
    rng = np.random.default_rng(5)
    latent = rng.normal(size=(30, 8))
    z = latent[rng.integers(0, 30, 3000)] + rng.normal(scale=0.3, size=(3000, 8))
    x = (z @ rng.normal(size=(8, 64)) + rng.normal(scale=0.05, size=(3000, 64))).astype(
        np.float32
    )  # low-rank, like customer vectors
    ids = [f"c{i}" for i in range(len(x))]
    exact = SimilarityIndex.build(ids, x, kind="flat")
    pca = SimilarityIndex.build(ids, x, kind="hnsw-pca", pca_dim=16, ef_search=64)
    assert pca.kind == "hnsw-pca" and pca.dim == 64 and pca.ef_search == 64 and pca.nprobe is None
    e_ids, e_scores = exact.search(x[:100], 10)
    a_ids, a_scores = pca.search(x[:100], 10)
    assert np.mean([len(set(e) & set(a)) / 10 for e, a in zip(e_ids, a_ids)]) >= 0.95
    # Re-ranked on the stored full vectors: a found neighbour's score is its exact cosine.
    xn = exact.vectors()
    for row, (found, scores) in enumerate(zip(a_ids[:5], a_scores[:5])):
        np.testing.assert_allclose(scores, [xn[row] @ xn[ids.index(f)] for f in found], atol=1e-5)
    np.testing.assert_allclose(pca.vectors(), xn, atol=1e-6)
    pca.ef_search, pca.refine_factor = 32, 8
    pca.save(tmp_path / "idx")
    back = SimilarityIndex.load(tmp_path / "idx")
    assert back.kind == "hnsw-pca" and back.ef_search == 32 and back.refine_factor == 8 and len(back) == 3000
    with pytest.raises(SimilarityIndexError, match="hnsw-pca"):
        exact.refine_factor = 2
    assert back.neighbours_of("c3", 5)[0] == pca.neighbours_of("c3", 5)[0]


def test_customer_vectors_with_a_column_nobody_has_stay_finite_and_quiet():
    import warnings

    import pandas as pd

    from service.similarity import CustomerVectorizer, _slog

    tab = pd.DataFrame({"frequency": [1.0, 3.0, 8.0], "days_between_orders": [np.nan, np.nan, np.nan]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "Mean of empty slice" used to reach the training output
        vec = CustomerVectorizer().fit(tab)
    assert vec.mean_[1] == 0.0 and vec.std_[1] == 1.0
    assert vec.mean_[0] == pytest.approx(np.mean(_slog(np.array([1.0, 3.0, 8.0]))))
    assert json.loads(json.dumps(vec.to_dict(), allow_nan=False))  # no NaN in the bundle
    out = vec.transform(tab, {})
    assert np.isfinite(out).all() and np.allclose(np.linalg.norm(out, axis=1), 1.0)
