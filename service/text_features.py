"""Review and browsing text as features: embed every text once, pool per customer at a cutoff, reduce.

Texts are embedded through the content-hash cache, so snapshots at several cutoffs (and re-runs)
never embed the same text twice. Pooling is a recency-weighted mean, because what a customer
wrote or browsed last month says more about the next quarter than what they did two years ago.
Customers without any text get NaN components (XGBoost's explicit missing branch) and a count of 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from embeddings.pooling import pool_indexed, recency_weights
from embeddings.reducer import TextReducer
from embeddings.rowwise import matmul_rows

SOURCES = {"review": ("reviews", "review_ts"), "browse": ("events", "event_ts")}
DEFAULT_HALF_LIFE_DAYS = 180.0


@dataclass
class PooledText:
    """Pooled, L2-normalised vectors per customer for one source; rows without text are NaN."""

    vectors: np.ndarray  # (n_customers, dim)
    counts: np.ndarray  # number of texts pooled


class TextEmbeddings:
    """All texts of the run, embedded once; pooled on demand at any cutoff.

    Vectors are held once per distinct text (rows carry an integer code): at 100k customers the
    1.2M browsing rows are ~50k distinct texts, and a per-row copy of the vectors took gigabytes.
    """

    def __init__(
        self,
        tables: dict[str, pd.DataFrame],
        encoder,
        sources=("review", "browse"),
        half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
    ):
        self.half_life_days = half_life_days
        self.sources = tuple(sources)
        self._rows: dict[str, pd.DataFrame] = {}
        self._vectors: dict[str, np.ndarray] = {}  # per distinct text
        self._text_codes: dict[str, np.ndarray] = {}  # per row: index into _vectors
        # per row: index into _customers (pooling looks up each distinct customer once, not each of its rows)
        self._customer_codes: dict[str, np.ndarray] = {}
        self._customers: dict[str, pd.Index] = {}
        self.dim = encoder.dim
        for src in self.sources:
            table, ts_col = SOURCES[src]
            df = tables[table]
            rows = pd.DataFrame(
                {
                    "customer_id": df["customer_id"].astype(str).to_numpy(),
                    "ts": pd.to_datetime(df[ts_col], utc=True).dt.tz_localize(None).to_numpy(),
                    "text": df["text"].astype(str).to_numpy(),
                }
            )
            self._rows[src] = rows
            customer_codes, customers = pd.factorize(rows["customer_id"])
            self._customer_codes[src], self._customers[src] = customer_codes.astype(np.int64), customers
            # Distinct texts numbered in sorted order, not order of appearance: pooling adds a customer's texts in
            # code order, and that order must not depend on which other customers' rows came first.
            codes, distinct = pd.factorize(rows["text"], sort=True)
            self._text_codes[src] = codes.astype(np.int64)
            self._vectors[src] = (
                encoder.encode(distinct.tolist()) if len(distinct) else np.zeros((0, self.dim), np.float32)
            )

    def texts_of(self, src: str) -> pd.DataFrame:
        return self._rows[src]

    def pooled(self, src: str, customer_ids: pd.Series | np.ndarray, cutoff: pd.Timestamp) -> PooledText:
        """Recency-weighted mean vector of each customer's texts at or before ``cutoff``."""
        ids = np.asarray(customer_ids, dtype=object).astype(str)
        out = np.full((len(ids), self.dim), np.nan, dtype=np.float32)
        counts = np.zeros(len(ids), dtype=np.float64)
        rows = self._rows[src]
        if len(rows) == 0:
            return PooledText(out, counts)
        ts = rows["ts"].to_numpy()
        cut = pd.Timestamp(cutoff)
        keep = ts <= np.datetime64((cut.tz_convert("UTC") if cut.tzinfo else cut).tz_localize(None))
        # Rows of customers asked for, at or before the cutoff; positions in ``ids`` are the pooling keys.
        pos = pd.Index(ids).get_indexer(self._customers[src])[self._customer_codes[src]]
        keep &= pos >= 0
        if not keep.any():
            return PooledText(out, counts)
        ages = (cutoff - pd.to_datetime(ts[keep], utc=True)).total_seconds().to_numpy() / 86400.0
        pooled = pool_indexed(
            pos[keep],
            len(ids),
            self._text_codes[src][keep],
            self._vectors[src],
            weights=recency_weights(ages, self.half_life_days),
        )
        counts = np.bincount(pos[keep], minlength=len(ids)).astype(np.float64)
        has = counts > 0
        out[has] = pooled[has]
        return PooledText(out, counts)


