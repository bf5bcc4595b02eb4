"""Step 3b, texts: the ``events`` table (browsing sessions before orders and background browsing with the segments'
intent searches)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from .clock import Clock
from .common import BROWSER, BUS, DISG, DRIFT, GIFT, LOYAL, REG, Vocab, obj_str, offsets, pick, ragged, take_ids
from .customers import Customers
from .orders import Orders
from .products import ALL_NOUNS, BUS_CAT_P, CAT, CAT_POP, K_BULK, K_GIFT, K_PREM, K_REG, category_queries, product

_BUSINESS_Q = [
    "bulk printer paper",
    "wholesale coffee beans",
    "office chairs set of 10",
    "pack of 50 ballpoint pens",
    "bulk discount",
    "business account",
    "vat invoice",
    "company invoice",
    "office supplies wholesale",
    "bulk order shipping",
    "team gift boxes",
    "wholesale pricing",
    "bulk order for office",
    "desk organizer pack of 20",
    "sticky notes bulk",
    "coffee beans 10kg",
    "cleaning supplies for office",
    "ergonomic mouse set for team",
    "label maker business",
    "tax exempt purchase",
    "bulk usb-c cable",
    "wholesale green tea",
    "breakroom snacks bulk",
    "restaurant olive oil 5l",
]
_GIFT_Q = [
    "gift for dad",
    "gift for mom",
    "christmas gift ideas",
    "birthday present for her",
    "gift wrapping",
    "gift card",
    "stocking stuffers",
    "secret santa under 20",
    "valentine gift",
    "last minute gifts",
    "gift for teenager",
    "anniversary gift ideas",
    "gift set for her",
    "christmas presents for kids",
    "mothers day gift",
    "gift box delivery",
]
_DRIFT_Q = [
    "discount code",
    "coupon code",
    "price match",
    "free shipping other stores",
    "how to delete account",
    "unsubscribe newsletter",
    "cheaper alternative",
    "outlet sale",
    "price comparison",
    "promo code not working",
    "shipping costs too high",
    "compare prices",
]
_DRIFT_Q_NOUN = [
    "cheaper alternative to {}",
    "{} cheaper elsewhere",
    "compare prices {}",
    "{} better price",
    "{} discount code",
    "{} outlet",
]
_SERVICE_Q = [
    "refund status",
    "where is my order",
    "contact customer service",
    "how to return item",
    "return label",
    "damaged item refund",
    "complaint form",
    "track package",
    "order not delivered",
    "cancel order",
    "speak to a manager",
    "chargeback how to",
]
_LOYAL_Q = [
    "new arrivals",
    "loyalty points",
    "member rewards",
    "restock alert",
    "pre-order",
    "new collection",
    "members early access",
    "wishlist",
]
Q_BUS, Q_GIFT, Q_DRIFT, Q_SERV, Q_LOYAL = range(5)  # intent query pools
VIEW, SEARCH, CART = range(3)  # event types
_EVENT_TYPES = np.array(["view", "search", "cart"], dtype=object)


class _Texts:
    """The events' texts as codes into one vocabulary: product titles, per-category searches, intent searches."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.vocab = Vocab()
        self.title_code = self.vocab.codes(list(CAT["title"]))
        self.pid_vocab = np.concatenate([CAT["product_id"], np.array([None], dtype=object)])
        self.no_pid = len(self.pid_vocab) - 1  # code of the null product_id (searches)
        cq_code = [self.vocab.codes(q) for q in category_queries()]
        self.cq_cnt = np.array([len(q) for q in cq_code])
        self.cq_off = offsets(self.cq_cnt)
        self.cq_flat = np.concatenate(cq_code)
        drift_q = _DRIFT_Q + [tpl.format(nn) for tpl in _DRIFT_Q_NOUN for nn in ALL_NOUNS]
        self.intent_q = [self.vocab.codes(q) for q in (_BUSINESS_Q, _GIFT_Q, drift_q, _SERVICE_Q, _LOYAL_Q)]

    def query(self, pool: int, m: int) -> np.ndarray:
        """m random searches from an intent pool (Q_*)."""
        codes = self.intent_q[pool]
        return codes[self.rng.integers(0, len(codes), m)]

    def cat_query(self, cat: np.ndarray) -> np.ndarray:
        """One random plain search per entry of ``cat``, in that category."""
        cnt = self.cq_cnt[cat]
        return self.cq_flat[self.cq_off[cat] + np.minimum((self.rng.random(len(cat)) * cnt).astype(np.int64), cnt - 1)]


