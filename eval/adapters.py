"""Dataset adapters: public layouts -> the input tables of DESIGN.md, validated like the product's own input.

Each adapter reads its source (a directory, a single file or a ``.zip`` archive; ``.csv``, ``.csv.gz``,
``.zip`` and ``.parquet`` are read directly, nothing is unpacked to disk), maps it onto the raw
``customers / orders / reviews / events`` tables as strings, and hands them to
``service.tables.validate_tables``: rows that break the contract are rejected, with the same reasons
and counts as ``insight train`` would give. What an adapter itself leaves out before validation
(e.g. reviews without a comment, which the contract cannot hold) is counted in ``Dataset.dropped``.

**Point in time.** Every row an adapter emits depends only on raw rows at or before that row's own
timestamp, and on static attributes (a product's category, an order's payments). So the adapter run on
the raw input cut at a cutoff gives exactly ``eval.backtest.truncate(adapter(full input), cutoff)``,
and no model fitted on the calibration side can see the holdout through the adapter
(``tests/test_eval_adapters.py`` checks this on every adapter). Customers carry ``signup_ts`` = the
time they first appear in the data, so a customer who first buys after the cutoff is not in the
calibration tables either. The one exception, Olist's final order status, is named in ``load_olist``.

Every adapter also carries its dataset's default backtest split (calibration cutoff, horizon and
the horizon the supervised models are trained on), chosen once here and printed by the harness.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, overload

import numpy as np
import pandas as pd

from service.tables import DataError, LoadedData, load_tables, validate_tables


@dataclass
class DatasetDefaults:
    cutoff: str | None  # ISO date; None: last order minus the horizon
    horizon_days: int
    train_horizon_days: int | None = None  # None: the horizon itself when two horizons of history fit
    note: str = ""


@dataclass
class Dataset:
    """Clean tables plus what the adapter and the validation left out, and the dataset's defaults."""

    name: str
    loaded: LoadedData
    defaults: DatasetDefaults
    source: str
    currency: str = "$"
    dropped: dict[str, int] = field(default_factory=dict)  # adapter-level exclusions, by reason
    notes: list[str] = field(default_factory=list)

    @property
    def text_sources(self) -> tuple[str, ...]:
        t = self.loaded.tables
        return tuple(s for s, name in (("review", "reviews"), ("browse", "events")) if len(t[name]))

    def reject_reasons(self) -> dict[str, dict[str, int]]:
        """Contract rejects per table and reason."""
        out = {}
        for name, rej in self.loaded.rejects.items():
            if len(rej):
                out[name] = {str(k): int(v) for k, v in rej["_reason"].value_counts().items()}
        return out

    def summary(self) -> dict:
        return {
            "name": self.name,
            "source": self.source,
            "tables": self.loaded.summary(),
            "rejects": self.reject_reasons(),
            "adapter_dropped": dict(self.dropped),
            "text_sources": list(self.text_sources),
            "notes": list(self.notes),
            "currency": self.currency,
        }


# --------------------------------------------------------------------------- reading sources


