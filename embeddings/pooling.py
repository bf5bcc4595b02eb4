"""Pool many text vectors into one vector per key (customer), optionally weighted by recency."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from embeddings.rowwise import row_norms

POOL_SLICE_KEYS = 4096  # keys pooled at a time by pool_indexed (12.5 MB of float64 sums at 384 dimensions)

__all__ = ["pool_by_key", "pool_indexed", "recency_weights"]


def pool_by_key(
    keys: np.ndarray | Sequence,
    vectors: np.ndarray,
    weights: np.ndarray | Sequence[float] | None = None,
    *,
    normalize: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean of ``vectors`` per key.

    Returns ``(unique_keys, pooled)``: keys sorted as ``np.unique`` sorts them, and float32
    ``(n_keys, dim)`` rows, re-L2-normalised unless ``normalize=False`` (the raw mean's norm says
    how much a customer's texts agree, which some features may want).  A key whose weights are all
    zero gets a zero row.  Vectorised: rows are grouped with one sort and summed with
    ``np.add.reduceat``, no Python loop over rows.
    """
    keys = np.asarray(keys)
    vectors = np.asarray(vectors)
    if keys.ndim != 1:
        raise ValueError(f"keys must be 1-d, got shape {keys.shape}")
    if vectors.ndim != 2:
        raise ValueError(f"vectors must be 2-d (n, dim), got shape {vectors.shape}")
    n, dim = vectors.shape
    if len(keys) != n:
        raise ValueError(f"keys and vectors disagree on length: {len(keys)} keys, {n} vectors")
    if not np.issubdtype(vectors.dtype, np.number) or not np.isfinite(vectors).all():
        raise ValueError("vectors must be finite numbers (no NaN or inf)")
    if weights is None:
        w = np.ones(n, dtype=np.float64)
    else:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (n,):
            raise ValueError(f"weights must have shape ({n},) to match vectors, got {w.shape}")
        if not np.isfinite(w).all() or (w < 0).any():
            raise ValueError("weights must be finite and non-negative")

    try:
        uniq, inverse = np.unique(keys, return_inverse=True)
    except TypeError as exc:  # e.g. None mixed with str in an object array
        raise ValueError(f"keys must be mutually comparable (e.g. all str): {exc}") from exc
    inverse = inverse.reshape(-1)  # numpy 2.0.x returned inverse in the input's shape
    if n == 0:
        return uniq, np.zeros((0, dim), dtype=np.float32)

    # Group rows by key with one stable sort; every key owns at least one row, so no empty segment.
    order = np.argsort(inverse, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(inverse[order]) != 0])
    ws = w[order]
    sums = np.add.reduceat(vectors[order].astype(np.float64) * ws[:, None], starts, axis=0)
    totals = np.add.reduceat(ws, starts)
    pooled = np.divide(sums, totals[:, None], out=np.zeros_like(sums), where=totals[:, None] > 0)
    if normalize:
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        pooled = np.divide(pooled, norms, out=np.zeros_like(pooled), where=norms > 0)
    return uniq, pooled.astype(np.float32)


def pool_indexed(
    key_codes: np.ndarray,
    n_keys: int,
    item_codes: np.ndarray,
    item_vectors: np.ndarray,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Weighted mean per key of vectors stored once per distinct item, L2-normalised: float32 ``(n_keys, dim)``.

    Row i says "key ``key_codes[i]`` has item ``item_codes[i]`` with weight ``weights[i]``". Texts
    repeat (a browsing page, a stock phrase), so the vectors are kept per distinct text and the
    rows only carry integer codes: the weighted sum is one sparse (keys x items) by dense (items x
    dim) product, and no (rows x dim) array is ever built. Keys without rows, or whose weights are
    all zero, get zero rows.

    A key's result depends on its own rows only, never on the row order or on the other keys, as
    long as item codes are numbered in an order of their own (``TextEmbeddings`` numbers distinct
    texts in sorted order): the weights of repeated (key, item) pairs are added in ascending order,
    then each key's items are added in ascending item code (the sparse product walks a row's
    entries in stored order), and the norm sums the squares in column order.
    """
    from scipy import sparse

    key_codes = np.asarray(key_codes, dtype=np.int64)
    item_codes = np.asarray(item_codes, dtype=np.int64)
    item_vectors = np.asarray(item_vectors, dtype=np.float32)
    n = len(key_codes)
    if item_codes.shape != (n,):
        raise ValueError(f"key_codes and item_codes disagree on length: {n} and {len(item_codes)}")
    if item_vectors.ndim != 2:
        raise ValueError(f"item_vectors must be 2-d (n_items, dim), got shape {item_vectors.shape}")
    if n and (
        key_codes.min() < 0
        or key_codes.max() >= n_keys
        or item_codes.min() < 0
        or item_codes.max() >= len(item_vectors)
    ):
        raise ValueError("key_codes or item_codes out of range")
    w = np.ones(n, dtype=np.float64) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (n,) or not np.isfinite(w).all() or (w < 0).any():
        raise ValueError(f"weights must be {n} finite non-negative numbers")
    # Canonical entries: sorted by (key, item), repeated pairs merged by adding their weights in ascending
    # order. (A COO -> CSR conversion would add duplicates in an order that depends on the input row order.)
    order = np.lexsort((w, item_codes, key_codes))
    keys, items, ws = key_codes[order], item_codes[order], w[order]
    first = (
        np.flatnonzero(np.r_[True, (keys[1:] != keys[:-1]) | (items[1:] != items[:-1])]) if n else np.zeros(0, np.int64)
    )
    data = np.add.reduceat(ws, first) if n else ws
    indptr = np.searchsorted(keys[first], np.arange(n_keys + 1), side="left")
    W = sparse.csr_matrix((data, items[first], indptr), shape=(n_keys, len(item_vectors)))
    vectors64 = item_vectors.astype(np.float64)
    out = np.zeros((n_keys, item_vectors.shape[1]), dtype=np.float32)
    # In slices of keys: each key's row is its own sparse row times the vectors, so slicing changes no number, and a
    # slice's float64 sums stay in cache instead of a (keys x dim) float64 array (600 MB on a 200k-row panel) being
    # zeroed, filled, normalised and copied to float32 in five passes over memory.
    for start in range(0, n_keys, POOL_SLICE_KEYS):
        sums = np.asarray(W[start : start + POOL_SLICE_KEYS] @ vectors64)
        norms = row_norms(sums)[:, None]  # the mean's direction is the sum's: normalise the sum
        np.divide(sums, norms, out=sums, where=norms > 0)
        sums[(norms == 0).ravel()] = 0.0
        out[start : start + POOL_SLICE_KEYS] = sums
    return out


def recency_weights(ages_days: np.ndarray | Sequence[float], half_life_days: float) -> np.ndarray:
    """Exponential-decay weights ``0.5 ** (age / half_life)``: a text ``half_life_days`` old counts half.

    Ages are days before the cutoff; a negative age means a text dated after the cutoff, i.e. a
    leak of future data, so it is an error rather than a weight above one.
    """
    ages = np.asarray(ages_days, dtype=np.float64)
    half_life = float(half_life_days)
    if not np.isfinite(half_life) or half_life <= 0:
        raise ValueError(f"half_life_days must be a positive number, got {half_life_days!r}")
    if not np.isfinite(ages).all():
        raise ValueError("ages_days contain NaN or infinite values")
    if (ages < 0).any():
        n_neg = int((ages < 0).sum())
        raise ValueError(f"{n_neg} ages are negative (texts after the cutoff); filter them out before weighting")
    return np.exp2(-ages / half_life)
