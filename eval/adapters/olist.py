"""The Olist adapter: Brazilian e-commerce orders, items, payments and reviews, read from the union of the public
samples (``union/`` + ``full_reference_tables/``) or from the Kaggle layout, mapped onto the contract's tables.

Mapping (both layouts):

- customers: one per ``customer_unique_id`` (Olist's ``customer_id`` is one per order), with
  ``signup_ts`` = their first purchase and the state of that first order's address.
- orders: ``order_purchase_timestamp``; amount = the order's payments (item prices + freight,
  after vouchers), or items + freight when an order has no payment row; ``canceled`` and
  ``unavailable`` orders have status ``canceled`` (no spend), every other order ``completed``;
  ``n_items`` and the main category from the items.
- reviews: at ``review_answer_timestamp``, when the customer answered Olist's satisfaction survey
  (``review_creation_date`` is the day the survey was *sent*: the score and the comment do not exist
  yet then); ``review_score``, title and message (Portuguese) joined as text. Reviews without title and
  message are left out (the contract needs a text) and counted in ``dropped``, as are reviews of
  orders that are not kept.
- events: one per order item, at purchase time, type ``purchase``, the product category name
  (English translation, underscores as spaces) as browsing text.

Point in time: nothing that happens after the purchase (approval, shipping, delivery, the status
``delivered``/``shipped``) reaches an order row, and a review counts from its answer. The exception:
Olist records no time for a cancellation, only the final status of the export, so an order that was
canceled after a cutoff is already ``canceled`` at it. Cancellations come before shipping, within
days of the purchase, so this reaches back at most those days before a cutoff.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from eval.adapters.common import Source, first_seen, iso, money, parse_ts, strings, validate
from eval.adapters.dataset import Dataset, DatasetDefaults
from service.tables import DataError

OLIST_NON_SPEND = ("canceled", "unavailable")  # never delivered to the customer: no spend
OLIST_TABLES = (
    "olist_customers_dataset",
    "olist_orders_dataset",
    "olist_order_items_dataset",
    "olist_order_payments_dataset",
    "olist_order_reviews_dataset",
    "olist_products_dataset",
)
OLIST_UNION = ("olist_orders_union", "olist_order_reviews_union", "orders_source_manifest")
OLIST_REFERENCE = ("olist_customers_dataset", "olist_order_items_dataset", "olist_order_payments_dataset")


@dataclass
class OlistFiles:
    """The Olist tables one run reads (every column a string), which layout they came from, and the orders the
    reading already left out (by reason)."""

    layout: str  # "union" or "kaggle"
    source: str
    customers: pd.DataFrame  # one row per Olist customer_id (= per order), with its customer_unique_id
    orders: pd.DataFrame
    items: pd.DataFrame
    payments: pd.DataFrame
    reviews: pd.DataFrame
    products: pd.DataFrame
    translation: pd.DataFrame | None  # product category names in English, when the file is there
    dropped: dict[str, int] = field(default_factory=dict)


def load_olist(path: str | Path, translate_categories: bool = True, union: bool | None = None) -> Dataset:
    """Olist (Kaggle ``olistbr/brazilian-ecommerce``): the union of real samples, or the Kaggle layout.

    Two layouts are read:

    - **union** (the default when present; ``union=False`` forces the Kaggle layout): ``PATH/union/``
      (or ``PATH`` itself) holds ``olist_orders_union``, ``olist_order_reviews_union`` and
      ``orders_source_manifest``; the customers, items and payments come from the FULL tables in
      ``full_reference_tables/`` beside it, products and the category translation from the folder above.
      Only whole customers are kept (manifest ``whole_customer == 1``: every order of theirs in the full
      customers table is in the union), so each kept purchase history is complete. The flag looks at the
      customer's whole history, later orders included: it is taken as a static attribute that defines
      which customers the sample holds (the same set at every cutoff), not as a value of any row; its
      cost is a population with too few repeat buyers (see the notes).
    - **kaggle**: the Kaggle file names in a directory or the Kaggle ``.zip`` (the full release, or
      the 26,000-order whole-customer subset in ``shared/data/olist-brazilian-ecommerce``).

    The mapping onto the contract's tables and its one exception to point in time: see the module docstring.
    """
    files = _read_olist(path, union)
    dropped = files.dropped
    o_cust = _order_customers(files, dropped)
    item_cat = _item_categories(files, translate_categories)
    raw_orders = _orders(files, o_cust, item_cat, dropped)
    order_cust = pd.Series(o_cust.to_numpy(), index=files.orders["order_id"]).dropna().groupby(level=0).first()
    raw_reviews = _reviews(files.reviews, order_cust, dropped)
    raw_events = _events(files, order_cust, item_cat)
    raw_customers = _customers(files, o_cust)
    defaults = DatasetDefaults(
        cutoff="2018-03-01",
        horizon_days=180,
        note="orders run 2017-01 to 2018-08 (a handful before and after); calibration to 2018-03-01 and a 180-day "
        "holdout to 2018-08-28 leave two 180-day training windows inside the calibration period",
    )
    ds = validate(
        "olist",
        {"customers": raw_customers, "orders": raw_orders, "reviews": raw_reviews, "events": raw_events},
        defaults,
        source=files.source,
        currency="R$",
        dropped={k: v for k, v in dropped.items() if v},
    )
    ds.notes += _notes(ds, files)
    return ds


# --------------------------------------------------------------------------- reading the files


def _olist_layout(path: Path, union: bool | None) -> tuple[str, Path]:
    """``("union", base)`` when ``base/union/`` holds the union files (or ``path`` is that folder), else ``("kaggle",
    path)``."""

    def has_union(d: Path) -> bool:
        return d.is_dir() and all(Source(d).find(s, required=False) for s in OLIST_UNION)

    if union is not False:
        if has_union(path / "union"):
            return "union", path
        if has_union(path):
            return "union", path.parent
        if union:
            raise DataError(
                f"{path}: no Olist union here (expected union/{{{', '.join(s + '.csv.gz' for s in OLIST_UNION)}}})"
            )
    return "kaggle", path


def _read_olist(path: str | Path, union: bool | None = None) -> OlistFiles:
    """The Olist tables of ``path`` in the layout found there (``load_olist`` says which), as strings."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: dataset path does not exist")
    if union and not p.is_dir():
        raise DataError(f"{p}: the Olist union is read from a directory")
    layout, base = _olist_layout(p, union) if p.is_dir() else ("kaggle", p)
    return _read_union(base) if layout == "union" else _read_kaggle(base)


