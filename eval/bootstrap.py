"""Paired percentile bootstrap intervals of the ranking metrics (normalized Gini, Spearman) over customers and refit
seeds, for single models and for differences between models (``bootstrap``; re-exported by ``eval.metrics``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

from service.metrics import normalized_gini, ordering_gini


def _fast_spearman(a: np.ndarray, p: np.ndarray) -> float:
    if np.ptp(a) == 0 or np.ptp(p) == 0:
        return float("nan")
    ra, rp = rankdata(a), rankdata(p)
    return float(np.corrcoef(ra, rp)[0, 1])


METRIC_FUNCS = {"normalized_gini": normalized_gini, "spearman": _fast_spearman}


class _Resample:
    """One bootstrap resample of the actual values, with what every model's metric shares (the perfect Gini, the
    ranks of the actual values) computed once. Same numbers as ``METRIC_FUNCS``."""

    def __init__(self, a: np.ndarray):
        self.a = a
        self.best = ordering_gini(a, a) if len(a) >= 2 else 0.0
        self.const = len(a) < 2 or np.ptp(a) == 0
        self.ra = None if self.const else rankdata(a)

    def normalized_gini(self, p: np.ndarray) -> float:
        return float("nan") if self.best == 0 else ordering_gini(self.a, p) / self.best

    def spearman(self, p: np.ndarray) -> float:
        if self.const or self.ra is None or np.ptp(p) == 0:  # ra is None exactly when self.const
            return float("nan")
        return float(np.corrcoef(self.ra, rankdata(p))[0, 1])


@dataclass
class Interval:
    estimate: float
    low: float
    high: float

    def to_dict(self) -> dict:
        return {"estimate": self.estimate, "low": self.low, "high": self.high}


def _by_seed(v) -> np.ndarray:
    """Predictions as (seeds, customers): a 1-d array is one fit (a deterministic model)."""
    x = np.asarray(v, dtype=np.float64)
    return x[None, :] if x.ndim == 1 else x


def _checked_predictions(predictions: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """Every model's predictions as (seeds, customers); ValueError unless finite with ``n`` customers per seed."""
    preds = {k: _by_seed(v) for k, v in predictions.items()}
    for k, v in preds.items():
        if v.ndim != 2 or v.shape[1] != n or not np.isfinite(v).all():
            raise ValueError(f"{k}: predictions must be finite, with {n} customers per seed, got shape {v.shape}")
    return preds


def _resampled_metrics(
    a: np.ndarray, preds: dict[str, np.ndarray], metrics, n_boot: int, seed: int, progress
) -> dict[tuple[str, str], np.ndarray]:
    """(model, metric) -> the metric on each of ``n_boot`` resamples: customers drawn with replacement (the same
    draws for every model), and per learned model one of its seeds at random."""
    n = len(a)
    rng = np.random.default_rng(seed)  # customers: the same draws whatever the models
    seed_rng = np.random.default_rng([seed, 1])  # refit seeds
    draws = {(m, k): np.full(n_boot, np.nan) for m in preds for k in metrics}
    for b in range(n_boot):
        idx = rng.integers(0, n, n)
        r = _Resample(a[idx])
        for m, p in preds.items():
            s = int(seed_rng.integers(0, len(p))) if len(p) > 1 else 0
            pb = p[s, idx]
            for k in metrics:
                draws[(m, k)][b] = getattr(r, k)(pb)
        if progress is not None:
            progress(1)
    return draws


def _point_estimate(a: np.ndarray, p: np.ndarray, metric: str) -> float:
    """The mean over seeds of the metric on all customers (NaN seeds left out)."""
    v = np.array([METRIC_FUNCS[metric](a, row) for row in p])
    return float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")


def _percentile_interval(point: float, sample: np.ndarray, n_boot: int, level: float) -> Interval:
    """The ``level`` percentile interval of the finite resamples; NaN bounds when fewer than max(10, n_boot / 10)."""
    lo_q, hi_q = (1 - level) / 2 * 100, (1 + level) / 2 * 100
    s = sample[np.isfinite(sample)]
    if len(s) < max(10, n_boot // 10):
        return Interval(point, float("nan"), float("nan"))
    return Interval(point, float(np.percentile(s, lo_q)), float(np.percentile(s, hi_q)))


def bootstrap(
    actual,
    predictions: dict[str, np.ndarray],
    metrics=("normalized_gini", "spearman"),
    differences: dict[str, tuple[str, str]] | None = None,
    n_boot: int = 500,
    seed: int = 0,
    level: float = 0.95,
    progress=None,
) -> dict:
    """Paired percentile bootstrap over customers and refit seeds.

    ``predictions``: model -> a 1-d array (one fit: a deterministic model) or a 2-d array (seeds x customers: a
    learned model fitted once per seed). Every resample draws customers with replacement once and, for each
    learned model independently, one of its seeds at random; every model is scored on the same customers. So
    the intervals of differences (``differences``: label -> (model a, model b), a minus b) account for the
    models being judged on the same customers, and for the luck of each learned model's refit.
    Point estimates are means over seeds of the metric on all customers.
    Returns ``{"models": {model: {metric: Interval}}, "differences": {label: {metric: Interval}}, "n_boot": n}``.
    Resamples where a metric is undefined (e.g. no spender drawn) are left out of its interval.
    ``progress(n)`` is called after each resample (progress bars).
    """
    a = np.asarray(actual, dtype=np.float64)
    preds = _checked_predictions(predictions, len(a))
    differences = differences or {}
    draws = _resampled_metrics(a, preds, metrics, n_boot, seed, progress)

    def interval(point: float, sample: np.ndarray) -> Interval:
        return _percentile_interval(point, sample, n_boot, level)

    point = {(m, k): _point_estimate(a, p, k) for m, p in preds.items() for k in metrics}
    out_models = {m: {k: interval(point[(m, k)], draws[(m, k)]) for k in metrics} for m in preds}
    out_diff = {}
    for label, (x, y) in differences.items():
        out_diff[label] = {k: interval(point[(x, k)] - point[(y, k)], draws[(x, k)] - draws[(y, k)]) for k in metrics}
    return {
        "models": out_models,
        "differences": out_diff,
        "n_boot": n_boot,
        "level": level,
        "seeds": {m: int(len(p)) for m, p in preds.items()},
    }