class Source:
    """Files of a dataset inside a directory, a single file, or a .zip archive; found by name stem."""

    SUFFIXES = (".csv", ".csv.gz", ".csv.zip", ".zip", ".parquet", ".txt", ".txt.gz")

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.exists():
            raise DataError(f"{self.path}: dataset path does not exist")
        self._zip = zipfile.ZipFile(self.path) if self.path.is_file() and self.path.suffix == ".zip" else None

    def names(self) -> list[str]:
        if self._zip is not None:
            return [n for n in self._zip.namelist() if not n.endswith("/")]
        if self.path.is_file():
            return [self.path.name]
        return sorted(p.name for p in self.path.iterdir() if p.is_file())

    @overload
    def find(self, stem: str, required: Literal[True] = True) -> str: ...
    @overload
    def find(self, stem: str, required: bool) -> str | None: ...
    def find(self, stem: str, required: bool = True) -> str | None:
        """The one file whose name (without folders and compression suffixes) is ``stem`` + a known suffix."""
        hits = [n for n in self.names() if any(Path(n).name == stem + s for s in self.SUFFIXES)]
        if not hits and required:
            raise DataError(f"{self.path}: no file named {stem}{{{','.join(self.SUFFIXES)}}}")
        if len(hits) > 1:
            hits.sort(key=lambda n: (n.count("/"), n))  # prefer the shallowest copy inside an archive
        return hits[0] if hits else None

    def read(self, name: str, **kw) -> pd.DataFrame:
        """Read one file by name: CSV (plain, gzip or zip-compressed) or Parquet."""
        label = f"{self.path}!{name}" if self._zip is not None else str(self._file(name))
        try:
            if self._zip is not None:
                raw = self._zip.read(name)
                buf: io.BytesIO | Path = io.BytesIO(raw)
            else:
                buf = self._file(name)
            if name.endswith(".parquet"):
                return pd.read_parquet(buf)
            compression = "gzip" if name.endswith(".gz") else "zip" if name.endswith(".zip") else None
            return pd.read_csv(buf, compression=compression, **kw)
        except DataError:
            raise
        except Exception as exc:  # pandas/pyarrow/zipfile raise many types
            raise DataError(f"{label}: cannot read file: {exc}") from exc

    def _file(self, name: str) -> Path:
        return self.path if self.path.is_file() else self.path / name

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


def _iso(ts: pd.Series) -> pd.Series:
    """Timestamps as ISO 8601 strings (None for missing) so the contract validation parses them itself."""
    t = pd.to_datetime(ts, errors="coerce")
    return t.dt.strftime("%Y-%m-%dT%H:%M:%S").where(t.notna(), None).astype(object)


def _str(s: pd.Series) -> pd.Series:
    return s.astype(object).where(s.notna(), None).map(lambda v: v if v is None else str(v))


def _money(x: pd.Series) -> pd.Series:
    return x.round(2).map(lambda v: None if pd.isna(v) else f"{v:.2f}").astype(object)


def _validate(name: str, raw: dict[str, pd.DataFrame], defaults: DatasetDefaults, source: str, **kw) -> Dataset:
    # validate_tables only prints a source, so a description serves as well as a path
    loaded = validate_tables(raw, sources={k: f"{source} ({name} {k})" for k in raw})  # type: ignore[misc]
    return Dataset(name=name, loaded=loaded, defaults=defaults, source=source, **kw)


def _parse_ts(s: pd.Series) -> pd.Series:
    """Timestamps parsed as the contract parses them (``service.tables``: ISO 8601, naive = UTC)."""
    return pd.to_datetime(s, errors="coerce", utc=True, format="ISO8601")


def _first_seen(customer: pd.Series, ts: pd.Series, tiebreak: pd.Series | None = None) -> pd.DataFrame:
    """Per customer, the position (index label) of their earliest row and its time; rows without a time come last."""
    df = pd.DataFrame(
        {"c": customer, "ts": ts, "tb": tiebreak if tiebreak is not None else np.arange(len(customer))},
        index=customer.index,
    ).dropna(subset=["c"])
    df = df.sort_values(["ts", "tb"], na_position="last", kind="mergesort").drop_duplicates("c")
    return pd.DataFrame(
        {"customer_id": df["c"].to_numpy(), "row": df.index.to_numpy(), "ts": df["ts"].reset_index(drop=True)}
    )


# --------------------------------------------------------------------------- adapters


def load_synthetic(path: str | Path | None = None, customers: int = 5000, seed: int = 0) -> Dataset:
    """The project's generator (``service.synth.generate``), or tables it wrote earlier (``insight data synth``).

    The tables already are the contract's, so they pass through unchanged (point in time by construction;
    note that the generator itself writes a later return as the ``returned`` status of the original order).
    """
    defaults = DatasetDefaults(cutoff=None, horizon_days=90, note="cutoff: last order minus 90 days; horizon 90 days")
    if path is not None:
        loaded = load_tables(path)
        return Dataset("synthetic", loaded, defaults, source=str(path))
    from service.synth import generate

    tables = generate(customers, seed=seed)
    raw = {k: tables[k] for k in ("customers", "orders", "reviews", "events")}
    return _validate("synthetic", raw, defaults, source=f"service.synth.generate({customers}, seed={seed})")


