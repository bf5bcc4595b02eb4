"""The feature row of a what-if: a customer's stored model input after a simulated action.

The arithmetic of ``service.whatif``: one or more orders added at the cutoff, or the returns taken off the record,
with every behaviour feature the action changes recomputed the way the feature SQL (``service.features``) would have
computed it for real orders (tests/test_whatif.py checks it against that SQL). Missing values stay missing (NaN).
"""

from __future__ import annotations

import math

from service.features import TREND_WINDOW_DAYS


def as_float(x) -> float:
    """None/NaN-safe float: None is NaN."""
    return float("nan") if x is None else float(x)


def value_or(x, default: float = 0.0) -> float:
    """The value as a float, ``default`` when it is missing (None or NaN)."""
    v = as_float(x)
    return default if math.isnan(v) else v


def with_new_orders(row: dict, k: int, amount: float) -> dict:
    """The feature row after ``k`` more purchases of ``amount`` each, evenly spaced between the last
    purchase and the cutoff, the last one at the cutoff (as the feature SQL would compute them)."""
    if k < 1:
        raise ValueError("k must be >= 1")
    x = dict(row)
    f = value_or(row.get("frequency"))
    r = max(value_or(row.get("recency_days")), 0.0)
    gap = r / k
    ages = [r * (k - j) / k for j in range(1, k + 1)]  # days before the cutoff; the last is 0
    tenure = value_or(row.get("tenure_days"))
    n_ret = value_or(row.get("n_returned"))

    x["recency_days"] = 0.0
    x["frequency"] = f + k
    if f < 1 and "first_purchase_days" in x:  # the first of the new orders becomes the first purchase
        x["first_purchase_days"] = ages[0]
    x["orders_per_month"] = (f + k) * 30.0 / max(tenure, 30.0)
    recent = sum(a < TREND_WINDOW_DAYS for a in ages)
    prior = sum(TREND_WINDOW_DAYS <= a < 2 * TREND_WINDOW_DAYS for a in ages)
    x["orders_recent"] = value_or(row.get("orders_recent")) + recent
    monetary = value_or(row.get("monetary_total")) + k * amount
    x["monetary_total"] = monetary
    x["avg_order_value"] = monetary / (f + k)
    x["max_order_value"] = max(value_or(row.get("max_order_value")), amount)
    sr = value_or(row.get("spend_recent")) + recent * amount
    sp = value_or(row.get("spend_prior")) + prior * amount
    x["spend_recent"], x["spend_prior"] = sr, sp
    x["spend_trend"] = (sr - sp) / (sr + sp + 1.0)

    # Inter-purchase gaps: the old ones (f - 1 of them) plus the new ones (k, or k - 1 with no earlier purchase).
    n_old = max(int(f) - 1, 0)
    m_old = value_or(row.get("ipi_mean_days"))
    s_old = value_or(row.get("ipi_std_days"))
    n_new = k if f >= 1 else k - 1
    n = n_old + n_new
    if n >= 1:
        mean = (m_old * n_old + gap * n_new) / n
        sum_sq = (s_old**2 * (n_old - 1) if n_old >= 2 else 0.0) + n_old * m_old**2 + n_new * gap**2
        x["ipi_mean_days"] = mean
        x["ipi_std_days"] = math.sqrt(max((sum_sq - n * mean**2) / (n - 1), 0.0)) if n >= 2 else float("nan")
        x["ipi_last_days"] = gap if n_new >= 1 else as_float(row.get("ipi_last_days"))
        x["overdue_ratio"] = 0.0 if mean > 0 else float("nan")
    x["return_rate"] = n_ret / (f + n_ret + k)
    x["carts_per_order"] = value_or(row.get("n_carts")) / max(f + k, 1.0)
    return x


def without_returns(row: dict) -> dict:
    x = dict(row)
    x["n_returned"] = 0.0
    x["return_rate"] = 0.0
    return x