def _read_strings(src: Source, stem: str) -> pd.DataFrame:
    """One Olist file with every column as a string (empty cells missing)."""
    return src.read(src.find(stem), dtype=str, keep_default_na=False, na_values=[""])


def _read_translation(src: Source) -> pd.DataFrame | None:
    name = src.find("product_category_name_translation", required=False)
    return src.read(name, dtype=str) if name else None


def _read_union(base: Path) -> OlistFiles:
    """The union's orders and reviews, whole customers only, with the full customers, items and payments of their
    orders (``full_reference_tables/``) and the products of ``base``."""
    if not (base / "full_reference_tables").is_dir():
        raise DataError(
            f"{base}: the Olist union needs the full customers, items and payments tables in full_reference_tables/"
        )
    u, ref, top = Source(base / "union"), Source(base / "full_reference_tables"), Source(base)
    orders, reviews, manifest = (_read_strings(u, s) for s in OLIST_UNION)
    cust, items, pays = (_read_strings(ref, s) for s in OLIST_REFERENCE)
    products = _read_strings(top, "olist_products_dataset")
    trans = _read_translation(top)
    if "whole_customer" not in manifest.columns:
        raise DataError(f"{u.path}: orders_source_manifest has no whole_customer column")
    whole = orders["order_id"].map(manifest.drop_duplicates("order_id").set_index("order_id")["whole_customer"]).eq("1")
    n_part = manifest.loc[manifest["whole_customer"] != "1", "customer_unique_id"].nunique()
    dropped = {
        f"orders of {n_part:,} customers with orders missing from the union (whole_customer 0)": int((~whole).sum())
    }
    orders = orders[whole].reset_index(drop=True)
    kept = set(orders["order_id"])
    return OlistFiles(
        layout="union",
        source=f"{base / 'union'} (whole customers) + {base / 'full_reference_tables'}",
        customers=cust[cust["customer_id"].isin(set(orders["customer_id"]))].reset_index(drop=True),
        orders=orders,
        items=items[items["order_id"].isin(kept)].reset_index(drop=True),
        payments=pays[pays["order_id"].isin(kept)].reset_index(drop=True),
        reviews=reviews,
        products=products,
        translation=trans,
        dropped=dropped,
    )


