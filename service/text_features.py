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

from embeddings.pooling import pool_by_key, recency_weights
from embeddings.reducer import TextReducer

SOURCES = {"review": ("reviews", "review_ts"), "browse": ("events", "event_ts")}
DEFAULT_HALF_LIFE_DAYS = 180.0


@dataclass
class PooledText:
    """Pooled, L2-normalised vectors per customer for one source; rows without text are NaN."""

    vectors: np.ndarray  # (n_customers, dim)
    counts: np.ndarray  # number of texts pooled


class TextEmbeddings:
    """All texts of the run, embedded once; pooled on demand at any cutoff."""

    def __init__(self, tables: dict[str, pd.DataFrame], encoder, sources=("review", "browse"),
                 half_life_days: float = DEFAULT_HALF_LIFE_DAYS):
        self.half_life_days = half_life_days
        self.sources = tuple(sources)
        self._rows: dict[str, pd.DataFrame] = {}
        self._vectors: dict[str, np.ndarray] = {}
        self.dim = encoder.dim
        for src in self.sources:
            table, ts_col = SOURCES[src]
            df = tables[table]
            rows = pd.DataFrame({"customer_id": df["customer_id"].astype(str).to_numpy(),
                                 "ts": df[ts_col].to_numpy(), "text": df["text"].astype(str).to_numpy()})
            self._rows[src] = rows
            self._vectors[src] = encoder.encode(rows["text"].tolist()) if len(rows) else np.zeros((0, self.dim), np.float32)

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
        ts = pd.to_datetime(rows["ts"], utc=True)
        keep = (ts <= cutoff).to_numpy()
        if not keep.any():
            return PooledText(out, counts)
        ages = (cutoff - ts[keep]).dt.total_seconds().to_numpy() / 86400.0
        keys, pooled = pool_by_key(rows["customer_id"].to_numpy()[keep], self._vectors[src][keep],
                                   weights=recency_weights(ages, self.half_life_days))
        key_counts = pd.Series(rows["customer_id"].to_numpy()[keep]).value_counts()
        pos = pd.Index(keys).get_indexer(ids)
        hit = pos >= 0
        out[hit] = pooled[pos[hit]]
        counts = key_counts.reindex(ids).fillna(0).to_numpy(dtype=np.float64)
        return PooledText(out, counts)


class TextFeaturizer:
    """Fits one reducer per text source on the training customers; turns pooled vectors into feature columns."""

    def __init__(self, n_components: int = 8, sources=("review", "browse"), random_state: int = 0):
        self.n_components = n_components
        self.sources = tuple(sources)
        self.random_state = random_state
        self.reducers_: dict[str, TextReducer] = {}

    def feature_names(self) -> list[str]:
        names = []
        for src in self.sources:
            names.append(f"n_{src}_texts")
            names += [f"{src}_text_{i}" for i in range(self.n_components)]
        return names

    def fit(self, pooled: dict[str, PooledText]) -> "TextFeaturizer":
        for src in self.sources:
            p = pooled[src]
            has = p.counts > 0
            reducer = TextReducer(n_components=self.n_components, random_state=self.random_state)
            if has.sum() >= 2:
                reducer.fit(p.vectors[has])
                self.reducers_[src] = reducer
        return self

    def transform(self, pooled: dict[str, PooledText]) -> pd.DataFrame:
        cols: dict[str, np.ndarray] = {}
        for src in self.sources:
            p = pooled[src]
            n = len(p.counts)
            comps = np.full((n, self.n_components), np.nan)
            has = p.counts > 0
            if src in self.reducers_ and has.any():
                comps[has] = self.reducers_[src].transform(p.vectors[has])
            cols[f"n_{src}_texts"] = p.counts
            for i in range(self.n_components):
                cols[f"{src}_text_{i}"] = comps[:, i]
        return pd.DataFrame(cols)

    def save(self, directory: Path) -> dict:
        for src, reducer in self.reducers_.items():
            reducer.save(directory / f"reducer_{src}.npz")
        return {"n_components": self.n_components, "sources": list(self.sources), "fitted": sorted(self.reducers_)}

    @classmethod
    def load(cls, directory: Path, spec: dict) -> "TextFeaturizer":
        f = cls(n_components=spec["n_components"], sources=tuple(spec["sources"]))
        for src in spec["fitted"]:
            f.reducers_[src] = TextReducer.load(directory / f"reducer_{src}.npz")
        return f
