"""PCA reduction of text vectors to a few features for the tabular model.

Fitted with scikit-learn, but only plain arrays are kept and saved (``.npz``, no pickle): loading
a model bundle never executes code. ``transform`` projects each row on its own
(``embeddings.rowwise``), so a customer's components are the same bits scored alone or in any batch.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from embeddings.rowwise import matmul_rows

__all__ = ["TextReducer"]

_FORMAT_VERSION = 1
_FIELDS = (
    "format_version",
    "n_components",
    "n_components_",
    "n_features_in_",
    "random_state",
    "components_",
    "mean_",
    "explained_variance_",
    "explained_variance_ratio_",
)


class TextReducer:
    """PCA to ``n_components`` columns, always exactly that many.

    With fewer informative directions than requested (few rows, or a tiny input dim) the effective
    ``n_components_`` is smaller and the output is zero-padded, so the feature list stays stable
    whatever the training data size.
    """

    def __init__(self, n_components: int = 8, random_state: int | None = 0):
        if isinstance(n_components, bool) or not isinstance(n_components, (int, np.integer)) or n_components < 1:
            raise ValueError(f"n_components must be a positive integer, got {n_components!r}")
        self.n_components = int(n_components)
        self.random_state = random_state
        self.components_: np.ndarray | None = None

    # -- fitting ------------------------------------------------------------------------------

    @staticmethod
    def _check_X(X, what: str = "X") -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"{what} must be 2-d (n_samples, n_features), got shape {X.shape}")
        if not np.issubdtype(X.dtype, np.number):
            raise ValueError(f"{what} must be numeric, got dtype {X.dtype}")
        if not np.isfinite(X).all():
            raise ValueError(f"{what} contains NaN or infinite values")
        # float32 stays float32: pooled vectors for a million customers are 1.5 GB, a float64 copy twice that.
        return X if X.dtype in (np.float32, np.float64) else X.astype(np.float64)

    def fit(self, X) -> TextReducer:
        X = self._check_X(X)
        n, d = X.shape
        if n == 0 or d == 0:
            raise ValueError(f"cannot fit on an empty array of shape {X.shape}")
        # n centred rows span at most n-1 directions; more components would be arbitrary noise.
        k = min(self.n_components, n - 1, d)
        self.mean_ = X.mean(axis=0, dtype=np.float64)
        if k == 0:
            self.components_ = np.zeros((0, d))
            self.explained_variance_ = np.zeros(0)
            self.explained_variance_ratio_ = np.zeros(0)
        else:
            from sklearn.decomposition import PCA  # lazy: sklearn import is slow

            pca = PCA(n_components=k, random_state=self.random_state).fit(X)
            self.components_ = pca.components_.astype(np.float64)
            self.mean_ = pca.mean_.astype(np.float64)
            self.explained_variance_ = pca.explained_variance_.astype(np.float64)
            self.explained_variance_ratio_ = np.nan_to_num(pca.explained_variance_ratio_.astype(np.float64))
        self.n_components_ = k
        self.n_features_in_ = d
        return self

    def transform(self, X) -> np.ndarray:
        """Project onto the fitted components: float32 ``(n, n_components)``, zero-padded past ``n_components_``."""
        if self.components_ is None:
            raise RuntimeError("TextReducer is not fitted; call fit() or load() first")
        X = self._check_X(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features but the reducer was fitted on {self.n_features_in_}")
        out = np.zeros((X.shape[0], self.n_components), dtype=np.float32)
        # Not ``(X - mean) @ components.T``: BLAS rounds differently for other row counts (see embeddings.rowwise).
        out[:, : self.n_components_] = matmul_rows(X, self.components_.T, offset=self.mean_)
        return out

    def fit_transform(self, X) -> np.ndarray:
        return self.fit(X).transform(X)

    def get_feature_names_out(self, prefix: str = "text_pc") -> list[str]:
        return [f"{prefix}{i}" for i in range(self.n_components)]

    # -- persistence --------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted arrays to ``path`` (exactly that name) atomically: temp file, then rename."""
        if self.components_ is None:
            raise RuntimeError("TextReducer is not fitted; nothing to save")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {
            "format_version": np.int64(_FORMAT_VERSION),
            "n_components": np.int64(self.n_components),
            "n_components_": np.int64(self.n_components_),
            "n_features_in_": np.int64(self.n_features_in_),
            # -1 stands for "not an int" (None or a RandomState): only needed to refit, never to transform.
            "random_state": np.int64(
                self.random_state if isinstance(self.random_state, (int, np.integer)) and self.random_state >= 0 else -1
            ),
            "components_": self.components_,
            "mean_": self.mean_,
            "explained_variance_": self.explained_variance_,
            "explained_variance_ratio_": self.explained_variance_ratio_,
        }
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:  # a file object, so numpy does not append ".npz"
                np.savez(fh, **arrays)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> TextReducer:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"text reducer file {path} does not exist")
        try:
            z = np.load(path, allow_pickle=False)
            if not isinstance(z, np.lib.npyio.NpzFile):
                raise ValueError("not an .npz archive")
            with z:
                a = {f: z[f] for f in _FIELDS if f in z.files}
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise ValueError(f"text reducer file {path} is not a readable reducer .npz ({exc})") from exc
        missing = [f for f in _FIELDS if f not in a]
        if missing:
            raise ValueError(f"text reducer file {path} is incomplete: missing {', '.join(missing)}")
        if int(a["format_version"]) != _FORMAT_VERSION:
            raise ValueError(
                f"text reducer file {path} has format version {int(a['format_version'])}, expected {_FORMAT_VERSION}"
            )
        k, d, n_req = int(a["n_components_"]), int(a["n_features_in_"]), int(a["n_components"])
        if (
            a["components_"].shape != (k, d)
            or a["mean_"].shape != (d,)
            or a["explained_variance_"].shape != (k,)
            or a["explained_variance_ratio_"].shape != (k,)
            or not 0 <= k <= n_req
            or n_req < 1
        ):
            raise ValueError(f"text reducer file {path} has inconsistent array shapes")
        rs = int(a["random_state"])
        self = cls(n_components=n_req, random_state=None if rs == -1 else rs)
        self.n_components_, self.n_features_in_ = k, d
        self.components_ = a["components_"].astype(np.float64)
        self.mean_ = a["mean_"].astype(np.float64)
        self.explained_variance_ = a["explained_variance_"].astype(np.float64)
        self.explained_variance_ratio_ = a["explained_variance_ratio_"].astype(np.float64)
        return self

    def __repr__(self) -> str:
        fitted = f", fitted: {self.n_components_} of {self.n_features_in_}-d" if self.components_ is not None else ""
        return f"TextReducer(n_components={self.n_components}, random_state={self.random_state}{fitted})"
