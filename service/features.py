"""Tabular behaviour features and targets at a cutoff, computed point-in-time with DuckDB.

Only rows at or before the cutoff feed the features; the targets look at (cutoff, cutoff + horizon].
Everything is one SQL query per snapshot (``service.feature_sql``): no Python loop over rows.

Small inputs (the API's cold-start scoring of a few customers) skip DuckDB's fixed costs, ~10 ms to open a database
and ~10 ms of CPU for the query on a handful of rows: up to ``SMALL_PYTHON_ROWS`` rows the same columns are computed in
Python with DuckDB's exact arithmetic (``service.features_small``, compared with DuckDB at first use), and up to
``SMALL_INPUT_ROWS`` the query runs on a connection to one database kept per process. Same bits either way.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import timedelta

import duckdb
import numpy as np
import pandas as pd

from service import features_probe, features_small
from service.feature_sql import QUERY, naive_utc, non_spend_sql, prepare_tables
from service.tables import NON_SPEND_STATUSES

log = logging.getLogger(__name__)

# Window (days) of the "recent vs earlier" spend trend and recent-activity counts.
TREND_WINDOW_DAYS = 90
RECENT_EVENTS_DAYS = 30

# Feature name -> readable family used to group SHAP drivers. Text components are added by the pipeline.
TABULAR_FAMILIES: dict[str, str] = {
    "recency_days": "recency",
    "frequency": "frequency",
    "orders_per_month": "frequency",
    "orders_recent": "frequency",
    "monetary_total": "monetary",
    "avg_order_value": "average order value",
    "max_order_value": "average order value",
    "items_per_order": "average order value",
    "tenure_days": "tenure",
    "ipi_mean_days": "purchase rhythm",
    "ipi_std_days": "purchase rhythm",
    "ipi_last_days": "purchase rhythm",
    "overdue_ratio": "purchase rhythm",
    "spend_recent": "spend trend",
    "spend_prior": "spend trend",
    "spend_trend": "spend trend",
    "n_returned": "returns and cancellations",
    "return_rate": "returns and cancellations",
    "n_categories": "category breadth",
    "review_count": "reviews and ratings",
    "rating_mean": "reviews and ratings",
    "rating_min": "reviews and ratings",
    "rating_last": "reviews and ratings",
    "days_since_last_review": "reviews and ratings",
    "n_events": "browsing activity",
    "n_views": "browsing activity",
    "n_searches": "browsing activity",
    "n_carts": "browsing activity",
    "events_recent": "browsing activity",
    "days_since_last_event": "browsing activity",
    "carts_per_order": "browsing activity",
}
TABULAR_FEATURES: list[str] = list(TABULAR_FAMILIES)

# Time of year of a snapshot's cutoff, so one model learns across the seasons of a panel of snapshots.
SEASON_FAMILIES: dict[str, str] = {"season_sin": "time of year", "season_cos": "time of year"}
SEASON_FEATURES: list[str] = list(SEASON_FAMILIES)


def season_features(cutoff, n: int) -> pd.DataFrame:
    """Day of year of the cutoff on the unit circle (31 December sits next to 1 January), one row per customer."""
    angle = 2 * np.pi * (pd.Timestamp(cutoff).day_of_year - 1) / 365.25
    return pd.DataFrame({"season_sin": np.full(n, np.sin(angle)), "season_cos": np.full(n, np.cos(angle))})


# Inputs up to SMALL_PYTHON_ROWS order, review and event rows in all are computed in Python (service.features_small:
# the same bits, checked against DuckDB at first use); up to SMALL_INPUT_ROWS they are queried on the process's shared
# database, single-threaded (threads buy nothing on a few rows); larger ones get a database of their own.
SMALL_PYTHON_ROWS = 2_000
SMALL_INPUT_ROWS = 20_000
_shared: dict[int, duckdb.DuckDBPyConnection] = {}  # pid -> the database small inputs are queried on
_shared_lock = threading.Lock()


def _shared_connection() -> duckdb.DuckDBPyConnection:
    """A new connection (cursor) to this process's shared in-memory database: it has its own registered tables, so
    builders on several threads never see each other's. Per process id: a forked worker never uses its parent's."""
    with _shared_lock:
        db = _shared.get(os.getpid())
        if db is None:
            db = _shared[os.getpid()] = duckdb.connect(config={"threads": 1})
        return db.cursor()


class FeatureBuilder:
    """Builds feature snapshots from one set of clean tables; tables are registered in DuckDB once.

    ``engine``: "auto" (Python for small inputs when it agrees with DuckDB, else DuckDB), "python" (Python where it
    can reproduce DuckDB exactly, DuckDB otherwise) or "duckdb".
    """

    def __init__(self, tables: dict[str, pd.DataFrame], threads: int | None = None, engine: str = "auto"):
        if engine not in ("auto", "python", "duckdb"):
            raise ValueError(f"engine must be auto, python or duckdb, not {engine!r}")
        self._tables = tables
        self._threads = threads
        self._con: duckdb.DuckDBPyConnection | None = None
        self._rows = sum(len(tables[name]) for name in ("orders", "reviews", "events") if name in tables)
        self._python = engine == "python" or (
            engine == "auto" and self._rows <= SMALL_PYTHON_ROWS and agrees_with_duckdb()
        )
        if not self._python:
            self._connect()
        self.last_order_ts = pd.Timestamp(tables["orders"]["order_ts"].max())

    def _connect(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            prepared = prepare_tables(self._tables)
            if self._rows <= SMALL_INPUT_ROWS:
                con = _shared_connection()
            else:
                con = duckdb.connect(config={"threads": self._threads} if self._threads else {})
            try:
                for name, df in prepared.items():
                    con.register(name, df)
            except BaseException:
                con.close()
                raise
            self._con = con
        return self._con

    def snapshot(self, cutoff, horizon_days: int) -> pd.DataFrame:
        """Features at ``cutoff`` for every customer with an order at or before it, plus targets over the horizon.

        Columns: customer_id, TABULAR_FEATURES..., future_value, future_orders, churn (1 = no purchase in the window).
        """
        cutoff = to_utc(cutoff)
        params = {"cutoff": naive_utc(cutoff), "horizon_end": naive_utc(cutoff + timedelta(days=horizon_days))}
        df = None
        if self._python:
            df = features_small.snapshot(
                self._tables,
                params["cutoff"],
                params["horizon_end"],
                NON_SPEND_STATUSES,
                TREND_WINDOW_DAYS,
                RECENT_EVENTS_DAYS,
            )
        if df is None:
            query = QUERY.format(
                non_spend=non_spend_sql(),
                trend=TREND_WINDOW_DAYS,
                trend2=2 * TREND_WINDOW_DAYS,
                recent_events=RECENT_EVENTS_DAYS,
            )
            try:
                df = self._connect().execute(query, params).df()
            except BaseException:
                # Closed here, on this thread: a failed builder left to the garbage collector kept its DuckDB worker
                # threads and registered frames alive and was torn down later on whatever thread ran the collection
                # (issue 12).
                self.close()
                raise
        return _finish(df)

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None


def _finish(df: pd.DataFrame) -> pd.DataFrame:
    """The query's result as a snapshot: text ids, float features, churn (1 = no purchase in the window).

    Columns already of their type are left alone (the small-input engine builds them so; each astype is a copy)."""
    if df["customer_id"].dtype != _STR:
        df["customer_id"] = df["customer_id"].astype(str)
    floats = TABULAR_FEATURES + ["first_purchase_days", "future_value"]
    cast = {col: "float64" for col in floats if df[col].dtype != np.float64}
    if cast:
        df = df.astype(cast)
    df["churn"] = (df["future_orders"] == 0).astype("int8")
    return df


_STR = pd.Series(["x"]).astype(str).dtype  # what .astype(str) gives (pandas' default string dtype)


# ----------------------------------------------------------------------------- the check of the small-input engine

_agrees: bool | None = None
_agrees_lock = threading.Lock()


def agrees_with_duckdb() -> bool:
    """True when ``service.features_small`` and DuckDB give the same bits on a probe of hostile values (once per
    process)."""
    global _agrees
    with _agrees_lock:
        if _agrees is None:
            try:
                _agrees = _probe()
            except Exception as exc:  # noqa: BLE001 - any failure means: use DuckDB
                log.warning("small-input features disabled (the probe failed: %s); DuckDB computes every snapshot", exc)
                _agrees = False
            if not _agrees:
                log.warning("small-input features disabled: they differ from this DuckDB version's on the probe")
        return _agrees


def _probe() -> bool:
    tables = features_probe.probe_tables()
    for cutoff in (pd.Timestamp("2025-05-01T12:00:00Z"), pd.Timestamp("2025-09-30T23:59:59.999999Z")):
        cut, end = naive_utc(cutoff), naive_utc(cutoff + pd.Timedelta(days=90))
        fast = _finish(
            features_small.strict_snapshot(
                tables, cut, end, frozenset(NON_SPEND_STATUSES), TREND_WINDOW_DAYS, RECENT_EVENTS_DAYS
            )
        )
        builder = FeatureBuilder(tables, engine="duckdb")
        try:
            slow = builder.snapshot(cutoff, 90)
        finally:
            builder.close()
        if not fast.equals(slow) or list(fast.dtypes) != list(slow.dtypes) or list(fast.columns) != list(slow.columns):
            return False
    return True


def warm_up() -> bool:
    """Run the one-off check of the small-input engine now (a server calls this at start, not on its first request)."""
    return agrees_with_duckdb()


def to_utc(ts) -> pd.Timestamp:
    t = pd.Timestamp(ts)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
