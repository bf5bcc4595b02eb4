"""The feature query of ``service.features`` for a few customers, in plain Python, with DuckDB's exact arithmetic.

``POST /v1/score`` computes one snapshot for one to a hundred new customers. DuckDB spends ~10 ms of CPU running the
query on a handful of rows (planning, six aggregations, a window, five joins) and a new database costs ~10 ms more;
this computes the same columns in about a millisecond. Same bits, not "close": a customer's features must not depend
on which engine served it (tests/test_cold_start.py compares both on hostile inputs). Every step follows what
DuckDB does for the SQL in ``feature_sql.QUERY`` (checked against DuckDB 2.0), with DuckDB's arithmetic reproduced in
``service.duckdb_exact``.

Anything outside what was checked (sums of 2**63 or more, missing ids or timestamps, timestamps finer than a
microsecond, non-ASCII statuses, repeated customers rows, ...) returns None and the caller runs DuckDB. On first use
the two engines are compared on a built-in probe (``features.agrees_with_duckdb``); any difference (another DuckDB
version that rounds otherwise) turns this path off for the process.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from service.duckdb_exact import (
    LD_SCALE,
    US_MAX,
    US_MIN,
    US_PER_DAY,
    Unsupported,
    as_decimal,
    datetime_us,
    days_since,
    decimal_to_double,
    float_values,
    long_double_avg,
    micros,
    plain_amount,
    required_micros,
    text_values,
)
from service.features_probe import probe_tables  # noqa: F401 - features_small.probe_tables (tests/test_cold_start.py)

log = logging.getLogger(__name__)

# The query's output columns, in its order (a test checks them against DuckDB's result).
COLUMNS = [
    "customer_id",
    "recency_days",
    "frequency",
    "orders_per_month",
    "orders_recent",
    "monetary_total",
    "avg_order_value",
    "max_order_value",
    "items_per_order",
    "tenure_days",
    "first_purchase_days",
    "ipi_mean_days",
    "ipi_std_days",
    "ipi_last_days",
    "overdue_ratio",
    "spend_recent",
    "spend_prior",
    "spend_trend",
    "n_returned",
    "return_rate",
    "n_categories",
    "review_count",
    "rating_mean",
    "rating_min",
    "rating_last",
    "days_since_last_review",
    "n_events",
    "n_views",
    "n_searches",
    "n_carts",
    "events_recent",
    "days_since_last_event",
    "carts_per_order",
    "future_value",
    "future_orders",
]


def snapshot(
    tables: dict[str, pd.DataFrame],
    cutoff: datetime,
    horizon_end: datetime,
    non_spend: tuple[str, ...],
    trend_days: int,
    recent_event_days: int,
) -> pd.DataFrame | None:
    """``feature_sql.QUERY``'s result (as ``features._finish`` leaves it) for the clean ``tables`` at ``cutoff`` (naive
    UTC datetimes, the query's parameters), or None when the input is outside what this reproduces exactly."""
    try:
        return strict_snapshot(tables, cutoff, horizon_end, frozenset(non_spend), trend_days, recent_event_days)
    except Unsupported as exc:
        log.debug("small-input features fall back to DuckDB: %s", exc)
        return None


@dataclass(frozen=True)
class _Window:
    """The query's time parameters in whole microseconds since 1970; ``cut_s`` is ``epoch($cutoff)`` (seconds)."""

    cut: int  # $cutoff
    end: int  # $horizon_end
    cut_s: float
    recent_from: int  # $cutoff - INTERVAL '{trend} days'
    prior_from: int  # $cutoff - INTERVAL '{trend2} days'
    events_from: int  # $cutoff - INTERVAL '{recent_events} days'


def _window(cutoff: datetime, horizon_end: datetime, trend_days: int, recent_event_days: int) -> _Window:
    cut = datetime_us(cutoff)
    end = datetime_us(horizon_end)
    if not US_MIN + 400 * US_PER_DAY <= cut <= end <= US_MAX:
        raise Unsupported("a cutoff outside 1679-2261")
    return _Window(
        cut=cut,
        end=end,
        cut_s=cut / 1e6,
        recent_from=cut - trend_days * US_PER_DAY,
        prior_from=cut - 2 * trend_days * US_PER_DAY,
        events_from=cut - recent_event_days * US_PER_DAY,
    )


