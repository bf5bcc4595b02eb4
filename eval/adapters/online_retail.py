"""The UCI Online Retail adapter: one year of invoice lines of a UK online shop, as orders (one per invoice, with its
cancellations), customers and purchase events."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from eval.adapters.common import Source, first_seen, iso, money, strings, validate
from eval.adapters.dataset import Dataset, DatasetDefaults
from service.tables import DataError

RETAIL_COLUMNS = ["InvoiceNo", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"]


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
    df = _read_lines(path)
    dropped: dict[str, int] = {}
    lines = _typed_lines(df)
    per_inv = _invoices(lines)
    dropped["invoices with lines of several customers"] = int((per_inv["n_cids"] > 1).sum())
    whole = _whole_cancellations(lines, per_inv["ts"])
    raw_orders = _orders(per_inv, whole)
    raw_customers = _customers(df, lines, per_inv)
    buy = ~lines["inv"].str.startswith("C")
    dropped["cancellation lines (not browsing text)"] = int((~buy).sum())
    raw_events = _events(df, lines, buy)
    defaults = DatasetDefaults(
        cutoff="2011-09-09",
        horizon_days=91,
        note="one year of invoices (2010-12-01 to 2011-12-09): calibration to 2011-09-09, holdout the last 91 days "
        "(the Q4 peak); two 91-day training windows fit inside the calibration period",
    )
    ds = validate(
        "online-retail",
        {"customers": raw_customers, "orders": raw_orders, "events": raw_events},
        defaults,
        source=str(path),
        currency="£",
        dropped={k: v for k, v in dropped.items() if v},
    )
    n_cancel = int(per_inv.index.str.startswith("C").sum())
    ds.notes += [
        "No reviews: only browsing text (the descriptions of purchased products) can be ablated.",
        "Many customers are wholesalers; spend is very heavy-tailed.",
        f"Cancellations (C invoices, {n_cancel:,}) are non-spend rows at their own time; {len(whole):,} of "
        "them repeat an earlier purchase of the same customer line for line (status canceled), the rest are partial "
        "(status returned). The purchases they undo stay spend at their own time (point in time), so an order "
        "placed and called off inside a holdout window counts as holdout spend.",
    ]
    return ds


def _read_lines(path: str | Path) -> pd.DataFrame:
    """The invoice lines as read (a file, or the one named Online Retail / online_retail in a directory or .zip),
    with every column the adapter needs."""
    src = Source(path)
    name = (
        src.path.name
        if src.path.is_file() and not src.is_archive
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
    missing = [c for c in RETAIL_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(
            f"{path}: Online Retail column {missing[0]!r} is missing (found {', '.join(map(str, df.columns))})"
        )
    return df.reset_index(drop=True)


def _typed_lines(df: pd.DataFrame) -> pd.DataFrame:
    """Per line: invoice number, customer id as a string (None for guests), time, total, quantity, stock code and
    unit price."""
    cid = pd.to_numeric(df["CustomerID"], errors="coerce")
    qty = pd.to_numeric(df["Quantity"], errors="coerce")
    price = pd.to_numeric(df["UnitPrice"], errors="coerce")
    return pd.DataFrame(
        {
            "inv": df["InvoiceNo"].astype(str).str.strip(),
            "cid": cid.map(lambda v: None if pd.isna(v) else str(int(v))).astype(object),
            "ts": pd.to_datetime(df["InvoiceDate"], errors="coerce"),
            "total": qty * price,
            "qty": qty,
            "code": df["StockCode"].astype(str),
            "price": price,
        }
    )


def _invoices(lines: pd.DataFrame) -> pd.DataFrame:
    """Per invoice: its (first) customer, the time of its last line, total, quantity and number of customers."""
    g = lines.groupby("inv", sort=False)
    # an invoice with a line whose Quantity or UnitPrice does not read ("3,39", "six") has no known total: its order
    # is rejected as unparseable (counted), rather than summed without that line
    unread = lines["total"].isna().groupby(lines["inv"], sort=False).any()
    return pd.DataFrame(
        {
            "cid": g["cid"].first(),
            "ts": g["ts"].max(),
            "total": g["total"].sum(min_count=1).mask(unread),
            "qty": g["qty"].sum(min_count=1),
            "n_cids": g["cid"].nunique(),
        }
    )


def _orders(per_inv: pd.DataFrame, whole: dict[str, str]) -> pd.DataFrame:
    """The orders table: purchases completed; cancellations canceled when whole (``whole``), else returned."""
    cancel = per_inv.index.str.startswith("C")
    amount = np.where(cancel, -per_inv["total"], per_inv["total"])
    status = np.where(cancel, np.where(per_inv.index.isin(list(whole)), "canceled", "returned"), "completed")
    return pd.DataFrame(
        {
            "order_id": per_inv.index.to_numpy(),
            "customer_id": per_inv["cid"].to_numpy(),
            "order_ts": iso(per_inv["ts"]).to_numpy(),
            "amount": money(pd.Series(amount)).to_numpy(),
            "status": status,
            "n_items": strings(per_inv["qty"].abs()).to_numpy(),
        }
    )


def _customers(df: pd.DataFrame, lines: pd.DataFrame, per_inv: pd.DataFrame) -> pd.DataFrame:
    """The customers table: first seen at their first invoice (by invoice time, then file order), with its country."""
    first = first_seen(lines["cid"], lines["inv"].map(per_inv["ts"]))
    country = df["Country"] if "Country" in df else pd.Series(None, index=df.index, dtype=object)
    return pd.DataFrame(
        {
            "customer_id": first["customer_id"],
            "signup_ts": iso(first["ts"]).to_numpy(),
            "country": strings(country.loc[first["row"]]).to_numpy(),
        }
    )


def _events(df: pd.DataFrame, lines: pd.DataFrame, buy: pd.Series) -> pd.DataFrame:
    """The events table: one purchase per purchased line (``buy``), with the product description as text."""
    desc = df["Description"].astype(object).where(df["Description"].notna(), None)
    desc = desc.map(lambda d: None if d is None or str(d).strip().lower() in ("nan", "") else str(d).strip())
    return pd.DataFrame(
        {
            "customer_id": lines["cid"][buy].to_numpy(),
            "event_ts": iso(lines["ts"][buy]).to_numpy(),
            "event_type": "purchase",
            "text": desc[buy].to_numpy(),
            "product_id": strings(df["StockCode"][buy]).to_numpy() if "StockCode" in df else None,
        }
    )


def _whole_cancellations(lines: pd.DataFrame, inv_ts: pd.Series) -> dict[str, str]:
    """Cancellation invoice -> the earlier purchase invoice of the same customer that it repeats line for line.

    Point in time: cancellations are taken in time order (then by invoice number), and each one pairs
    with the latest purchase at or before it (same customer, stock codes, quantities and prices) that no
    earlier cancellation took. So whether a cancellation is whole depends only on rows up to its own time.
    """
    ln = lines.dropna(subset=["cid"])
    # an unreadable quantity or price ("six", "3,39") is "?": such a line matches nothing, and the join never meets NaN
    qty = ln["qty"].abs().astype(str).where(ln["qty"].notna(), "?")
    price = ln["price"].round(2).astype(str).where(ln["price"].notna(), "?")
    ln = ln.assign(sig=ln["code"].astype(str) + ":" + qty + ":" + price)
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
