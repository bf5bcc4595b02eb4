"""Step 2, purchases: the ``orders`` table (BG/NBD-style repeat buying with seasonality and change points)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from .clock import Clock
from .common import BROWSER, BUS, DISG, GIFT, obj_str, pick, ragged, take_ids
from .customers import Customers
from .products import BUS_CAT_P, CAT_NAMES, CAT_POP, CAT_PRICE

# monthly multipliers of the purchase rate (Jan..Dec)
_SEASON = np.array([0.85, 0.80, 0.90, 0.92, 0.95, 0.92, 0.88, 0.92, 0.98, 1.05, 1.45, 1.75])
_SEASON_GIFT = np.array([0.80, 1.00, 0.85, 0.85, 1.00, 0.85, 0.85, 0.85, 0.90, 1.10, 2.40, 3.20])
_STATUSES = np.array(["completed", "returned", "canceled"], dtype=object)


@dataclass
class Orders:
    """One entry per order, in time order (ties by customer)."""

    ids: np.ndarray  # "O00000017"
    cust: np.ndarray  # customer position
    t: np.ndarray  # float days
    minute: np.ndarray  # minutes since the period start
    bad: np.ndarray  # a disgruntled customer's bad order
    rank: np.ndarray  # position within the customer's orders (0 = first)
    post: np.ndarray  # a business customer's order after the step-up (bulk)
    cat: np.ndarray  # category code
    n_items: np.ndarray
    amount: np.ndarray  # EUR, 2 decimals
    status: np.ndarray  # 0 completed, 1 returned, 2 canceled


def draw_orders(rng: np.random.Generator, clock: Clock, c: Customers) -> Orders:
    """Draw every customer's orders from ``rng`` (the orders' own generator)."""
    cust, t, bad = _order_times(rng, clock, c)
    minute = clock.minutes(t)
    order = np.lexsort((cust, minute))  # time order; ties by customer (lexsort is stable)
    cust, t, bad, minute = cust[order], t[order], bad[order], minute[order]
    n_o = len(cust)
    # rank of each order within its customer (0 = first)
    by_c = np.lexsort((minute, cust))
    _, pos = ragged(np.bincount(cust, minlength=len(c.seg)))
    rank = np.empty(n_o, np.int64)
    rank[by_c] = pos
    post = (c.seg[cust] == BUS) & (t >= c.change[cust])
    cat, n_items, amount, status = _order_contents(rng, c, cust, bad, post)
    ow = max(8, len(str(n_o)))
    ids = np.array([f"O{i:0{ow}d}" for i in range(1, n_o + 1)], dtype=object)
    return Orders(
        ids=ids,
        cust=cust,
        t=t,
        minute=minute,
        bad=bad,
        rank=rank,
        post=post,
        cat=cat,
        n_items=n_items,
        amount=amount,
        status=status,
    )


def _order_times(rng: np.random.Generator, clock: Clock, c: Customers) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(customer, time, bad) of every order, unsorted: a first order right after signup, repeat orders from a
    thinned Poisson process while alive, and the disgruntled customers' bad orders at their change point."""
    T, seg, n = clock.T, c.seg, len(c.seg)
    is_gift = (seg == GIFT).astype(np.int64)
    season_tab = np.stack([_SEASON, _SEASON_GIFT])
    buyer = seg != BROWSER
    t0 = np.minimum(c.acq + rng.exponential(0.15, n), T - 1e-6)  # first order right after signup
    stop = np.minimum(c.death, T)
    span = np.where(buyer, np.maximum(stop - t0, 0.0), 0.0)
    rmax = c.lam * season_tab.max(1)[is_gift] * c.step
    cnt = rng.poisson(rmax * span)
    cust, _ = ragged(cnt)
    t = t0[cust] + rng.random(len(cust)) * span[cust]
    rate = c.lam[cust] * season_tab[is_gift[cust], clock.month(t)] * np.where(t >= c.change[cust], c.step[cust], 1.0)
    keep = rng.random(len(cust)) * rmax[cust] < rate
    first = np.flatnonzero(buyer)
    badc = np.flatnonzero((seg == DISG) & (c.change > t0) & (c.change < T))
    o_cust = np.concatenate([first, cust[keep], badc])
    o_t = np.concatenate([t0[first], t[keep], c.change[badc]])
    o_bad = np.concatenate([np.zeros(len(first) + int(keep.sum()), bool), np.ones(len(badc), bool)])
    return o_cust, o_t, o_bad


def _order_contents(
    rng: np.random.Generator, c: Customers, cust: np.ndarray, bad: np.ndarray, post: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(category, n_items, amount, status) of the (sorted) orders."""
    n_o = len(cust)
    r = rng.random(n_o)
    cat = np.where(r < 0.6, c.fav1[cust], np.where(r < 0.85, c.fav2[cust], pick(rng, CAT_POP, n_o)))
    cat = np.where(post, pick(rng, BUS_CAT_P, n_o), cat)
    n_items = np.where(post, 4 + rng.poisson(12.0, n_o), 1 + rng.poisson(0.5, n_o))
    unit = c.spend[cust] * (CAT_PRICE[cat] / 25.0) * rng.lognormal(-0.1, 0.45, n_o)
    amount = unit * n_items**0.85 * np.where(post, 0.8, 1.0)
    amount = np.maximum(np.round(amount, 2), 1.0)
    r = rng.random(n_o)
    status = np.where(
        bad, np.where(r < 0.10, 2, np.where(r < 0.55, 1, 0)), np.where(r < 0.04, 2, np.where(r < 0.10, 1, 0))
    )
    return cat, n_items, amount, status


def orders_frame(o: Orders, cids: pa.Array, clock: Clock) -> pd.DataFrame:
    """The ``orders`` table (``cids``: the customer ids as an arrow array)."""
    return pd.DataFrame(
        {
            "order_id": obj_str(o.ids),
            "customer_id": take_ids(cids, o.cust),
            "order_ts": clock.iso(o.minute),
            "amount": o.amount,
            "status": obj_str(_STATUSES[o.status]),
            "n_items": o.n_items.astype(np.int64),
            "category": obj_str(np.array(CAT_NAMES, dtype=object)[o.cat]),
        }
    )
