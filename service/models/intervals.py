"""The value model's 80% intervals: split-conformal ratio quantiles per prediction bin, optionally per churn band."""

from __future__ import annotations

import math

import numpy as np


def conformal_ratio_intervals(
    pred: np.ndarray, y: np.ndarray, bins: int, q: tuple[float, float], churn: np.ndarray | None = None
) -> dict:
    """Split-conformal intervals: in each bin of the prediction (equal counts), quantiles of actual / predicted.

    The lower end is the q[0]-quantile; the upper end is the quantile ``coverage`` above the share strictly below
    the lower end. With many customers spending nothing the lower end is 0 for a whole bin, and an equal-tailed
    interval would then cover 90% rather than 80%: this keeps the coverage at q[1] - q[0] either way.

    With ``churn`` (each customer's calibrated P(no purchase)) every bin is split further by CHURN_BANDS
    (Mondrian conformal: the same rule inside each cell of value bin x churn band, cells of fewer than
    MIN_INTERVAL_CELL customers are filled in from the churn model instead, see ``hurdle_ends``). Why: a bin of
    high predictions mixes customers who will almost surely buy with ones who may not, and its 10% quantile is 0, so
    a VIP at 1% churn risk read "$0 to $3,801"; inside the low-churn cell fewer than 10% spend nothing and the lower
    end is a real amount.
    """
    pred, y = np.asarray(pred, float), np.asarray(y, float)
    edges = np.unique(np.quantile(pred, np.linspace(0, 1, bins + 1)[:-1]))
    b = np.clip(np.searchsorted(edges, pred, side="right") - 1, 0, len(edges) - 1)
    ratio = y / np.maximum(pred, 1e-9)
    lo, hi = [], []
    for i in range(len(edges)):
        r = ratio[b == i]
        low, high = _conformal_ends(r if len(r) else ratio, q)
        lo.append(low)
        hi.append(high)
    out: dict = {"edges": edges.tolist(), "low": lo, "high": hi, "levels": list(q)}
    if churn is not None:
        band = np.searchsorted(CHURN_BANDS, np.asarray(churn, float), side="right")
        cells_lo: list[list[float | None]] = []
        cells_hi: list[list[float | None]] = []
        for i in range(len(edges)):
            row_lo: list[float | None] = []
            row_hi: list[float | None] = []
            for k in range(len(CHURN_BANDS) + 1):
                r = ratio[(b == i) & (band == k)]
                low_k, high_k = _conformal_ends(r, q) if len(r) >= MIN_INTERVAL_CELL else (None, None)
                row_lo.append(low_k)
                row_hi.append(high_k)
            cells_lo.append(row_lo)
            cells_hi.append(row_hi)
        out |= {"churn_bands": list(CHURN_BANDS), "cell_low": cells_lo, "cell_high": cells_hi}
        buyers = y > 0
        if buyers.sum() >= MIN_INTERVAL_CELL:
            # spend given a purchase, over its expectation: y / (pred / P(buy)), pooled over every buyer
            given = (
                y[buyers]
                * (1 - np.clip(np.asarray(churn, float)[buyers], 0, 1 - 1e-6))
                / np.maximum(pred[buyers], 1e-9)
            )
            out["buyer_ratio"] = np.quantile(given, RATIO_GRID).tolist()
    return out


# Quantile levels at which the spend-given-purchase ratio is stored (``hurdle_ends`` interpolates between them).
RATIO_GRID = np.linspace(0, 1, 101)


def hurdle_ends(buyer_ratio, churn: np.ndarray, q: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Interval ends (as ratios to the predicted value) from P(no purchase) and the spend-given-purchase ratio.

    Spend is 0 with probability c (the churn model) and otherwise (prediction / (1 - c)) x a ratio drawn from the
    validation buyers. Its q-quantile is 0 when c >= q, else that ratio's quantile at (q - c) / (1 - c). Used where a
    value bin x churn band cell is too thin for its own conformal quantiles: a customer at 0.3% churn risk then gets
    a lower end above 0, which their bin (mostly non-buyers at its 10th percentile) never gives. Its coverage rests on
    the churn model's calibration instead of on exchangeability within a cell.
    """
    c = np.clip(np.asarray(churn, float), 0, 1 - 1e-6)
    qs = np.asarray(buyer_ratio, float)

    def end(level: float) -> np.ndarray:
        at = np.interp(np.clip((level - c) / (1 - c), 0, 1), RATIO_GRID, qs)
        return np.where(c < level, at / (1 - c), 0.0)

    # As in ``_conformal_ends``: where the lower end is 0 it already holds the whole mass at 0, so the upper end sits
    # at the coverage itself (q1 - q0), not at q1 (which would cover 90%, not 80%).
    coverage = q[1] - q[0]
    return end(q[0]), np.where(c < q[0], end(q[1]), end(coverage))


# Churn-risk bands of the interval cells: below 10% P(no purchase) the 10th percentile of spend can be above 0, above
# 90% the 90th can be 0; 50% splits the middle. A cell needs MIN_INTERVAL_CELL validation customers to stand alone.
CHURN_BANDS = (0.1, 0.5, 0.9)
MIN_INTERVAL_CELL = 30


def _conformal_ends(r: np.ndarray, q: tuple[float, float]) -> tuple[float, float]:
    n, coverage = len(r), q[1] - q[0]
    low = float(np.quantile(r, q[0], method="lower"))
    level = min(1.0, float(np.mean(r < low)) + coverage)
    # finite-sample conformal level (n + 1 correction)
    return low, float(np.quantile(r, min(1.0, math.ceil(level * (n + 1)) / n), method="higher"))
