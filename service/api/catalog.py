"""Search over a snapshot's scored customers: the roster as sorted arrays, for GET /v1/customers (prefix, filters,
sorting) without a query of the store."""

from __future__ import annotations

import bisect
import unicodedata
from dataclasses import dataclass

import numpy as np


@dataclass
class Catalog:
    """Search over the scored customers: ids sorted case-folded (prefix = one binary search), tiers, segments, values
    and churn as arrays (filters are masks, sorting one argsort of the matches)."""

    ids: np.ndarray  # customer ids, sorted by their case-folded form
    folded: list[str]  # the case-folded ids, same order
    tier: np.ndarray
    segment: np.ndarray
    value: np.ndarray
    churn: np.ndarray
    rank_pct: np.ndarray

    @classmethod
    def build(cls, roster: dict[str, tuple], population_values: np.ndarray) -> Catalog:
        items = sorted(roster.items(), key=lambda kv: (kv[0].casefold(), kv[0]))
        ids = np.array([k for k, _ in items], dtype=object)
        value = np.array([v[1] for _, v in items], dtype=np.float64)
        n = len(population_values)
        rank = np.floor(np.searchsorted(population_values, value, side="left") / max(n, 1) * 1000) / 10
        return cls(
            ids=ids,
            folded=[k.casefold() for k, _ in items],
            tier=np.array([v[0] for _, v in items], dtype=object),
            segment=np.array([v[3] for _, v in items], dtype=object),
            value=value,
            churn=np.array([v[2] for _, v in items], dtype=np.float64),
            rank_pct=rank,
        )

    def prefix_range(self, prefix: str) -> tuple[int, int]:
        p = unicodedata.normalize("NFC", prefix).casefold()  # stored ids are NFC
        return bisect.bisect_left(self.folded, p), bisect.bisect_left(self.folded, p + "\U0010ffff")