def load_cdnow(path: str | Path) -> Dataset:
    """CDNOW master file: ``customer_id date number_of_cds dollar_value`` (whitespace separated, YYYYMMDD dates).

    One order per row (several rows of a customer on the same day stay separate orders; BG/NBD
    aggregates them into periods itself), with id ``<customer>-<n>``, the customer's n-th order (from 0)
    by date. No text. Customers: every id with a readable date, with
    ``signup_ts`` = their first purchase (the file is the cohort of first-time buyers of Q1 1997).
    """
    src = Source(path)
    name = src.find("CDNOW_master") if not src.path.is_file() or src._zip is not None else src.path.name
    df = src.read(name, sep=r"\s+", dtype=str, header=0, names=["customer_id", "date", "number_of_cds", "dollar_value"])
    src.close()
    dates = pd.to_datetime(df["date"], format="%Y%m%d", errors="coerce")
    cid = _str(df["customer_id"].str.strip())
    # order id: the customer's n-th order by date (then file order), so it depends on no later row
    nth = pd.DataFrame({"c": df["customer_id"].astype(str), "d": dates}).sort_values(
        "d", kind="mergesort", na_position="last"
    )
    nth = nth.groupby("c", sort=False).cumcount().reindex(df.index)
    orders = pd.DataFrame(
        {
            "order_id": [f"{c}-{i}" for c, i in zip(df["customer_id"].astype(str), nth)],
            "customer_id": cid,
            "order_ts": _iso(dates).where(dates.notna(), df["date"]),  # unparseable dates stay as written -> rejected
            "amount": _str(df["dollar_value"]),
            "n_items": _str(df["number_of_cds"]),
        }
    )
    first = _first_seen(cid, dates).dropna(subset=["ts"])
    customers = pd.DataFrame({"customer_id": first["customer_id"], "signup_ts": _iso(first["ts"]).to_numpy()})
    defaults = DatasetDefaults(
        cutoff="1997-09-30",
        horizon_days=273,
        note="the classic BTYD split (Fader, Hardie & Lee 2005): calibration to 1997-09-30 (39 weeks), holdout "
        "39 weeks to 1998-06-30; the cohort's history before the cutoff is only 39 weeks, so no model can learn the "
        "273-day horizon from a whole window (the split notes say what each one does instead)",
    )
    return _validate("cdnow", {"customers": customers, "orders": orders}, defaults, source=str(path))


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
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: dataset path does not exist")
    if union and not p.is_dir():
        raise DataError(f"{p}: the Olist union is read from a directory")
    layout, base = _olist_layout(p, union) if p.is_dir() else ("kaggle", p)
    rd = lambda src, stem: src.read(src.find(stem), dtype=str, keep_default_na=False, na_values=[""])  # noqa: E731
    dropped: dict[str, int] = {}
    if layout == "union":
        if not (base / "full_reference_tables").is_dir():
            raise DataError(
                f"{base}: the Olist union needs the full customers, items and payments tables in full_reference_tables/"
            )
        u, ref, top = Source(base / "union"), Source(base / "full_reference_tables"), Source(base)
        orders, reviews, manifest = (rd(u, s) for s in OLIST_UNION)
        cust, items, pays = (rd(ref, s) for s in OLIST_REFERENCE)
        products = rd(top, "olist_products_dataset")
        trans_name = top.find("product_category_name_translation", required=False)
        trans = top.read(trans_name, dtype=str) if trans_name else None
        if "whole_customer" not in manifest.columns:
            raise DataError(f"{u.path}: orders_source_manifest has no whole_customer column")
        whole = (
            orders["order_id"].map(manifest.drop_duplicates("order_id").set_index("order_id")["whole_customer"]).eq("1")
        )
        n_part = manifest.loc[manifest["whole_customer"] != "1", "customer_unique_id"].nunique()
        dropped[f"orders of {n_part:,} customers with orders missing from the union (whole_customer 0)"] = int(
            (~whole).sum()
        )
        orders = orders[whole].reset_index(drop=True)
        kept = set(orders["order_id"])
        items = items[items["order_id"].isin(kept)].reset_index(drop=True)
        pays = pays[pays["order_id"].isin(kept)].reset_index(drop=True)
        cust = cust[cust["customer_id"].isin(set(orders["customer_id"]))].reset_index(drop=True)
        source = f"{base / 'union'} (whole customers) + {base / 'full_reference_tables'}"
    else:
        src = Source(base)
        cust, orders, items, pays, reviews, products = (rd(src, s) for s in OLIST_TABLES)
        trans_name = src.find("product_category_name_translation", required=False)
        trans = src.read(trans_name, dtype=str) if trans_name else None
        src.close()
        source = str(base)

    unique_of = cust.drop_duplicates("customer_id").set_index("customer_id")["customer_unique_id"]
    o_cust = orders["customer_id"].map(unique_of)
    dropped["orders whose customer_id is not in the customers table"] = int(
        o_cust.isna().sum() - orders["customer_id"].isna().sum()
    )
    o_ts = _parse_ts(orders["order_purchase_timestamp"])

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

    cat = products.set_index("product_id")["product_category_name"]
    if translate_categories and trans is not None:
        english = dict(zip(trans["product_category_name"], trans["product_category_name_english"]))
        cat = cat.map(lambda c: english.get(c, c) if isinstance(c, str) else c)
    cat_text = cat.map(lambda c: c.replace("_", " ") if isinstance(c, str) else None)
    item_cat = items["product_id"].map(cat_text)
    main_cat = item_cat.groupby(items["order_id"]).agg(lambda s: s.mode().iat[0] if s.notna().any() else None)

    status = orders["order_status"].fillna("").str.strip().str.lower()
    raw_orders = pd.DataFrame(
        {
            "order_id": _str(orders["order_id"]),
            "customer_id": _str(o_cust),
            "order_ts": _str(orders["order_purchase_timestamp"]),
            "amount": _money(amount),
            "status": np.where(status.isin(OLIST_NON_SPEND), "canceled", "completed"),
            "n_items": _str(orders["order_id"].map(n_items).fillna(0).astype(int)),
            "category": _str(orders["order_id"].map(main_cat)),
        }
    )
    dropped["orders without payment rows (amount from items + freight)"] = int((no_pay & amount.notna()).sum())

    order_cust = pd.Series(o_cust.to_numpy(), index=orders["order_id"]).dropna().groupby(level=0).first()
    title = reviews["review_comment_title"].fillna("").str.strip()
    msg = reviews["review_comment_message"].fillna("").str.strip()
    text = np.where((title != "") & (msg != ""), title + ". " + msg, title + msg)
    text = pd.Series(text, index=reviews.index).str.replace(r"\s*\r?\n\s*", " ", regex=True).str.strip()
    has_text = text != ""
    r_cust = reviews["order_id"].map(order_cust)
    dropped["reviews of orders not kept (or of unknown customers)"] = int(r_cust.isna().sum())
    dropped["reviews without a title or message (rating only)"] = int((r_cust.notna() & ~has_text).sum())
    keep_r = r_cust.notna() & has_text
    r = reviews[keep_r]
    raw_reviews = pd.DataFrame(
        {
            "review_id": _str(r["review_id"] + ":" + r["order_id"]),  # Olist reuses a review_id across orders
            "customer_id": _str(r_cust[keep_r]),
            "review_ts": _str(r["review_answer_timestamp"]),
            "rating": _str(r["review_score"]),
            "text": text[keep_r],
            "order_id": _str(r["order_id"]),
        }
    )

    ots = orders.drop_duplicates("order_id").set_index("order_id")["order_purchase_timestamp"]
    it = items[items["order_id"].isin(order_cust.index)]
    raw_events = pd.DataFrame(
        {
            "customer_id": _str(it["order_id"].map(order_cust)),
            "event_ts": _str(it["order_id"].map(ots)),
            "event_type": "purchase",
            "text": _str(item_cat[it.index]),
            "product_id": _str(it["product_id"]),
        }
    )
    first = _first_seen(o_cust, o_ts, orders["order_id"])
    state = cust.drop_duplicates("customer_id").set_index("customer_id")["customer_state"]
    raw_customers = pd.DataFrame(
        {
            "customer_id": _str(first["customer_id"]),
            "signup_ts": _iso(first["ts"]).to_numpy(),
            "country": "BR",
            "state": _str(orders.loc[first["row"], "customer_id"].map(state)).to_numpy(),
        }
    )

    defaults = DatasetDefaults(
        cutoff="2018-03-01",
        horizon_days=180,
        note="orders run 2017-01 to 2018-08 (a handful before and after); calibration to 2018-03-01 and a 180-day "
        "holdout to 2018-08-28 leave two 180-day training windows inside the calibration period",
    )
    ds = _validate(
        "olist",
        {"customers": raw_customers, "orders": raw_orders, "reviews": raw_reviews, "events": raw_events},
        defaults,
        source=source,
        currency="R$",
        dropped={k: v for k, v in dropped.items() if v},
    )
    o = ds.loaded.tables["orders"]
    per_cust = o.groupby("customer_id").size()
    counts = (
        f"{len(per_cust):,} customers with {len(o):,} orders; {int((per_cust >= 2).sum()):,} "
        f"({(per_cust >= 2).mean():.2%}) have 2 or more orders"
    )
    if layout == "union":
        no_review = 1 - orders["order_id"].isin(set(reviews["order_id"])).mean() if len(orders) else 0.0
        ds.notes.append(
            f"Data: the union of every real public sample of Olist's orders and reviews ({source}), whole customers "
            f"only: {counts} (3.12% in the full Olist data). Not a random sample: it holds every non-delivered order "
            "but only 40.1% of the delivered ones, and a customer is kept only if all of their orders were sampled, so "
            "repeat buyers are under-represented and future value is almost always zero. "
            f"{no_review:.1%} of the kept orders have no review here (two of the samples shipped none; 0.8% in the "
            "full data), so a missing review mostly says which sample an order came from, not what the customer did. "
            "See union/PROVENANCE.md."
        )
    else:
        ds.notes.append(
            f"Data: the Kaggle layout at {source}: {counts}. If this is the shared 26,000-order subset, it keeps "
            "whole customers only: repeat buyers are under-represented (3.12% with 2+ orders in the full data), so "
            "future value is almost always zero and every metric is noisy."
        )
    ds.notes += [
        "Review texts are Portuguese; the product's encoder (all-MiniLM-L6-v2) is English. It is used anyway.",
        "Browsing text is the category of each purchased item (English names); Olist has no browsing log.",
        "Reviews count from the customer's answer (review_answer_timestamp), not from the day the survey was sent. "
        "Olist records no cancellation time: an order's final canceled/unavailable status is taken as known at its "
        "purchase (cancellations come within days, before shipping).",
    ]
    return ds