def _read_kaggle(base: Path) -> OlistFiles:
    """The Kaggle file names in a directory or a .zip archive."""
    src = Source(base)
    cust, orders, items, pays, reviews, products = (_read_strings(src, s) for s in OLIST_TABLES)
    trans = _read_translation(src)
    src.close()
    return OlistFiles("kaggle", str(base), cust, orders, items, pays, reviews, products, trans)


# --------------------------------------------------------------------------- the contract's tables


def _order_customers(files: OlistFiles, dropped: dict[str, int]) -> pd.Series:
    """Per order (row of ``files.orders``), the customer: Olist's ``customer_unique_id`` (missing when the order's
    ``customer_id`` is not in the customers table, counted in ``dropped``)."""
    cust, orders = files.customers, files.orders
    unique_of = cust.drop_duplicates("customer_id").set_index("customer_id")["customer_unique_id"]
    o_cust = orders["customer_id"].map(unique_of)
    dropped["orders whose customer_id is not in the customers table"] = int(
        o_cust.isna().sum() - orders["customer_id"].isna().sum()
    )
    return o_cust


def _item_categories(files: OlistFiles, translate: bool) -> pd.Series:
    """Per item (row of ``files.items``), its product's category name (in English when ``translate`` and the
    translation is there), underscores as spaces."""
    cat = files.products.set_index("product_id")["product_category_name"]
    trans = files.translation
    if translate and trans is not None:
        english = dict(zip(trans["product_category_name"], trans["product_category_name_english"]))
        cat = cat.map(lambda c: english.get(c, c) if isinstance(c, str) else c)
    cat_text = cat.map(lambda c: c.replace("_", " ") if isinstance(c, str) else None)
    return files.items["product_id"].map(cat_text)


def _orders(files: OlistFiles, o_cust: pd.Series, item_cat: pd.Series, dropped: dict[str, int]) -> pd.DataFrame:
    """The orders table: amount from the payments (items + freight without them), status, items, main category."""
    orders, items, pays = files.orders, files.items, files.payments
    pay_total = pd.to_numeric(pays["payment_value"], errors="coerce").groupby(pays["order_id"]).sum(min_count=1)
    item_total = (
        (pd.to_numeric(items["price"], errors="coerce") + pd.to_numeric(items["freight_value"], errors="coerce"))
        .groupby(items["order_id"])
        .sum(min_count=1)
    )
    amount = orders["order_id"].map(pay_total)
    no_pay = amount.isna()
    amount = amount.fillna(orders["order_id"].map(item_total))
    n_items = items.groupby("order_id").size()
    main_cat = item_cat.groupby(items["order_id"]).agg(lambda s: s.mode().iat[0] if s.notna().any() else None)

    status = orders["order_status"].fillna("").str.strip().str.lower()
    raw_orders = pd.DataFrame(
        {
            "order_id": strings(orders["order_id"]),
            "customer_id": strings(o_cust),
            "order_ts": strings(orders["order_purchase_timestamp"]),
            "amount": money(amount),
            "status": np.where(status.isin(OLIST_NON_SPEND), "canceled", "completed"),
            "n_items": strings(orders["order_id"].map(n_items).fillna(0).astype(int)),
            "category": strings(orders["order_id"].map(main_cat)),
        }
    )
    dropped["orders without payment rows (amount from items + freight)"] = int((no_pay & amount.notna()).sum())
    return raw_orders


def _review_texts(reviews: pd.DataFrame) -> pd.Series:
    """Title and message joined (``title. message``), on one line; empty when a review has neither."""
    title = reviews["review_comment_title"].fillna("").str.strip()
    msg = reviews["review_comment_message"].fillna("").str.strip()
    text = np.where((title != "") & (msg != ""), title + ". " + msg, title + msg)
    return pd.Series(text, index=reviews.index).str.replace(r"\s*\r?\n\s*", " ", regex=True).str.strip()


