"""Review and browsing text as features: embed every text once, pool per customer at a cutoff, reduce.

Texts are embedded through the content-hash cache, so snapshots at several cutoffs (and re-runs)
never embed the same text twice. Pooling is a recency-weighted mean, because what a customer
wrote or browsed last month says more about the next quarter than what they did two years ago.
Customers without any text get NaN components (XGBoost's explicit missing branch) and a count of 0.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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

    def __init__(self, tables: dict[str, pd.DataFrame], encoder, sources=("review", "browse"),
                 half_life_days: float = DEFAULT_HALF_LIFE_DAYS):
        self.half_life_days = half_life_days
        self.sources = tuple(sources)
        self._rows: dict[str, pd.DataFrame] = {}
        self._vectors: dict[str, np.ndarray] = {}  # per distinct text
        self._text_codes: dict[str, np.ndarray] = {}  # per row: index into _vectors
        self.dim = encoder.dim
        for src in self.sources:
            table, ts_col = SOURCES[src]
            df = tables[table]
            rows = pd.DataFrame({"customer_id": df["customer_id"].astype(str).to_numpy(),
                                 "ts": pd.to_datetime(df[ts_col], utc=True).dt.tz_localize(None).to_numpy(), "text": df["text"].astype(str).to_numpy()})
            self._rows[src] = rows
            # Distinct texts numbered in sorted order, not order of appearance: pooling adds a customer's texts in
            # code order, and that order must not depend on which other customers' rows came first.
            codes, distinct = pd.factorize(rows["text"], sort=True)
            self._text_codes[src] = codes.astype(np.int64)
            self._vectors[src] = encoder.encode(distinct.tolist()) if len(distinct) else np.zeros((0, self.dim), np.float32)

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
        pos = pd.Index(ids).get_indexer(rows["customer_id"].to_numpy())
        keep &= pos >= 0
        if not keep.any():
            return PooledText(out, counts)
        ages = (cutoff - pd.to_datetime(ts[keep], utc=True)).total_seconds().to_numpy() / 86400.0
        pooled = pool_indexed(pos[keep], len(ids), self._text_codes[src][keep], self._vectors[src],
                              weights=recency_weights(ages, self.half_life_days))
        counts = np.bincount(pos[keep], minlength=len(ids)).astype(np.float64)
        has = counts > 0
        out[has] = pooled[has]
        return PooledText(out, counts)


class TextHead:
    """A ridge regression from a pooled text vector to one target: a supervised one-number summary.

    PCA keeps the directions of largest variance, which are mostly topic (what people buy); the
    directions that predict value or churn (bulk/business intent, delivery complaints) can be small.
    A ridge head finds them. Its training-row outputs are out-of-fold, so XGBoost never sees a score
    that was fitted on the very row it is learning from.
    """

    ALPHAS = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)

    def fit_oof(self, X: np.ndarray, y: np.ndarray, n_folds: int = 5, seed: int = 0, groups=None) -> np.ndarray:
        """Fit on all rows; return out-of-fold scores for them. ``groups`` (customer ids) keep each customer's
        rows in one fold: a customer appears in several panel snapshots with overlapping target windows, and a
        head that saw the customer's other rows would recall their future."""
        from sklearn.linear_model import RidgeCV
        from sklearn.model_selection import GroupKFold, KFold
        from threadpoolctl import threadpool_limits

        # One BLAS thread: RidgeCV's SVDs (rows x 385) were 2.5-7x slower with OpenBLAS's 2 threads than with 1 on the
        # shared 2-core machine (its threads wait on each other when another process holds a core), and the heads were
        # the largest training step; one thread also gives the same bits on any core count.
        with threadpool_limits(limits=1, user_api="blas"):
            full = RidgeCV(alphas=self.ALPHAS).fit(X, y)
            self.coef_, self.intercept_ = full.coef_.astype(np.float64), float(full.intercept_)
            oof = np.empty(len(y))
            if groups is not None:
                # Integer codes in the ids' sorted order: GroupKFold then draws the very same folds, but its np.isin runs
                # sorted on integers instead of one pass over all rows per customer id (object arrays): that was
                # rows x customers comparisons, most of training at 100k customers.
                groups = np.unique(np.asarray(groups, dtype=object), return_inverse=True)[1].reshape(-1)
            if groups is not None and len(np.unique(groups)) >= n_folds:
                splits = GroupKFold(n_splits=n_folds, shuffle=True, random_state=seed).split(X, groups=groups)
            else:
                splits = KFold(n_splits=min(n_folds, len(y)), shuffle=True, random_state=seed).split(X)
            for tr, te in splits:
                oof[te] = RidgeCV(alphas=self.ALPHAS).fit(X[tr], y[tr]).predict(X[te])
        return oof

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

    def fit_transform(self, pooled: dict[str, PooledText], y_value: np.ndarray, y_churn: np.ndarray, groups=None) -> pd.DataFrame:
        targets = {"value": np.log1p(np.asarray(y_value, float)), "churn": np.asarray(y_churn, float)}
        oof: dict[str, dict[str, np.ndarray]] = {}
        for src in self.sources:
            p = pooled[src]
            has = p.counts > 0
            reducer = TextReducer(n_components=self.n_components, random_state=self.random_state)
            if has.sum() >= 10:  # too few texts to learn anything: the source stays missing (NaN)
                reducer.fit(p.vectors[has])
                self.reducers_[src] = reducer
                for t in HEAD_TARGETS:
                    head = TextHead()
                    scores = np.full(len(has), np.nan)
                    scores[has] = head.fit_oof(p.vectors[has], targets[t][has], seed=self.random_state,
                                               groups=None if groups is None else np.asarray(groups, dtype=object)[has])
                    self.heads_[f"{src}_{t}"] = head
                    oof.setdefault(src, {})[t] = scores
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
            np.savez(directory / "text_heads.npz", **{f"{k}__coef": h.coef_ for k, h in self.heads_.items()},
                     **{f"{k}__intercept": np.float64(h.intercept_) for k, h in self.heads_.items()})
        return {"n_components": self.n_components, "sources": list(self.sources), "fitted": sorted(self.reducers_),
                "heads": sorted(self.heads_)}

    @classmethod
    def load(cls, directory: Path, spec: dict) -> "TextFeaturizer":
        f = cls(n_components=spec["n_components"], sources=tuple(spec["sources"]))
        for src in spec["fitted"]:
            f.reducers_[src] = TextReducer.load(directory / f"reducer_{src}.npz")
        if spec.get("heads"):
            with np.load(directory / "text_heads.npz", allow_pickle=False) as z:
                for k in spec["heads"]:
                    h = TextHead()
                    h.coef_, h.intercept_ = z[f"{k}__coef"], float(z[f"{k}__intercept"])
                    f.heads_[k] = h
        return f
