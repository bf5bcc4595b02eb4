"""Ranking metrics shared by model selection (service) and the evaluation harness (eval)."""

from __future__ import annotations

import numpy as np


def ordering_gini(actual: np.ndarray, order_by: np.ndarray) -> float:
    """Gini of the cumulative-actual curve when customers are sorted by ``order_by`` (descending).

    Customers tied on ``order_by`` share their group's mean actual value, so ties neither
    help nor hurt (a constant prediction scores exactly 0, whatever the row order).
    """
    n = len(actual)
    order = np.argsort(-order_by, kind="stable")
    sorted_by = order_by[order]
    sorted_actual = actual[order]
    # Replace each tie group's actual values with the group mean.
    starts = np.flatnonzero(np.r_[True, sorted_by[1:] != sorted_by[:-1]])
    sums = np.add.reduceat(sorted_actual, starts)
    sizes = np.diff(np.r_[starts, n])
    sorted_actual = np.repeat(sums / sizes, sizes)
    cum = np.cumsum(sorted_actual, dtype=np.float64)
    total = cum[-1]
    if total == 0:
        return 0.0
    # Area between the model's cumulative-share curve and the diagonal (random ordering).
    return float(cum.sum() / total - (n + 1) / 2.0) / n


def normalized_gini(actual, predicted) -> float:
    """Gini of ``actual`` ordered by ``predicted`` divided by the Gini of the perfect ordering.

    1 for a perfect ranking, about 0 for a random one, negative for a reversed one.
    Returns NaN when the perfect ordering has no Gini (all actual values equal).
    """
    actual = np.asarray(actual, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    if actual.shape != predicted.shape or actual.ndim != 1:
        raise ValueError(
            f"actual and predicted must be 1-d arrays of the same length, got {actual.shape} and {predicted.shape}"
        )
    if len(actual) < 2:
        return float("nan")
    best = ordering_gini(actual, actual)
    if best == 0:
        return float("nan")
    return ordering_gini(actual, predicted) / best
