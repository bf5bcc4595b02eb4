"""Deterministic synthetic e-commerce data: customers, orders, reviews and browsing events.

The generator exists so that the whole pipeline (validation, features, text embeddings,
XGBoost value/churn, tiers, explanations) can be exercised without private data, and so
that the *text* columns carry real, checkable signal about each customer's future.

API
---
``generate(n_customers, seed=0, end="2025-12-31", years=2.0, inject_errors=0.0)``
    returns ``{"customers", "orders", "reviews", "events", "truth", "errors"}`` DataFrames.
``write_tables(tables, out_dir, fmt="csv", include_truth=False)``
    writes ``customers|orders|reviews|events`` as ``.csv``, ``.parquet`` or ``.jsonl``
    (``truth`` and ``errors`` too when ``include_truth``) and returns ``{name: path}``.
``catalogue()``
    the fixed product catalogue (300 products, 10 categories) the texts are drawn from.

Tables (the DESIGN.md input contract)
-------------------------------------
* ``customers``: ``customer_id`` ("C000042", numbered in signup order), ``signup_ts``, ``country``.
* ``orders``: ``order_id`` ("O00000017", numbered in time order), ``customer_id``, ``order_ts``,
  ``amount`` (order value in EUR, 2 decimals, > 0; canceled/returned orders keep their value),
  ``status`` (``completed`` ~90 %, ``returned``, ``canceled``), ``n_items``, ``category``.
* ``reviews``: ``review_id``, ``customer_id``, ``review_ts``, ``rating`` (1-5), ``text``,
  ``order_id`` (a non-canceled order of the same customer, written 1-20 days after it).
* ``events``: ``customer_id``, ``event_ts``, ``event_type`` (``view``/``search``/``cart``),
  ``text`` (product title for view/cart, search query for search), ``product_id``
  (null for searches).

In the returned DataFrames every timestamp is an ISO 8601 UTC *string* with minute
resolution, e.g. ``"2025-03-04T10:21:00Z"``, exactly as written to the files: the frames are
the raw tables, and parsing belongs to the loader. Id/text columns use pandas' ``str`` dtype,
``amount`` is float64, ``rating`` and ``n_items`` int64. With ``inject_errors > 0`` the
``orders.amount`` and ``reviews.rating`` columns become ``str`` (see below). All timestamps lie
in ``[end - years, end]``; a date-only ``end`` means "through 23:59 of that day". Every
customer's orders, reviews and events come at or after its ``signup_ts``.

Latent design (``truth`` has one row per customer with the hidden traits)
------------------------------------------------------------------------
Purchases follow the BG/NBD / Pareto-NBD story: a first order at acquisition
(staggered over the period, growing, Q4-heavy), then Poisson repeat orders at a
gamma-distributed rate with yearly seasonality (Nov/Dec peak) while "alive", and an
exponential lifetime (gamma-heterogeneous hazard). Order values are lognormal around a
lognormal per-customer spend level: spend is heavy-tailed (top 10 % of buyers ~65 % of
spend) and ~43 % of buyers buy once. On top, each customer has one latent segment whose
*future* behaviour differs from what its order history shows, and which its texts reveal
*before* the orders do (change points are spread over the last ~8-10 months, so both the
training cutoff ``end - 180d`` and the scoring cutoff ``end - 90d`` have changes ahead):

* ``business`` (8 %): bulk/office buyers. 20 % are established from signup; 80 % are
  "rising": at ``change_ts`` (last ~8 months up to 30 days past ``end``) their order rate
  steps up x2.5-5 (``step_factor``) and baskets become bulk (~16 items, ~6x the value).
  From ``reveal_ts`` (45-150 days before the step) they browse bulk products ("... Bulk Pack
  of 50"), search "wholesale ...", "vat invoice", and review "ordered for our office/team".
* ``disgruntled`` (9 %): a bad order at ``change_ts`` gets (80 %) a complaint review at
  ``reveal_ts`` (late/damaged/refund/"never again", mostly 1-2 stars; ~8 % still rate 4-5);
  85 % leave within ~3 weeks; they search "refund status", "contact customer service".
* ``drifting`` (8 %): from ``reveal_ts`` they search "cheaper alternative to ...",
  "discount code", "price match", write "found it cheaper elsewhere" reviews and browse
  less; they stop buying ~1 month after ``change_ts``.
* ``gift`` (12 %): gift language in reviews and searches; purchases concentrated in
  Nov/Dec (x2.4-3.2 instead of x1.45-1.75), a little more around Feb/May and ~5 % less
  in summer: close enough to everyone else off-season that the gift text is no strong
  anti-signal for a model fitted on a summer horizon and scored on Q4.
* ``loyal`` (10 %): praise ("my third order", "always buy here"), 2x purchase rate,
  4x lower dropout hazard.
* ``regular`` (48 %) and ``browser`` (5 %, never orders; events only).
* Across segments, 60 % of the customers who drop out "naturally" (``shops_around``) browse
  more and search for discounts/cheaper alternatives in the 20-60 days before
  ``death_ts`` (``churn_hint`` says whether that text actually appeared).
Noise keeps the text honest: regular customers sometimes write mild or even complaining
reviews and occasionally browse bulk or bargain items, and not every segment member writes
or browses at all (~35 % of customers have reviews, ~70 % have events; ``revealed`` says
whose texts actually show the segment's trait). Truth timestamps are pandas UTC timestamps
(NaT when not applicable or outside the period; ``death_ts`` is NaT for customers alive at
``end`` and for browsers).

``inject_errors``
-----------------
A fraction ``f`` of the rows of ``orders``, ``reviews`` and ``events`` (at least one row per
kind) is corrupted; every corrupted cell is listed in ``tables["errors"]``
(``table, row, column, kind, value``; ``row`` is the 0-based position in the returned frame
and in the written file). The other rows equal the ``inject_errors=0`` output (with
``amount``/``rating`` as strings, e.g. ``"12.50"``/``"4"``).
``customers`` is never corrupted. Kinds:

* orders: ``bad_date`` (unparseable ``order_ts``), ``negative_amount``,
  ``non_numeric_amount``, ``unknown_customer``, ``duplicate_id`` (an exact copy of an
  existing row, appended at the end).
* reviews: ``bad_date``, ``rating_out_of_range`` (0, 6, 7, -1, 10), ``rating_non_numeric``
  ("five", ...), ``unknown_customer``, ``duplicate_id`` (appended copy), ``empty_text``.
* events: ``bad_date``, ``unknown_customer``, ``empty_text``.

Unknown customer ids look valid ("C" + digits) but are not in ``customers``.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["CURRENCY", "SEGMENTS", "TABLES", "catalogue", "generate", "write_tables"]

CURRENCY = "EUR"
TABLES = ("customers", "orders", "reviews", "events")
SEGMENTS = ("regular", "business", "gift", "loyal", "disgruntled", "drifting", "browser")
_SEG_SHARES = np.array([0.48, 0.08, 0.12, 0.10, 0.09, 0.08, 0.05])
REG, BUS, GIFT, LOYAL, DISG, DRIFT, BROWSER = range(7)

_STR = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' default "str" dtype
_MIN_PER_DAY = 1440

# --------------------------------------------------------------------------- catalogue

# category -> (typical unit price in EUR, popularity, nouns)
_CATEGORIES: dict[str, tuple[float, float, list[str]]] = {
    "electronics": (55.0, 0.14, ["wireless earbuds", "bluetooth speaker", "phone charger", "usb-c cable",
                                 "smartwatch", "laptop stand", "webcam", "power bank",
                                 "noise cancelling headphones", "mechanical keyboard"]),
    "home_kitchen": (32.0, 0.13, ["chef's knife", "frying pan", "coffee grinder", "french press",
                                  "bath towel set", "scented candle", "cutting board", "blender",
                                  "storage jars", "bed sheets"]),
    "fashion": (38.0, 0.14, ["linen shirt", "running jacket", "leather belt", "wool scarf", "denim jeans",
                             "sneakers", "rain coat", "summer dress", "beanie hat", "ankle boots"]),
    "beauty": (17.0, 0.10, ["face serum", "hand cream", "shampoo", "lip balm", "sunscreen", "perfume",
                            "hair dryer", "makeup brush set", "night cream", "body lotion"]),
    "sports_outdoors": (36.0, 0.09, ["yoga mat", "water bottle", "hiking backpack", "tent",
                                     "resistance bands", "cycling gloves", "dumbbells", "camping stove",
                                     "running socks", "trekking poles"]),
    "toys_games": (24.0, 0.08, ["board game", "jigsaw puzzle", "building blocks", "plush bear",
                                "remote control car", "card game", "kids art set", "wooden train set",
                                "science kit", "dollhouse"]),
    "books": (14.0, 0.08, ["cookbook", "crime novel", "travel guide", "picture book", "fantasy novel",
                           "history book", "self-help book", "journal", "poetry collection", "comic book"]),
    "office_supplies": (12.0, 0.08, ["ballpoint pens", "printer paper", "sticky notes", "desk organizer",
                                     "stapler", "whiteboard markers", "file folders", "desk lamp",
                                     "label maker", "ergonomic mouse"]),
    "grocery": (14.0, 0.09, ["coffee beans", "green tea", "olive oil", "dark chocolate", "pasta", "granola",
                             "honey", "spice set", "sparkling water", "protein bars"]),
    "pet_supplies": (19.0, 0.07, ["dog food", "cat litter", "dog leash", "cat tree", "pet bed", "chew toys",
                                  "fish food", "bird seed", "grooming brush", "pet shampoo"]),
}
_CAT_NAMES = list(_CATEGORIES)
_CAT_PRICE = np.array([v[0] for v in _CATEGORIES.values()])
_CAT_POP = np.array([v[1] for v in _CATEGORIES.values()])
_CAT_POP = _CAT_POP / _CAT_POP.sum()
# business buyers' category mix after the step-up: office, grocery, electronics, home
_BUS_CAT_P = np.array([0.18, 0.12, 0.03, 0.04, 0.03, 0.02, 0.02, 0.36, 0.18, 0.02])
_BUS_CAT_P = _BUS_CAT_P / _BUS_CAT_P.sum()

_BRANDS = ["Nordvik", "Aurora", "Kestrel", "Lumen", "Mavi", "Orla", "Pinecrest", "Quill & Co", "Ridgeway",
           "Solano", "Tamsin", "Umber", "Vela", "Wren", "Yarrow", "Zephyr", "Alder", "Brio", "Cove", "Dune"]
_ADJS = ["Classic", "Compact", "Everyday", "Deluxe", "Eco", "Essential", "Lightweight", "Smart",
         "Original", "Soft"]
# product kinds and how many of each per category (catalogue rows are grouped cat -> kind)
_KINDS = ("regular", "premium", "bulk", "gift")
K_REG, K_PREM, K_BULK, K_GIFT = range(4)
_KIND_CNT = np.array([20, 4, 3, 3])
_KIND_OFF = np.concatenate([[0], np.cumsum(_KIND_CNT)[:-1]])
_PER_CAT = int(_KIND_CNT.sum())
_KIND_PRICE = np.array([1.0, 2.6, 9.0, 1.6])


def _cap(s: str) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in s.split())


def _build_catalogue() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20250101)  # fixed: the catalogue does not depend on the seed
    titles, nouns, cats, kinds, prices = [], [], [], [], []
    for ci, (cat, (price, _, cat_nouns)) in enumerate(_CATEGORIES.items()):
        for k, cnt in enumerate(_KIND_CNT):
            for j in range(cnt):
                noun = cat_nouns[j % len(cat_nouns)] if k == K_REG else cat_nouns[rng.integers(len(cat_nouns))]
                brand = _BRANDS[rng.integers(len(_BRANDS))]
                if k == K_REG:
                    title = f"{brand} {_ADJS[rng.integers(len(_ADJS))]} {_cap(noun)}"
                elif k == K_PREM:
                    title = f"{brand} {['Premium', 'Pro', 'Signature', 'Luxe'][j % 4]} {_cap(noun)}"
                elif k == K_BULK:
                    n = [12, 24, 50, 100, 500][rng.integers(5)]
                    title = [f"{_cap(noun)} - Bulk Pack of {n}", f"Wholesale Case of {n}: {_cap(noun)}",
                             f"{_cap(noun)} Office Value Pack ({n} pcs)"][j % 3]
                else:
                    title = [f"{_cap(noun)} Gift Set", f"Luxury {_cap(noun)} Gift Box",
                             f"{brand} {_cap(noun)} Holiday Gift Edition"][j % 3]
                titles.append(title)
                nouns.append(noun)
                cats.append(ci)
                kinds.append(k)
                prices.append(round(price * _KIND_PRICE[k] * float(rng.lognormal(0.0, 0.3)), 2))
    n = len(titles)
    return {
        "product_id": np.array([f"P{i:04d}" for i in range(n)], dtype=object),
        "title": np.array(titles, dtype=object),
        "noun": np.array(nouns, dtype=object),
        "category": np.array(cats),
        "kind": np.array(kinds),
        "price": np.array(prices),
    }


_CAT = _build_catalogue()


def catalogue() -> pd.DataFrame:
    """The fixed product catalogue: product_id, title, noun, category, kind, price (EUR)."""
    return pd.DataFrame({
        "product_id": pd.array(_CAT["product_id"], dtype=_STR),
        "title": pd.array(_CAT["title"], dtype=_STR),
        "noun": pd.array(_CAT["noun"], dtype=_STR),
        "category": pd.array(np.array(_CAT_NAMES, dtype=object)[_CAT["category"]], dtype=_STR),
        "kind": pd.array(np.array(_KINDS, dtype=object)[_CAT["kind"]], dtype=_STR),
        "price": _CAT["price"],
    })


# --------------------------------------------------------------------------- text pools

def _cat_queries() -> list[list[str]]:
    rng = np.random.default_rng(7)
    out = []
    for _, _, cat_nouns in _CATEGORIES.values():
        q = []
        for noun in cat_nouns:
            q += [noun, f"best {noun}", f"{noun} sale", f"{_BRANDS[rng.integers(len(_BRANDS))].lower()} {noun}",
                  f"{_ADJS[rng.integers(len(_ADJS))].lower()} {noun}", f"{noun} reviews"]
        out.append(sorted(set(q)))
    return out


_BUSINESS_Q = ["bulk printer paper", "wholesale coffee beans", "office chairs set of 10", "pack of 50 ballpoint pens",
               "bulk discount", "business account", "vat invoice", "company invoice", "office supplies wholesale",
               "bulk order shipping", "team gift boxes", "wholesale pricing", "bulk order for office",
               "desk organizer pack of 20", "sticky notes bulk", "coffee beans 10kg", "cleaning supplies for office",
               "ergonomic mouse set for team", "label maker business", "tax exempt purchase",
               "bulk usb-c cable", "wholesale green tea", "breakroom snacks bulk", "restaurant olive oil 5l"]
_GIFT_Q = ["gift for dad", "gift for mom", "christmas gift ideas", "birthday present for her", "gift wrapping",
           "gift card", "stocking stuffers", "secret santa under 20", "valentine gift", "last minute gifts",
           "gift for teenager", "anniversary gift ideas", "gift set for her", "christmas presents for kids",
           "mothers day gift", "gift box delivery"]
_DRIFT_Q = ["discount code", "coupon code", "price match", "free shipping other stores", "how to delete account",
            "unsubscribe newsletter", "cheaper alternative", "outlet sale", "price comparison",
            "promo code not working", "shipping costs too high", "compare prices"]
_DRIFT_Q_NOUN = ["cheaper alternative to {}", "{} cheaper elsewhere", "compare prices {}", "{} better price",
                 "{} discount code", "{} outlet"]
_SERVICE_Q = ["refund status", "where is my order", "contact customer service", "how to return item",
              "return label", "damaged item refund", "complaint form", "track package", "order not delivered",
              "cancel order", "speak to a manager", "chargeback how to"]
_LOYAL_Q = ["new arrivals", "loyalty points", "member rewards", "restock alert", "pre-order", "new collection",
            "members early access", "wishlist"]

# Review templates: each contains "{p}" exactly once (the product noun).
_REVIEW_KINDS = ("positive", "neutral", "mild_negative", "complaint", "business", "gift", "loyal", "drifting")
RV_POS, RV_NEU, RV_MILD, RV_COMPL, RV_BUS, RV_GIFT, RV_LOYAL, RV_DRIFT = range(8)
_TEMPLATES: dict[int, list[str]] = {
    RV_POS: ["Great {p}, works exactly as described.", "Really happy with the {p}.",
             "The {p} arrived quickly and looks good.", "Good value for money, the {p} does the job.",
             "Nice quality {p}, would buy again.", "The {p} is even better than the photos.",
             "Solid {p}, no complaints.", "Love the {p}, fast delivery too.",
             "Exactly what I needed, the {p} is perfect.", "Well made {p} and easy to use.",
             "Very pleased with this {p}.", "The {p} was well packaged and works great."],
    RV_NEU: ["The {p} is okay, nothing special.", "Decent {p} but a bit overpriced.",
             "Average quality {p}, delivery was fine.", "The {p} does what it says, no more.",
             "It's fine. The {p} looks slightly different from the picture.",
             "Not bad, the {p} is a little smaller than expected.",
             "The {p} works but the instructions were confusing.", "Okay {p} for the price."],
    RV_MILD: ["The {p} was not as good as I expected.", "Colour of the {p} was not as shown.",
              "The {p} feels flimsy, expected better quality.", "Quality of the {p} is disappointing for the price.",
              "The {p} looks different from the photos.", "Meh. The {p} feels cheap.",
              "The {p} is okay but the packaging was torn."],
    RV_COMPL: ["The {p} arrived damaged and I am still waiting for my refund.",
               "Delivery of the {p} was two weeks late. Never ordering again.",
               "Customer service ignored all my emails about the broken {p}.",
               "Worst experience ever: the {p} was missing parts and my return was refused.",
               "My package with the {p} got lost and the refund took forever. Done with this shop.",
               "Charged twice for the {p} and nobody answers. Very disappointed.",
               "Wrong {p} delivered and the return process is a nightmare. I will shop elsewhere from now on.",
               "The {p} was clearly used when it arrived. Unacceptable, closing my account.",
               "Still no refund for the {p} after a month. Avoid this store.",
               "Late, damaged {p} and rude support. Never again."],
    RV_BUS: ["Ordered the {p} for our office, the whole team uses them.",
             "Bulk order of {p} for the shop arrived on time.",
             "We will be ordering the {p} for all our staff.",
             "Setting up a new office and the {p} is exactly what we needed.",
             "Good {p}, but we need a proper VAT invoice for our company next time.",
             "Our team goes through these fast, planning a bigger bulk order of the {p}.",
             "Bought the {p} for our cafe, will restock every month.",
             "Great wholesale price on the {p}, ordering more for our clients.",
             "Our office manager asked for more of the {p}, the team loves them.",
             "Stocking up on the {p} for our new store opening."],
    RV_GIFT: ["Bought the {p} as a gift for my sister, she loved it.",
              "Perfect Christmas present, the {p} came nicely wrapped.",
              "Got the {p} for my dad's birthday, he was thrilled.",
              "Great gift idea, the {p} made my friend's day.",
              "Ordered the {p} as a secret santa present, a big hit.",
              "The {p} was a lovely anniversary gift.",
              "Gift wrapping was beautiful and the {p} arrived before the holidays.",
              "My kids loved the {p} we gave them for Christmas."],
    RV_LOYAL: ["My third order here and the {p} is as good as always.",
               "Always buy here, the {p} did not disappoint.",
               "Another great purchase, the {p} is fantastic. Love this shop.",
               "Been a customer for years and the {p} is excellent as usual.",
               "This shop never lets me down, the {p} is perfect.",
               "I keep coming back for quality like this {p}.",
               "Ordered the {p} again, my go-to store for everything.",
               "Fast as always and the {p} is top quality. Already planning my next order."],
    RV_DRIFT: ["The {p} is fine but I found it cheaper elsewhere.",
               "Okay {p}, though prices here have gone up a lot.",
               "Shipping for the {p} cost too much compared to other stores.",
               "The {p} is decent, but other shops have better deals now.",
               "Not sure I will order the {p} here again, the competition is cheaper.",
               "The {p} was fine; the discount codes don't work anymore though."],
}
_EXTRA_POS = ["Would recommend.", "Five stars.", "Fast shipping.", "Will order again.", "Great service."]
_EXTRA_NEU = ["Delivery took a few days.", "Packaging could be better.", "It is what it is."]
_EXTRA_NEG = ["Very frustrating.", "Not happy.", "Support was slow to respond.", "Zero stars if I could."]
# extra-sentence pool per review kind (0 pos, 1 neu, 2 neg)
_KIND_EXTRA = np.array([0, 1, 1, 2, 0, 0, 0, 1])
# rating distribution (1..5) per review kind
_RATING_P = np.array([
    [0.00, 0.00, 0.02, 0.38, 0.60],  # positive
    [0.00, 0.10, 0.60, 0.30, 0.00],  # neutral
    [0.15, 0.50, 0.35, 0.00, 0.00],  # mild negative
    [0.62, 0.26, 0.04, 0.03, 0.05],  # complaint (a few complainers still give 4-5)
    [0.00, 0.00, 0.05, 0.45, 0.50],  # business
    [0.00, 0.00, 0.05, 0.30, 0.65],  # gift
    [0.00, 0.00, 0.02, 0.20, 0.78],  # loyal
    [0.05, 0.25, 0.50, 0.20, 0.00],  # drifting
])

_COUNTRIES = np.array(["DE", "FR", "ES", "IT", "NL", "BE", "AT", "IE", "PT", "FI"], dtype=object)
_COUNTRY_P = np.array([0.28, 0.20, 0.12, 0.12, 0.10, 0.05, 0.05, 0.03, 0.03, 0.02])

# monthly multipliers of the purchase rate (Jan..Dec)
_SEASON = np.array([0.85, 0.80, 0.90, 0.92, 0.95, 0.92, 0.88, 0.92, 0.98, 1.05, 1.45, 1.75])
_SEASON_GIFT = np.array([0.80, 1.00, 0.85, 0.85, 1.00, 0.85, 0.85, 0.85, 0.90, 1.10, 2.40, 3.20])
_ACQ_SEASON = np.array([1.10, 0.90, 0.90, 0.90, 0.95, 0.90, 0.90, 0.90, 1.00, 1.05, 1.35, 1.30])


class _Vocab:
    """Interns strings and hands out integer codes, so text columns are built with one arrow take."""

    def __init__(self) -> None:
        self.strings: list[str | None] = []
        self._index: dict[str | None, int] = {}

    def codes(self, items) -> np.ndarray:
        out = np.empty(len(items), dtype=np.int64)
        for i, s in enumerate(items):
            j = self._index.get(s)
            if j is None:
                j = self._index[s] = len(self.strings)
                self.strings.append(s)
            out[i] = j
        return out

    def column(self, codes: np.ndarray) -> pd.Series:
        return _arrow_str(pa.array(self.strings, type=pa.string()).take(pa.array(codes)))


def _arrow_str(arr) -> pd.Series:
    return pd.Series(pd.array(arr, dtype=_STR))


def _obj_str(values: np.ndarray) -> pd.Series:
    return _arrow_str(pa.array(values, type=pa.string()))


def _pick(rng: np.random.Generator, probs: np.ndarray, n: int) -> np.ndarray:
    """n draws from one categorical distribution."""
    return np.minimum(np.searchsorted(np.cumsum(probs), rng.random(n) * probs.sum(), side="right"), len(probs) - 1)


def _pick_rows(rng: np.random.Generator, cum_probs: np.ndarray) -> np.ndarray:
    """One draw per row of a (n, k) matrix of cumulative probabilities."""
    u = rng.random(len(cum_probs))[:, None] * cum_probs[:, -1:]
    return np.minimum((u >= cum_probs).sum(1), cum_probs.shape[1] - 1)


def _product(rng: np.random.Generator, cat: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """Catalogue row of a random product of the given category and kind."""
    cnt = _KIND_CNT[kind]
    return cat * _PER_CAT + _KIND_OFF[kind] + np.minimum((rng.random(len(cat)) * cnt).astype(np.int64), cnt - 1)


def _ragged(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(owner, position-within-owner) for a ragged layout with the given counts."""
    owner = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    return owner, np.arange(len(owner)) - starts[owner]


