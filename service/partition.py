"""Customer ranges: cut the input tables into parts that each hold whole customers.

Scoring is batch-independent (a customer's numbers do not depend on who else is scored with it), so the
single-machine run scores one range at a time to bound memory, and a Dask run scores one range per partition.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def partition_bounds(customer_ids, n_parts: int) -> np.ndarray:
    """First customer id of partitions 1..P-1 over the sorted distinct ids (balanced by customer count)."""
    ids = np.unique(np.asarray(customer_ids, dtype=object).astype(str))
    n_parts = max(1, min(n_parts, len(ids)))
    return ids[[k * len(ids) // n_parts for k in range(1, n_parts)]].astype(object)


class TableParts:
    """The rows of every table for each customer range, in their original order, sliced only when asked for.

    Holding row positions (not copies) keeps one range's tables in memory at a time; tables without a
    ``customer_id`` column (lookups) go to every part whole.
    """

    def __init__(self, tables: dict[str, pd.DataFrame], bounds: np.ndarray):
        self.tables = tables
        self.n = len(bounds) + 1
        self._rows: dict[str, list[np.ndarray]] = {}
        for name, df in tables.items():
            if "customer_id" not in df:
                continue
            code = np.searchsorted(bounds, df["customer_id"].astype(str).to_numpy(dtype=object), side="right")
            order = np.argsort(code, kind="stable")
            cuts = np.searchsorted(code[order], np.arange(1, self.n))
            self._rows[name] = np.split(order, cuts)

    def __len__(self) -> int:
        return self.n

    def part(self, k: int) -> dict[str, pd.DataFrame]:
        return {
            name: df.iloc[self._rows[name][k]].reset_index(drop=True) if name in self._rows else df
            for name, df in self.tables.items()
        }


def split_tables(tables: dict[str, pd.DataFrame], bounds: np.ndarray) -> list[dict[str, pd.DataFrame]]:
    """Each partition gets the rows of every table for its customers, in their original order."""
    parts = TableParts(tables, bounds)
    return [parts.part(k) for k in range(len(parts))]
