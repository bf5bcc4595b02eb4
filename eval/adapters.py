"""Dataset adapters: public layouts -> the input tables of DESIGN.md, validated like the product's own input.

Each adapter reads its source (a directory, a single file or a ``.zip`` archive; ``.csv``, ``.csv.gz``,
``.zip`` and ``.parquet`` are read directly, nothing is unpacked to disk), maps it onto the raw
``customers / orders / reviews / events`` tables as strings, and hands them to
``service.tables.validate_tables``: rows that break the contract are rejected, with the same reasons
and counts as ``insight train`` would give. What an adapter itself leaves out before validation
(e.g. reviews without a comment, which the contract cannot hold) is counted in ``Dataset.dropped``.

Every adapter also carries its dataset's default backtest split (calibration cutoff, horizon and
the horizon the supervised models are trained on), chosen once here and printed by the harness.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

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
        return {"name": self.name, "source": self.source, "tables": self.loaded.summary(), "rejects": self.reject_reasons(),
                "adapter_dropped": dict(self.dropped), "text_sources": list(self.text_sources), "notes": list(self.notes),
                "currency": self.currency}


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
    loaded = validate_tables(raw, sources={k: f"{source} ({name} {k})" for k in raw})
    return Dataset(name=name, loaded=loaded, defaults=defaults, source=source, **kw)


# --------------------------------------------------------------------------- adapters


def load_synthetic(path: str | Path | None = None, customers: int = 5000, seed: int = 0) -> Dataset:
    """The project's generator (``service.synth.generate``), or tables it wrote earlier (``insight data synth``)."""
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
    aggregates them into periods itself). No text.
    """
    src = Source(path)
    name = src.find("CDNOW_master") if not src.path.is_file() or src._zip is not None else src.path.name
    df = src.read(name, sep=r"\s+", dtype=str, header=0, names=["customer_id", "date", "number_of_cds", "dollar_value"])
    src.close()
    dates = pd.to_datetime(df["date"], format="%Y%m%d", errors="coerce")
    orders = pd.DataFrame({
        "order_id": [f"{c}-{i}" for i, c in enumerate(df["customer_id"].astype(str))],
        "customer_id": _str(df["customer_id"].str.strip()),
        "order_ts": _iso(dates).where(dates.notna(), df["date"]),  # unparseable dates stay as written -> rejected
        "amount": _str(df["dollar_value"]),
        "n_items": _str(df["number_of_cds"]),
    })
    defaults = DatasetDefaults(
        cutoff="1997-09-30", horizon_days=273, train_horizon_days=91,
        note="the classic BTYD split (Fader, Hardie & Lee 2005): calibration to 1997-09-30 (39 weeks), holdout 39 weeks "
             "to 1998-06-30; the cohort's history before the cutoff is only 39 weeks, so the snapshot models "
             "(RFM cells, XGBoost) learn a 13-week horizon and their predictions are scaled by 273/91")
    return _validate("cdnow", {"orders": orders}, defaults, source=str(path))


OLIST_STATUS = {"canceled": "canceled", "unavailable": "canceled"}  # not delivered to the customer: no spend


def load_olist(path: str | Path, translate_categories: bool = True) -> Dataset:
    """Olist (Kaggle ``olistbr/brazilian-ecommerce``) from a directory or the Kaggle .zip.

    - customers: one per ``customer_unique_id`` (Olist's ``customer_id`` is one per order).
    - orders: ``order_purchase_timestamp``; amount = the order's payments (item prices + freight,
      after vouchers), or items + freight when an order has no payment row; ``canceled`` and
      ``unavailable`` orders count as canceled (no spend); ``n_items`` and the main category from items.
    - reviews: ``review_creation_date``, ``review_score``, title and message (Portuguese) joined as text;
      reviews without title and message are left out (the contract needs a text), counted in ``dropped``.
    - events: one per order item, at purchase time, type ``purchase``, the product category name
      (English translation, underscores as spaces) as browsing text.
    """
    src = Source(path)
    rd = lambda stem, **kw: src.read(src.find(stem), dtype=str, keep_default_na=False, na_values=[""], **kw)  # noqa: E731
    cust = rd("olist_customers_dataset")
    orders = rd("olist_orders_dataset")
    items = rd("olist_order_items_dataset")
    pays = rd("olist_order_payments_dataset")
    reviews = rd("olist_order_reviews_dataset")
    products = rd("olist_products_dataset")
    trans_name = src.find("product_category_name_translation", required=False)
    trans = src.read(trans_name, dtype=str) if trans_name else None
    src.close()

    dropped: dict[str, int] = {}
    unique_of = cust.drop_duplicates("customer_id").set_index("customer_id")["customer_unique_id"]
    o_cust = orders["customer_id"].map(unique_of)
    dropped["orders whose customer_id is not in the customers table"] = int(o_cust.isna().sum() - orders["customer_id"].isna().sum())

    pay_total = pd.to_numeric(pays["payment_value"], errors="coerce").groupby(pays["order_id"]).sum(min_count=1)
    item_total = (pd.to_numeric(items["price"], errors="coerce") + pd.to_numeric(items["freight_value"], errors="coerce")).groupby(items["order_id"]).sum(min_count=1)
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

    status = orders["order_status"].str.strip().str.lower()
    raw_orders = pd.DataFrame({
        "order_id": _str(orders["order_id"]),
        "customer_id": _str(o_cust),
        "order_ts": _str(orders["order_purchase_timestamp"]),
        "amount": _money(amount),
        "status": status.map(lambda s: OLIST_STATUS.get(s, s) if isinstance(s, str) else s),
        "n_items": _str(orders["order_id"].map(n_items).fillna(0).astype(int)),
        "category": _str(orders["order_id"].map(main_cat)),
    })
    dropped["orders without payment rows (amount from items + freight)"] = int((no_pay & amount.notna()).sum())

    title = reviews["review_comment_title"].fillna("").str.strip()
    msg = reviews["review_comment_message"].fillna("").str.strip()
    text = np.where((title != "") & (msg != ""), title + ". " + msg, title + msg)
    text = pd.Series(text, index=reviews.index).str.replace(r"\s*\r?\n\s*", " ", regex=True).str.strip()
    has_text = text != ""
    dropped["reviews without a title or message (rating only)"] = int((~has_text).sum())
    order_cust = pd.Series(o_cust.to_numpy(), index=orders["order_id"]).groupby(level=0).first()
    r = reviews[has_text]
    raw_reviews = pd.DataFrame({
        "review_id": _str(r["review_id"] + ":" + r["order_id"]),  # Olist reuses a review_id across orders
        "customer_id": _str(r["order_id"].map(order_cust)),
        "review_ts": _str(r["review_creation_date"]),
        "rating": _str(r["review_score"]),
        "text": text[has_text],
        "order_id": _str(r["order_id"]),
    })

    ots = orders.set_index("order_id")["order_purchase_timestamp"]
    raw_events = pd.DataFrame({
        "customer_id": _str(items["order_id"].map(order_cust)),
        "event_ts": _str(items["order_id"].map(ots)),
        "event_type": "purchase",
        "text": _str(item_cat),
        "product_id": _str(items["product_id"]),
    })
    first_state = cust.assign(u=cust["customer_unique_id"]).drop_duplicates("u")
    raw_customers = pd.DataFrame({"customer_id": _str(first_state["u"]), "country": "BR",
                                  "state": _str(first_state["customer_state"])})

    defaults = DatasetDefaults(
        cutoff="2018-03-01", horizon_days=180,
        note="orders run 2017-01 to 2018-08 (a handful before and after); calibration to 2018-03-01 and a 180-day "
             "holdout to 2018-08-28 leave two 180-day training windows inside the calibration period")
    ds = _validate("olist", {"customers": raw_customers, "orders": raw_orders, "reviews": raw_reviews, "events": raw_events},
                   defaults, source=str(path), currency="R$", dropped={k: v for k, v in dropped.items() if v})
    ds.notes += [
        "Review texts are Portuguese; the product's encoder (all-MiniLM-L6-v2) is English. It is used anyway.",
        "Browsing text is the category of each purchased item (English names); Olist has no browsing log.",
        "The shared subset keeps whole customers only: repeat buyers are under-represented (1.0% with 2+ orders vs "
        "3.1% in the full data), so future value is almost always zero and every metric is noisy.",
    ]
    return ds


def load_online_retail(path: str | Path) -> Dataset:
    """UCI Online Retail (invoice lines) from ``Online Retail.parquet`` / ``.csv(.gz)`` / ``.zip``, or a directory.

    - orders: one per invoice; amount = sum of quantity x unit price; invoices ``C...`` are
      cancellations, kept as ``returned`` orders with the absolute amount (they never count as
      spend); a purchase that a cancellation repeats line for line is marked ``canceled`` (see
      ``_fully_reversed``); lines without ``CustomerID`` (guest checkouts) reach the validation with an empty
      customer id and are rejected there; adjustments with a negative total are rejected as negative.
    - customers: ``CustomerID`` with its most frequent country.
    - events: one per purchased line, type ``purchase``, the product ``Description`` as browsing text
      (``"nan"`` descriptions, an artefact of the parquet conversion, are missing -> rejected as empty text).
    No reviews.
    """
    src = Source(path)
    name = src.path.name if src.path.is_file() and src._zip is None else (
        src.find("Online Retail", required=False) or src.find("online_retail", required=False) or src.find("Online_Retail"))
    df = src.read(name) if name.endswith(".parquet") else src.read(name, dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": str})
    src.close()
    need = ["InvoiceNo", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise DataError(f"{path}: Online Retail column {missing[0]!r} is missing (found {', '.join(map(str, df.columns))})")
    dropped: dict[str, int] = {}
    cid = pd.to_numeric(df["CustomerID"], errors="coerce")
    cid_s = cid.map(lambda v: None if pd.isna(v) else str(int(v))).astype(object)
    inv = df["InvoiceNo"].astype(str).str.strip()
    desc = df["Description"].astype(object).where(df["Description"].notna(), None)
    desc = desc.map(lambda d: None if d is None or str(d).strip().lower() in ("nan", "") else str(d).strip())
    line_total = pd.to_numeric(df["Quantity"], errors="coerce") * pd.to_numeric(df["UnitPrice"], errors="coerce")
    ts = pd.to_datetime(df["InvoiceDate"], errors="coerce")
    lines = pd.DataFrame({"inv": inv, "cid": cid_s, "ts": ts, "total": line_total, "qty": pd.to_numeric(df["Quantity"], errors="coerce")})
    g = lines.groupby("inv", sort=False)
    per_inv = pd.DataFrame({"cid": g["cid"].first(), "ts": g["ts"].min(), "total": g["total"].sum(min_count=1),
                            "qty": g["qty"].sum(min_count=1), "n_cids": g["cid"].nunique()})
    dropped["invoices with lines of several customers"] = int((per_inv["n_cids"] > 1).sum())
    cancel = per_inv.index.str.startswith("C")
    amount = np.where(cancel, -per_inv["total"], per_inv["total"])
    reversed_ = _fully_reversed(lines.assign(code=df["StockCode"].astype(str), price=pd.to_numeric(df["UnitPrice"], errors="coerce")))
    status = np.where(cancel, "returned", np.where(per_inv.index.isin(reversed_), "canceled", "completed"))
    dropped["purchase invoices undone by an identical cancellation (status canceled: no spend)"] = len(reversed_)
    raw_orders = pd.DataFrame({
        "order_id": per_inv.index.to_numpy(),
        "customer_id": per_inv["cid"].to_numpy(),
        "order_ts": _iso(per_inv["ts"]).to_numpy(),
        "amount": _money(pd.Series(amount)).to_numpy(),
        "status": status,
        "n_items": _str(per_inv["qty"].abs()).to_numpy(),
    })
    countries = pd.DataFrame({"cid": cid_s, "country": df.get("Country", pd.Series(None, index=df.index))}).dropna(subset=["cid"])
    country = countries.groupby("cid")["country"].agg(lambda s: s.mode().iat[0] if s.notna().any() else None)
    raw_customers = pd.DataFrame({"customer_id": country.index.to_numpy(), "country": _str(country).to_numpy()})

    buy = ~inv.str.startswith("C")
    dropped["cancellation lines (not browsing text)"] = int((~buy).sum())
    raw_events = pd.DataFrame({
        "customer_id": cid_s[buy].to_numpy(),
        "event_ts": _iso(ts[buy]).to_numpy(),
        "event_type": "purchase",
        "text": desc[buy].to_numpy(),
        "product_id": _str(df["StockCode"][buy]).to_numpy() if "StockCode" in df else None,
    })
    defaults = DatasetDefaults(
        cutoff="2011-09-09", horizon_days=91,
        note="one year of invoices (2010-12-01 to 2011-12-09): calibration to 2011-09-09, holdout the last 91 days "
             "(the Q4 peak); two 91-day training windows fit inside the calibration period")
    ds = _validate("online-retail", {"customers": raw_customers, "orders": raw_orders, "events": raw_events},
                   defaults, source=str(path), currency="£", dropped={k: v for k, v in dropped.items() if v})
    ds.notes += [
        "No reviews: only browsing text (the descriptions of purchased products) can be ablated.",
        "Many customers are wholesalers; spend is very heavy-tailed.",
    ]
    return ds


def _fully_reversed(lines: pd.DataFrame) -> set[str]:
    """Purchase invoices that a later cancellation invoice of the same customer undoes line for line.

    UCI Online Retail books a cancellation as a separate ``C`` invoice; a returned order in the input
    contract keeps the original purchase as spend. When the cancellation repeats the purchase exactly
    (same customer, same stock codes, quantities and prices; e.g. the 80,995-unit, 168,470 GBP order
    cancelled twelve minutes later), the purchase never happened and is marked canceled. Each
    cancellation undoes at most one purchase: the latest one at or before it. Partial cancellations
    are left as returns.
    """
    ln = lines.dropna(subset=["cid"])
    ln = ln.assign(sig=ln["code"] + ":" + ln["qty"].abs().astype("Int64").astype(str) + ":" + ln["price"].round(2).astype(str))
    sigs = ln.sort_values(["inv", "sig"]).groupby("inv").agg(sig=("sig", "|".join), cid=("cid", "first"), ts=("ts", "min"))
    is_c = sigs.index.str.startswith("C")
    m = sigs[is_c].reset_index().merge(sigs[~is_c].reset_index(), on=["cid", "sig"], suffixes=("_c", "_b"))
    m = m[m["ts_b"] <= m["ts_c"]].sort_values(["ts_b"], ascending=False)
    used: set[str] = set()
    for c, b in zip(m["inv_c"], m["inv_b"]):  # a few hundred candidate pairs at most
        if c not in used and b not in used:
            used.update((c, b))
    return {i for i in used if not i.startswith("C")}


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
            raise DataError(f"--data is required for {name} (no default copy found under $INSIGHT_EVAL_DATA or ../shared/data)")
    return ADAPTERS[name](path)
