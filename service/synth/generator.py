"""``generate``: the steps in order (customers, orders, reviews, events, errors), each with its own random stream."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from .clock import Clock
from .common import BROWSER, DISG, SEGMENTS, obj_str
from .customers import Customers, customers_frame, draw_customers
from .errors import empty_errors, inject
from .events import Events, draw_events, events_frame
from .orders import Orders, draw_orders, orders_frame
from .reviews import RV_COMPL, Reviews, draw_reviews, reviews_frame


def generate(
    n_customers: int, seed: int = 0, end: str = "2025-12-31", years: float = 2.0, inject_errors: float = 0.0
) -> dict[str, pd.DataFrame]:
    """Generate the four input tables plus ``truth`` (latent traits) and ``errors`` (injected faults).

    Deterministic: the same arguments give identical frames (and byte-identical files).
    """
    if int(n_customers) != n_customers or n_customers < 1:
        raise ValueError(f"n_customers must be a positive integer, got {n_customers!r}")
    if not years > 0:
        raise ValueError(f"years must be positive, got {years!r}")
    if not 0.0 <= inject_errors < 1.0:
        raise ValueError(f"inject_errors must be a fraction in [0, 1), got {inject_errors!r}")
    n = int(n_customers)
    clock = Clock(end, years)
    ss = np.random.SeedSequence([int(seed), 0x5EED])
    r_cust, r_ord, r_rev, r_ev, r_err = (np.random.default_rng(s) for s in ss.spawn(5))
    c = draw_customers(r_cust, clock, n)
    o = draw_orders(r_ord, clock, c)
    r = draw_reviews(r_rev, clock, c, o)
    e = draw_events(r_ev, clock, c, o)
    cids = pa.array(c.ids, type=pa.string())
    out = {
        "customers": customers_frame(c, clock),
        "orders": orders_frame(o, cids, clock),
        "reviews": reviews_frame(r, o, cids, clock),
        "events": events_frame(e, cids, clock),
        "truth": truth_frame(clock, c, o, r, e),
    }
    out["errors"] = inject(out, inject_errors, r_err, n, c.width) if inject_errors > 0 else empty_errors()
    return out


def truth_frame(clock: Clock, c: Customers, o: Orders, r: Reviews, e: Events) -> pd.DataFrame:
    """The ``truth`` table: one row per customer with its hidden traits and whether its texts showed them."""
    n = len(c.seg)
    revealed = np.zeros(n, dtype=bool)
    revealed[r.cust[r.intent]] = True
    revealed[e.cust[e.intent]] = True
    churn_hint = np.zeros(n, dtype=bool)
    churn_hint[e.cust[e.hint]] = True
    complaint_ts = np.full(n, np.inf)
    cm = (r.kind == RV_COMPL) & o.bad[r.order_row]  # the review of the bad order
    np.minimum.at(complaint_ts, r.cust[cm], r.t[cm])
    reveal_out = np.where(c.seg == DISG, complaint_ts, c.reveal)
    return pd.DataFrame(
        {
            "customer_id": obj_str(c.ids),
            "segment": obj_str(np.array(SEGMENTS, dtype=object)[c.seg]),
            "rising": c.rising,
            "acquired_ts": clock.stamp(c.acq),
            "change_ts": clock.stamp(c.change),
            "reveal_ts": clock.stamp(reveal_out),
            "death_ts": clock.stamp(np.where(c.seg == BROWSER, np.inf, c.death)),
            "alive_at_end": (c.death >= clock.T) & (c.seg != BROWSER),
            "revealed": revealed,
            "shops_around": c.shops_around,
            "churn_hint": churn_hint,
            "purchase_rate_per_year": c.lam * 365.25,
            "step_factor": c.step,
            "spend_level": c.spend,
            "reviewer": c.reviewer,
            "has_events": c.has_events,
        }
    )
