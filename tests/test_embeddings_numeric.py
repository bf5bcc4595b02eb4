"""Per-key pooling, recency weights and the PCA text reducer."""

from __future__ import annotations

import numpy as np
import pytest

from embeddings import TextReducer, pool_by_key, recency_weights

# ----------------------------------------------------------------------------- pooling


def test_pool_by_key_matches_hand_computation():
    keys = ["b", "a", "b", "a", "c"]
    vectors = np.array([[1, 0], [0, 1], [0, 1], [1, 1], [3, 4]], dtype=np.float32)
    weights = np.array([3.0, 1.0, 1.0, 1.0, 2.0])
    uniq, pooled = pool_by_key(keys, vectors, weights)
    assert uniq.tolist() == ["a", "b", "c"]
    # a: ([0,1] + [1,1]) / 2 = [.5, 1]      -> / sqrt(1.25)
    # b: (3*[1,0] + 1*[0,1]) / 4 = [.75,.25] -> / sqrt(.625)
    # c: [3,4]                               -> [.6, .8]
    expected = np.array([[0.5, 1.0] / np.sqrt(1.25), [0.75, 0.25] / np.sqrt(0.625), [0.6, 0.8]])
    np.testing.assert_allclose(pooled, expected, rtol=1e-6)
    assert pooled.dtype == np.float32

    _, means = pool_by_key(keys, vectors, weights, normalize=False)
    np.testing.assert_allclose(means, [[0.5, 1.0], [0.75, 0.25], [3.0, 4.0]], rtol=1e-6)
    _, plain = pool_by_key(keys, vectors, normalize=False)
    np.testing.assert_allclose(plain[1], [0.5, 0.5])


def test_pool_by_key_edge_cases():
    uniq, pooled = pool_by_key(np.array([7, 3, 7]), np.array([[1.0, 0], [0, 2], [1, 0]]), weights=[0, 0, 0])
    assert uniq.tolist() == [3, 7]
    np.testing.assert_array_equal(pooled, 0)  # all-zero weights -> zero row, never NaN
    uniq, pooled = pool_by_key([], np.zeros((0, 5)))
    assert len(uniq) == 0 and pooled.shape == (0, 5)
    _, pooled = pool_by_key(["a", "a"], np.array([[1.0, 0], [-1, 0]]))  # cancelling vectors
    np.testing.assert_array_equal(pooled, 0)


def test_pool_by_key_large_input_agrees_with_loop():
    rng = np.random.default_rng(1)
    keys = rng.integers(0, 300, size=20_000)
    vectors = rng.standard_normal((20_000, 16)).astype(np.float32)
    weights = rng.random(20_000)
    uniq, pooled = pool_by_key(keys, vectors, weights)
    for j in (0, 17, 299):
        m = keys == uniq[j]
        ref = (vectors[m] * weights[m, None]).sum(0)
        np.testing.assert_allclose(pooled[j], ref / np.linalg.norm(ref), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(keys=["a"], vectors=np.ones((2, 3))), "length"),
        (dict(keys=["a", "b"], vectors=np.ones(2)), "2-d"),
        (dict(keys=["a", "b"], vectors=np.array([[1.0], [np.nan]])), "finite"),
        (dict(keys=["a", "b"], vectors=np.ones((2, 3)), weights=[1.0, -1.0]), "non-negative"),
        (dict(keys=["a", "b"], vectors=np.ones((2, 3)), weights=[1.0]), "shape"),
        (dict(keys=np.array(["a", None], dtype=object), vectors=np.ones((2, 3))), "comparable"),
    ],
)
def test_pool_by_key_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        pool_by_key(**kwargs)


def test_recency_weights():
    np.testing.assert_allclose(recency_weights([0, 30, 60, 15], half_life_days=30), [1, 0.5, 0.25, 2**-0.5])
    with pytest.raises(ValueError, match="negative"):
        recency_weights([1, -2], 30)
    with pytest.raises(ValueError, match="half_life"):
        recency_weights([1], 0)
    with pytest.raises(ValueError, match="NaN"):
        recency_weights([np.nan], 10)


# ----------------------------------------------------------------------------- reducer


@pytest.fixture
def X():
    rng = np.random.default_rng(0)
    # Low-rank structure plus noise, like pooled sentence vectors.
    return (
        rng.standard_normal((200, 5)) @ rng.standard_normal((5, 32)) + 0.05 * rng.standard_normal((200, 32))
    ).astype(np.float32)