# ``ragg`` and ``eagg`` of a customer without reviews or events, as the final SELECT's coalesce() leaves them.
_NO_REVIEWS = (0, None, None, None, None)
_NO_EVENTS = (0, 0, 0, 0, 0, None)


def strict_snapshot(tables, cutoff, horizon_end, non_spend, trend_days, recent_event_days) -> pd.DataFrame | None:
    """``snapshot`` without its fallback: input outside what this reproduces exactly raises ``Unsupported`` (which
    ``snapshot`` turns into None, and the probe of ``features.agrees_with_duckdb`` into a failure).

    What ``feature_sql.prepare_tables`` and the query do, on lists, one step per part of the query: the orders as
    prepared (``_order_rows``), CTEs ``o``, ``oagg``, ``p`` and ``fut`` (``_order_aggregates``), ``ragg``
    (``_review_aggregates``), ``eagg`` (``_event_aggregates``), the customers join (``_signups``) and the final SELECT
    with ``pagg`` (``_customer_row``)."""
    w = _window(cutoff, horizon_end, trend_days, recent_event_days)
    per, future = _order_aggregates(_order_rows(tables["orders"]), w, non_spend)
    if not per:
        return None  # no customer with an order by the cutoff: DuckDB's empty frame, typed by DuckDB
    reviews = _review_aggregates(tables["reviews"], w.cut, w.cut_s)
    events = _event_aggregates(tables["events"], w.cut, w.cut_s, w.events_from)
    signup = _signups(tables.get("customers"))
    rows = [
        _customer_row(
            cid,
            per[cid],
            w,
            signup.get(cid),
            reviews.get(cid, _NO_REVIEWS),
            events.get(cid, _NO_EVENTS),
            future.get(cid),
        )
        for cid in sorted(per)  # ORDER BY customer_id: code point order is UTF-8 byte order
    ]
    return _frame(rows)


def _order_rows(o: pd.DataFrame) -> list[tuple]:
    """(customer, order id, time, amount, status, n_items, category) per order, as ``prepare_tables`` reads them:
    optional columns default to status "completed", no n_items, no category. Values outside the checked ranges raise
    ``Unsupported``."""
    n_rows = len(o)
    ids = text_values(o["customer_id"], "customer ids")
    oids = text_values(o["order_id"], "order ids")
    ts = required_micros(o["order_ts"], "order time")
    amount = float_values(o["amount"])
    status = text_values(o["status"], "statuses") if "status" in o else ["completed"] * n_rows
    n_items = float_values(o["n_items"]) if "n_items" in o else [math.nan] * n_rows
    category = o["category"].tolist() if "category" in o else [None] * n_rows
    if len(set(oids)) != len(oids):
        raise Unsupported("an order id twice")  # the query's "last purchase" would be either of them
    if not all(plain_amount(x) for x in amount):
        raise Unsupported("an amount outside the checked range")
    if not all(x.isascii() for x in status):
        raise Unsupported("a non-ASCII status")  # DuckDB's lower() and Python's agree on ASCII
    if not all(math.isnan(k) or (math.isfinite(k) and 0 <= k < 1e9) for k in n_items):
        raise Unsupported("n_items outside the checked range")
    if not all(c is None or isinstance(c, str) or (isinstance(c, float) and math.isnan(c)) for c in category):
        raise Unsupported("a category that is neither text nor missing")  # missing: None, or NaN in a string column
    return list(zip(ids, oids, ts, amount, status, n_items, category))


