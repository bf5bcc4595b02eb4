"""The horizon shift: from the horizon a model learned to the one asked for, per customer, through BG/NBD."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from service.models.matrices import column_values


@dataclass
class HorizonShift:
    """From the horizon the model learned (``from_days``) to the one asked for (``to_days``), per customer.

    Used only when the history is too short to learn the asked horizon directly: the BG/NBD model of the
    scoring snapshot says how each customer's expected orders (value) and chance of no order (churn) grow
    from one horizon to the other, given their own purchase history.
    """

    from_days: int
    to_days: int
    bg: dict | None  # BetaGeo parameters of the scoring snapshot

    def _summary(self, X):
        from service.btyd import summary_from_features

        return summary_from_features(
            *(column_values(X, c) for c in ("frequency", "recency_days", "first_purchase_days"))
        )

    def value_log_ratio(self, X) -> np.ndarray:
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
        return {"from_days": self.from_days, "to_days": self.to_days, "bg": self.bg}


# The feature the horizon shift is credited to in the drivers (the BG/NBD family: it comes from that model).
SHIFT_FEATURE = "btyd_expected_orders"
