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

Layout
------
One module per step, each drawing from its own random stream (spawned from ``seed`` in ``generator``):
``customers`` (signups and latent traits), ``orders`` (purchases), ``reviews`` and ``events`` (the texts),
``errors`` (``inject_errors``); ``products`` holds the catalogue, ``clock`` the time axis, ``write``
``write_tables`` and ``common`` the names and array helpers they share.
"""

from __future__ import annotations

from .common import CURRENCY, SEGMENTS, TABLES
from .generator import generate
from .products import catalogue
from .write import write_tables

__all__ = ["CURRENCY", "SEGMENTS", "TABLES", "catalogue", "generate", "write_tables"]
