"""Making a calibration/holdout split: the cutoff and horizons with the notes the report prints about them
(``make_split``), the tables as they stood at the cutoff (``truncate``), and the evaluation population with its
holdout outcomes (``truth``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pandas as pd

from eval.adapters import Dataset, DatasetDefaults
from service.features import FeatureBuilder
from service.pipeline import parse_cutoff
from service.tables import NON_SPEND_STATUSES, DataError, LoadedData

MIN_HISTORY_DAYS = 30  # the earliest training snapshot needs at least this much history


@dataclass
class Split:
    """One calibration/holdout split. ``train_horizon_days`` is the horizon the RFM cells learn (the product and the
    other learned models choose their own training snapshots); ``notes`` are every note the report prints about it."""

    cutoff: pd.Timestamp
    horizon_days: int
    train_horizon_days: int
    data_start: pd.Timestamp
    data_end: pd.Timestamp
    notes: list[str] = field(default_factory=list)
    defaults_used: bool = False

    @property
    def holdout_end(self) -> pd.Timestamp:
        return self.cutoff + timedelta(days=self.horizon_days)

    def to_dict(self) -> dict:
        return {
            "cutoff": self.cutoff.isoformat(),
            "horizon_days": self.horizon_days,
            "train_horizon_days": self.train_horizon_days,
            "rfm_snapshot": (self.cutoff - timedelta(days=self.train_horizon_days)).isoformat(),
            "holdout_end": self.holdout_end.isoformat(),
            "data_start": self.data_start.isoformat(),
            "data_end": self.data_end.isoformat(),
            "defaults_used": self.defaults_used,
            "notes": list(self.notes),
        }


def make_split(
    dataset: Dataset, cutoff: str | None = None, horizon_days: int | None = None, train_horizon_days: int | None = None
) -> Split:
    """The calibration cutoff and horizon: given values, else the dataset's defaults.

    Never fails because the horizon is long: the learned models (the product, the tabular XGBoost) get the
    requested horizon and choose their training snapshots themselves. The RFM cells learn
    ``train_horizon_days`` (default: the horizon), shortened to the longest the history allows: their one
    training snapshot at ``cutoff - h`` needs ``MIN_HISTORY_DAYS`` of history before it. Fails when the cutoff
    is not after the first order, or when the holdout window runs more than a day past the last order.
    """
    orders = dataset.loaded.tables["orders"]
    start, end = orders["order_ts"].min(), orders["order_ts"].max()
    d = dataset.defaults
    defaults_used = cutoff is None and horizon_days is None
    h = int(horizon_days or d.horizon_days)
    if h < 1:
        raise DataError(f"horizon must be at least 1 day, got {h}")
    cut = _cutoff(cutoff, d, defaults_used, h, end)
    if cut <= start:
        raise DataError(f"cutoff {cut.date()} is before the first order ({start.date()})")
    notes = []
    if defaults_used and d.note:
        notes.append(f"Dataset defaults: {d.note}")
    if cut + timedelta(days=h) > end + timedelta(days=1):
        # Every model would be judged on part of its horizon (levels, churn and coverage all wrong), so refuse.
        room = (end + timedelta(days=1) - cut).days
        raise DataError(
            f"the holdout window ({cut.date()}, {(cut + timedelta(days=h)).date()}] ends after the last order "
            f"({end.date()}), so every model would be judged on only part of its {h}-day forecast; "
            + (f"use --horizon-days {room} or less from this cutoff, or " if room >= 1 else "")
            + f"a cutoff on or before {(end - timedelta(days=h)).date()}"
        )
    th, rfm_note = _rfm_horizon(cut, start, h, int(train_horizon_days or h))
    notes.append(rfm_note)
    notes.append(
        f"The learned models (product, XGBoost tabular) are trained for the {h}-day horizon on the calibration tables; "
        "they choose their own training snapshots inside the calibration period."
    )
    return Split(
        cutoff=cut,
        horizon_days=h,
        train_horizon_days=int(th),
        data_start=start,
        data_end=end,
        notes=notes,
        defaults_used=defaults_used,
    )


def _cutoff(
    cutoff: str | None, defaults: DatasetDefaults, defaults_used: bool, h: int, end: pd.Timestamp
) -> pd.Timestamp:
    """The given cutoff; else the dataset's default cutoff (when no horizon is given either); else the last order
    minus the horizon."""
    if cutoff is None and defaults.cutoff is not None and defaults_used:
        return parse_cutoff(defaults.cutoff, end)
    if cutoff is None:
        return parse_cutoff(None, end) - timedelta(days=h)
    return parse_cutoff(cutoff, end)


def _rfm_horizon(cut: pd.Timestamp, start: pd.Timestamp, h: int, asked: int) -> tuple[int, str]:
    """The horizon the RFM cells learn (``asked``, shortened to what the history before the cutoff allows) and the
    note that says which it is."""
    history = (cut - start).days
    longest = history - MIN_HISTORY_DAYS if history - MIN_HISTORY_DAYS >= 1 else max(history // 2, 1)
    th = min(asked, longest)
    rfm_cut = (cut - timedelta(days=th)).date()
    if th < asked:
        return th, (
            f"RFM cells learn a {th}-day horizon, not {asked}: {history} days of history come before the cutoff and "
            f"their training snapshot ({rfm_cut}) needs {MIN_HISTORY_DAYS} of them. Their values are scaled by "
            f"{h}/{th}; their churn rates are for no purchase in {th} days, not {h}."
        )
    if th != h:
        return th, (
            f"RFM cells learn a {th}-day horizon (as asked) on the snapshot at {rfm_cut}; their values are scaled by "
            f"{h}/{th}."
        )
    return th, f"RFM cells learn the {h}-day horizon on the snapshot at {rfm_cut} (outcomes up to the cutoff)."


def truncate(loaded: LoadedData, cutoff: pd.Timestamp) -> LoadedData:
    """The tables as they stood at ``cutoff``: every order, review and event after it is gone."""
    t = loaded.tables
    tables = {
        "orders": t["orders"][t["orders"]["order_ts"] <= cutoff].reset_index(drop=True),
        "reviews": t["reviews"][t["reviews"]["review_ts"] <= cutoff].reset_index(drop=True),
        "events": t["events"][t["events"]["event_ts"] <= cutoff].reset_index(drop=True),
    }
    cust = t["customers"]
    if "signup_ts" in cust:
        cust = cust[~(cust["signup_ts"] > cutoff)]
    tables["customers"] = cust.reset_index(drop=True)
    return LoadedData(tables=tables, rejects={}, sources={}, rows_read={})


def truth(loaded: LoadedData, split: Split, threads: int = 2) -> pd.DataFrame:
    """Evaluation population and outcomes: customers with an order at or before the cutoff; spend and churn in the
    holdout, and the days from the cutoff to their first holdout purchase (NaN without one)."""
    fb = FeatureBuilder(loaded.tables, threads=threads)
    snap = fb.snapshot(split.cutoff, split.horizon_days)
    fb.close()
    out = snap[["customer_id", "future_value", "future_orders", "churn"]].reset_index(drop=True)
    o = loaded.tables["orders"]
    buy = o[
        (o["order_ts"] > split.cutoff)
        & (o["order_ts"] <= split.holdout_end)
        & ~o["status"].str.lower().isin(NON_SPEND_STATUSES)
    ]
    first = buy.groupby("customer_id")["order_ts"].min()
    days = (first - split.cutoff).dt.total_seconds() / 86400.0
    out["days_to_next_order"] = days.reindex(out["customer_id"]).to_numpy(dtype=float)
    return out
