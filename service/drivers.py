"""SHAP drivers: XGBoost's own pred_contribs, turned into currency and grouped into readable families.

XGBoost's contributions are additive in margin space (log of value, log-odds of churn). To speak
in money, each customer's contributions are scaled by the secant slope of the link between the
base margin and the customer's margin: the scaled contributions then add up exactly to
(prediction - baseline prediction), and the slope stays bounded even when contributions cancel.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from service.btyd import CLASSIC_FAMILIES
from service.features import SEASON_FAMILIES, TABULAR_FAMILIES

REVIEW_TEXT, BROWSING_TEXT = "review text", "browsing text"
TEXT_PREFIXES = {"review_text_": REVIEW_TEXT, "browse_text_": BROWSING_TEXT}

# The raw value shown for a family and ranked against peers.
HEADLINE: dict[str, str | None] = {
    "recency": "recency_days",
    "frequency": "frequency",
    "monetary": "monetary_total",
    "average order value": "avg_order_value",
    "tenure": "tenure_days",
    "purchase rhythm": "ipi_mean_days",
    "spend trend": "spend_trend",
    "returns and cancellations": "n_returned",
    "category breadth": "n_categories",
    "reviews and ratings": "rating_mean",
    "browsing activity": "n_events",
    "expected orders": "btyd_expected_orders",
    "time of year": None,  # the same for every customer scored together: no value of its own to show
    REVIEW_TEXT: "n_review_texts",
    BROWSING_TEXT: "n_browse_texts",
}
UNITS = {
    "recency_days": "days since last purchase",
    "frequency": "purchases",
    "monetary_total": "spent to date",
    "avg_order_value": "per order on average",
    "tenure_days": "days as a customer",
    "ipi_mean_days": "days between purchases on average",
    "spend_trend": "recent-vs-earlier spend balance",
    "n_returned": "returned or cancelled orders",
    "n_categories": "categories bought",
    "rating_mean": "average review rating",
    "n_events": "browsing events",
    # before levelling: the profile's expected orders are this levelled on the latest training snapshot
    "btyd_expected_orders": "orders the purchase-pattern model expects in the horizon (a model input)",
    "n_review_texts": "reviews written",
    "n_browse_texts": "products viewed or searched",
}


def feature_family(feature: str) -> str:
    for families in (TABULAR_FAMILIES, CLASSIC_FAMILIES, SEASON_FAMILIES):
        if feature in families:
            return families[feature]
    for prefix, family in TEXT_PREFIXES.items():
        if feature.startswith(prefix):
            return family
    if feature == "n_review_texts":
        return REVIEW_TEXT
    if feature == "n_browse_texts":
        return BROWSING_TEXT
    raise KeyError(f"feature {feature!r} has no driver family")


def scaled_contributions(contribs: np.ndarray, link: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Margin-space SHAP (n, p + 1; last column the bias) -> prediction-scale contributions (n, p)."""
    phi, base = contribs[:, :-1].astype(np.float64), contribs[:, -1].astype(np.float64)
    total = phi.sum(axis=1)
    eps = 1e-6
    secant = (link(base + total) - link(base)) / np.where(np.abs(total) > eps, total, 1.0)
    tangent = (link(base + eps) - link(base - eps)) / (2 * eps)
    slope = np.where(np.abs(total) > eps, secant, tangent)
    return phi * slope[:, None]


class FamilyGrouper:
    """Sums per-feature contributions into families, each customer's row on its own (``embeddings.rowwise``).

    Not ``contributions @ indicator``: BLAS adds the columns in another order for one row than for many,
    so a customer's drivers (rounded to cents, ranked by size) could change with the batch it was scored in.
    """

    def __init__(self, feature_names: list[str]):
        self.feature_names = list(feature_names)
        fam = [feature_family(f) for f in self.feature_names]
        self.families = list(dict.fromkeys(fam))
        self._indicator = np.zeros((len(fam), len(self.families)))
        self._indicator[np.arange(len(fam)), [self.families.index(f) for f in fam]] = 1.0

    def transform(self, contributions: np.ndarray) -> np.ndarray:
        from embeddings.rowwise import matmul_rows

        return matmul_rows(contributions, self._indicator)


class PeerPercentiles:
    """Percentile of a customer's headline values among the scored population (stored as quantiles)."""

    GRID = np.linspace(0, 1, 101)

    def fit(self, features: pd.DataFrame) -> PeerPercentiles:
        self.quantiles_ = {}
        for col in HEADLINE.values():
            if col in features:
                v = features[col].to_numpy(float)
                v = v[np.isfinite(v)]
                if len(v):
                    self.quantiles_[col] = np.quantile(v, self.GRID).tolist()
        return self

    def percentile(self, col: str | None, values: np.ndarray) -> np.ndarray:
        """0-100; NaN where the value is missing or the column has no distribution."""
        values = np.asarray(values, float)
        if col not in self.quantiles_:
            return np.full(values.shape, np.nan)
        q = np.asarray(self.quantiles_[col])
        # Mid-rank among tied quantiles, so a value shared by half the customers sits at its middle.
        lo = np.searchsorted(q, values, side="left")
        hi = np.searchsorted(q, values, side="right")
        pct = (lo + hi) / 2.0 / len(q) * 100.0
        return np.where(np.isfinite(values), np.clip(pct, 0, 100), np.nan)

    def to_dict(self) -> dict:
        return {"quantiles": self.quantiles_}

    @classmethod
    def from_dict(cls, d: dict) -> PeerPercentiles:
        p = cls()
        p.quantiles_ = {k: list(v) for k, v in d["quantiles"].items()}
        return p


def driver_records(
    features: pd.DataFrame,
    family_names: list[str],
    value_contrib: np.ndarray,
    churn_contrib: np.ndarray,
    peers: PeerPercentiles,
) -> list[list[dict]]:
    """One list of driver dicts per customer, families ordered by |value contribution|, largest first.

    Each driver: name (family), feature, value, percentile, contribution (currency, signed),
    churn_contribution (probability points, signed).
    """
    n = len(features)
    headline = [HEADLINE.get(fam) for fam in family_names]
    values, pcts = [], []
    for col in headline:
        v = features[col].to_numpy(float) if col in features else np.full(n, np.nan)
        values.append(v.tolist())
        pcts.append(peers.percentile(col, v).tolist())
    order = np.argsort(-np.abs(value_contrib), axis=1, kind="stable").tolist()
    # Python floats from one tolist() per array: the per-customer loop below then does no numpy scalar work
    # (Python's round on the same doubles, so the numbers are the ones numpy scalars gave).
    value_rows, churn_rows = np.asarray(value_contrib, float).tolist(), np.asarray(churn_contrib, float).tolist()
    out = []
    for i in range(n):  # building the per-customer JSON is inherently per customer; the maths above is vectorised
        vc, cc = value_rows[i], churn_rows[i]
        recs = []
        for j in order[i]:
            v, p = values[j][i], pcts[j][i]
            recs.append(
                {
                    "name": family_names[j],
                    "feature": headline[j],
                    "value": round(v, 4) if math.isfinite(v) else None,
                    "percentile": round(p, 1) if math.isfinite(p) else None,
                    "contribution": round(vc[j], 2),
                    "churn_contribution": round(cc[j], 4),
                }
            )
        out.append(recs)
    return out
