"""The training panel: which snapshots a model learns from, and which customers are held out to validate it.

With cutoff C and horizon H (shortened when the history is short, see ``plan_panel``) the latest snapshot sits at
C - H (target: spend in (C - H, C]) and validates; the fit
snapshots lie every PANEL_STEP_DAYS before it (targets ending at or before C), plus the snapshot a year before C when
the history reaches that far; scoring uses the snapshot at C.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd

from service.tables import DataError

# Training panel: snapshots every PANEL_STEP_DAYS (at most the horizon) back from the latest one whose target
# window ends at the cutoff, each with at least MIN_HISTORY_DAYS of history; the oldest beyond
# MAX_FIT_SNAPSHOTS are not used, and rows beyond MAX_PANEL_ROWS are sampled away (training cost).
# When the history reaches back a year, the snapshot one year before the cutoff joins the panel: it shows
# the model the season it will be scored in, and only then are season features used (trees cannot
# extrapolate to a time of year no snapshot has seen; tried without this rule, a panel of winter and
# spring snapshots scored in August multiplied some predictions tenfold).
PANEL_STEP_DAYS = 30


MIN_HISTORY_DAYS = 30


MIN_TRAIN_HORIZON_DAYS = 7  # the shortest target window the models learn (a week: one weekly cycle of orders)


MAX_FIT_SNAPSHOTS = 4


MAX_PANEL_ROWS = 200_000


# Validation customers: this share of customers (by a stable hash of the id and the seed) is left out of the fit
# snapshots and makes up the latest snapshot that early-stops, selects and calibrates the models. Why: the fit
# snapshots' target windows overlap the latest one's, so with the same customers on both sides the trees and the
# text heads could recognise a customer and recall a future they had seen, which looked like skill on the latest
# snapshot and was not at the cutoff. Below MIN_VALIDATION_CUSTOMERS held-out customers every customer validates.
VALIDATION_CUSTOMER_SHARE = 0.3


MIN_VALIDATION_CUSTOMERS = 200


YEAR_DAYS = 365


@dataclass
class Panel:
    train_horizon_days: int
    cutoffs: dict[str, pd.Timestamp]  # "validation" (latest), "fit_1" ... (older), "fit_year" (a year before), "score"
    seasonal: bool
    notes: list[str]


def validation_customers(customer_ids, seed: int, share: float | None = None) -> np.ndarray:
    """True for the customers held out of the fit snapshots for validation (a stable hash of id and seed)."""
    share = VALIDATION_CUSTOMER_SHARE if share is None else share
    ids = np.asarray(customer_ids, dtype=object)
    if share <= 0 or len(ids) == 0:
        return np.zeros(len(ids), bool)
    u = pd.util.hash_array(ids, hash_key=f"validation{int(seed) % 10**6:06d}").astype(np.float64) / 2.0**64
    return u < share


def plan_panel(first_order: pd.Timestamp, cutoff: pd.Timestamp, horizon_days: int) -> Panel:
    """The training snapshots for a cutoff and a horizon.

    The requested horizon is learned directly when the history holds the latest snapshot (target window
    (cutoff - H, cutoff]) with at least H days of history before it, plus at least one earlier snapshot, each with
    MIN_HISTORY_DAYS of history before it. Otherwise the longest horizon that does is learned, and predictions move
    to the requested horizon through the BG/NBD model (``models.HorizonShift``).

    Why the latest snapshot needs a horizon of history (at most half the history is learned): the classic models
    fitted on a snapshot with a few weeks behind it are poor (BG/NBD on Online Retail's first 45 days, which open
    with the December peak, ranks spend at 0.72 Gini against 0.81 at the cutoff), the trees learn to correct them
    there, and the correction is wrong at the cutoff, where they are good. Development cutoffs, 3 seeds, before ->
    after: Online Retail 2011-05-15 / 120 and 2011-06-30 / 150 churn ECE 0.14 -> 0.07 and 0.10 -> 0.04, level 1.42 ->
    0.94 and 1.36 -> 0.88, Gini against past spend -0.011 -> -0.009 and -0.011 -> -0.001; CDNOW 1997-07-31 / 300 and
    1997-09-15 / 200 Spearman against RFM cells -0.004 -> +0.004 and -0.005 -> +0.004. Cutoffs with enough history do
    not change. A fixed 90 days of history instead did better at 2011-05-15 but learned a 15-day horizon at
    2011-03-31 / 45 and lost 0.02 Gini there.
    """
    step = min(PANEL_STEP_DAYS, horizon_days)
    history = (cutoff - first_order).total_seconds() / 86400.0
    h, notes = horizon_days, []
    if h > history / 2:  # the latest snapshot gets at least one learned horizon of history (see the docstring)
        h = int(math.floor(history / 2))
        step = min(step, h)
    if history - h - step < MIN_HISTORY_DAYS:
        h = int(math.floor(history - MIN_HISTORY_DAYS - step))
        if h < step:  # under two months of history: the two snapshots sit one learned horizon apart
            h = step = int(math.floor((history - MIN_HISTORY_DAYS) / 2))
        if h < MIN_TRAIN_HORIZON_DAYS:
            had = (
                f"only {history:.0f} days of orders"
                if history >= 1
                else f"no orders (the first is on {first_order.date()})"
            )
            raise DataError(
                f"{had} before the cutoff {cutoff.date()}: training needs at least "
                f"{MIN_HISTORY_DAYS + 2 * MIN_TRAIN_HORIZON_DAYS} days (two snapshots with {MIN_HISTORY_DAYS} days "
                f"of history and a {MIN_TRAIN_HORIZON_DAYS}-day target)"
            )
    if h < horizon_days:
        notes.append(
            f"history of {history:.0f} days is too short to learn a {horizon_days}-day horizon; "
            f"the models learn {h} days "
            f"and the BG/NBD model carries the predictions to {horizon_days} days (value by one factor for all "
            "customers, churn by each customer's own chance of no order)"
        )

    def enough_history(c: pd.Timestamp) -> bool:
        return (c - first_order).total_seconds() / 86400.0 >= MIN_HISTORY_DAYS

    val = cutoff - timedelta(days=h)
    cutoffs = {"validation": val}
    for k in range(1, MAX_FIT_SNAPSHOTS + 1):
        c = val - timedelta(days=k * step)
        if not enough_history(c):
            break
        cutoffs[f"fit_{k}"] = c
    year_ago = cutoff - timedelta(days=YEAR_DAYS)
    seasonal = h <= YEAR_DAYS and enough_history(year_ago)
    if seasonal and all(abs((c - year_ago).days) >= step for c in cutoffs.values()):
        cutoffs["fit_year"] = year_ago
    if not seasonal:
        notes.append(
            "less than a year of history before the cutoff: no season features (no snapshot has seen the season scored)"
        )
    cutoffs["score"] = cutoff
    return Panel(h, cutoffs, seasonal, notes)


def fit_names(cutoffs: dict) -> list[str]:
    return [k for k in cutoffs if k.startswith("fit_")]


def check_history(snapshots: dict[str, pd.DataFrame], cutoffs: dict[str, pd.Timestamp], horizon_days: int) -> None:
    for name in ["validation"] + fit_names(cutoffs)[:1]:
        if name not in snapshots or len(snapshots[name]) < 50:
            n = len(snapshots.get(name, ()))
            raise DataError(
                f"only {n} customers have orders before the {name} snapshot at "
                f"{cutoffs[name].date() if name in cutoffs else '?'}; "
                "training needs 50+ customers with history before two snapshots "
                f"{horizon_days} days or more before the cutoff "
                "(try a shorter --horizon-days or an earlier start of the data)"
            )
