"""The model inputs of a training run: the stacked panel of fit snapshots (with the text featurizer fitted on it),
the validation customers' inputs and the scored snapshot's.

``work`` is the per-customer work of ``service.train``: a ``LocalWork`` in this process or a
``service.scaleout.DaskWork``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from service.btyd import ClassicFeatures
from service.design import base_design
from service.features import SEASON_FEATURES
from service.models import rows_of
from service.models.matrices import column_values
from service.models.value import cap_outliers
from service.panel import MAX_PANEL_ROWS, MIN_VALIDATION_CUSTOMERS, Panel, fit_names, validation_customers
from service.text_features import PooledText, TextFeaturizer


@dataclass
class Designs:
    """The model inputs of one training run: the fit panel, the validation customers and the scored snapshot."""

    X_fit: Any
    y_value: np.ndarray
    y_churn: np.ndarray
    kept: list[int]
    X_val: Any
    s_val: pd.DataFrame
    X_score: Any
    X_score_all: Any  # every column, text included (the peer percentiles of text counts need them)
    held_out: bool
    # actual spend and BG/NBD x Gamma-Gamma prediction over every customer of the latest snapshot (for anchor_level)
    validation_totals: tuple[float, float] | None = None


def model_inputs(
    work, panel: Panel, classics: dict, text: TextFeaturizer, sources: tuple[str, ...], seed: int
) -> Designs:
    """The fit panel (text featurizer fitted on it), the validation customers' and the scored snapshot's inputs."""
    cutoffs = panel.cutoffs
    s_val = work.snapshots["validation"]
    held = validation_customers(s_val["customer_id"], seed)
    held_out = int(held.sum()) >= MIN_VALIDATION_CUSTOMERS
    X_fit, y_value, y_churn, kept, _ = fit_panel(work, cutoffs, classics, text, sources, seed, held_out)
    columns = [c for c in X_fit.columns if panel.seasonal or c not in SEASON_FEATURES]
    X_fit = work.distribute(X_fit[columns])
    X_val = work.design("validation", text, classics["validation"])[columns]
    totals = (
        float(cap_outliers(s_val["future_value"].to_numpy(np.float64))[0].sum()),
        float(cap_outliers(np.nan_to_num(column_values(X_val, "btyd_expected_value")))[0].sum()),
    )
    if held_out:
        X_val, s_val = rows_of(X_val, held), s_val[held].reset_index(drop=True)
    X_score = work.design("score", text, classics["score"])[columns]
    return Designs(X_fit, y_value, y_churn, kept, X_val, s_val, X_score, X_score, held_out, totals)


def fit_panel(
    work,
    cutoffs: dict[str, pd.Timestamp],
    classics: dict[str, ClassicFeatures],
    text: TextFeaturizer,
    sources: tuple[str, ...],
    seed: int,
    held_out: bool,
):
    """The stacked fit snapshots: (design frame, value target, churn target, rows per snapshot, customer id per row).

    With ``held_out`` the validation customers are left out. Text features of the panel are fitted here
    (head scores out-of-fold, folds by customer); rows beyond MAX_PANEL_ROWS are sampled away uniformly, with
    the same seed every time.
    """
    names = fit_names(cutoffs)
    fitting = {
        n: ~validation_customers(work.snapshots[n]["customer_id"], seed)
        if held_out
        else np.ones(len(work.snapshots[n]), bool)
        for n in names
    }
    total = sum(int(f.sum()) for f in fitting.values())
    keep_share = min(1.0, MAX_PANEL_ROWS / max(total, 1))
    rng = np.random.default_rng(seed)
    parts, pooled_parts, yv, yc, kept, groups = [], [], [], [], [], []
    for n in names:
        snap = work.snapshots[n].reset_index(drop=True)
        keep = (rng.random(len(snap)) < keep_share if keep_share < 1.0 else np.ones(len(snap), bool)) & fitting[n]
        groups.append(snap["customer_id"].to_numpy(dtype=object)[keep])
        parts.append(base_design(snap, cutoffs[n], classics[n])[keep].reset_index(drop=True))
        yv.append(snap["future_value"].to_numpy()[keep])
        yc.append(snap["churn"].to_numpy()[keep])
        kept.append(int(keep.sum()))
        if sources:
            pooled_parts.append(work.pooled(n, keep))  # only the kept rows are pooled (and, on Dask, gathered)
    X = pd.concat(parts, ignore_index=True)
    y_value, y_churn = np.concatenate(yv), np.concatenate(yc)
    if sources:
        pooled = {
            src: PooledText(
                np.concatenate([pp[src].vectors for pp in pooled_parts]),
                np.concatenate([pp[src].counts for pp in pooled_parts]),
            )
            for src in sources
        }
        X = pd.concat([X, text.fit_transform(pooled, y_value, y_churn, groups=np.concatenate(groups))], axis=1)
    return X, y_value, y_churn, kept, np.concatenate(groups)
