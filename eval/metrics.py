"""Evaluation metrics (DESIGN.md "Metrics"): ranking, calibration by decile, top-k, tiers, churn, refit seeds; the
bootstrap intervals live in ``eval.bootstrap`` and are re-exported here.

Conventions, chosen so that ties never flatter a model (many baselines predict the same value for
whole groups of customers, and most customers' actual future value is exactly 0):

- Sorting by prediction is descending; customers tied on the prediction share their group's
  outcome (``normalized_gini`` of service.metrics does this for the Gini; ``top_k`` counts a tie
  group that straddles the cut fractionally; deciles split ties by a fixed random order).
- The "actual top k%" is the top ceil(k n) customers by actual value *among those with a positive
  value*: a customer who spends nothing is never a top customer, so when fewer than k n customers
  spend at all, the actual top set is all spenders.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import rankdata, spearmanr
from sklearn.metrics import average_precision_score, roc_auc_score

from eval.bootstrap import bootstrap
from service.metrics import normalized_gini
from service.tiers import DEFAULT_SHARES, TIER_ORDER

__all__ = [
    "normalized_gini",
    "spearman",
    "mae",
    "rmse",
    "decile_table",
    "decile_mape",
    "top_k",
    "lorenz_curve",
    "tier_labels",
    "tier_confusion",
    "churn_scores",
    "calibration_bins",
    "expected_calibration_error",
    "calibration_ratio",
    "interval_report",
    "next_order_report",
    "value_report",
    "seed_summary",
    "mean_over_seeds",
    "bootstrap",
]


def _arrays(actual, predicted) -> tuple[np.ndarray, np.ndarray]:
    a, p = np.asarray(actual, dtype=np.float64), np.asarray(predicted, dtype=np.float64)
    if a.shape != p.shape or a.ndim != 1:
        raise ValueError(f"actual and predicted must be 1-d arrays of the same length, got {a.shape} and {p.shape}")
    if not (np.isfinite(a).all() and np.isfinite(p).all()):
        raise ValueError("actual and predicted must be finite")
    return a, p


def spearman(actual, predicted) -> float:
    """Spearman rank correlation (average ranks for ties); NaN when either side is constant."""
    a, p = _arrays(actual, predicted)
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(p) == 0:
        return float("nan")
    return float(spearmanr(a, p).statistic)


def mae(actual, predicted) -> float:
    a, p = _arrays(actual, predicted)
    return float(np.mean(np.abs(a - p)))


def rmse(actual, predicted) -> float:
    a, p = _arrays(actual, predicted)
    return float(math.sqrt(np.mean((a - p) ** 2)))


def _order_desc(predicted: np.ndarray, seed: int = 0) -> np.ndarray:
    """Indices by descending prediction, ties in a fixed random order (not the row order, which may carry
    information)."""
    tiebreak = np.random.default_rng(seed).permutation(len(predicted))
    return np.lexsort((tiebreak, -predicted))


def decile_table(actual, predicted, n_bins: int = 10, seed: int = 0) -> list[dict]:
    """Customers cut into ``n_bins`` equal groups by prediction (1 = highest); mean predicted and actual per group."""
    a, p = _arrays(actual, predicted)
    order = _order_desc(p, seed)
    rows = []
    for i, idx in enumerate(np.array_split(order, n_bins), start=1):
        if len(idx):
            rows.append(
                {
                    "decile": i,
                    "n": int(len(idx)),
                    "mean_predicted": float(p[idx].mean()),
                    "mean_actual": float(a[idx].mean()),
                    "share_of_actual": float(a[idx].sum() / a.sum()) if a.sum() > 0 else float("nan"),
                }
            )
    return rows


def decile_mape(actual, predicted, n_bins: int = 10, seed: int = 0) -> float:
    """Mean absolute percentage error between mean predicted and mean actual value per prediction decile.

    Deciles whose actual mean is 0 have no percentage error and are skipped; NaN if all are
    (``decile_table`` shows how many deciles had spend).
    """
    errs = [
        abs(r["mean_predicted"] - r["mean_actual"]) / r["mean_actual"]
        for r in decile_table(actual, predicted, n_bins, seed)
        if r["mean_actual"] > 0
    ]
    return float(np.mean(errs)) if errs else float("nan")


def calibration_ratio(actual, predicted) -> float:
    """Total predicted / total actual value (1 = the level is right); NaN when nobody spends."""
    a, p = _arrays(actual, predicted)
    return float(p.sum() / a.sum()) if a.sum() > 0 else float("nan")


def _top_weights(predicted: np.ndarray, m: int) -> np.ndarray:
    """Membership weight of each customer in the predicted top ``m``: 1 above the cut, 0 below, and
    slots/size for the tie group that straddles it (so a constant prediction picks everyone at m/n)."""
    n = len(predicted)
    w = np.zeros(n)
    if m <= 0:
        return w
    if m >= n:
        return np.ones(n)
    order = np.argsort(-predicted, kind="stable")
    cut_value = predicted[order[m - 1]]
    above = predicted > cut_value
    tied = predicted == cut_value
    w[above] = 1.0
    w[tied] = (m - above.sum()) / tied.sum()
    return w


def actual_top_mask(actual, k: float) -> np.ndarray:
    """The actual top ceil(k n) customers by actual value, among those with a positive value (ties at the cut all
    in)."""
    a = np.asarray(actual, dtype=np.float64)
    m = math.ceil(k * len(a))
    pos = a > 0
    if pos.sum() <= m:
        return pos
    cut = np.sort(a)[::-1][m - 1]
    return a >= cut


def top_k(actual, predicted, k: float) -> dict:
    """Precision, recall and lift of the predicted top k% against the actual top k% (see module notes).

    ``lift`` = precision / (share of all customers in the actual top set): 1 for a random or constant
    ranking. ``value_share`` = share of the total actual value that the predicted top k% holds, and
    ``value_lift`` = value_share / k.
    """
    a, p = _arrays(actual, predicted)
    n = len(a)
    m = math.ceil(k * n)
    w = _top_weights(p, m)
    truth = actual_top_mask(a, k)
    hits = float(w[truth].sum())
    base = truth.mean()
    precision = hits / m if m else float("nan")
    recall = hits / truth.sum() if truth.sum() else float("nan")
    total = a.sum()
    value_share = float((w * a).sum() / total) if total > 0 else float("nan")
    return {
        "k": k,
        "n_selected": m,
        "n_actual_top": int(truth.sum()),
        "precision": precision,
        "recall": recall,
        "lift": precision / base if base > 0 else float("nan"),
        "value_share": value_share,
        "value_lift": value_share / (m / n) if total > 0 and m else float("nan"),
    }


def lorenz_curve(actual, predicted, points: int = 201) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative share of actual value (y) captured by the top x share of customers ordered by prediction.

    Tie groups contribute their mean (as in the Gini), so the curve does not depend on row order.
    """
    a, p = _arrays(actual, predicted)
    order = np.argsort(-p, kind="stable")
    sp, sa = p[order], a[order]
    starts = np.flatnonzero(np.r_[True, sp[1:] != sp[:-1]])
    sizes = np.diff(np.r_[starts, len(a)])
    sa = np.repeat(np.add.reduceat(sa, starts) / sizes, sizes) if len(a) else sa
    cum = np.r_[0.0, np.cumsum(sa)]
    total = cum[-1] if cum[-1] > 0 else 1.0
    x = np.linspace(0, 1, points)
    y = np.interp(x * len(a), np.arange(len(a) + 1), cum / total)
    return x, y


