"""Evaluation metrics (DESIGN.md "Metrics"): ranking, calibration by decile, top-k, tiers, churn, bootstrap.

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
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata, spearmanr
from sklearn.metrics import average_precision_score, roc_auc_score

from service.metrics import normalized_gini
from service.tiers import DEFAULT_SHARES, TIER_ORDER

__all__ = [
    "normalized_gini", "spearman", "mae", "rmse", "decile_table", "decile_mape", "top_k", "lorenz_curve",
    "tier_labels", "tier_confusion", "churn_scores", "calibration_bins", "value_report", "bootstrap",
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
    """Indices by descending prediction, ties in a fixed random order (not the row order, which may carry information)."""
    tiebreak = np.random.default_rng(seed).permutation(len(predicted))
    return np.lexsort((tiebreak, -predicted))


def decile_table(actual, predicted, n_bins: int = 10, seed: int = 0) -> list[dict]:
    """Customers cut into ``n_bins`` equal groups by prediction (1 = highest); mean predicted and actual per group."""
    a, p = _arrays(actual, predicted)
    order = _order_desc(p, seed)
    rows = []
    for i, idx in enumerate(np.array_split(order, n_bins), start=1):
        if len(idx):
            rows.append({"decile": i, "n": int(len(idx)), "mean_predicted": float(p[idx].mean()),
                         "mean_actual": float(a[idx].mean()), "share_of_actual": float(a[idx].sum() / a.sum()) if a.sum() > 0 else float("nan")})
    return rows


def decile_mape(actual, predicted, n_bins: int = 10, seed: int = 0) -> float:
    """Mean absolute percentage error between mean predicted and mean actual value per prediction decile.

    Deciles whose actual mean is 0 have no percentage error and are skipped; NaN if all are.
    """
    errs = [abs(r["mean_predicted"] - r["mean_actual"]) / r["mean_actual"]
            for r in decile_table(actual, predicted, n_bins, seed) if r["mean_actual"] > 0]
    return float(np.mean(errs)) if errs else float("nan")


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
    """The actual top ceil(k n) customers by actual value, among those with a positive value (ties at the cut all in)."""
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
    return {"k": k, "n_selected": m, "n_actual_top": int(truth.sum()), "precision": precision, "recall": recall,
            "lift": precision / base if base > 0 else float("nan"), "value_share": value_share,
            "value_lift": value_share / (m / n) if total > 0 and m else float("nan")}


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
        per_tier[t] = {"actual": n_act, "predicted": n_pred, "recall": hit / n_act if n_act else float("nan"),
                       "precision": hit / n_pred if n_pred else float("nan")}
    # within one tier: VIP<->High counts as adjacent
    pos = {t: i for i, t in enumerate(TIER_ORDER)}
    adjacent = np.mean([abs(pos[x] - pos[y]) <= 1 for x, y in zip(t_act, t_pred)]) if len(a) else float("nan")
    return {"tiers": list(TIER_ORDER), "rows_actual_cols_predicted": matrix, "accuracy": float((t_act == t_pred).mean()),
            "within_one_tier": float(adjacent), "per_tier": per_tier}


def churn_scores(actual, prob) -> dict:
    """ROC-AUC, PR-AUC (average precision), Brier score, log-loss and the base rate."""
    y = np.asarray(actual).astype(int)
    q = np.clip(np.asarray(prob, dtype=np.float64), 1e-12, 1 - 1e-12)
    out = {"churn_rate": float(y.mean()), "mean_predicted": float(q.mean()), "n": int(len(y)),
           "brier": float(np.mean((q - y) ** 2)),
           "log_loss": float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))}
    if len(np.unique(y)) < 2:
        return out | {"roc_auc": float("nan"), "pr_auc": float("nan")}
    return out | {"roc_auc": float(roc_auc_score(y, q)), "pr_auc": float(average_precision_score(y, q))}


def calibration_bins(actual, prob, n_bins: int = 10) -> list[dict]:
    """Reliability table: customers in equal-count bins of predicted probability; mean predicted vs observed rate."""
    y = np.asarray(actual, dtype=np.float64)
    q = np.asarray(prob, dtype=np.float64)
    order = np.argsort(q, kind="stable")
    rows = []
    for idx in np.array_split(order, n_bins):
        if len(idx):
            rows.append({"n": int(len(idx)), "mean_predicted": float(q[idx].mean()), "observed": float(y[idx].mean())})
    return rows


def value_report(actual, predicted, ks=(0.05, 0.2), tier_shares: dict | None = None) -> dict:
    """Every value metric of one model on one split."""
    a, p = _arrays(actual, predicted)
    return {
        "normalized_gini": float(normalized_gini(a, p)),
        "spearman": spearman(a, p),
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


# --------------------------------------------------------------------------- bootstrap


def _fast_spearman(a: np.ndarray, p: np.ndarray) -> float:
    if np.ptp(a) == 0 or np.ptp(p) == 0:
        return float("nan")
    ra, rp = rankdata(a), rankdata(p)
    return float(np.corrcoef(ra, rp)[0, 1])


METRIC_FUNCS = {"normalized_gini": normalized_gini, "spearman": _fast_spearman}


@dataclass
class Interval:
    estimate: float
    low: float
    high: float

    def to_dict(self) -> dict:
        return {"estimate": self.estimate, "low": self.low, "high": self.high}


def bootstrap(actual, predictions: dict[str, np.ndarray], metrics=("normalized_gini", "spearman"),
              differences: dict[str, tuple[str, str]] | None = None, n_boot: int = 500, seed: int = 0,
              level: float = 0.95, progress=None) -> dict:
    """Paired percentile bootstrap over customers.

    Every resample draws customers with replacement once and scores every model on it, so the
    intervals of differences (``differences``: label -> (model a, model b), a minus b) account for
    the models being judged on the same customers. Returns
    ``{"models": {model: {metric: Interval}}, "differences": {label: {metric: Interval}}, "n_boot": n}``.
    Resamples where a metric is undefined (e.g. no spender drawn) are left out of its interval.
    ``progress(n)`` is called after each resample (progress bars).
    """
    a = np.asarray(actual, dtype=np.float64)
    preds = {k: np.asarray(v, dtype=np.float64) for k, v in predictions.items()}
    differences = differences or {}
    rng = np.random.default_rng(seed)
    n = len(a)
    draws = {(m, k): np.full(n_boot, np.nan) for m in preds for k in metrics}
    for b in range(n_boot):
        idx = rng.integers(0, n, n)
        ab = a[idx]
        for m, p in preds.items():
            for k in metrics:
                draws[(m, k)][b] = METRIC_FUNCS[k](ab, p[idx])
        if progress is not None:
            progress(1)
    lo_q, hi_q = (1 - level) / 2 * 100, (1 + level) / 2 * 100

    def interval(point: float, sample: np.ndarray) -> Interval:
        s = sample[np.isfinite(sample)]
        if len(s) < max(10, n_boot // 10):
            return Interval(point, float("nan"), float("nan"))
        return Interval(point, float(np.percentile(s, lo_q)), float(np.percentile(s, hi_q)))

    point = {(m, k): float(METRIC_FUNCS[k](a, p)) for m, p in preds.items() for k in metrics}
    out_models = {m: {k: interval(point[(m, k)], draws[(m, k)]) for k in metrics} for m in preds}
    out_diff = {}
    for label, (x, y) in differences.items():
        out_diff[label] = {k: interval(point[(x, k)] - point[(y, k)], draws[(x, k)] - draws[(y, k)]) for k in metrics}
    return {"models": out_models, "differences": out_diff, "n_boot": n_boot, "level": level}