def _order_aggregates(rows: list[tuple], w: _Window, non_spend) -> tuple[dict[str, dict], dict[str, list]]:
    """Per customer, orders by the cutoff (CTEs ``o`` and ``oagg``: count, first order, returned ones) with their
    purchases (CTE ``p``), and purchases inside the horizon (CTE ``fut``: exact decimal sum, count)."""
    per: dict[str, dict] = {}
    future: dict[str, list] = {}
    for cid, oid, t, a, st, k, cat in rows:
        st = st.lower()
        if t <= w.cut:
            c = per.setdefault(cid, {"orders": 0, "returned": 0, "first": t, "purchases": []})
            c["orders"] += 1
            c["first"] = min(c["first"], t)
            if st in non_spend:
                c["returned"] += 1
            else:
                c["purchases"].append((t, oid, a, k, cat if isinstance(cat, str) else None))
        elif t <= w.end and st not in non_spend:
            f = future.setdefault(cid, [0, 0])
            f[0] += as_decimal(a)
            f[1] += 1
    return per, future


def _customer_row(
    cid: str, c: dict, w: _Window, signup: int | None, review: tuple, event: tuple, fut: list | None
) -> dict:
    """The final SELECT for one customer: ``c`` from ``_order_aggregates``, ``signup`` from the customers join,
    ``review`` and ``event`` its ``ragg`` and ``eagg``, ``fut`` its ``fut`` (None: no purchase in the horizon)."""
    first_any = min(c["first"], signup) if signup is not None else c["first"]
    tenure = days_since(w.cut_s, first_any)
    row: dict = {
        "customer_id": cid,
        "tenure_days": tenure,
        "n_returned": c["returned"],
        "return_rate": c["returned"] / c["orders"],
    }
    if c["purchases"]:
        row.update(_purchase_columns(c["purchases"], w))
    else:
        row.update(_no_purchase_columns(c["first"], w.cut_s))
    row["orders_per_month"] = row["frequency"] * 30.0 / max(tenure, 30.0)
    sr, sp = row["spend_recent"], row["spend_prior"]
    row["spend_trend"] = (sr - sp) / (sr + sp + 1.0)
    row.update(
        review_count=review[0],
        rating_mean=review[1],
        rating_min=review[2],
        rating_last=review[3],
        days_since_last_review=review[4],
    )
    row.update(
        n_events=event[0],
        n_views=event[1],
        n_searches=event[2],
        n_carts=event[3],
        events_recent=event[4],
        days_since_last_event=event[5],
    )
    row["carts_per_order"] = row["n_carts"] / max(row["frequency"], 1)
    row["future_value"], row["future_orders"] = (decimal_to_double(fut[0]), fut[1]) if fut else (0.0, 0)
    return row


def _purchase_columns(purchases: list[tuple], w: _Window) -> dict:
    """CTE ``pagg`` of a customer with purchases by the cutoff, and the final SELECT's columns made of it."""
    p = sorted(purchases, key=lambda r: (r[0], r[1]))  # (order_ts, order_id), as the window orders them
    n = len(p)
    decs = [as_decimal(r[2]) for r in p]
    total = sum(decs)
    gaps = [p[j][0] - p[j - 1][0] for j in range(1, n)]
    items = [as_decimal(r[3]) for r in p if not math.isnan(r[3])]
    recent = [d for r, d in zip(p, decs) if r[0] > w.recent_from]
    prior = [d for r, d in zip(p, decs) if w.prior_from < r[0] <= w.recent_from]
    last = p[-1][0]
    ipi_mean = long_double_avg(sum(gaps), len(gaps)) / 86400e6 if gaps else None
    ipi_std = None
    if len(gaps) > 1:
        s1, s2, m = sum(gaps), sum(g * g for g in gaps), len(gaps)
        ipi_std = math.sqrt(float(m * s2 - s1 * s1) / float(m * (m - 1))) / 86400e6
    return dict(
        recency_days=days_since(w.cut_s, last),
        frequency=n,
        orders_recent=len(recent),
        monetary_total=decimal_to_double(total),
        avg_order_value=decimal_to_double(total) / n,
        max_order_value=max(r[2] for r in p),
        items_per_order=long_double_avg(sum(items), len(items), LD_SCALE) if items else None,
        first_purchase_days=days_since(w.cut_s, p[0][0]),
        ipi_mean_days=ipi_mean,
        ipi_std_days=ipi_std,
        ipi_last_days=gaps[-1] / 86400e6 if gaps else None,
        overdue_ratio=days_since(w.cut_s, last) / ipi_mean if ipi_mean else None,
        spend_recent=decimal_to_double(sum(recent)) if recent else 0.0,
        spend_prior=decimal_to_double(sum(prior)) if prior else 0.0,
        n_categories=len({r[4] for r in p if r[4] is not None}),
    )