def tier_labels(values, shares: dict | None = None, positive_only: bool = False, seed: int | None = None) -> np.ndarray:
    """Tiers by shares of customers (VIP top 5%, High next 15%, Medium next 30%, Low the rest) via ranks.

    Ties go to the lower tier, or, with ``seed``, are broken in a fixed random order (for predictions,
    so that a model predicting the same value for a large group still fills its tiers). With
    ``positive_only`` (for actual values), a customer with value 0 is always Low: someone who spends
    nothing is not a VIP, whatever the share.
    """
    v = np.asarray(values, dtype=np.float64)
    shares = shares or DEFAULT_SHARES
    n = len(v)
    if seed is None:
        # rank_from_top: 1 = highest; ties get the largest (worst) rank of their group
        rank_from_top = n - rankdata(v, method="min") + 1
    else:
        rank_from_top = np.empty(n)
        rank_from_top[_order_desc(v, seed)] = np.arange(1, n + 1)
    out = np.full(n, "Low", dtype=object)
    cum = 0.0
    for tier in TIER_ORDER[:3]:
        lo = cum
        cum += shares[tier]
        sel = (rank_from_top > lo * n) & (rank_from_top <= cum * n + 1e-9)
        out[sel & (out == "Low")] = tier
    if positive_only:
        out[v <= 0] = "Low"
    return out