@dataclass
class _Batch:
    """Events of one kind of browsing, unsorted."""

    cust: np.ndarray
    t: np.ndarray
    type: np.ndarray  # VIEW / SEARCH / CART
    text: np.ndarray  # vocabulary code
    pid: np.ndarray  # catalogue row, or the null code for searches
    intent: np.ndarray  # shows the customer's segment
    hint: np.ndarray  # shopping around before dropping out


@dataclass
class _Intent:
    """Which background events carry which segment's intent, and whether as a product or a search."""

    bus: np.ndarray
    gift: np.ndarray
    drift: np.ndarray
    disg: np.ndarray
    loyal: np.ndarray
    prod: np.ndarray
    search: np.ndarray


@dataclass
class Events:
    """One entry per event, in time order (ties by customer), with the vocabulary its codes refer to."""

    cust: np.ndarray
    minute: np.ndarray
    type: np.ndarray
    text: np.ndarray
    pid: np.ndarray
    intent: np.ndarray
    hint: np.ndarray
    vocab: Vocab
    pid_vocab: np.ndarray


def draw_events(rng: np.random.Generator, clock: Clock, c: Customers, o: Orders) -> Events:
    """Draw the browsing events from ``rng`` (the events' own generator)."""
    texts = _Texts(rng)
    s = _sessions(rng, texts, clock, c, o)
    b = _browsing(rng, texts, clock, c)
    e_cust = np.concatenate([s.cust, b.cust])
    e_t = np.maximum(np.concatenate([s.t, b.t]), c.acq[e_cust])
    e_type = np.concatenate([s.type, b.type])
    e_text = np.concatenate([s.text, b.text])
    e_pid = np.concatenate([s.pid, b.pid])
    e_intent = np.concatenate([s.intent, b.intent])
    e_hint = np.concatenate([s.hint, b.hint])
    e_min = clock.minutes(e_t)
    order_e = np.lexsort((e_cust, e_min))
    e_cust, e_min, e_type, e_text, e_pid, e_intent, e_hint = (
        a[order_e] for a in (e_cust, e_min, e_type, e_text, e_pid, e_intent, e_hint)
    )
    return Events(
        cust=e_cust,
        minute=e_min,
        type=e_type,
        text=e_text,
        pid=e_pid,
        intent=e_intent,
        hint=e_hint,
        vocab=texts.vocab,
        pid_vocab=texts.pid_vocab,
    )


