"""The horizon shift: from the horizon a model learned to the one asked for, through BG/NBD."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from service.models.matrices import column_values


@dataclass
class HorizonShift:
    """From the horizon the model learned (``from_days``) to the one asked for (``to_days``).

    Used only when the history is too short to learn the asked horizon directly: the BG/NBD model of the
    scoring snapshot says how each customer's chance of no order (churn) shrinks from one horizon to the other,
    given their own purchase history, and how much the scored customers' expected spend grows in total (value).

    Value grows by one factor for every customer (``value_log_factor``, set by ``ValueModel.fix_horizon_factor``):
    the ratio of the customers' BG/NBD-carried total to their learned total. Carrying each customer by their own
    BG/NBD ratio imported BG/NBD's ranking, which is weaker than the learned model's where it matters most (short
    histories): on four development cutoffs with 2-4 months of history (Online Retail 2011-01-31 / 90, 2011-03-01 /
    120; CDNOW 1997-03-15 / 120, 1997-05-01 / 180; 2 seeds) one factor ranked as well or better (Gini +0.000 to
    +0.005, Spearman -0.000 to +0.007) with the same total. A bundle saved without the factor keeps the
    per-customer ratio.
    """

    from_days: int
    to_days: int
    bg: dict | None  # BetaGeo parameters of the scoring snapshot
    value_log_factor: float | None = None  # log of the one factor value grows by; None: each customer's own ratio

    @property
    def uniform_value(self) -> bool:
        """Value is carried by one factor for everyone (a horizon scaling, not something about the customer)."""
        return self.value_log_factor is not None

    def _summary(self, X):
        from service.btyd import summary_from_features

        return summary_from_features(
            *(column_values(X, c) for c in ("frequency", "recency_days", "first_purchase_days"))
        )

    def value_log_ratio(self, X, n: int) -> np.ndarray:
        """Log of the factor each of the ``n`` customers of ``X`` is carried by."""
        if self.value_log_factor is not None:
            return np.full(n, self.value_log_factor)
        return self.customer_log_ratio(X)

    def customer_log_ratio(self, X) -> np.ndarray:
        """Log of each customer's BG/NBD ratio of expected orders, asked horizon over learned horizon."""
        from service.btyd import WEEK, BetaGeo

        x, t_x, T = self._summary(X)
        if not self.bg:
            return np.full(len(x), math.log(self.to_days / self.from_days))
        bg = BetaGeo(**self.bg)
        long_, short = (
            bg.expected_purchases(self.to_days / WEEK, x, t_x, T),
            bg.expected_purchases(self.from_days / WEEK, x, t_x, T),
        )
        return np.where(
            short > 1e-9,
            np.log(np.maximum(long_, 1e-12) / np.maximum(short, 1e-12)),
            math.log(self.to_days / self.from_days),
        )

    def no_order_ratio(self, X) -> np.ndarray:
        from service.btyd import WEEK, BetaGeo

        x, t_x, T = self._summary(X)
        if not self.bg:
            return np.ones(len(x))
        bg = BetaGeo(**self.bg)
        return np.clip(
            bg.p_no_purchase(self.to_days / WEEK, x, t_x, T)
            / np.maximum(bg.p_no_purchase(self.from_days / WEEK, x, t_x, T), 1e-12),
            0.0,
            1.0,
        )

    def to_dict(self) -> dict:
        return {"from_days": self.from_days, "to_days": self.to_days, "bg": self.bg} | (
            {"value_log_factor": self.value_log_factor} if self.value_log_factor is not None else {}
        )


# The feature the horizon shift is credited to in the drivers (the BG/NBD family: it comes from that model).
SHIFT_FEATURE = "btyd_expected_orders"
