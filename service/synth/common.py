"""What every step of the generator shares: the table and segment names, the string dtype and the array helpers."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

CURRENCY = "EUR"
TABLES = ("customers", "orders", "reviews", "events")
SEGMENTS = ("regular", "business", "gift", "loyal", "disgruntled", "drifting", "browser")
REG, BUS, GIFT, LOYAL, DISG, DRIFT, BROWSER = range(7)

STR = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' default "str" dtype
MIN_PER_DAY = 1440


class Vocab:
    """Interns strings and hands out integer codes, so text columns are built with one arrow take."""

    def __init__(self) -> None:
        self.strings: list[str | None] = []
        self._index: dict[str | None, int] = {}

    def codes(self, items: Sequence[str | None]) -> np.ndarray:
        out = np.empty(len(items), dtype=np.int64)
        for i, s in enumerate(items):
            j = self._index.get(s)
            if j is None:
                j = self._index[s] = len(self.strings)
                self.strings.append(s)
            out[i] = j
        return out

    def column(self, codes: np.ndarray) -> pd.Series:
        return arrow_str(pa.array(self.strings, type=pa.string()).take(pa.array(codes)))


def arrow_str(arr: pa.Array | pa.ChunkedArray) -> pd.Series:
    """A pandas ``str`` Series over an arrow string array."""
    return pd.Series(pd.array(arr, dtype=STR))


def obj_str(values: np.ndarray) -> pd.Series:
    """A pandas ``str`` Series from an object array of str/None."""
    return arrow_str(pa.array(values, type=pa.string()))


def take_ids(ids: pa.Array, rows: np.ndarray) -> pd.Series:
    """The ids at the given positions, as a ``str`` Series (one arrow take)."""
    return arrow_str(ids.take(pa.array(rows)))


def pick(rng: np.random.Generator, probs: np.ndarray, n: int) -> np.ndarray:
    """n draws from one categorical distribution."""
    return np.minimum(np.searchsorted(np.cumsum(probs), rng.random(n) * probs.sum(), side="right"), len(probs) - 1)


def pick_rows(rng: np.random.Generator, cum_probs: np.ndarray) -> np.ndarray:
    """One draw per row of a (n, k) matrix of cumulative probabilities."""
    u = rng.random(len(cum_probs))[:, None] * cum_probs[:, -1:]
    return np.minimum((u >= cum_probs).sum(1), cum_probs.shape[1] - 1)


def ragged(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(owner, position-within-owner) for a ragged layout with the given counts."""
    owner = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    return owner, np.arange(len(owner)) - starts[owner]


def offsets(counts: np.ndarray) -> np.ndarray:
    """Start of each group in a flat layout with the given group sizes."""
    return np.concatenate([[0], np.cumsum(counts)[:-1]])
