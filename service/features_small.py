"""The feature query of ``service.features`` for a few customers, in plain Python, with DuckDB's exact arithmetic.

``POST /v1/score`` computes one snapshot for one to a hundred new customers. DuckDB spends ~10 ms of CPU running the
query on a handful of rows (planning, six aggregations, a window, five joins) and a new database costs ~10 ms more;
this computes the same columns in about a millisecond. Same bits, not "close": a customer's features must not depend
on which engine served it (tests/test_cold_start.py compares both on hostile inputs). Every step follows what
DuckDB does for the SQL in ``features._QUERY`` (checked against DuckDB 2.0):

- ``amount::DECIMAL(38, 9)``: ``round(amount * 1e9)`` in double, halves away from zero, as an exact integer;
  sums of those are exact (Python ints), and ``::DOUBLE`` of a DECIMAL(38, 9) is the correctly rounded quotient;
- ``avg`` of a DECIMAL(38, 9) or a BIGINT: the integer sum over ``count`` (times 1e9 for decimals) in ``long double``,
  rounded to double (``numpy.longdouble`` is the platform's ``long double``, as in DuckDB's build); except where the
  query also sums the same expression (the order amounts): DuckDB's optimizer then computes ``sum(x)::DOUBLE / count``;
- HUGEINT to DOUBLE, ``epoch()`` (microseconds / 1e6) and divisions by whole numbers are correctly rounded.

Anything outside what was checked (sums of 2**63 or more, missing ids or timestamps, timestamps finer than a
microsecond, non-ASCII statuses, repeated customers rows, ...) returns None and the caller runs DuckDB. On first use
the two engines are compared on a built-in probe (``features.agrees_with_duckdb``); any difference (another DuckDB
version that rounds otherwise) turns this path off for the process.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

US_PER_DAY = 86_400_000_000
_SCALE = 10**9
_LD_SCALE = np.longdouble(1e9)
_INT64_MAX = 2**63 - 1
_EPOCH = datetime(1970, 1, 1)
# Timestamps this reproduces: within what a nanosecond timestamp holds (the query casts to one where a table is empty).
_US_MIN = (datetime(1678, 1, 1) - _EPOCH) // timedelta(microseconds=1)
_US_MAX = (datetime(2261, 12, 31) - _EPOCH) // timedelta(microseconds=1)

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


class _Unsupported(Exception):
    """An input this module does not reproduce exactly: the caller runs DuckDB instead."""


def _dec(x: float) -> int:
    """DOUBLE -> DECIMAL(38, 9) as DuckDB casts it: round(x * 1e9) in double, halves away from zero."""
    p = x * 1e9
    a = abs(p)
    f = math.floor(a)
    r = int(f) + 1 if a - f >= 0.5 else int(f)  # a - f is exact for a double
    return r if p >= 0 else -r


def _dec_to_double(n: int) -> float:
    """DECIMAL(38, 9) -> DOUBLE: correctly rounded (Python's int / int is)."""
    return n / _SCALE


def _long_double_avg(total: int, count: int, scale: np.longdouble | None = None) -> float:
    """DuckDB's avg of integers and decimals: ``(long double) sum / ((long double) count * scale)``, then double."""
    if abs(total) > _INT64_MAX:
        raise _Unsupported("sum beyond int64")
    divisor = np.longdouble(count) if scale is None else np.longdouble(count) * scale
    return float(np.longdouble(np.int64(total)) / divisor)


def _required_micros(values: pd.Series, what: str) -> list[int]:
    """``_micros`` of a column that must not miss any value."""
    out = _micros(values)
    if any(t is None for t in out):
        raise _Unsupported(f"missing {what}")
    return out  # type: ignore[return-value]


def _micros(values: pd.Series) -> list[int | None]:
    """UTC timestamps (zone-aware, as ``features._naive`` requires) as whole microseconds since 1970, None for NaT.

    Zone-naive columns (which ``_naive`` refuses) and timestamps finer than a microsecond are left to DuckDB."""
    dtype = values.dtype
    if not isinstance(dtype, pd.DatetimeTZDtype):
        raise _Unsupported("not a zone-aware timestamp column")
    if dtype.unit not in ("s", "ms", "us", "ns"):
        raise _Unsupported(f"timestamp unit {dtype.unit}")
    arr = values.to_numpy(dtype=f"datetime64[{dtype.unit}]")  # UTC, zone dropped
    nat = np.isnat(arr)
    i8 = arr.view("i8")
    if dtype.unit == "ns":
        if (i8[~nat] % 1000).any():
            raise _Unsupported("timestamps finer than a microsecond")
        us = i8 // 1000
    else:
        us = arr.astype("datetime64[us]").view("i8")
    if ((us[~nat] < _US_MIN) | (us[~nat] > _US_MAX)).any():
        raise _Unsupported("a timestamp outside 1678-2261")  # DuckDB fails on some (nanosecond casts): let it
    out: list[int | None] = us.tolist()
    if nat.any():
        out = [None if m else v for v, m in zip(out, nat.tolist())]
    return out


def _plain_amount(a: float) -> bool:
    """Finite, not negative (nor -0.0) and below 1e15 (so no DECIMAL(38, 9) sum can overflow): what validation lets
    through by default, and what was checked."""
    return math.isfinite(a) and 0 <= a < 1e15 and math.copysign(1.0, a) > 0


def _strings(values: pd.Series, what: str) -> list[str]:
    out = values.tolist()
    if not all(isinstance(v, str) for v in out):
        raise _Unsupported(f"missing or non-text {what}")
    return out


def _floats(values: pd.Series) -> list[float]:
    return values.to_numpy(dtype="float64").tolist()


def _days(cut_s: float, us: int) -> float:
    """``(epoch($cutoff) - epoch(ts)) / 86400.0`` as DuckDB computes it."""
    return (cut_s - us / 1e6) / 86400.0


def _pydatetime_us(ts: datetime) -> int:
    return (ts - _EPOCH) // timedelta(microseconds=1)


def snapshot(
    tables: dict[str, pd.DataFrame],
    cutoff: datetime,
    horizon_end: datetime,
    non_spend: tuple[str, ...],
    trend_days: int,
    recent_event_days: int,
) -> pd.DataFrame | None:
    """``features._QUERY``'s result (as ``features._finish`` leaves it) for the clean ``tables`` at ``cutoff`` (naive
    UTC datetimes, the query's parameters), or None when the input is outside what this reproduces exactly."""
    try:
        return strict_snapshot(tables, cutoff, horizon_end, frozenset(non_spend), trend_days, recent_event_days)
    except _Unsupported as exc:
        log.debug("small-input features fall back to DuckDB: %s", exc)
        return None


def strict_snapshot(tables, cutoff, horizon_end, non_spend, trend_days, recent_event_days) -> pd.DataFrame | None:
    """``snapshot`` without its fallback: input outside what this reproduces exactly raises ``_Unsupported`` (which
    ``snapshot`` turns into None, and the probe of ``features.agrees_with_duckdb`` into a failure).

    What ``features._prepare`` and the query do, on lists. The tables as ``_prepare`` reads them: optional order
    columns default to status "completed", no n_items, no category; the customers table is optional."""
    cut = _pydatetime_us(cutoff)
    end = _pydatetime_us(horizon_end)
    if not _US_MIN + 400 * US_PER_DAY <= cut <= end <= _US_MAX:
        raise _Unsupported("a cutoff outside 1679-2261")
    cut_s = cut / 1e6
    recent_from, prior_from = cut - trend_days * US_PER_DAY, cut - 2 * trend_days * US_PER_DAY
    events_from = cut - recent_event_days * US_PER_DAY

    o = tables["orders"]
    n_rows = len(o)
    ids = _strings(o["customer_id"], "customer ids")
    oids = _strings(o["order_id"], "order ids")
    ts = _required_micros(o["order_ts"], "order time")
    amount = _floats(o["amount"])
    status = _strings(o["status"], "statuses") if "status" in o else ["completed"] * n_rows
    n_items = _floats(o["n_items"]) if "n_items" in o else [math.nan] * n_rows
    category = o["category"].tolist() if "category" in o else [None] * n_rows
    if len(set(oids)) != len(oids):
        raise _Unsupported("an order id twice")  # the query's "last purchase" would be either of them
    if not all(_plain_amount(x) for x in amount):
        raise _Unsupported("an amount outside the checked range")
    if not all(x.isascii() for x in status):
        raise _Unsupported("a non-ASCII status")  # DuckDB's lower() and Python's agree on ASCII
    if not all(math.isnan(k) or (math.isfinite(k) and 0 <= k < 1e9) for k in n_items):
        raise _Unsupported("n_items outside the checked range")
    if not all(c is None or isinstance(c, str) or (isinstance(c, float) and math.isnan(c)) for c in category):
        raise _Unsupported("a category that is neither text nor missing")  # missing: None, or NaN in a string column

    per: dict[str, dict] = {}
    future: dict[str, list] = {}
    for cid, oid, t, a, st, k, cat in zip(ids, oids, ts, amount, status, n_items, category):
        st = st.lower()
        if t <= cut:
            c = per.setdefault(cid, {"orders": 0, "returned": 0, "first": t, "purchases": []})
            c["orders"] += 1
            c["first"] = min(c["first"], t)
            if st in non_spend:
                c["returned"] += 1
            else:
                c["purchases"].append((t, oid, a, k, cat if isinstance(cat, str) else None))
        elif t <= end and st not in non_spend:
            f = future.setdefault(cid, [0, 0])
            f[0] += _dec(a)
            f[1] += 1
    if not per:
        return None  # no customer with an order by the cutoff: DuckDB's empty frame, typed by DuckDB

    reviews = _review_aggregates(tables["reviews"], cut, cut_s)
    events = _event_aggregates(tables["events"], cut, cut_s, events_from)
    signup = _signups(tables.get("customers"))

    rows = []
    for cid in sorted(per):  # ORDER BY customer_id: code point order is UTF-8 byte order
        c = per[cid]
        p = sorted(c["purchases"], key=lambda r: (r[0], r[1]))  # (order_ts, order_id), as the window orders them
        n = len(p)
        su = signup.get(cid)
        first_any = min(c["first"], su) if su is not None else c["first"]
        tenure = _days(cut_s, first_any)
        row: dict = {
            "customer_id": cid,
            "tenure_days": tenure,
            "n_returned": c["returned"],
            "return_rate": c["returned"] / c["orders"],
        }
        if n:
            decs = [_dec(r[2]) for r in p]
            total = sum(decs)
            gaps = [p[j][0] - p[j - 1][0] for j in range(1, n)]
            items = [_dec(r[3]) for r in p if not math.isnan(r[3])]
            recent = [d for r, d in zip(p, decs) if r[0] > recent_from]
            prior = [d for r, d in zip(p, decs) if prior_from < r[0] <= recent_from]
            last = p[-1][0]
            ipi_mean = _long_double_avg(sum(gaps), len(gaps)) / 86400e6 if gaps else None
            ipi_std = None
            if len(gaps) > 1:
                s1, s2, m = sum(gaps), sum(g * g for g in gaps), len(gaps)
                ipi_std = math.sqrt(float(m * s2 - s1 * s1) / float(m * (m - 1))) / 86400e6
            row.update(
                recency_days=_days(cut_s, last),
                frequency=n,
                orders_recent=len(recent),
                monetary_total=_dec_to_double(total),
                avg_order_value=_dec_to_double(total) / n,
                max_order_value=max(r[2] for r in p),
                items_per_order=_long_double_avg(sum(items), len(items), _LD_SCALE) if items else None,
                first_purchase_days=_days(cut_s, p[0][0]),
                ipi_mean_days=ipi_mean,
                ipi_std_days=ipi_std,
                ipi_last_days=gaps[-1] / 86400e6 if gaps else None,
                overdue_ratio=_days(cut_s, last) / ipi_mean if ipi_mean else None,
                spend_recent=_dec_to_double(sum(recent)) if recent else 0.0,
                spend_prior=_dec_to_double(sum(prior)) if prior else 0.0,
                n_categories=len({r[4] for r in p if r[4] is not None}),
            )
        else:
            row.update(
                recency_days=_days(cut_s, c["first"]),
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
        row["orders_per_month"] = row["frequency"] * 30.0 / max(tenure, 30.0)
        sr, sp = row["spend_recent"], row["spend_prior"]
        row["spend_trend"] = (sr - sp) / (sr + sp + 1.0)
        r = reviews.get(cid, (0, None, None, None, None))
        row.update(review_count=r[0], rating_mean=r[1], rating_min=r[2], rating_last=r[3], days_since_last_review=r[4])
        e = events.get(cid, (0, 0, 0, 0, 0, None))
        row.update(
            n_events=e[0], n_views=e[1], n_searches=e[2], n_carts=e[3], events_recent=e[4], days_since_last_event=e[5]
        )
        row["carts_per_order"] = row["n_carts"] / max(row["frequency"], 1)
        fut = future.get(cid)
        row["future_value"], row["future_orders"] = (_dec_to_double(fut[0]), fut[1]) if fut else (0.0, 0)
        rows.append(row)
    return _frame(rows)


def _review_aggregates(reviews: pd.DataFrame, cut: int, cut_s: float) -> dict[str, tuple]:
    """customer -> (count, mean rating, min rating, last rating, days since the last review), reviews by the cutoff."""
    ids = _strings(reviews["customer_id"], "customer ids")
    ts = _required_micros(reviews["review_ts"], "review time")
    rating = _floats(reviews["rating"])
    if not all(math.isfinite(x) and 0 <= x < 1e9 for x in rating):
        raise _Unsupported("rating outside the checked range")
    by: dict[str, list] = {}
    for cid, t, x in zip(ids, ts, rating):
        if t <= cut:
            by.setdefault(cid, []).append((t, x))
    out = {}
    for cid, rs in by.items():
        latest = max(rs)  # arg_max(rating, (review_ts, rating))
        out[cid] = (
            len(rs),
            _long_double_avg(sum(_dec(x) for _, x in rs), len(rs), _LD_SCALE),
            min(x for _, x in rs),
            latest[1],
            _days(cut_s, latest[0]),
        )
    return out


def _event_aggregates(events: pd.DataFrame, cut: int, cut_s: float, recent_from: int) -> dict[str, tuple]:
    """customer -> (events, views, searches, carts, recent events, days since the last event), by the cutoff."""
    ids = _strings(events["customer_id"], "customer ids")
    ts = _required_micros(events["event_ts"], "event time")
    kinds = _strings(events["event_type"], "event types")
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
    return {cid: (*a[:5], _days(cut_s, a[5])) for cid, a in acc.items()}


def _signups(customers: pd.DataFrame | None) -> dict[str, int | None]:
    if customers is None or len(customers) == 0:
        return {}
    ids = _strings(customers["customer_id"], "customer ids")
    if len(set(ids)) != len(ids):
        raise _Unsupported("a customer twice in the customers table")  # the query's join would repeat its rows
    if "signup_ts" not in customers:
        return {}
    return dict(zip(ids, _micros(customers["signup_ts"])))


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


def probe_tables(seed: int = 0, customers: int = 60) -> dict[str, pd.DataFrame]:
    """Clean tables with values that expose rounding: amounts at half-cents and at the ninth decimal, sums that a float
    adds in another order, same-second orders, long and short gaps, reviews and events at the cutoff's edges."""
    rng = np.random.default_rng(seed)
    base = pd.Timestamp("2025-01-01", tz="UTC")
    amounts = [
        0.1,
        0.2,
        0.3,
        1e-9,
        1.5e-9,
        2.5e-9,
        3.15e-08,
        2.415e-07,
        12.345,
        99.995,
        1234.5678901234,
        0.0,
        7e8,
        999_999_999.999_999,
        1 / 3,
        2 / 3,
        19.99,
        5.005,
    ]
    o, r, e, c = [], [], [], []
    for i in range(customers):
        cid = f"P{i:03d}" if i % 7 else f"p-\u00e9{i}"
        signup = None if i % 3 else base - pd.Timedelta(days=int(rng.integers(0, 900)))
        c.append({"customer_id": cid, "signup_ts": signup})
        t = base + pd.Timedelta(days=int(rng.integers(0, 200)))
        for j in range(int(rng.integers(1, 9))):
            t = t + pd.Timedelta(seconds=int(rng.choice([0, 1, 3600, 86_400 * int(rng.integers(1, 90))])))
            o.append(
                {
                    "order_id": f"{cid}-{j}",
                    "customer_id": cid,
                    "order_ts": t,
                    "amount": float(rng.choice(amounts)) if rng.random() < 0.6 else round(float(rng.gamma(2, 40)), 2),
                    "status": str(rng.choice(["completed", "completed", "returned", "canceled", "shipped"])),
                    "n_items": float(rng.integers(1, 5)) if rng.random() < 0.8 else np.nan,
                    "category": str(rng.choice(["toys", "books", "home"])) if rng.random() < 0.9 else None,
                }
            )
        for _ in range(int(rng.integers(0, 4))):
            r.append(
                {
                    "customer_id": cid,
                    "review_ts": base + pd.Timedelta(days=int(rng.integers(0, 400))),
                    "rating": float(rng.integers(1, 6)),
                }
            )
        for _ in range(int(rng.integers(0, 6))):
            e.append(
                {
                    "customer_id": cid,
                    "event_ts": base + pd.Timedelta(hours=int(rng.integers(0, 9000))),
                    "event_type": str(rng.choice(["view", "search", "cart", "wishlist"])),
                }
            )
    orders = pd.DataFrame(o)
    orders["order_ts"] = pd.to_datetime(orders["order_ts"], utc=True).astype("datetime64[us, UTC]")
    customers_df = pd.DataFrame(c)
    customers_df["signup_ts"] = pd.to_datetime(customers_df["signup_ts"], utc=True).astype("datetime64[us, UTC]")
    reviews = pd.DataFrame(r)
    reviews["review_ts"] = pd.to_datetime(reviews["review_ts"], utc=True).astype("datetime64[us, UTC]")
    events = pd.DataFrame(e)
    events["event_ts"] = pd.to_datetime(events["event_ts"], utc=True).astype("datetime64[us, UTC]")
    return {"orders": orders, "customers": customers_df, "reviews": reviews, "events": events}