def ridge_loo(X: np.ndarray, Y: np.ndarray, alphas) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ridge with an intercept, the penalty chosen per target by exact leave-one-out error: (coef p x t,
    intercept t, alpha t).

    The same estimator as scikit-learn's ``RidgeCV(alphas)`` on rows > features (its "cov" mode: eigendecomposition
    of the centered X'X, closed-form leave-one-out residuals), arranged so that the expensive products are shared:
    one ``X V`` per fit serves every penalty and every target, where RidgeCV multiplies ``X`` by a p x p matrix once
    per penalty and decomposes again per target (7-14x the work on the text heads' ~200k x 384 panel).
    """
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64).reshape(len(X), -1)
    x_mean, y_mean = X.mean(axis=0), Y.mean(axis=0)
    Xc, Yc = X - x_mean, Y - y_mean
    eigvals, V = np.linalg.eigh(Xc.T @ Xc)
    XV = Xc @ V
    del Xc
    XV2 = XV * XV
    VtXtY = XV.T @ Yc
    n = len(X)
    best_err = np.full(Y.shape[1], np.inf)
    coef = np.zeros((X.shape[1], Y.shape[1]))
    best_alpha = np.zeros(Y.shape[1])
    for alpha in alphas:
        D = 1.0 / (eigvals + alpha)
        # Hat matrix diagonal of the centered problem, plus the intercept's 1/n.
        leverage = XV2 @ D + 1.0 / n
        residual = Yc - XV @ (D[:, None] * VtXtY)
        err = np.mean((residual / (1.0 - leverage)[:, None]) ** 2, axis=0)
        better = err < best_err
        if better.any():
            best_err[better], best_alpha[better] = err[better], alpha
            coef[:, better] = V @ (D[:, None] * VtXtY[:, better])
    return coef, y_mean - x_mean @ coef, best_alpha


def ridge_out_of_fold(X: np.ndarray, Y: np.ndarray, alpha: np.ndarray, splits) -> np.ndarray:
    """Out-of-fold predictions (n x t) of ridge with an intercept and the penalty ``alpha[t]`` per target, for the
    (train, test) row index pairs of ``splits`` (a partition of the rows).

    Every fold's training Gram matrix is the whole one minus the fold's own (``X'X`` summed over the other folds),
    so the rows are multiplied once in all, where refitting each fold multiplies its 80% of them again: 3 products
    of X instead of 10 on the text heads' ~200k x 384 panel. The penalty is the one leave-one-out chose on all rows
    (one number per target out of six; choosing it again inside each fold is what needed each fold's X V).
    """
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64).reshape(len(X), -1)
    folds = [np.asarray(te) for _, te in splits]
    parts = []
    for te in folds:
        Xf, Yf = X[te], Y[te]
        parts.append((len(te), Xf.T @ Xf, Xf.sum(axis=0), Xf.T @ Yf, Yf.sum(axis=0)))
    n, S, sx, XtY, sy = (sum(part[k] for part in parts) for k in range(5))
    eye = np.eye(X.shape[1])
    oof = np.empty(Y.shape)
    for te, (n_f, S_f, sx_f, XtY_f, sy_f) in zip(folds, parts):
        n_tr = n - n_f
        x_mean, y_mean = (sx - sx_f) / n_tr, (sy - sy_f) / n_tr
        gram = (S - S_f) - n_tr * np.outer(x_mean, x_mean)
        cross = (XtY - XtY_f) - n_tr * np.outer(x_mean, y_mean)
        coef = np.empty((X.shape[1], Y.shape[1]))
        for a in np.unique(alpha):
            cols = np.flatnonzero(alpha == a)
            coef[:, cols] = np.linalg.solve(gram + a * eye, cross[:, cols])
        oof[te] = X[te] @ coef + (y_mean - x_mean @ coef)
    return oof


def fit_heads_oof(
    X: np.ndarray, Y: np.ndarray, alphas, n_folds: int = 5, seed: int = 0, groups=None
) -> tuple[list[TextHead], np.ndarray]:
    """Ridge heads for the columns of ``Y`` fitted on all rows, and their out-of-fold scores (n x t).

    ``groups`` (customer ids) keep each customer's rows in one fold: a customer appears in several panel
    snapshots with overlapping target windows, and a head that saw the customer's other rows would recall
    their future.
    """
    from sklearn.model_selection import GroupKFold, KFold
    from threadpoolctl import threadpool_limits

    # float64 once here: ridge_loo and ridge_out_of_fold then take it as it is (each converted a copy of its own)
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64).reshape(len(X), -1)
    # One BLAS thread: the products were 2.5-7x slower with OpenBLAS's 2 threads than with 1 on the shared 2-core
    # machine (its threads wait on each other when another process holds a core); one thread also gives the same
    # bits on any core count.
    with threadpool_limits(limits=1, user_api="blas"):
        coef, intercept, alpha = ridge_loo(X, Y, alphas)
        heads = [TextHead(coef[:, t], float(intercept[t])) for t in range(Y.shape[1])]
        if groups is not None:
            # Integer codes in the ids' sorted order: GroupKFold then draws the very same folds, but its np.isin runs
            # sorted on integers instead of one pass over all rows per customer id (object arrays): that was
            # rows x customers comparisons, most of training at 100k customers.
            groups = np.unique(np.asarray(groups, dtype=object), return_inverse=True)[1].reshape(-1)
        if groups is not None and len(np.unique(groups)) >= n_folds:
            splits = GroupKFold(n_splits=n_folds, shuffle=True, random_state=seed).split(X, groups=groups)
        else:
            splits = KFold(n_splits=min(n_folds, len(Y)), shuffle=True, random_state=seed).split(X)
        oof = ridge_out_of_fold(X, Y, alpha, splits)
    return heads, oof


class TextHead:
    """A ridge regression from a pooled text vector to one target: a supervised one-number summary.

    PCA keeps the directions of largest variance, which are mostly topic (what people buy); the
    directions that predict value or churn (bulk/business intent, delivery complaints) can be small.
    A ridge head finds them. Its training-row outputs are out-of-fold, so XGBoost never sees a score
    that was fitted on the very row it is learning from.
    """

    ALPHAS = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)

    def __init__(self, coef: np.ndarray | None = None, intercept: float = 0.0):
        self.coef_ = None if coef is None else np.asarray(coef, dtype=np.float64)
        self.intercept_ = float(intercept)

    def fit_oof(self, X: np.ndarray, y: np.ndarray, n_folds: int = 5, seed: int = 0, groups=None) -> np.ndarray:
        """Fit on all rows; return out-of-fold scores for them (``fit_heads_oof`` with one target)."""
        (head,), oof = fit_heads_oof(X, y, self.ALPHAS, n_folds, seed, groups)
        self.coef_, self.intercept_ = head.coef_, head.intercept_
        return oof[:, 0]

    def predict(self, X: np.ndarray) -> np.ndarray:
        # Row by row, not ``X @ coef``: a customer's score must not depend on the batch (embeddings.rowwise).
        return matmul_rows(X, np.asarray(self.coef_, np.float64).reshape(-1, 1))[:, 0] + self.intercept_


HEAD_TARGETS = ("value", "churn")  # log1p(future spend), and no-purchase (0/1)


class TextFeaturizer:
    """Per text source: a count, PCA components (unsupervised) and ridge scores for value and churn (supervised).

    ``fit_transform`` returns the training rows' features with out-of-fold head scores; ``transform``
    serves every later snapshot with the heads fitted on all training rows.
    """

    def __init__(self, n_components: int = 8, sources=("review", "browse"), random_state: int = 0):
        self.n_components = n_components
        self.sources = tuple(sources)
        self.random_state = random_state
        self.reducers_: dict[str, TextReducer] = {}
        self.heads_: dict[str, TextHead] = {}

    def feature_names(self) -> list[str]:
        names = []
        for src in self.sources:
            names.append(f"n_{src}_texts")
            names += [f"{src}_text_{i}" for i in range(self.n_components)]
            names += [f"{src}_text_{t}_score" for t in HEAD_TARGETS]
        return names

    def fit_transform(
        self, pooled: dict[str, PooledText], y_value: np.ndarray, y_churn: np.ndarray, groups=None
    ) -> pd.DataFrame:
        targets = {"value": np.log1p(np.asarray(y_value, float)), "churn": np.asarray(y_churn, float)}
        oof: dict[str, dict[str, np.ndarray]] = {}
        for src in self.sources:
            p = pooled[src]
            has = p.counts > 0
            reducer = TextReducer(n_components=self.n_components, random_state=self.random_state)
            if has.sum() >= 10:  # too few texts to learn anything: the source stays missing (NaN)
                reducer.fit(p.vectors[has])
                self.reducers_[src] = reducer
                # Both targets' heads from one pass over the rows: they share the folds and every product of X.
                heads, scores = fit_heads_oof(
                    p.vectors[has],
                    np.column_stack([targets[t][has] for t in HEAD_TARGETS]),
                    TextHead.ALPHAS,
                    seed=self.random_state,
                    groups=None if groups is None else np.asarray(groups, dtype=object)[has],
                )
                for k, t in enumerate(HEAD_TARGETS):
                    self.heads_[f"{src}_{t}"] = heads[k]
                    oof.setdefault(src, {})[t] = np.full(len(has), np.nan)
                    oof[src][t][has] = scores[:, k]
        return self._features(pooled, oof)

    def transform(self, pooled: dict[str, PooledText]) -> pd.DataFrame:
        return self._features(pooled, None)

    def _features(self, pooled: dict[str, PooledText], oof: dict | None) -> pd.DataFrame:
        cols: dict[str, np.ndarray] = {}
        for src in self.sources:
            p = pooled[src]
            n = len(p.counts)
            has = p.counts > 0
            comps = np.full((n, self.n_components), np.nan)
            if src in self.reducers_ and has.any():
                comps[has] = self.reducers_[src].transform(p.vectors[has])
            cols[f"n_{src}_texts"] = p.counts
            for i in range(self.n_components):
                cols[f"{src}_text_{i}"] = comps[:, i]
            for t in HEAD_TARGETS:
                scores = np.full(n, np.nan)
                if oof is not None and src in oof:
                    scores = oof[src][t]
                elif f"{src}_{t}" in self.heads_ and has.any():
                    scores[has] = self.heads_[f"{src}_{t}"].predict(p.vectors[has])
                cols[f"{src}_text_{t}_score"] = scores
        return pd.DataFrame(cols)

    def save(self, directory: Path) -> dict:
        for src, reducer in self.reducers_.items():
            reducer.save(directory / f"reducer_{src}.npz")
        if self.heads_:
            # Any: numpy's stub checks ``**arrays`` against ``allow_pickle: bool`` as well as the arrays
            arrays: dict[str, Any] = {
                **{f"{k}__coef": h.coef_ for k, h in self.heads_.items()},
                **{f"{k}__intercept": np.float64(h.intercept_) for k, h in self.heads_.items()},
            }
            np.savez(directory / "text_heads.npz", **arrays)
        return {
            "n_components": self.n_components,
            "sources": list(self.sources),
            "fitted": sorted(self.reducers_),
            "heads": sorted(self.heads_),
        }

    @classmethod
    def load(cls, directory: Path, spec: dict) -> TextFeaturizer:
        f = cls(n_components=spec["n_components"], sources=tuple(spec["sources"]))
        for src in spec["fitted"]:
            f.reducers_[src] = TextReducer.load(directory / f"reducer_{src}.npz")
        if spec.get("heads"):
            with np.load(directory / "text_heads.npz", allow_pickle=False) as z:
                for k in spec["heads"]:
                    f.heads_[k] = TextHead(z[f"{k}__coef"], float(z[f"{k}__intercept"]))
        return f