def tier_confusion(actual, predicted, shares: dict | None = None) -> dict:
    """Predicted tiers (by predicted value, ties in random order) against actual tiers (by actual future value, ties
    and zeros down): counts, accuracy, share within one tier, recall and precision per tier."""
    a, p = _arrays(actual, predicted)
    t_pred = tier_labels(p, shares, seed=0)
    t_act = tier_labels(a, shares, positive_only=True)
    matrix = [[int(((t_act == ta) & (t_pred == tp)).sum()) for tp in TIER_ORDER] for ta in TIER_ORDER]
    per_tier = {}
    for t in TIER_ORDER:
        n_act, n_pred = int((t_act == t).sum()), int((t_pred == t).sum())
        hit = int(((t_act == t) & (t_pred == t)).sum())
        per_tier[t] = {
            "actual": n_act,
            "predicted": n_pred,
            "recall": hit / n_act if n_act else float("nan"),
            "precision": hit / n_pred if n_pred else float("nan"),
        }
    # within one tier: VIP<->High counts as adjacent
    pos = {t: i for i, t in enumerate(TIER_ORDER)}
    adjacent = np.mean([abs(pos[x] - pos[y]) <= 1 for x, y in zip(t_act, t_pred)]) if len(a) else float("nan")
    return {
        "tiers": list(TIER_ORDER),
        "rows_actual_cols_predicted": matrix,
        "accuracy": float((t_act == t_pred).mean()),
        "within_one_tier": float(adjacent),
        "per_tier": per_tier,
    }


def churn_scores(actual, prob) -> dict:
    """ROC-AUC, PR-AUC (average precision), Brier score, ECE (10 equal-count bins), log-loss and the base rate."""
    y = np.asarray(actual).astype(int)
    q = np.clip(np.asarray(prob, dtype=np.float64), 1e-12, 1 - 1e-12)
    out = {
        "churn_rate": float(y.mean()),
        "mean_predicted": float(q.mean()),
        "n": int(len(y)),
        "brier": float(np.mean((q - y) ** 2)),
        "ece": expected_calibration_error(y, q),
        "log_loss": float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q))),
    }
    if len(np.unique(y)) < 2:
        return out | {"roc_auc": float("nan"), "pr_auc": float("nan")}
    return out | {"roc_auc": float(roc_auc_score(y, q)), "pr_auc": float(average_precision_score(y, q))}


def calibration_bins(actual, prob, n_bins: int = 10, seed: int = 0) -> list[dict]:
    """Reliability table: customers in ``n_bins`` equal-count bins of predicted probability (ascending; ties in a
    fixed random order, not the row order); mean predicted vs observed rate per bin."""
    y = np.asarray(actual, dtype=np.float64)
    q = np.asarray(prob, dtype=np.float64)
    order = _order_desc(-q, seed)  # ascending probability
    rows = []
    for idx in np.array_split(order, n_bins):
        if len(idx):
            rows.append({"n": int(len(idx)), "mean_predicted": float(q[idx].mean()), "observed": float(y[idx].mean())})
    return rows


def expected_calibration_error(actual, prob, n_bins: int = 10, seed: int = 0) -> float:
    """ECE over ``n_bins`` equal-count bins of predicted probability (``calibration_bins``):
    sum over bins of (bin size / n) x |mean predicted - observed rate|."""
    bins = calibration_bins(actual, prob, n_bins, seed)
    n = sum(b["n"] for b in bins)
    return float(sum(b["n"] * abs(b["mean_predicted"] - b["observed"]) for b in bins) / n) if n else float("nan")


