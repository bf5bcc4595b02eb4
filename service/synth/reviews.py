"""Step 3a, texts: the ``reviews`` table (review kinds by segment, ratings, templated texts)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from .clock import Clock
from .common import BUS, DISG, DRIFT, GIFT, LOYAL, obj_str, offsets, pick_rows, take_ids
from .customers import Customers
from .orders import Orders
from .products import CAT, K_BULK, K_GIFT, K_PREM, K_REG, product

# Review templates: each contains "{p}" exactly once (the product noun).
_REVIEW_KINDS = ("positive", "neutral", "mild_negative", "complaint", "business", "gift", "loyal", "drifting")
RV_POS, RV_NEU, RV_MILD, RV_COMPL, RV_BUS, RV_GIFT, RV_LOYAL, RV_DRIFT = range(8)
_TEMPLATES: dict[int, list[str]] = {
    RV_POS: [
        "Great {p}, works exactly as described.",
        "Really happy with the {p}.",
        "The {p} arrived quickly and looks good.",
        "Good value for money, the {p} does the job.",
        "Nice quality {p}, would buy again.",
        "The {p} is even better than the photos.",
        "Solid {p}, no complaints.",
        "Love the {p}, fast delivery too.",
        "Exactly what I needed, the {p} is perfect.",
        "Well made {p} and easy to use.",
        "Very pleased with this {p}.",
        "The {p} was well packaged and works great.",
    ],
    RV_NEU: [
        "The {p} is okay, nothing special.",
        "Decent {p} but a bit overpriced.",
        "Average quality {p}, delivery was fine.",
        "The {p} does what it says, no more.",
        "It's fine. The {p} looks slightly different from the picture.",
        "Not bad, the {p} is a little smaller than expected.",
        "The {p} works but the instructions were confusing.",
        "Okay {p} for the price.",
    ],
    RV_MILD: [
        "The {p} was not as good as I expected.",
        "Colour of the {p} was not as shown.",
        "The {p} feels flimsy, expected better quality.",
        "Quality of the {p} is disappointing for the price.",
        "The {p} looks different from the photos.",
        "Meh. The {p} feels cheap.",
        "The {p} is okay but the packaging was torn.",
    ],
    RV_COMPL: [
        "The {p} arrived damaged and I am still waiting for my refund.",
        "Delivery of the {p} was two weeks late. Never ordering again.",
        "Customer service ignored all my emails about the broken {p}.",
        "Worst experience ever: the {p} was missing parts and my return was refused.",
        "My package with the {p} got lost and the refund took forever. Done with this shop.",
        "Charged twice for the {p} and nobody answers. Very disappointed.",
        "Wrong {p} delivered and the return process is a nightmare. I will shop elsewhere from now on.",
        "The {p} was clearly used when it arrived. Unacceptable, closing my account.",
        "Still no refund for the {p} after a month. Avoid this store.",
        "Late, damaged {p} and rude support. Never again.",
    ],
    RV_BUS: [
        "Ordered the {p} for our office, the whole team uses them.",
        "Bulk order of {p} for the shop arrived on time.",
        "We will be ordering the {p} for all our staff.",
        "Setting up a new office and the {p} is exactly what we needed.",
        "Good {p}, but we need a proper VAT invoice for our company next time.",
        "Our team goes through these fast, planning a bigger bulk order of the {p}.",
        "Bought the {p} for our cafe, will restock every month.",
        "Great wholesale price on the {p}, ordering more for our clients.",
        "Our office manager asked for more of the {p}, the team loves them.",
        "Stocking up on the {p} for our new store opening.",
    ],
    RV_GIFT: [
        "Bought the {p} as a gift for my sister, she loved it.",
        "Perfect Christmas present, the {p} came nicely wrapped.",
        "Got the {p} for my dad's birthday, he was thrilled.",
        "Great gift idea, the {p} made my friend's day.",
        "Ordered the {p} as a secret santa present, a big hit.",
        "The {p} was a lovely anniversary gift.",
        "Gift wrapping was beautiful and the {p} arrived before the holidays.",
        "My kids loved the {p} we gave them for Christmas.",
    ],
    RV_LOYAL: [
        "My third order here and the {p} is as good as always.",
        "Always buy here, the {p} did not disappoint.",
        "Another great purchase, the {p} is fantastic. Love this shop.",
        "Been a customer for years and the {p} is excellent as usual.",
        "This shop never lets me down, the {p} is perfect.",
        "I keep coming back for quality like this {p}.",
        "Ordered the {p} again, my go-to store for everything.",
        "Fast as always and the {p} is top quality. Already planning my next order.",
    ],
    RV_DRIFT: [
        "The {p} is fine but I found it cheaper elsewhere.",
        "Okay {p}, though prices here have gone up a lot.",
        "Shipping for the {p} cost too much compared to other stores.",
        "The {p} is decent, but other shops have better deals now.",
        "Not sure I will order the {p} here again, the competition is cheaper.",
        "The {p} was fine; the discount codes don't work anymore though.",
    ],
}
_EXTRA_POS = ["Would recommend.", "Five stars.", "Fast shipping.", "Will order again.", "Great service."]
_EXTRA_NEU = ["Delivery took a few days.", "Packaging could be better.", "It is what it is."]
_EXTRA_NEG = ["Very frustrating.", "Not happy.", "Support was slow to respond.", "Zero stars if I could."]
# extra-sentence pool per review kind (0 pos, 1 neu, 2 neg)
_KIND_EXTRA = np.array([0, 1, 1, 2, 0, 0, 0, 1])
# rating distribution (1..5) per review kind
_RATING_P = np.array(
    [
        [0.00, 0.00, 0.02, 0.38, 0.60],  # positive
        [0.00, 0.10, 0.60, 0.30, 0.00],  # neutral
        [0.15, 0.50, 0.35, 0.00, 0.00],  # mild negative
        [0.62, 0.26, 0.04, 0.03, 0.05],  # complaint (a few complainers still give 4-5)
        [0.00, 0.00, 0.05, 0.45, 0.50],  # business
        [0.00, 0.00, 0.05, 0.30, 0.65],  # gift
        [0.00, 0.00, 0.02, 0.20, 0.78],  # loyal
        [0.05, 0.25, 0.50, 0.20, 0.00],  # drifting
    ]
)
# a review "reveals" its customer's segment when it is of this kind (per segment; -1: no such kind)
_SEG_KIND = np.array([-1, RV_BUS, RV_GIFT, RV_LOYAL, RV_COMPL, RV_DRIFT, -1])
_RATING_CUM = np.cumsum(_RATING_P, 1)
# the templates as flat prefix/suffix arrays around "{p}", grouped by review kind
_TPL_ALL = [s for k in range(len(_REVIEW_KINDS)) for s in _TEMPLATES[k]]
_TPL_CNT = np.array([len(_TEMPLATES[k]) for k in range(len(_REVIEW_KINDS))])
_TPL_OFF = offsets(_TPL_CNT)
_TPL_PRE = np.array([s.split("{p}")[0] for s in _TPL_ALL], dtype=object)
_TPL_SUF = np.array([s.split("{p}")[1] for s in _TPL_ALL], dtype=object)
# the extra sentences, flat, after "" (no extra sentence), grouped by pool
_EXTRAS = [_EXTRA_POS, _EXTRA_NEU, _EXTRA_NEG]
_X_CNT = np.array([len(x) for x in _EXTRAS])
_X_OFF = offsets(_X_CNT)
_X_ALL = np.array([""] + [" " + s for x in _EXTRAS for s in x], dtype=object)


@dataclass
class Reviews:
    """One entry per review, in time order (ties by customer)."""

    ids: np.ndarray  # "R00000003"
    order_row: np.ndarray  # position of the reviewed order in Orders
    cust: np.ndarray  # customer position
    t: np.ndarray  # float days
    minute: np.ndarray  # minutes since the period start
    kind: np.ndarray  # review kind (RV_*)
    rating: np.ndarray  # 1-5
    text: np.ndarray  # object array of str
    intent: np.ndarray  # written in the customer's own segment language


def draw_reviews(rng: np.random.Generator, clock: Clock, c: Customers, o: Orders) -> Reviews:
    """Draw who reviews which order, when, with what kind, rating and text, from ``rng`` (the reviews' own)."""
    ri, delay = _who_writes(rng, clock.T, c, o)
    rc, rt = o.cust[ri], o.t[ri] + delay[ri]
    kind = _review_kinds(rng, clock, c, o, ri)
    rating = 1 + pick_rows(rng, _RATING_CUM[kind])
    text = _review_texts(rng, kind, o.cat[ri])
    r_min = clock.minutes(rt)
    order_r = np.lexsort((rc, r_min))
    ri, rc, rt, r_min, rating, text, kind = (a[order_r] for a in (ri, rc, rt, r_min, rating, text, kind))
    n_r = len(ri)
    rw = max(8, len(str(n_r)))
    ids = np.array([f"R{i:0{rw}d}" for i in range(1, n_r + 1)], dtype=object)
    return Reviews(
        ids=ids,
        order_row=ri,
        cust=rc,
        t=rt,
        minute=r_min,
        kind=kind,
        rating=rating,
        text=text,
        intent=kind == _SEG_KIND[c.seg[rc]],
    )


def _who_writes(rng: np.random.Generator, T: float, c: Customers, o: Orders) -> tuple[np.ndarray, np.ndarray]:
    """(rows of the reviewed orders, review delay in days per order): reviewers write about 45 % of their orders,
    loyal and revealed business customers more, others rarely, and 80 % of the bad orders get one."""
    rc = o.cust
    n_o = len(rc)
    p = np.where(c.reviewer[rc], 0.45, 0.02)
    p = np.where(c.reviewer[rc] & (c.seg[rc] == LOYAL), 0.6, p)
    p = np.where(c.reviewer[rc] & (c.seg[rc] == BUS) & (o.t >= c.reveal[rc]), 0.6, p)
    p = np.where(o.bad, 0.8, p)
    delay = np.where(o.bad, 1.0 + rng.gamma(2.0, 1.5, n_o), 0.5 + rng.gamma(2.0, 2.0, n_o))
    delay = np.minimum(delay, 20.0)
    wrote = (rng.random(n_o) < p) & (o.status != 2) & (o.t + delay < T)
    return np.flatnonzero(wrote), delay


def _review_kinds(rng: np.random.Generator, clock: Clock, c: Customers, o: Orders, ri: np.ndarray) -> np.ndarray:
    """Kind (RV_*) of the reviews of orders ``ri``: noise for everyone, the segment's language from its reveal."""
    rc = o.cust[ri]
    rs = c.seg[rc]
    o_t = o.t[ri]
    n_r = len(ri)
    u = rng.random(n_r)
    kind = np.where(u < 0.01, RV_COMPL, np.where(u < 0.12, RV_MILD, np.where(u < 0.33, RV_NEU, RV_POS)))
    v = rng.random(n_r)
    o_month = clock.month(o_t)
    kind = np.where((rs == BUS) & (o_t >= c.reveal[rc]) & (v < 0.8), RV_BUS, kind)
    gift_p = np.where(np.isin(o_month, [9, 10, 11]), 0.8, np.where(np.isin(o_month, [1, 4]), 0.6, 0.4))
    kind = np.where((rs == GIFT) & (v < gift_p), RV_GIFT, kind)
    kind = np.where((rs == LOYAL) & (v < np.where(o.rank[ri] >= 1, 0.65, 0.2)), RV_LOYAL, kind)
    kind = np.where((rs == DRIFT) & (o_t >= c.reveal[rc]) & (v < 0.7), RV_DRIFT, kind)
    after = (rs == DISG) & (o_t > c.change[rc])
    kind = np.where(after, np.where(v < 0.5, RV_NEU, RV_MILD), kind)
    return np.where(o.bad[ri], RV_COMPL, kind)


def _review_texts(rng: np.random.Generator, kind: np.ndarray, cat: np.ndarray) -> np.ndarray:
    """Texts for reviews of the given kinds about products of the given categories: a template of the kind around a
    product noun (bulk for business, gift sets for gift, sometimes premium), 40 % with an extra sentence."""
    n_r = len(kind)
    pkind = np.full(n_r, K_REG)
    pkind = np.where(kind == RV_BUS, K_BULK, pkind)
    pkind = np.where(kind == RV_GIFT, K_GIFT, pkind)
    pkind = np.where(((kind == RV_LOYAL) | (kind == RV_POS)) & (rng.random(n_r) < 0.25), K_PREM, pkind)
    prod = product(rng, cat, pkind)
    ti = _TPL_OFF[kind] + np.minimum((rng.random(n_r) * _TPL_CNT[kind]).astype(np.int64), _TPL_CNT[kind] - 1)
    xp = _KIND_EXTRA[kind]
    xi = 1 + _X_OFF[xp] + np.minimum((rng.random(n_r) * _X_CNT[xp]).astype(np.int64), _X_CNT[xp] - 1)
    xi = np.where(rng.random(n_r) < 0.4, xi, 0)
    return _TPL_PRE[ti] + CAT["noun"][prod] + _TPL_SUF[ti] + _X_ALL[xi]


def reviews_frame(r: Reviews, o: Orders, cids: pa.Array, clock: Clock) -> pd.DataFrame:
    """The ``reviews`` table (``cids``: the customer ids as an arrow array)."""
    return pd.DataFrame(
        {
            "review_id": obj_str(r.ids),
            "customer_id": take_ids(cids, r.cust),
            "review_ts": clock.iso(r.minute),
            "rating": r.rating.astype(np.int64),
            "text": obj_str(r.text),
            "order_id": obj_str(o.ids[r.order_row]),
        }
    )
