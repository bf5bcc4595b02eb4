"""The probe tables on which ``service.features_small`` is compared with DuckDB (``features.agrees_with_duckdb``).

Clean tables of hostile values: amounts that expose rounding, sums that a float adds in another order, same-second
orders, long and short gaps, reviews and events at a cutoff's edges. Deterministic for a seed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Amounts that expose rounding: half-cents, the ninth decimal, thirds, zero, amounts near a billion.
_AMOUNTS = [
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


def probe_tables(seed: int = 0, customers: int = 60) -> dict[str, pd.DataFrame]:
    """Clean tables with values that expose rounding: amounts at half-cents and at the ninth decimal, sums that a float
    adds in another order, same-second orders, long and short gaps, reviews and events at the cutoff's edges."""
    rng = np.random.default_rng(seed)
    base = pd.Timestamp("2025-01-01", tz="UTC")
    o, r, e, c = [], [], [], []
    for i in range(customers):
        customer, orders, reviews, events = _customer_rows(rng, i, base)
        c.append(customer)
        o += orders
        r += reviews
        e += events
    return {
        "orders": _utc_frame(o, "order_ts"),
        "customers": _utc_frame(c, "signup_ts"),
        "reviews": _utc_frame(r, "review_ts"),
        "events": _utc_frame(e, "event_ts"),
    }


def _customer_rows(
    rng: np.random.Generator, i: int, base: pd.Timestamp
) -> tuple[dict, list[dict], list[dict], list[dict]]:
    """The ``i``-th probe customer: its customers row, orders, reviews and events (drawn in this order from ``rng``)."""
    cid = f"P{i:03d}" if i % 7 else f"p-\u00e9{i}"
    signup = None if i % 3 else base - pd.Timedelta(days=int(rng.integers(0, 900)))
    customer = {"customer_id": cid, "signup_ts": signup}
    orders, reviews, events = [], [], []
    t = base + pd.Timedelta(days=int(rng.integers(0, 200)))
    for j in range(int(rng.integers(1, 9))):
        t = t + pd.Timedelta(seconds=int(rng.choice([0, 1, 3600, 86_400 * int(rng.integers(1, 90))])))
        orders.append(
            {
                "order_id": f"{cid}-{j}",
                "customer_id": cid,
                "order_ts": t,
                "amount": float(rng.choice(_AMOUNTS)) if rng.random() < 0.6 else round(float(rng.gamma(2, 40)), 2),
                "status": str(rng.choice(["completed", "completed", "returned", "canceled", "shipped"])),
                "n_items": float(rng.integers(1, 5)) if rng.random() < 0.8 else np.nan,
                "category": str(rng.choice(["toys", "books", "home"])) if rng.random() < 0.9 else None,
            }
        )
    for _ in range(int(rng.integers(0, 4))):
        reviews.append(
            {
                "customer_id": cid,
                "review_ts": base + pd.Timedelta(days=int(rng.integers(0, 400))),
                "rating": float(rng.integers(1, 6)),
            }
        )
    for _ in range(int(rng.integers(0, 6))):
        events.append(
            {
                "customer_id": cid,
                "event_ts": base + pd.Timedelta(hours=int(rng.integers(0, 9000))),
                "event_type": str(rng.choice(["view", "search", "cart", "wishlist"])),
            }
        )
    return customer, orders, reviews, events


def _utc_frame(rows: list[dict], ts_column: str) -> pd.DataFrame:
    """The rows as a frame with ``ts_column`` as microsecond UTC timestamps."""
    df = pd.DataFrame(rows)
    df[ts_column] = pd.to_datetime(df[ts_column], utc=True).astype("datetime64[us, UTC]")
    return df