def interval_report(actual, low, high) -> dict:
    """Empirical coverage of per-customer value intervals [low, high] (share of customers whose actual value lies
    inside, bounds included), overall and among customers who spend, and the mean width."""
    a, lo = _arrays(actual, low)
    _, hi = _arrays(actual, high)
    inside = (a >= lo) & (a <= hi)
    spend = a > 0
    return {
        "coverage": float(inside.mean()) if len(a) else float("nan"),
        "coverage_spenders": float(inside[spend].mean()) if spend.any() else float("nan"),
        "mean_width": float(np.mean(hi - lo)) if len(a) else float("nan"),
        "n": int(len(a)),
    }


def next_order_report(actual_days, predicted_days) -> dict:
    """MAE in days between predicted and actual days from the cutoff to the next order, over the customers given
    (those who buy in the holdout; ``actual_days`` NaN for the others, who are left out)."""
    a = np.asarray(actual_days, dtype=np.float64)
    p = np.asarray(predicted_days, dtype=np.float64)
    keep = np.isfinite(a) & np.isfinite(p)
    if not keep.any():
        return {"mae_days": float("nan"), "median_abs_error_days": float("nan"), "n": 0}
    err = np.abs(p[keep] - a[keep])
    return {
        "mae_days": float(err.mean()),
        "median_abs_error_days": float(np.median(err)),
        "n": int(keep.sum()),
        "mean_predicted_days": float(p[keep].mean()),
        "mean_actual_days": float(a[keep].mean()),
    }


def value_report(actual, predicted, ks=(0.05, 0.2), tier_shares: dict | None = None) -> dict:
    """Every value metric of one model on one split."""
    a, p = _arrays(actual, predicted)
    return {
        "normalized_gini": float(normalized_gini(a, p)),
        "spearman": spearman(a, p),
        "calibration_ratio": calibration_ratio(a, p),
        "decile_mape": decile_mape(a, p),
        "mae": mae(a, p),
        "rmse": rmse(a, p),
        "mean_predicted": float(p.mean()),
        "mean_actual": float(a.mean()),
        "top": {f"{round(k * 100)}%": top_k(a, p, k) for k in ks},
        "tiers": tier_confusion(a, p, tier_shares),
        "deciles": decile_table(a, p),
        "n": int(len(a)),
    }


# --------------------------------------------------------------------------- refits with several seeds


def seed_summary(values) -> dict:
    """Mean, standard deviation (ddof 1; NaN for one value) and the per-seed values of one metric."""
    v = [float(x) if x is not None else float("nan") for x in values]
    f = np.array([x for x in v if math.isfinite(x)])
    return {
        "mean": float(f.mean()) if len(f) else float("nan"),
        "sd": float(f.std(ddof=1)) if len(f) > 1 else float("nan"),
        "per_seed": v,
    }


def mean_over_seeds(reports: list):
    """Average nested metric reports (dicts, lists, numbers) of several refits leaf by leaf; NaN leaves are skipped
    (NaN only when every refit has NaN); strings and booleans come from the first report; integers that are equal in
    every report stay integers (counts like ``n``)."""
    first = reports[0]
    if len(reports) == 1:
        return first
    if isinstance(first, dict):
        return {k: mean_over_seeds([r[k] for r in reports]) for k in first}
    if isinstance(first, (list, tuple)) and all(isinstance(r, (list, tuple)) and len(r) == len(first) for r in reports):
        return [mean_over_seeds([r[i] for r in reports]) for i in range(len(first))]
    if isinstance(first, (bool, np.bool_, str)) or first is None:
        return first
    if isinstance(first, (int, np.integer)) and all(r == first for r in reports):
        return int(first)
    if isinstance(first, (int, float, np.integer, np.floating)):
        v = np.array([float(r) if r is not None else np.nan for r in reports])
        return float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")
    return first
