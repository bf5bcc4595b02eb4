"""The CDNOW adapter: the CDNOW master file (one row per purchase of the Q1 1997 cohort of first-time buyers)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from eval.adapters.common import Source, first_seen, iso, strings, validate
from eval.adapters.dataset import Dataset, DatasetDefaults


def load_cdnow(path: str | Path) -> Dataset:
    """CDNOW master file: ``customer_id date number_of_cds dollar_value`` (whitespace separated, YYYYMMDD dates).

    One order per row (several rows of a customer on the same day stay separate orders; BG/NBD
    aggregates them into periods itself), with id ``<customer>-<n>``, the customer's n-th order (from 0)
    by date. No text. Customers: every id with a readable date, with
    ``signup_ts`` = their first purchase (the file is the cohort of first-time buyers of Q1 1997).
    """
    src = Source(path)
    name = src.find("CDNOW_master") if not src.path.is_file() or src.is_archive else src.path.name
    df = src.read(
        name, sep=r"\s+", dtype=str, header=None, names=["customer_id", "date", "number_of_cds", "dollar_value"]
    )
    src.close()
    # The file as Bruce Hardie distributes it has no header line (its first purchase had been read as one and lost,
    # counted nowhere); a copy with one names its columns in words, never an id of digits.
    if len(df) and not str(df["customer_id"].iloc[0]).strip().isdigit():
        df = df.iloc[1:].reset_index(drop=True)
    dates = pd.to_datetime(df["date"], format="%Y%m%d", errors="coerce")
    cid = strings(df["customer_id"].str.strip())
    # order id: the customer's n-th order by date (then file order), so it depends on no later row
    nth = pd.DataFrame({"c": df["customer_id"].astype(str), "d": dates}).sort_values(
        "d", kind="mergesort", na_position="last"
    )
    nth = nth.groupby("c", sort=False).cumcount().reindex(df.index)
    orders = pd.DataFrame(
        {
            "order_id": [f"{c}-{i}" for c, i in zip(df["customer_id"].astype(str), nth)],
            "customer_id": cid,
            "order_ts": iso(dates).where(dates.notna(), df["date"]),  # unparseable dates stay as written -> rejected
            "amount": strings(df["dollar_value"]),
            "n_items": strings(df["number_of_cds"]),
        }
    )
    first = first_seen(cid, dates).dropna(subset=["ts"])
    customers = pd.DataFrame({"customer_id": first["customer_id"], "signup_ts": iso(first["ts"]).to_numpy()})
    defaults = DatasetDefaults(
        cutoff="1997-09-30",
        horizon_days=273,
        note="the classic BTYD split (Fader, Hardie & Lee 2005): calibration to 1997-09-30 (39 weeks), holdout "
        "39 weeks to 1998-06-30; the cohort's history before the cutoff is only 39 weeks, so no model can learn the "
        "273-day horizon from a whole window (the split notes say what each one does instead)",
    )
    return validate("cdnow", {"customers": customers, "orders": orders}, defaults, source=str(path))
