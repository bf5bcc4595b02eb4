"""Step 4, errors: corrupt a fraction of the ``orders``, ``reviews`` and ``events`` rows; log every corrupted cell."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import STR, obj_str

_BAD_DATES = ["2025-13-45T10:00:00Z", "not a date", "31/02/2024 25:61", "2025-02-30T08:00:00Z", "yesterday", "20251301"]
_BAD_AMOUNTS = ["N/A", "twelve", "abc", "12.5.0", "EUR"]
_BAD_RATINGS_RANGE = ["0", "6", "7", "-1", "10"]
_BAD_RATINGS_TEXT = ["five", "excellent", "***", "good"]
_EMPTY_TEXTS = ["", "   "]
_ERROR_KINDS = {
    "orders": ("bad_date", "negative_amount", "non_numeric_amount", "unknown_customer", "duplicate_id"),
    "reviews": (
        "bad_date",
        "rating_out_of_range",
        "rating_non_numeric",
        "unknown_customer",
        "duplicate_id",
        "empty_text",
    ),
    "events": ("bad_date", "unknown_customer", "empty_text"),
}
_KIND_COLUMN = {
    ("orders", "bad_date"): "order_ts",
    ("reviews", "bad_date"): "review_ts",
    ("events", "bad_date"): "event_ts",
    ("orders", "negative_amount"): "amount",
    ("orders", "non_numeric_amount"): "amount",
    ("reviews", "rating_out_of_range"): "rating",
    ("reviews", "rating_non_numeric"): "rating",
    ("orders", "duplicate_id"): "order_id",
    ("reviews", "duplicate_id"): "review_id",
    ("reviews", "empty_text"): "text",
    ("events", "empty_text"): "text",
}
_BAD_VALUES = {
    "bad_date": _BAD_DATES,
    "non_numeric_amount": _BAD_AMOUNTS,
    "rating_out_of_range": _BAD_RATINGS_RANGE,
    "rating_non_numeric": _BAD_RATINGS_TEXT,
    "empty_text": _EMPTY_TEXTS,
}

_Log = list[tuple[str, int, str, str, str]]  # (table, row, column, kind, value)


def empty_errors() -> pd.DataFrame:
    """The ``errors`` table with no rows."""
    return pd.DataFrame(
        {
            "table": pd.array([], dtype=STR),
            "row": np.array([], dtype=np.int64),
            "column": pd.array([], dtype=STR),
            "kind": pd.array([], dtype=STR),
            "value": pd.array([], dtype=STR),
        }
    )


def inject(
    tables: dict[str, pd.DataFrame], frac: float, rng: np.random.Generator, n_customers: int, width: int
) -> pd.DataFrame:
    """Corrupt (in ``tables``) a fraction ``frac`` of the rows of each table that can have errors, at least one row
    per kind, drawing from ``rng``; return the ``errors`` table (``width``: digits of a customer id)."""
    log: _Log = []
    for name, kinds in _ERROR_KINDS.items():
        if len(tables[name]):
            tables[name] = _corrupt(tables[name], name, kinds, frac, rng, n_customers, width, log)
    if not log:
        return empty_errors()
    t, r, c, k, v = zip(*log, strict=True)
    errs = pd.DataFrame(
        {
            "table": pd.array(t, dtype=STR),
            "row": np.array(r, dtype=np.int64),
            "column": pd.array(c, dtype=STR),
            "kind": pd.array(k, dtype=STR),
            "value": pd.array(v, dtype=STR),
        }
    )
    return errs.sort_values(["table", "row"], kind="stable", ignore_index=True)


def _corrupt(
    df: pd.DataFrame,
    name: str,
    kinds: tuple[str, ...],
    frac: float,
    rng: np.random.Generator,
    n_customers: int,
    width: int,
    log: _Log,
) -> pd.DataFrame:
    """One table with its corrupted rows (duplicates appended at the end); the cells go to ``log``."""
    n = len(df)
    k = min(n, max(int(round(frac * n)), len(kinds)))
    rows = np.sort(rng.choice(n, size=k, replace=False))
    which = rng.permutation(np.arange(k) % len(kinds))
    cols = _as_strings(df, name)
    dup_rows = []
    for row, w in zip(rows, which, strict=True):
        kind = kinds[w]
        if kind == "duplicate_id":
            dup_rows.append(row)
            continue
        col, value = _bad_cell(name, kind, cols, row, rng, n_customers, width)
        cols[col][row] = value
        log.append((name, int(row), col, kind, value))
    new = pd.DataFrame({c: (obj_str(cols[c]) if c in cols else df[c].to_numpy()) for c in df.columns})
    if dup_rows:
        id_col = _KIND_COLUMN[(name, "duplicate_id")]
        new = pd.concat([new, new.iloc[dup_rows]], ignore_index=True)
        for j, row in enumerate(dup_rows):
            log.append((name, n + j, id_col, "duplicate_id", str(new[id_col].iloc[row])))
    return new


def _as_strings(df: pd.DataFrame, name: str) -> dict[str, np.ndarray]:
    """The string columns, and the numeric columns that get corrupted, as object arrays of str/None."""
    cols = {c: df[c].to_numpy(dtype=object, na_value=None).copy() for c in df.columns if df[c].dtype == STR}
    if name == "orders":
        cols["amount"] = np.array([f"{x:.2f}" for x in df["amount"].to_numpy()], dtype=object)
    if name == "reviews":
        cols["rating"] = df["rating"].to_numpy().astype(str).astype(object)
    return cols


def _bad_cell(
    name: str, kind: str, cols: dict[str, np.ndarray], row: int, rng: np.random.Generator, n_customers: int, width: int
) -> tuple[str, str]:
    """(column, corrupted value) for an error of the given kind in the given row."""
    if kind == "unknown_customer":
        return "customer_id", f"C{n_customers + int(rng.integers(1, 10**width)):0{width}d}"
    if kind == "negative_amount":
        return "amount", "-" + cols["amount"][row]
    pool = _BAD_VALUES[kind]
    return _KIND_COLUMN[(name, kind)], pool[int(rng.integers(len(pool)))]