def _sessions(rng: np.random.Generator, texts: _Texts, clock: Clock, c: Customers, o: Orders) -> _Batch:
    """Sessions before orders: views/searches in the order's category, often a cart event."""
    ev_o = np.flatnonzero(c.has_events[o.cust])
    k = rng.poisson(1.6, len(ev_o)) + o.post[ev_o]
    owner, _ = ragged(k)
    so = ev_o[owner]
    sc = o.cust[so]
    st = o.t[so] - rng.exponential(0.8, len(so))
    is_search = rng.random(len(so)) < 0.2
    carts = ev_o[rng.random(len(ev_o)) < 0.55]
    so = np.concatenate([so, carts])
    sc = np.concatenate([sc, o.cust[carts]])
    st = np.concatenate([st, o.t[carts] - rng.exponential(0.03, len(carts))])
    s_type = np.concatenate([np.where(is_search, SEARCH, VIEW), np.full(len(carts), CART)])
    s_cat = o.cat[so]
    sseg = c.seg[sc]
    r = rng.random(len(so))
    s_kind = np.where(r < 0.08, K_PREM, K_REG)
    s_kind = np.where(o.post[so] & (r < 0.7), K_BULK, s_kind)
    s_kind = np.where((sseg == GIFT) & np.isin(clock.month(o.t[so]), [9, 10, 11]) & (r < 0.5), K_GIFT, s_kind)
    s_kind = np.where((sseg == LOYAL) & (r < 0.3), K_PREM, s_kind)
    s_prod = product(rng, s_cat, s_kind)
    s_text = np.where(s_type == SEARCH, texts.cat_query(s_cat), texts.title_code[s_prod])
    s_pid = np.where(s_type == SEARCH, texts.no_pid, s_prod)
    return _Batch(
        cust=sc,
        t=st,
        type=s_type,
        text=s_text,
        pid=s_pid,
        intent=o.post[so] & (s_kind == K_BULK),
        hint=np.zeros(len(sc), bool),
    )


def _browsing(rng: np.random.Generator, texts: _Texts, clock: Clock, c: Customers) -> _Batch:
    """Background browsing while alive, with the segments' intent products and searches."""
    bc, bt, revealed_t, shopping = _browse_times(rng, clock.T, c)
    bs = c.seg[bc]
    nb = len(bc)
    intent, noise = _browse_intent(rng, clock, c, bc, bt, revealed_t, shopping)
    r = rng.random(nb)
    b_type = np.where(r < 0.7, VIEW, np.where(r < 0.9, SEARCH, CART))
    rr = rng.random(nb)
    b_cat = np.where(rr < 0.5, c.fav1[bc], np.where(rr < 0.8, c.fav2[bc], pick(rng, CAT_POP, nb)))
    b_kind = np.where(rng.random(nb) < 0.08, K_PREM, K_REG)
    m = _intent_content(rng, bs, intent, noise, shopping)
    b_type = np.where(m.prod, np.where(rng.random(nb) < 0.8, VIEW, CART), np.where(m.search, SEARCH, b_type))
    b_cat = np.where(m.bus & m.prod, pick(rng, BUS_CAT_P, nb), b_cat)
    b_cat = np.where(m.gift & m.prod, pick(rng, CAT_POP, nb), b_cat)
    b_kind = np.select([m.bus, m.gift, m.loyal], [K_BULK, K_GIFT, K_PREM], b_kind)
    b_kind = np.where(m.drift | m.disg, K_REG, b_kind)
    b_prod = product(rng, b_cat, b_kind)
    b_text = np.full(nb, -1, np.int64)
    for mask, pool in ((m.bus, Q_BUS), (m.gift, Q_GIFT), (m.drift, Q_DRIFT), (m.disg, Q_SERV), (m.loyal, Q_LOYAL)):
        mm = mask & m.search
        b_text[mm] = texts.query(pool, int(mm.sum()))
    plain_search = (b_type == SEARCH) & (b_text < 0)
    b_text[plain_search] = texts.cat_query(b_cat[plain_search])
    b_text = np.where(b_type == SEARCH, b_text, texts.title_code[b_prod])
    b_pid = np.where(b_type == SEARCH, texts.no_pid, b_prod)
    return _Batch(cust=bc, t=bt, type=b_type, text=b_text, pid=b_pid, intent=intent & ~shopping, hint=intent & shopping)