def _reviews(reviews: pd.DataFrame, order_cust: pd.Series, dropped: dict[str, int]) -> pd.DataFrame:
    """The reviews table: reviews with a text of kept orders, at the customer's answer; the others counted in
    ``dropped``."""
    text = _review_texts(reviews)
    has_text = text != ""
    r_cust = reviews["order_id"].map(order_cust)
    dropped["reviews of orders not kept (or of unknown customers)"] = int(r_cust.isna().sum())
    dropped["reviews without a title or message (rating only)"] = int((r_cust.notna() & ~has_text).sum())
    keep_r = r_cust.notna() & has_text
    r = reviews[keep_r]
    return pd.DataFrame(
        {
            "review_id": strings(r["review_id"] + ":" + r["order_id"]),  # Olist reuses a review_id across orders
            "customer_id": strings(r_cust[keep_r]),
            "review_ts": strings(r["review_answer_timestamp"]),
            "rating": strings(r["review_score"]),
            "text": text[keep_r],
            "order_id": strings(r["order_id"]),
        }
    )


def _events(files: OlistFiles, order_cust: pd.Series, item_cat: pd.Series) -> pd.DataFrame:
    """The events table: one purchase per item of a kept order, at its purchase time, with its category as text."""
    orders, items = files.orders, files.items
    ots = orders.drop_duplicates("order_id").set_index("order_id")["order_purchase_timestamp"]
    it = items[items["order_id"].isin(order_cust.index)]
    return pd.DataFrame(
        {
            "customer_id": strings(it["order_id"].map(order_cust)),
            "event_ts": strings(it["order_id"].map(ots)),
            "event_type": "purchase",
            "text": strings(item_cat[it.index]),
            "product_id": strings(it["product_id"]),
        }
    )


def _customers(files: OlistFiles, o_cust: pd.Series) -> pd.DataFrame:
    """The customers table: first seen at their first purchase, with the state of that order's address."""
    orders, cust = files.orders, files.customers
    first = first_seen(o_cust, parse_ts(orders["order_purchase_timestamp"]), orders["order_id"])
    state = cust.drop_duplicates("customer_id").set_index("customer_id")["customer_state"]
    return pd.DataFrame(
        {
            "customer_id": strings(first["customer_id"]),
            "signup_ts": iso(first["ts"]).to_numpy(),
            "country": "BR",
            "state": strings(orders.loc[first["row"], "customer_id"].map(state)).to_numpy(),
        }
    )


def _notes(ds: Dataset, files: OlistFiles) -> list[str]:
    """What the report says about the data: the sample (its layout, repeat buyers, missing reviews) and the mapping."""
    orders, reviews, source = files.orders, files.reviews, files.source
    o = ds.loaded.tables["orders"]
    per_cust = o.groupby("customer_id").size()
    counts = (
        f"{len(per_cust):,} customers with {len(o):,} orders; {int((per_cust >= 2).sum()):,} "
        f"({(per_cust >= 2).mean():.2%}) have 2 or more orders"
    )
    if files.layout == "union":
        no_review = 1 - orders["order_id"].isin(set(reviews["order_id"])).mean() if len(orders) else 0.0
        data = (
            f"Data: the union of every real public sample of Olist's orders and reviews ({source}), whole customers "
            f"only: {counts} (3.12% in the full Olist data). Not a random sample: it holds every non-delivered order "
            "but only 40.1% of the delivered ones, and a customer is kept only if all of their orders were sampled, so "
            "repeat buyers are under-represented and future value is almost always zero. "
            f"{no_review:.1%} of the kept orders have no review here (two of the samples shipped none; 0.8% in the "
            "full data), so a missing review mostly says which sample an order came from, not what the customer did. "
            "See union/PROVENANCE.md."
        )
    else:
        data = (
            f"Data: the Kaggle layout at {source}: {counts}. If this is the shared 26,000-order subset, it keeps "
            "whole customers only: repeat buyers are under-represented (3.12% with 2+ orders in the full data), so "
            "future value is almost always zero and every metric is noisy."
        )
    return [
        data,
        "Review texts are Portuguese; the product's encoder (all-MiniLM-L6-v2) is English. It is used anyway.",
        "Browsing text is the category of each purchased item (English names); Olist has no browsing log.",
        "Reviews count from the customer's answer (review_answer_timestamp), not from the day the survey was sent. "
        "Olist records no cancellation time: an order's final canceled/unavailable status is taken as known at its "
        "purchase (cancellations come within days, before shipping).",
    ]