def test_reducer_matches_sklearn_pca(X):
    from sklearn.decomposition import PCA

    red = TextReducer(n_components=4).fit(X)
    out = red.transform(X)
    assert out.shape == (200, 4) and out.dtype == np.float32 and red.n_components_ == 4
    ref = PCA(n_components=4, random_state=0).fit(X).transform(X)
    np.testing.assert_allclose(out, ref, rtol=1e-3, atol=1e-3)
    assert red.explained_variance_ratio_.sum() > 0.8
    assert red.get_feature_names_out() == ["text_pc0", "text_pc1", "text_pc2", "text_pc3"]


def test_reducer_save_load_round_trip(X, tmp_path):
    red = TextReducer(n_components=6, random_state=3).fit(X)
    path = red.save(tmp_path / "bundle" / "text_reducer.npz")
    assert path == tmp_path / "bundle" / "text_reducer.npz" and path.is_file()
    assert [p.name for p in path.parent.iterdir()] == ["text_reducer.npz"]  # no temp file left behind
    with np.load(path, allow_pickle=False) as z:  # plain arrays only
        assert "components_" in z.files
    loaded = TextReducer.load(path)
    np.testing.assert_array_equal(loaded.transform(X), red.transform(X))
    assert (loaded.n_components, loaded.n_components_, loaded.n_features_in_, loaded.random_state) == (6, 6, 32, 3)

    # The exact name is kept, whatever the suffix.
    other = red.save(tmp_path / "reducer.bin")
    np.testing.assert_array_equal(TextReducer.load(other).transform(X[:3]), red.transform(X[:3]))


def test_reducer_fewer_rows_than_components(X):
    red = TextReducer(n_components=8).fit(X[:3])
    assert red.n_components_ == 2  # 3 centred rows span 2 directions
    out = red.transform(X[:10])
    assert out.shape == (10, 8)
    np.testing.assert_array_equal(out[:, 2:], 0)
    assert np.abs(out[:, :2]).sum() > 0

    one = TextReducer(n_components=8).fit(X[:1])
    assert one.n_components_ == 0
    np.testing.assert_array_equal(one.transform(X[:4]), np.zeros((4, 8)))

    narrow = TextReducer(n_components=8).fit(X[:, :3])
    assert narrow.n_components_ == 3 and narrow.transform(X[:2, :3]).shape == (2, 8)


def test_reducer_errors(X, tmp_path):
    with pytest.raises(RuntimeError, match="not fitted"):
        TextReducer().transform(X)
    with pytest.raises(RuntimeError, match="not fitted"):
        TextReducer().save(tmp_path / "r.npz")
    bad = X.copy()
    bad[3, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        TextReducer().fit(bad)
    red = TextReducer(n_components=2).fit(X)
    with pytest.raises(ValueError, match="NaN"):
        red.transform(bad)
    with pytest.raises(ValueError, match=r"31.*32"):
        red.transform(X[:, :31])
    with pytest.raises(ValueError, match="2-d"):
        red.transform(X[0])
    with pytest.raises(ValueError, match="empty"):
        TextReducer().fit(np.zeros((0, 4)))
    with pytest.raises(ValueError, match="n_components"):
        TextReducer(n_components=0)


def test_reducer_load_rejects_bad_files(X, tmp_path):
    with pytest.raises(FileNotFoundError):
        TextReducer.load(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="junk.npz"):
        TextReducer.load(junk)
    partial = tmp_path / "partial.npz"
    np.savez(partial, components_=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="missing"):
        TextReducer.load(partial)
    path = TextReducer(n_components=2).fit(X).save(tmp_path / "r.npz")
    with np.load(path) as z:
        arrays = dict(z)
    arrays["mean_"] = arrays["mean_"][:-1]
    np.savez(tmp_path / "shapes.npz", **arrays)
    with pytest.raises(ValueError, match="inconsistent"):
        TextReducer.load(tmp_path / "shapes.npz")
    arrays = dict(np.load(path))
    arrays["components_"] = np.array([object()], dtype=object)
    np.savez(tmp_path / "pickled.npz", **arrays)
    with pytest.raises(ValueError, match="pickled.npz"):
        TextReducer.load(tmp_path / "pickled.npz")