def load_online_retail(path: str | Path) -> Dataset:
    """UCI Online Retail (invoice lines) from ``Online Retail.parquet`` / ``.csv(.gz)`` / ``.zip``, or a directory.

    - orders: one per invoice, at the time of its last line (an invoice spans at most a minute);
      amount = sum of quantity x unit price. Invoices ``C...`` are cancellations: their own non-spend
      row at their own time, with the absolute amount. A cancellation that repeats an earlier purchase
      of the same customer line for line (same stock codes, quantities and prices: the whole order was
      called off, e.g. 80,995 paper birds, GBP 168,470, cancelled twelve minutes later) has status
      ``canceled``, any other (partial) one ``returned``. The purchase itself stays the ``completed``
      order it was when it happened: marking it canceled would use a row from its future, and the
      purchase would change status depending on where the data is cut. Lines without ``CustomerID``
      (guest checkouts) reach the validation with an empty customer id and are rejected there;
      adjustments with a negative total are rejected as negative.
    - customers: ``CustomerID``, first seen (``signup_ts``) at their first invoice, with that invoice's country.
    - events: one per purchased line, type ``purchase``, the product ``Description`` as browsing text
      (``"nan"`` descriptions, an artefact of the parquet conversion, are missing -> rejected as empty text).
    No reviews.
    """
    src = Source(path)
    name = (
        src.path.name
        if src.path.is_file() and src._zip is None
        else (
            src.find("Online Retail", required=False)
            or src.find("online_retail", required=False)
            or src.find("Online_Retail")
        )
    )
    df = (
        src.read(name)
        if name.endswith(".parquet")
        else src.read(name, dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": str})
    )
    src.close()
    need = ["InvoiceNo", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise DataError(
            f"{path}: Online Retail column {missing[0]!r} is missing (found {', '.join(map(str, df.columns))})"
        )
    df = df.reset_index(drop=True)
    dropped: dict[str, int] = {}
    cid = pd.to_numeric(df["CustomerID"], errors="coerce")
    cid_s = cid.map(lambda v: None if pd.isna(v) else str(int(v))).astype(object)
    inv = df["InvoiceNo"].astype(str).str.strip()
    desc = df["Description"].astype(object).where(df["Description"].notna(), None)
    desc = desc.map(lambda d: None if d is None or str(d).strip().lower() in ("nan", "") else str(d).strip())
    qty = pd.to_numeric(df["Quantity"], errors="coerce")
    price = pd.to_numeric(df["UnitPrice"], errors="coerce")
    ts = pd.to_datetime(df["InvoiceDate"], errors="coerce")
    lines = pd.DataFrame(
        {
            "inv": inv,
            "cid": cid_s,
            "ts": ts,
            "total": qty * price,
            "qty": qty,
            "code": df["StockCode"].astype(str),
            "price": price,
        }
    )
    g = lines.groupby("inv", sort=False)
    per_inv = pd.DataFrame(
        {
            "cid": g["cid"].first(),
            "ts": g["ts"].max(),
            "total": g["total"].sum(min_count=1),
            "qty": g["qty"].sum(min_count=1),
            "n_cids": g["cid"].nunique(),
        }
    )
    dropped["invoices with lines of several customers"] = int((per_inv["n_cids"] > 1).sum())
    cancel = per_inv.index.str.startswith("C")
    amount = np.where(cancel, -per_inv["total"], per_inv["total"])
    whole = _whole_cancellations(lines, per_inv["ts"])
    status = np.where(cancel, np.where(per_inv.index.isin(list(whole)), "canceled", "returned"), "completed")
    raw_orders = pd.DataFrame(
        {
            "order_id": per_inv.index.to_numpy(),
            "customer_id": per_inv["cid"].to_numpy(),
            "order_ts": _iso(per_inv["ts"]).to_numpy(),
            "amount": _money(pd.Series(amount)).to_numpy(),
            "status": status,
            "n_items": _str(per_inv["qty"].abs()).to_numpy(),
        }
    )
    # customers: first seen at their first invoice (by invoice time, then file order), with its country
    first = _first_seen(cid_s, inv.map(per_inv["ts"]))
    country = df["Country"] if "Country" in df else pd.Series(None, index=df.index, dtype=object)
    raw_customers = pd.DataFrame(
        {
            "customer_id": first["customer_id"],
            "signup_ts": _iso(first["ts"]).to_numpy(),
            "country": _str(country.loc[first["row"]]).to_numpy(),
        }
    )

    buy = ~inv.str.startswith("C")
    dropped["cancellation lines (not browsing text)"] = int((~buy).sum())
    raw_events = pd.DataFrame(
        {
            "customer_id": cid_s[buy].to_numpy(),
            "event_ts": _iso(ts[buy]).to_numpy(),
            "event_type": "purchase",
            "text": desc[buy].to_numpy(),
            "product_id": _str(df["StockCode"][buy]).to_numpy() if "StockCode" in df else None,
        }
    )
    defaults = DatasetDefaults(
        cutoff="2011-09-09",
        horizon_days=91,
        note="one year of invoices (2010-12-01 to 2011-12-09): calibration to 2011-09-09, holdout the last 91 days "
        "(the Q4 peak); two 91-day training windows fit inside the calibration period",
    )
    ds = _validate(
        "online-retail",
        {"customers": raw_customers, "orders": raw_orders, "events": raw_events},
        defaults,
        source=str(path),
        currency="£",
        dropped={k: v for k, v in dropped.items() if v},
    )
    ds.notes += [
        "No reviews: only browsing text (the descriptions of purchased products) can be ablated.",
        "Many customers are wholesalers; spend is very heavy-tailed.",
        f"Cancellations (C invoices, {int(cancel.sum()):,}) are non-spend rows at their own time; {len(whole):,} of "
        "them repeat an earlier purchase of the same customer line for line (status canceled), the rest are partial "
        "(status returned). The purchases they undo stay spend at their own time (point in time), so an order "
        "placed and called off inside a holdout window counts as holdout spend.",
    ]
    return ds


def _whole_cancellations(lines: pd.DataFrame, inv_ts: pd.Series) -> dict[str, str]:
    """Cancellation invoice -> the earlier purchase invoice of the same customer that it repeats line for line.

    Point in time: cancellations are taken in time order (then by invoice number), and each one pairs
    with the latest purchase at or before it (same customer, stock codes, quantities and prices) that no
    earlier cancellation took. So whether a cancellation is whole depends only on rows up to its own time.
    """
    ln = lines.dropna(subset=["cid"])
    ln = ln.assign(
        sig=ln["code"] + ":" + ln["qty"].abs().astype("Int64").astype(str) + ":" + ln["price"].round(2).astype(str)
    )
    sigs = ln.sort_values(["inv", "sig"]).groupby("inv").agg(sig=("sig", "|".join), cid=("cid", "first"))
    sigs["ts"] = inv_ts.reindex(sigs.index)
    is_c = sigs.index.str.startswith("C")
    m = sigs[is_c].reset_index().merge(sigs[~is_c].reset_index(), on=["cid", "sig"], suffixes=("_c", "_b"))
    m = m[m["ts_b"] <= m["ts_c"]].sort_values(["ts_c", "inv_c", "ts_b", "inv_b"], ascending=[True, True, False, False])
    pairs: dict[str, str] = {}
    used: set[str] = set()
    for c, b in zip(m["inv_c"], m["inv_b"]):  # a few hundred candidate pairs at most
        if c not in pairs and b not in used:
            pairs[c] = b
            used.add(b)
    return pairs


ADAPTERS: dict[str, Callable[..., Dataset]] = {
    "synthetic": load_synthetic,
    "cdnow": load_cdnow,
    "olist": load_olist,
    "online-retail": load_online_retail,
}
# Where ``--data`` is looked for when omitted (under $INSIGHT_EVAL_DATA, then ../shared/data).
DEFAULT_PATHS = {"cdnow": "cdnow", "olist": "olist-brazilian-ecommerce", "online-retail": "uci-online-retail"}


def default_data_path(name: str) -> Path | None:
    import os

    sub = DEFAULT_PATHS.get(name)
    if sub is None:
        return None
    for base in (os.environ.get("INSIGHT_EVAL_DATA"), "../shared/data", "shared/data"):
        if base and (Path(base) / sub).exists():
            return Path(base) / sub
    return None


def load_dataset(name: str, path: str | Path | None = None, **kw) -> Dataset:
    """Dispatch to the adapter of ``name`` (one of ADAPTERS)."""
    if name not in ADAPTERS:
        raise DataError(f"unknown dataset {name!r}; choose one of {', '.join(ADAPTERS)}")
    if name == "synthetic":
        return load_synthetic(path, **kw)
    if path is None:
        path = default_data_path(name)
        if path is None:
            raise DataError(
                f"--data is required for {name} (no default copy found under $INSIGHT_EVAL_DATA or ../shared/data)"
            )
    return ADAPTERS[name](path)
