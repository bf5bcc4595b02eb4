"""Row-wise linear algebra whose answer for a row depends on that row alone.

BLAS (numpy's ``@``) chooses its kernel, blocking and threading from the shape of the whole matrix:
a (1 x 384) @ (384 x 8) product runs as a matrix-vector kernel, a (500 x 384) one as a blocked
matrix-matrix kernel, and the two add the same products in different orders. So a customer's text
PCA components, ridge scores or SHAP family sums came out a few ulps apart depending on how many
other customers were scored with it; a float32 PCA component off by 1e-7 was enough to cross an
XGBoost split (issue 10: a 100% difference between a Dask partition and the single-machine run).

Here every output element is a plain left-to-right sum over the columns, computed in float64 with
elementwise numpy operations (each correctly rounded; numpy's ufuncs do not fuse multiply-add).
The result for a row is therefore the same bits whatever the other rows are, how many there are,
where the row sits and how the rows are chunked. Vectorised over rows: the Python loop runs over
the columns (a few hundred at most), never over customers.
"""

from __future__ import annotations

import numpy as np

__all__ = ["matmul_rows", "row_norms"]

# Rows per block: keeps the (k x block) accumulators in cache; any value gives the same bits.
BLOCK_ROWS = 4096
# Up to this many rows, the products are formed at once and summed by an accumulate (same bits, see _few_rows).
FEW_ROWS = 32


def _columns_first(X: np.ndarray, start: int, stop: int, offset: np.ndarray | None) -> np.ndarray:
    """Rows ``start:stop`` of X as float64, transposed to (d, m) so each column is contiguous; ``offset`` subtracted."""
    block = np.asarray(X[start:stop], dtype=np.float64)
    if offset is not None:
        block = block - offset
    return np.ascontiguousarray(block.T)


def matmul_rows(X, W, offset=None) -> np.ndarray:
    """``(X - offset) @ W`` in float64: (n, d) @ (d, k) -> (n, k), each element summed over d in column order.

    ``offset`` (length d, optional) is subtracted from every row first (PCA centring) without a
    float64 copy of the whole of X. NaN in a row gives NaN in that row only.
    """
    X = np.asarray(X)
    W = np.asarray(W, dtype=np.float64)
    if X.ndim != 2 or W.ndim != 2 or X.shape[1] != W.shape[0]:
        raise ValueError(f"cannot multiply shapes {X.shape} and {W.shape}")
    off = None if offset is None else np.asarray(offset, dtype=np.float64).reshape(-1)
    if off is not None and off.shape != (X.shape[1],):
        raise ValueError(f"offset must have length {X.shape[1]}, got {off.shape}")
    n, d = X.shape
    k = W.shape[1]
    if n <= FEW_ROWS:
        return _few_rows(_columns_first(X, 0, n, off).T, W)
    out = np.zeros((n, k), dtype=np.float64)
    for start in range(0, n, BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, n)
        cols = _columns_first(X, start, stop, off)  # (d, m)
        acc = np.zeros((k, stop - start))
        term = np.empty_like(acc)
        for j in range(d):
            np.multiply(W[j][:, None], cols[j][None, :], out=term)
            np.add(acc, term, out=acc)
        out[start:stop] = acc.T
    return out


def _few_rows(X: np.ndarray, W: np.ndarray) -> np.ndarray:
    """``matmul_rows`` for a few rows, the same bits without a Python loop over the columns.

    Every product is formed at once (n x d x k, small here) and summed by ``np.add.accumulate``, which adds strictly
    left to right like the loop; the loop starts from +0.0, and 0.0 + -0.0 is +0.0, so the first term gets + 0.0.
    One customer's text columns took ~1 ms per head with the column loop (POST /v1/score)."""
    terms = X[:, :, None] * W[None, :, :]
    if terms.shape[1] == 0:
        return np.zeros((X.shape[0], W.shape[1]))
    terms[:, 0, :] += 0.0
    return np.add.accumulate(terms, axis=1)[:, -1, :]


def row_norms(X) -> np.ndarray:
    """Euclidean norm of each row, float64, the squares summed in column order (see the module docstring)."""
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-d, got shape {X.shape}")
    n, d = X.shape
    if n <= FEW_ROWS:
        return np.sqrt(_few_rows(np.square(np.asarray(X, dtype=np.float64)), np.ones((d, 1)))[:, 0])
    out = np.zeros(n, dtype=np.float64)
    for start in range(0, n, BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, n)
        cols = _columns_first(X, start, stop, None)
        acc = np.zeros(stop - start)
        term = np.empty_like(acc)
        for j in range(d):
            np.multiply(cols[j], cols[j], out=term)
            np.add(acc, term, out=acc)
        out[start:stop] = np.sqrt(acc)
    return out