# --------------------------------------------------------------------------- time helpers

class _Clock:
    """Float days since ``start`` <-> minutes <-> ISO strings."""

    def __init__(self, end: str, years: float) -> None:
        e = pd.Timestamp(end)
        e = e.tz_convert("UTC").tz_localize(None) if e.tzinfo is not None else e
        if e == e.normalize() and len(str(end).strip()) <= 10:  # a date: through the end of that day
            e = e + pd.Timedelta(days=1)
        self.end_excl = e.floor("min")
        self.start = (self.end_excl - pd.Timedelta(days=365.25 * years)).floor("min")
        self.n_min = int((self.end_excl - self.start) / pd.Timedelta(minutes=1))
        self.T = self.n_min / _MIN_PER_DAY
        self.n_days = int(np.ceil(self.T))
        self._start64 = np.datetime64(self.start.to_datetime64(), "m")
        days = (self._start64 + np.arange(self.n_days) * _MIN_PER_DAY).astype("M8[D]")
        self.day_month = days.astype("M8[M]").astype(np.int64) % 12  # month (0-11) of each day
        all_days = (self._start64 + np.arange(self.n_days + 1) * _MIN_PER_DAY).astype("M8[D]")
        self._day_str = pa.array(np.char.add(np.datetime_as_string(all_days, unit="D"), "T").astype(object))
        mod = np.arange(_MIN_PER_DAY)
        self._time_str = pa.array([f"{h:02d}:{m:02d}:00Z" for h, m in zip(mod // 60, mod % 60)])
        self._start_mod = int((self.start - self.start.normalize()) / pd.Timedelta(minutes=1))

    def minutes(self, t: np.ndarray) -> np.ndarray:
        return np.clip(np.floor(t * _MIN_PER_DAY).astype(np.int64), 0, self.n_min - 1)

    def month(self, t: np.ndarray) -> np.ndarray:
        return self.day_month[np.clip(t.astype(np.int64), 0, self.n_days - 1)]

    def iso(self, minutes: np.ndarray) -> pd.Series:
        tot = minutes + self._start_mod
        day = tot // _MIN_PER_DAY
        d = self._day_str.take(pa.array(day))
        tm = self._time_str.take(pa.array(tot % _MIN_PER_DAY))
        return _arrow_str(pc.binary_join_element_wise(d, tm, ""))

    def stamp(self, t: np.ndarray) -> pd.Series:
        """pandas UTC timestamps for float days; NaT where not finite or outside the period."""
        ok = np.isfinite(t) & (t >= 0) & (t < self.T)
        m = np.where(ok, np.floor(np.where(ok, t, 0) * _MIN_PER_DAY), 0).astype(np.int64)
        out = (self._start64 + m).astype("M8[us]")
        out[~ok] = np.datetime64("NaT")
        return pd.Series(pd.DatetimeIndex(out).tz_localize("UTC"))


# --------------------------------------------------------------------------- generator

def generate(n_customers: int, seed: int = 0, end: str = "2025-12-31", years: float = 2.0,
             inject_errors: float = 0.0) -> dict[str, pd.DataFrame]:
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
    clock = _Clock(end, years)
    T = clock.T
    ss = np.random.SeedSequence([int(seed), 0x5EED])
    r_cust, r_ord, r_rev, r_ev, r_err = (np.random.default_rng(s) for s in ss.spawn(5))

    # ---- customers and latent traits ------------------------------------------------------
    rng = r_cust
    edges = np.minimum(np.arange(clock.n_days + 1, dtype=float), T)
    dens = (0.5 + (edges[:-1] + 0.5) / T) * _ACQ_SEASON[clock.day_month] * np.diff(edges)
    cdf = np.concatenate([[0.0], np.cumsum(dens)])
    acq = np.sort(np.interp(rng.random(n), cdf / cdf[-1], edges))
    acq = np.minimum(acq, T - 1.0 / _MIN_PER_DAY)
    seg = _pick(rng, _SEG_SHARES, n)
    country = _COUNTRIES[_pick(rng, _COUNTRY_P, n)]
    lam = rng.gamma(0.6, (1 / 100) / 0.6, n)  # repeat-purchase rate per day
    lam[seg == LOYAL] *= 2.0
    lam = np.minimum(lam, 0.25)
    lam[seg == BROWSER] = 0.0
    hazard = rng.gamma(1.0, 1 / 250, n)  # dropout hazard per day
    hazard[seg == LOYAL] *= 0.25
    hazard[seg == BUS] *= 0.4
    life = rng.exponential(1.0, n) / hazard
    spend = rng.lognormal(np.log(26.0), 0.5, n)  # spend level (EUR per unit)
    fav1 = _pick(rng, _CAT_POP, n)
    fav2 = _pick(rng, _CAT_POP, n)
    step = np.ones(n)
    change = np.full(n, np.inf)
    reveal = np.full(n, np.inf)
    rising = np.zeros(n, dtype=bool)
    u1, u2, u3, u4 = rng.random(n), rng.random(n), rng.random(n), rng.random(n)
    e1, e2 = rng.exponential(1.0, n), rng.exponential(1.0, n)
    # disgruntled: bad order at `change` in the last ~10 months (a customer for >= 10 days by then)
    lo, hi = np.maximum(acq + 10, T - 300), T - 3
    bad = (seg == DISG) & (lo >= hi)
    seg[bad] = REG
    m = seg == DISG
    change[m] = lo[m] + u1[m] * (hi - lo[m])
    # drifting: stops ~1 month after `change`, reveals itself 20-90 days before
    lo, hi = np.maximum(acq + 30, T - 300), T + 20
    seg[(seg == DRIFT) & (lo >= hi)] = REG
    m = seg == DRIFT
    change[m] = lo[m] + u1[m] * (hi - lo[m])
    reveal[m] = np.maximum(acq[m], change[m] - (20 + 70 * u2[m]))
    # business: 20 % established from acquisition, 80 % rising at `change` (revealed 45-150 days before)
    m = seg == BUS
    step[m] = 2.5 + 2.5 * u3[m]
    rising = m & (u4 < 0.8)
    est = m & ~rising
    change[est], reveal[est] = acq[est], acq[est]
    lo, hi = np.maximum(acq + 30, T - 240), T + 30
    change[rising] = lo[rising] + u1[rising] * (hi - lo[rising])
    reveal[rising] = np.maximum(acq[rising], change[rising] - (45 + 105 * u2[rising]))
    reveal[(seg == GIFT) | (seg == LOYAL)] = acq[(seg == GIFT) | (seg == LOYAL)]
    # lifetimes
    death = acq + life
    quits = np.zeros(n, dtype=bool)
    m = seg == DISG
    quits[m] = u2[m] < 0.85
    death[m] = np.where(quits[m], change[m] + 2.0 + 20.0 * e1[m], change[m] + life[m])
    m = seg == DRIFT
    death[m] = change[m] + 30.0 * e1[m]
    death[rising] = change[rising] + life[rising]
    death[seg == BROWSER] = acq[seg == BROWSER]
    # 60 % of the customers who drop out "naturally" shop around first: in the 20-60 days before
    # leaving they browse more and search for discounts and cheaper alternatives
    shops_around = np.isin(seg, [REG, BUS, GIFT, LOYAL]) & (rng.random(n) < 0.6) & (death < T + 60)
    shop_from = np.where(shops_around, death - (20.0 + 40.0 * rng.random(n)), np.inf)
    reviewer = rng.random(n) < np.array([0.38, 0.55, 0.45, 0.60, 0.38, 0.45, 0.0])[seg]
    has_events = rng.random(n) < np.array([0.66, 0.85, 0.75, 0.80, 0.70, 0.85, 1.0])[seg]
    ev_rate = rng.gamma(1.0, 0.035, n)
    ev_rate[seg == BROWSER] *= 1.5
    ev_rate[seg == BUS] *= 1.3

    # ---- orders -------------------------------------------------------------------------------
    rng = r_ord
    is_gift = (seg == GIFT).astype(np.int64)
    season_tab = np.stack([_SEASON, _SEASON_GIFT])
    buyer = seg != BROWSER
    t0 = np.minimum(acq + rng.exponential(0.15, n), T - 1e-6)  # first order right after signup
    stop = np.minimum(death, T)
    span = np.where(buyer, np.maximum(stop - t0, 0.0), 0.0)
    rmax = lam * season_tab.max(1)[is_gift] * step
    cnt = rng.poisson(rmax * span)
    cust, _ = _ragged(cnt)
    t = t0[cust] + rng.random(len(cust)) * span[cust]
    rate = lam[cust] * season_tab[is_gift[cust], clock.month(t)] * np.where(t >= change[cust], step[cust], 1.0)
    keep = rng.random(len(cust)) * rmax[cust] < rate
    first = np.flatnonzero(buyer)
    badc = np.flatnonzero((seg == DISG) & (change > t0) & (change < T))
    o_cust = np.concatenate([first, cust[keep], badc])
    o_t = np.concatenate([t0[first], t[keep], change[badc]])
    o_bad = np.concatenate([np.zeros(len(first) + int(keep.sum()), bool), np.ones(len(badc), bool)])
    o_min = clock.minutes(o_t)
    order = np.lexsort((o_cust, o_min))  # time order; ties by customer (lexsort is stable)
    o_cust, o_t, o_bad, o_min = o_cust[order], o_t[order], o_bad[order], o_min[order]
    n_o = len(o_cust)
    # rank of each order within its customer (0 = first)
    by_c = np.lexsort((o_min, o_cust))
    ccount = np.bincount(o_cust, minlength=n)
    _, pos = _ragged(ccount)
    o_rank = np.empty(n_o, np.int64)
    o_rank[by_c] = pos
    post = (seg[o_cust] == BUS) & (o_t >= change[o_cust])
    r = rng.random(n_o)
    o_cat = np.where(r < 0.6, fav1[o_cust], np.where(r < 0.85, fav2[o_cust], _pick(rng, _CAT_POP, n_o)))
    o_cat = np.where(post, _pick(rng, _BUS_CAT_P, n_o), o_cat)
    n_items = np.where(post, 4 + rng.poisson(12.0, n_o), 1 + rng.poisson(0.5, n_o))
    unit = spend[o_cust] * (_CAT_PRICE[o_cat] / 25.0) * rng.lognormal(-0.1, 0.45, n_o)
    amount = unit * n_items ** 0.85 * np.where(post, 0.8, 1.0)
    amount = np.maximum(np.round(amount, 2), 1.0)
    r = rng.random(n_o)
    status = np.where(o_bad, np.where(r < 0.10, 2, np.where(r < 0.55, 1, 0)),
                      np.where(r < 0.04, 2, np.where(r < 0.10, 1, 0)))  # 0 completed, 1 returned, 2 canceled
    width = max(6, len(str(n - 1)))
    cid_strings = np.array([f"C{i:0{width}d}" for i in range(n)], dtype=object)
    ow = max(8, len(str(n_o)))
    order_ids = np.array([f"O{i:0{ow}d}" for i in range(1, n_o + 1)], dtype=object)

    # ---- reviews ----------------------------------------------------------------------------
    rng = r_rev
    rc = o_cust
    p = np.where(reviewer[rc], 0.45, 0.02)
    p = np.where(reviewer[rc] & (seg[rc] == LOYAL), 0.6, p)
    p = np.where(reviewer[rc] & (seg[rc] == BUS) & (o_t >= reveal[rc]), 0.6, p)
    p = np.where(o_bad, 0.8, p)
    delay = np.where(o_bad, 1.0 + rng.gamma(2.0, 1.5, n_o), 0.5 + rng.gamma(2.0, 2.0, n_o))
    delay = np.minimum(delay, 20.0)
    wrote = (rng.random(n_o) < p) & (status != 2) & (o_t + delay < T)
    ri = np.flatnonzero(wrote)
    rc, rt = o_cust[ri], o_t[ri] + delay[ri]
    rs = seg[rc]
    n_r = len(ri)
    u = rng.random(n_r)
    kind = np.where(u < 0.01, RV_COMPL, np.where(u < 0.12, RV_MILD, np.where(u < 0.33, RV_NEU, RV_POS)))
    v = rng.random(n_r)
    o_month = clock.month(o_t[ri])
    kind = np.where((rs == BUS) & (o_t[ri] >= reveal[rc]) & (v < 0.8), RV_BUS, kind)
    gift_p = np.where(np.isin(o_month, [9, 10, 11]), 0.8, np.where(np.isin(o_month, [1, 4]), 0.6, 0.4))
    kind = np.where((rs == GIFT) & (v < gift_p), RV_GIFT, kind)
    kind = np.where((rs == LOYAL) & (v < np.where(o_rank[ri] >= 1, 0.65, 0.2)), RV_LOYAL, kind)
    kind = np.where((rs == DRIFT) & (o_t[ri] >= reveal[rc]) & (v < 0.7), RV_DRIFT, kind)
    after = (rs == DISG) & (o_t[ri] > change[rc])
    kind = np.where(after, np.where(v < 0.5, RV_NEU, RV_MILD), kind)
    kind = np.where(o_bad[ri], RV_COMPL, kind)
    rating = 1 + _pick_rows(rng, np.cumsum(_RATING_P, 1)[kind])
    pkind = np.full(n_r, K_REG)
    pkind = np.where(kind == RV_BUS, K_BULK, pkind)
    pkind = np.where(kind == RV_GIFT, K_GIFT, pkind)
    pkind = np.where(((kind == RV_LOYAL) | (kind == RV_POS)) & (rng.random(n_r) < 0.25), K_PREM, pkind)
    prod = _product(rng, o_cat[ri], pkind)
    tpl_lists = [_TEMPLATES[k] for k in range(len(_REVIEW_KINDS))]
    t_cnt = np.array([len(x) for x in tpl_lists])
    t_off = np.concatenate([[0], np.cumsum(t_cnt)[:-1]])
    all_tpl = [s for x in tpl_lists for s in x]
    pre = np.array([s.split("{p}")[0] for s in all_tpl], dtype=object)
    suf = np.array([s.split("{p}")[1] for s in all_tpl], dtype=object)
    ti = t_off[kind] + np.minimum((rng.random(n_r) * t_cnt[kind]).astype(np.int64), t_cnt[kind] - 1)
    extras = [_EXTRA_POS, _EXTRA_NEU, _EXTRA_NEG]
    x_cnt = np.array([len(x) for x in extras])
    x_off = np.concatenate([[0], np.cumsum(x_cnt)[:-1]])
    x_all = np.array([""] + [" " + s for x in extras for s in x], dtype=object)
    xp = _KIND_EXTRA[kind]
    xi = 1 + x_off[xp] + np.minimum((rng.random(n_r) * x_cnt[xp]).astype(np.int64), x_cnt[xp] - 1)
    xi = np.where(rng.random(n_r) < 0.4, xi, 0)
    text = pre[ti] + _CAT["noun"][prod] + suf[ti] + x_all[xi]
    r_min = clock.minutes(rt)
    order_r = np.lexsort((rc, r_min))
    ri, rc, rt, r_min, rating, text, kind = (a[order_r] for a in (ri, rc, rt, r_min, rating, text, kind))
    rw = max(8, len(str(n_r)))
    review_ids = np.array([f"R{i:0{rw}d}" for i in range(1, n_r + 1)], dtype=object)
    # a review "reveals" the trait when it uses the customer's own segment language
    r_intent = kind == np.array([-1, RV_BUS, RV_GIFT, RV_LOYAL, RV_COMPL, RV_DRIFT, -1])[seg[rc]]

    # ---- events -----------------------------------------------------------------------------
    rng = r_ev
    vocab = _Vocab()
    title_code = vocab.codes(list(_CAT["title"]))
    pid_vocab = np.concatenate([_CAT["product_id"], np.array([None], dtype=object)])
    cq = _cat_queries()
    cq_code = [vocab.codes(q) for q in cq]
    cq_cnt = np.array([len(q) for q in cq_code])
    cq_off = np.concatenate([[0], np.cumsum(cq_cnt)[:-1]])
    cq_flat = np.concatenate(cq_code)
    all_nouns = [nn for _, _, ns in _CATEGORIES.values() for nn in ns]
    drift_q = _DRIFT_Q + [tpl.format(nn) for tpl in _DRIFT_Q_NOUN for nn in all_nouns]
    intent_q = [vocab.codes(q) for q in (_BUSINESS_Q, _GIFT_Q, drift_q, _SERVICE_Q, _LOYAL_Q)]
    Q_BUS, Q_GIFT, Q_DRIFT, Q_SERV, Q_LOYAL = range(5)

    def query(pool: int, m: int) -> np.ndarray:
        codes = intent_q[pool]
        return codes[rng.integers(0, len(codes), m)]

    def cat_query(cat: np.ndarray) -> np.ndarray:
        return cq_flat[cq_off[cat] + np.minimum((rng.random(len(cat)) * cq_cnt[cat]).astype(np.int64),
                                                cq_cnt[cat] - 1)]

    # (a) sessions before orders: views/searches in the order's category, often a cart event
    ev_o = np.flatnonzero(has_events[o_cust])
    k = rng.poisson(1.6, len(ev_o)) + post[ev_o]
    owner, _ = _ragged(k)
    so = ev_o[owner]
    sc = o_cust[so]
    st = o_t[so] - rng.exponential(0.8, len(so))
    is_search = rng.random(len(so)) < 0.2
    carts = ev_o[rng.random(len(ev_o)) < 0.55]
    so = np.concatenate([so, carts])
    sc = np.concatenate([sc, o_cust[carts]])
    st = np.concatenate([st, o_t[carts] - rng.exponential(0.03, len(carts))])
    s_type = np.concatenate([np.where(is_search, 1, 0), np.full(len(carts), 2)])  # 0 view 1 search 2 cart
    s_cat = o_cat[so]
    sseg = seg[sc]
    r = rng.random(len(so))
    s_kind = np.where(r < 0.08, K_PREM, K_REG)
    s_kind = np.where(post[so] & (r < 0.7), K_BULK, s_kind)
    s_kind = np.where((sseg == GIFT) & np.isin(clock.month(o_t[so]), [9, 10, 11]) & (r < 0.5), K_GIFT, s_kind)
    s_kind = np.where((sseg == LOYAL) & (r < 0.3), K_PREM, s_kind)
    s_prod = _product(rng, s_cat, s_kind)
    s_text = np.where(s_type == 1, cat_query(s_cat), title_code[s_prod])
    s_pid = np.where(s_type == 1, len(pid_vocab) - 1, s_prod)
    s_intent = post[so] & (s_kind == K_BULK)

    # (b) background browsing while alive (thinned Poisson; business browse 3x more after reveal)
    w0 = acq
    w1 = np.where(seg == BROWSER, np.minimum(acq + 90.0 * e2, T), np.minimum(death + 7.0, T))
    bspan = np.where(has_events, np.maximum(w1 - w0, 0.0), 0.0)
    bmax = ev_rate * np.where(seg == BUS, 3.0, 1.0) * np.where(shops_around, 2.5, 1.0)
    bc, _ = _ragged(rng.poisson(bmax * bspan))
    bt = w0[bc] + rng.random(len(bc)) * bspan[bc]
    bs = seg[bc]
    revealed_t = bt >= reveal[bc]
    shopping = (bt >= shop_from[bc]) & (bt <= death[bc])
    brate = ev_rate[bc] * np.where((bs == BUS) & revealed_t, 3.0, 1.0) * np.where(
        (bs == DRIFT) & revealed_t, 0.7, 1.0) * np.where(shopping, 2.5, 1.0)
    keep = rng.random(len(bc)) * bmax[bc] < brate
    bc, bt, bs, revealed_t, shopping = bc[keep], bt[keep], bs[keep], revealed_t[keep], shopping[keep]
    nb = len(bc)
    bmonth = clock.month(bt)
    q4 = np.isin(bmonth, [9, 10, 11])
    p_int = np.select(
        [shopping, (bs == BUS) & revealed_t, (bs == DRIFT) & revealed_t, (bs == DISG) & (bt > change[bc]),
         (bs == GIFT), (bs == LOYAL)],
        [0.6, 0.6, 0.6, 0.5, np.where(q4, 0.55, 0.12), 0.2], 0.0)
    intent = rng.random(nb) < p_int
    noise = ~intent & np.isin(bs, [REG, GIFT, LOYAL]) & (rng.random(nb) < 0.005)
    r = rng.random(nb)
    b_type = np.where(r < 0.7, 0, np.where(r < 0.9, 1, 2))
    rr = rng.random(nb)
    b_cat = np.where(rr < 0.5, fav1[bc], np.where(rr < 0.8, fav2[bc], _pick(rng, _CAT_POP, nb)))
    b_kind = np.where(rng.random(nb) < 0.08, K_PREM, K_REG)
    b_text = np.full(nb, -1, np.int64)
    # intent content per segment
    r2 = rng.random(nb)
    m_drift = (intent & ((bs == DRIFT) | shopping)) | (noise & (r2 >= 0.5))
    m_bus = (intent & (bs == BUS) & ~shopping) | (noise & (r2 < 0.5))
    m_disg = intent & (bs == DISG)
    m_gift = intent & (bs == GIFT) & ~shopping
    m_loyal = intent & (bs == LOYAL) & ~shopping
    r3 = rng.random(nb)
    prod_intent = np.select([m_bus, m_drift, m_disg, m_gift, m_loyal], [r3 < 0.5, r3 < 0.25, r3 < 0.2,
                                                                         r3 < 0.55, r3 < 0.5], False)
    search_intent = (m_bus | m_drift | m_disg | m_gift | m_loyal) & ~prod_intent
    b_type = np.where(prod_intent, np.where(rng.random(nb) < 0.8, 0, 2), np.where(search_intent, 1, b_type))
    b_cat = np.where(m_bus & prod_intent, _pick(rng, _BUS_CAT_P, nb), b_cat)
    b_cat = np.where(m_gift & prod_intent, _pick(rng, _CAT_POP, nb), b_cat)
    b_kind = np.select([m_bus, m_gift, m_loyal], [K_BULK, K_GIFT, K_PREM], b_kind)
    b_kind = np.where(m_drift | m_disg, K_REG, b_kind)
    b_prod = _product(rng, b_cat, b_kind)
    for mask, pool in ((m_bus, Q_BUS), (m_gift, Q_GIFT), (m_drift, Q_DRIFT), (m_disg, Q_SERV),
                       (m_loyal, Q_LOYAL)):
        mm = mask & search_intent
        b_text[mm] = query(pool, int(mm.sum()))
    plain_search = (b_type == 1) & (b_text < 0)
    b_text[plain_search] = cat_query(b_cat[plain_search])
    b_text = np.where(b_type == 1, b_text, title_code[b_prod])
    b_pid = np.where(b_type == 1, len(pid_vocab) - 1, b_prod)
    b_intent = intent & ~shopping
    b_hint = intent & shopping

    e_cust = np.concatenate([sc, bc])
    e_t = np.maximum(np.concatenate([st, bt]), acq[e_cust])
    e_type = np.concatenate([s_type, b_type])
    e_text = np.concatenate([s_text, b_text])
    e_pid = np.concatenate([s_pid, b_pid])
    e_intent = np.concatenate([s_intent, b_intent])
    e_hint = np.concatenate([np.zeros(len(sc), bool), b_hint])
    e_min = clock.minutes(e_t)
    order_e = np.lexsort((e_cust, e_min))
    e_cust, e_min, e_type, e_text, e_pid, e_intent, e_hint = (
        a[order_e] for a in (e_cust, e_min, e_type, e_text, e_pid, e_intent, e_hint))

    # ---- assemble ---------------------------------------------------------------------------
    customers = pd.DataFrame({
        "customer_id": _obj_str(cid_strings),
        "signup_ts": clock.iso(clock.minutes(acq)),
        "country": _obj_str(country),
    })
    cid_arrow = pa.array(cid_strings, type=pa.string())
    orders = pd.DataFrame({
        "order_id": _obj_str(order_ids),
        "customer_id": _arrow_str(cid_arrow.take(pa.array(o_cust))),
        "order_ts": clock.iso(o_min),
        "amount": amount,
        "status": _obj_str(np.array(["completed", "returned", "canceled"], dtype=object)[status]),
        "n_items": n_items.astype(np.int64),
        "category": _obj_str(np.array(_CAT_NAMES, dtype=object)[o_cat]),
    })
    reviews = pd.DataFrame({
        "review_id": _obj_str(review_ids),
        "customer_id": _arrow_str(cid_arrow.take(pa.array(rc))),
        "review_ts": clock.iso(r_min),
        "rating": rating.astype(np.int64),
        "text": _obj_str(text),
        "order_id": _obj_str(order_ids[ri]),
    })
    events = pd.DataFrame({
        "customer_id": _arrow_str(cid_arrow.take(pa.array(e_cust))),
        "event_ts": clock.iso(e_min),
        "event_type": _obj_str(np.array(["view", "search", "cart"], dtype=object)[e_type]),
        "text": vocab.column(e_text),
        "product_id": _arrow_str(pa.array(pid_vocab, type=pa.string()).take(pa.array(e_pid))),
    })

    revealed = np.zeros(n, dtype=bool)
    revealed[rc[r_intent]] = True
    revealed[e_cust[e_intent]] = True
    churn_hint = np.zeros(n, dtype=bool)
    churn_hint[e_cust[e_hint]] = True
    complaint_ts = np.full(n, np.inf)
    cm = (kind == RV_COMPL) & o_bad[ri]  # the review of the bad order
    np.minimum.at(complaint_ts, rc[cm], rt[cm])
    reveal_out = np.where(seg == DISG, complaint_ts, reveal)
    truth = pd.DataFrame({
        "customer_id": _obj_str(cid_strings),
        "segment": _obj_str(np.array(SEGMENTS, dtype=object)[seg]),
        "rising": rising,
        "acquired_ts": clock.stamp(acq),
        "change_ts": clock.stamp(change),
        "reveal_ts": clock.stamp(reveal_out),
        "death_ts": clock.stamp(np.where(seg == BROWSER, np.inf, death)),
        "alive_at_end": (death >= T) & (seg != BROWSER),
        "revealed": revealed,
        "shops_around": shops_around,
        "churn_hint": churn_hint,
        "purchase_rate_per_year": lam * 365.25,
        "step_factor": step,
        "spend_level": spend,
        "reviewer": reviewer,
        "has_events": has_events,
    })
    out = {"customers": customers, "orders": orders, "reviews": reviews, "events": events, "truth": truth}
    out["errors"] = _inject(out, inject_errors, r_err, n, width) if inject_errors > 0 else _empty_errors()
    return out


# --------------------------------------------------------------------------- error injection

_BAD_DATES = ["2025-13-45T10:00:00Z", "not a date", "31/02/2024 25:61", "2025-02-30T08:00:00Z", "yesterday",
              "20251301"]
_BAD_AMOUNTS = ["N/A", "twelve", "abc", "12.5.0", "EUR"]
_BAD_RATINGS_RANGE = ["0", "6", "7", "-1", "10"]
_BAD_RATINGS_TEXT = ["five", "excellent", "***", "good"]
_EMPTY_TEXTS = ["", "   "]
_ERROR_KINDS = {
    "orders": ("bad_date", "negative_amount", "non_numeric_amount", "unknown_customer", "duplicate_id"),
    "reviews": ("bad_date", "rating_out_of_range", "rating_non_numeric", "unknown_customer", "duplicate_id",
                "empty_text"),
    "events": ("bad_date", "unknown_customer", "empty_text"),
}
_KIND_COLUMN = {
    ("orders", "bad_date"): "order_ts", ("reviews", "bad_date"): "review_ts", ("events", "bad_date"): "event_ts",
    ("orders", "negative_amount"): "amount", ("orders", "non_numeric_amount"): "amount",
    ("reviews", "rating_out_of_range"): "rating", ("reviews", "rating_non_numeric"): "rating",
    ("orders", "duplicate_id"): "order_id", ("reviews", "duplicate_id"): "review_id",
    ("reviews", "empty_text"): "text", ("events", "empty_text"): "text",
}


def _empty_errors() -> pd.DataFrame:
    return pd.DataFrame({"table": pd.array([], dtype=_STR), "row": np.array([], dtype=np.int64),
                         "column": pd.array([], dtype=_STR), "kind": pd.array([], dtype=_STR),
                         "value": pd.array([], dtype=_STR)})


def _inject(tables: dict[str, pd.DataFrame], frac: float, rng: np.random.Generator, n_customers: int,
            width: int) -> pd.DataFrame:
    log = []
    for name, kinds in _ERROR_KINDS.items():
        df = tables[name]
        n = len(df)
        if n == 0:
            continue
        k = min(n, max(int(round(frac * n)), len(kinds)))
        rows = np.sort(rng.choice(n, size=k, replace=False))
        which = rng.permutation(np.arange(k) % len(kinds))
        # string columns (and the numeric columns that get corrupted) as object arrays of str/None
        cols = {c: df[c].to_numpy(dtype=object, na_value=None).copy() for c in df.columns
                if df[c].dtype == _STR}
        if name == "orders":
            cols["amount"] = np.array([f"{x:.2f}" for x in df["amount"].to_numpy()], dtype=object)
        if name == "reviews":
            cols["rating"] = df["rating"].to_numpy().astype(str).astype(object)
        dup_rows = []
        for row, w in zip(rows, which):
            kind = kinds[w]
            if kind == "duplicate_id":
                dup_rows.append(row)
                continue
            if kind == "unknown_customer":
                col, value = "customer_id", f"C{n_customers + int(rng.integers(1, 10 ** width)):0{width}d}"
            elif kind == "negative_amount":
                col, value = "amount", "-" + cols["amount"][row]
            else:
                col = _KIND_COLUMN[(name, kind)]
                pool = {"bad_date": _BAD_DATES, "non_numeric_amount": _BAD_AMOUNTS,
                        "rating_out_of_range": _BAD_RATINGS_RANGE, "rating_non_numeric": _BAD_RATINGS_TEXT,
                        "empty_text": _EMPTY_TEXTS}[kind]
                value = pool[int(rng.integers(len(pool)))]
            cols[col][row] = value
            log.append((name, int(row), col, kind, value))
        new = pd.DataFrame({c: (_obj_str(cols[c]) if c in cols else df[c].to_numpy()) for c in df.columns})
        if dup_rows:
            id_col = _KIND_COLUMN[(name, "duplicate_id")]
            new = pd.concat([new, new.iloc[dup_rows]], ignore_index=True)
            for j, row in enumerate(dup_rows):
                log.append((name, n + j, id_col, "duplicate_id", str(new[id_col].iloc[row])))
        tables[name] = new
    if not log:
        return _empty_errors()
    t, r, c, k, v = zip(*log)
    errs = pd.DataFrame({"table": pd.array(t, dtype=_STR), "row": np.array(r, dtype=np.int64),
                         "column": pd.array(c, dtype=_STR), "kind": pd.array(k, dtype=_STR),
                         "value": pd.array(v, dtype=_STR)})
    return errs.sort_values(["table", "row"], kind="stable", ignore_index=True)


# --------------------------------------------------------------------------- writing

_FORMATS = {"csv": ".csv", "parquet": ".parquet", "jsonl": ".jsonl"}


def _for_writing(df: pd.DataFrame) -> pd.DataFrame:
    """Datetime columns (only in ``truth``) become ISO 8601 UTC strings like the tables' own timestamps."""
    out = df
    for c in df.columns:
        if isinstance(df[c].dtype, pd.DatetimeTZDtype):
            if out is df:
                out = df.copy()
            s = df[c].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
            out[c] = s.astype(_STR)
    return out


def write_tables(tables: dict[str, pd.DataFrame], out_dir: str | Path, fmt: str = "csv",
                 include_truth: bool = False) -> dict[str, Path]:
    """Write the tables as ``<out_dir>/<name>.<csv|parquet|jsonl>`` and return ``{name: path}``.

    Only ``customers``, ``orders``, ``reviews`` and ``events`` are written (those present), plus
    ``truth`` and ``errors`` when ``include_truth``. Timestamps are ISO 8601 UTC strings; CSV
    amounts have two decimals. Each file is written to a temporary name and renamed into place.
    """
    fmt = fmt.lower().lstrip(".")
    if fmt not in _FORMATS:
        raise ValueError(f"fmt must be one of {sorted(_FORMATS)}, got {fmt!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = [t for t in TABLES if t in tables]
    if include_truth:
        names += [t for t in ("truth", "errors") if t in tables]
    written: dict[str, Path] = {}
    for name in names:
        df = _for_writing(tables[name])
        path = out_dir / f"{name}{_FORMATS[fmt]}"
        tmp = path.with_name(f".{path.name}.tmp")
        if fmt == "csv":
            df.to_csv(tmp, index=False, lineterminator="\n", encoding="utf-8",
                      float_format="%.2f" if name in TABLES else None)
        elif fmt == "parquet":
            df.to_parquet(tmp, index=False, engine="pyarrow")
        else:
            df.to_json(tmp, orient="records", lines=True, force_ascii=False,
                       double_precision=10 if name in TABLES else 15)
        os.replace(tmp, path)
        written[name] = path
    return written