def _browse_times(rng: np.random.Generator, T: float, c: Customers) -> tuple[np.ndarray, ...]:
    """(customer, time, revealed, shopping) of the background events: a thinned Poisson process over each customer's
    browsing window; business customers browse 3x more after their reveal, drifting ones less, shoppers-around more."""
    seg, acq = c.seg, c.acq
    w0 = acq
    w1 = np.where(seg == BROWSER, np.minimum(acq + c.browse_days, T), np.minimum(c.death + 7.0, T))
    bspan = np.where(c.has_events, np.maximum(w1 - w0, 0.0), 0.0)
    bmax = c.ev_rate * np.where(seg == BUS, 3.0, 1.0) * np.where(c.shops_around, 2.5, 1.0)
    bc, _ = ragged(rng.poisson(bmax * bspan))
    bt = w0[bc] + rng.random(len(bc)) * bspan[bc]
    bs = seg[bc]
    revealed_t = bt >= c.reveal[bc]
    shopping = (bt >= c.shop_from[bc]) & (bt <= c.death[bc])
    brate = (
        c.ev_rate[bc]
        * np.where((bs == BUS) & revealed_t, 3.0, 1.0)
        * np.where((bs == DRIFT) & revealed_t, 0.7, 1.0)
        * np.where(shopping, 2.5, 1.0)
    )
    keep = rng.random(len(bc)) * bmax[bc] < brate
    return bc[keep], bt[keep], revealed_t[keep], shopping[keep]


def _browse_intent(
    rng: np.random.Generator,
    clock: Clock,
    c: Customers,
    bc: np.ndarray,
    bt: np.ndarray,
    revealed_t: np.ndarray,
    shopping: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(intent, noise): which background events show the customer's segment (or shopping around), and which regular,
    gift or loyal customers' events are off-segment noise (bulk or bargain items)."""
    bs = c.seg[bc]
    nb = len(bc)
    q4 = np.isin(clock.month(bt), [9, 10, 11])
    p_int = np.select(
        [
            shopping,
            (bs == BUS) & revealed_t,
            (bs == DRIFT) & revealed_t,
            (bs == DISG) & (bt > c.change[bc]),
            (bs == GIFT),
            (bs == LOYAL),
        ],
        [0.6, 0.6, 0.6, 0.5, np.where(q4, 0.55, 0.12), 0.2],
        0.0,
    )
    intent = rng.random(nb) < p_int
    noise = ~intent & np.isin(bs, [REG, GIFT, LOYAL]) & (rng.random(nb) < 0.005)
    return intent, noise


def _intent_content(
    rng: np.random.Generator, bs: np.ndarray, intent: np.ndarray, noise: np.ndarray, shopping: np.ndarray
) -> _Intent:
    """Which segment's content each intent (or noise) event carries, and whether it is a product or a search."""
    nb = len(bs)
    r2 = rng.random(nb)
    m_drift = (intent & ((bs == DRIFT) | shopping)) | (noise & (r2 >= 0.5))
    m_bus = (intent & (bs == BUS) & ~shopping) | (noise & (r2 < 0.5))
    m_disg = intent & (bs == DISG)
    m_gift = intent & (bs == GIFT) & ~shopping
    m_loyal = intent & (bs == LOYAL) & ~shopping
    r3 = rng.random(nb)
    prod_intent = np.select(
        [m_bus, m_drift, m_disg, m_gift, m_loyal], [r3 < 0.5, r3 < 0.25, r3 < 0.2, r3 < 0.55, r3 < 0.5], False
    )
    search_intent = (m_bus | m_drift | m_disg | m_gift | m_loyal) & ~prod_intent
    return _Intent(
        bus=m_bus, gift=m_gift, drift=m_drift, disg=m_disg, loyal=m_loyal, prod=prod_intent, search=search_intent
    )


def events_frame(e: Events, cids: pa.Array, clock: Clock) -> pd.DataFrame:
    """The ``events`` table (``cids``: the customer ids as an arrow array)."""
    return pd.DataFrame(
        {
            "customer_id": take_ids(cids, e.cust),
            "event_ts": clock.iso(e.minute),
            "event_type": obj_str(_EVENT_TYPES[e.type]),
            "text": e.vocab.column(e.text),
            "product_id": take_ids(pa.array(e.pid_vocab, type=pa.string()), e.pid),
        }
    )