def _no_purchase_columns(first_order: int, cut_s: float) -> dict:
    """The same columns for a customer whose orders by the cutoff were all returned or cancelled (no ``pagg`` row)."""
    return dict(
        recency_days=days_since(cut_s, first_order),
        frequency=0,
        orders_recent=0,
        monetary_total=0.0,
        avg_order_value=0.0,
        max_order_value=0.0,
        items_per_order=None,
        first_purchase_days=None,
        ipi_mean_days=None,
        ipi_std_days=None,
        ipi_last_days=None,
        overdue_ratio=None,
        spend_recent=0.0,
        spend_prior=0.0,
        n_categories=0,
    )


def _review_aggregates(reviews: pd.DataFrame, cut: int, cut_s: float) -> dict[str, tuple]:
    """customer -> (count, mean rating, min rating, last rating, days since the last review), reviews by the cutoff."""
    ids = text_values(reviews["customer_id"], "customer ids")
    ts = required_micros(reviews["review_ts"], "review time")
    rating = float_values(reviews["rating"])
    if not all(math.isfinite(x) and 0 <= x < 1e9 for x in rating):
        raise Unsupported("rating outside the checked range")
    by: dict[str, list] = {}
    for cid, t, x in zip(ids, ts, rating):
        if t <= cut:
            by.setdefault(cid, []).append((t, x))
    out = {}
    for cid, rs in by.items():
        latest = max(rs)  # arg_max(rating, (review_ts, rating))
        out[cid] = (
            len(rs),
            long_double_avg(sum(as_decimal(x) for _, x in rs), len(rs), LD_SCALE),
            min(x for _, x in rs),
            latest[1],
            days_since(cut_s, latest[0]),
        )
    return out


def _event_aggregates(events: pd.DataFrame, cut: int, cut_s: float, recent_from: int) -> dict[str, tuple]:
    """customer -> (events, views, searches, carts, recent events, days since the last event), by the cutoff."""
    ids = text_values(events["customer_id"], "customer ids")
    ts = required_micros(events["event_ts"], "event time")
    kinds = text_values(events["event_type"], "event types")
    acc: dict[str, list] = {}
    for cid, t, kind in zip(ids, ts, kinds):
        if t > cut:
            continue
        a = acc.setdefault(cid, [0, 0, 0, 0, 0, t])
        a[0] += 1
        a[1] += kind == "view"
        a[2] += kind == "search"
        a[3] += kind == "cart"
        a[4] += t > recent_from
        a[5] = max(a[5], t)
    return {cid: (*a[:5], days_since(cut_s, a[5])) for cid, a in acc.items()}


def _signups(customers: pd.DataFrame | None) -> dict[str, int | None]:
    if customers is None or len(customers) == 0:
        return {}
    ids = text_values(customers["customer_id"], "customer ids")
    if len(set(ids)) != len(ids):
        raise Unsupported("a customer twice in the customers table")  # the query's join would repeat its rows
    if "signup_ts" not in customers:
        return {}
    return dict(zip(ids, micros(customers["signup_ts"])))


# The columns as ``features._finish`` types them: text ids, float64 features (counts included), int64 future orders.
_STR = pd.Series(["x"]).astype(str).dtype


def _frame(rows: list[dict]) -> pd.DataFrame:
    cols: dict[str, object] = {}
    for name in COLUMNS:
        values = [r[name] for r in rows]
        if name == "customer_id":
            cols[name] = pd.Series(values, dtype=_STR)
        elif name == "future_orders":
            cols[name] = np.asarray(values, dtype=np.int64)
        else:
            cols[name] = np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
    return pd.DataFrame(cols)
