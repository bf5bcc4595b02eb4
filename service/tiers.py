"""Value tiers (VIP / High / Medium / Low) and the familiar RFM segment label.

Both are fitted once (thresholds, quintile edges) and stored in the model bundle, so a customer
scored later, alone through the API, lands in the same tier a batch run would have given.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

TIER_ORDER = ("VIP", "High", "Medium", "Low")
DEFAULT_SHARES = {"VIP": 0.05, "High": 0.15, "Medium": 0.30}  # Low: the rest


class TierPolicy:
    """Cuts predicted value into tiers, by shares of the scored customers or by absolute amounts.

    ``shares``: fraction of customers in each of VIP, High, Medium (top down); Low gets the rest.
    ``amounts``: minimum predicted value for VIP, High, Medium. Exactly one of the two is used.
    """

    def __init__(self, shares: dict[str, float] | None = None, amounts: dict[str, float] | None = None):
        if shares is not None and amounts is not None:
            raise ValueError("give tier shares or tier amounts, not both")
        self.amounts = self._check_amounts(amounts) if amounts is not None else None
        self.shares = None if amounts is not None else self._check_shares(shares or DEFAULT_SHARES)
        self.thresholds_: dict[str, float] | None = dict(self.amounts) if self.amounts else None
        self.floor_: float | None = None  # shares: the lowest fitted prediction (see ``assign``)

    @staticmethod
    def _check_shares(shares: dict[str, float]) -> dict[str, float]:
        keys = set(shares)
        if keys != set(TIER_ORDER[:3]):
            raise ValueError(f"tier shares need exactly VIP, High and Medium (Low is the rest), got {sorted(keys)}")
        if any(not (0 < float(v) < 1) for v in shares.values()) or sum(shares.values()) >= 1:
            raise ValueError(f"tier shares must each be in (0, 1) and sum to less than 1, got {shares}")
        return {k: float(shares[k]) for k in TIER_ORDER[:3]}

    @staticmethod
    def _check_amounts(amounts: dict[str, float]) -> dict[str, float]:
        if set(amounts) != set(TIER_ORDER[:3]):
            raise ValueError(f"tier amounts need exactly VIP, High and Medium, got {sorted(amounts)}")
        vals = [float(amounts[k]) for k in TIER_ORDER[:3]]
        if not all(math.isfinite(v) for v in vals) or not (vals[0] >= vals[1] >= vals[2] >= 0):
            raise ValueError(f"tier amounts must be finite, non-negative and VIP >= High >= Medium, got {amounts}")
        return dict(zip(TIER_ORDER[:3], vals))

    def fit(self, predicted_values) -> TierPolicy:
        v = np.asarray(predicted_values, dtype=np.float64)
        if self.amounts is None:
            if len(v) == 0:
                raise ValueError("cannot fit tier thresholds on no customers")
            assert self.shares is not None  # set whenever amounts is None
            cum = np.cumsum([self.shares[k] for k in TIER_ORDER[:3]])
            # Threshold = the top-share quantile; ties go to the higher tier unless it has no room (see assign).
            self.thresholds_ = {k: float(np.quantile(v, 1 - c)) for k, c in zip(TIER_ORDER[:3], cum)}
            self.floor_ = float(v.min())
        return self

    def assign(self, predicted_values) -> np.ndarray:
        """Tier per value: at or above the tier's threshold. With shares, a tier whose threshold is no higher than
        the next tier's (or, for Medium, than the lowest prediction) holds only values above it: when many customers
        share one prediction (everyone at the model's floor because nobody spent), the ties fall to the tier below,
        not all into VIP."""
        if self.thresholds_ is None:
            raise RuntimeError("TierPolicy is not fitted")
        v = np.asarray(predicted_values, dtype=np.float64)
        out = np.full(v.shape, "Low", dtype=object)
        below = dict(zip(TIER_ORDER[:3], (self.thresholds_["High"], self.thresholds_["Medium"], self.floor_)))
        for tier in reversed(TIER_ORDER[:3]):
            t, lower = self.thresholds_[tier], below[tier]
            empty = self.floor_ is not None and lower is not None and t <= lower  # floor_: fitted on shares
            out[(v > t) if empty else (v >= t)] = tier
        return out

    def to_dict(self) -> dict:
        return {"shares": self.shares, "amounts": self.amounts, "thresholds": self.thresholds_, "floor": self.floor_}

    @classmethod
    def from_dict(cls, d: dict) -> TierPolicy:
        p = cls(shares=d.get("shares"), amounts=d.get("amounts"))
        p.thresholds_ = {k: float(v) for k, v in d["thresholds"].items()}
        p.floor_ = float(d["floor"]) if d.get("floor") is not None else None  # bundles before it: plain ">="
        return p


# RFM: quintile scores 1-5 (5 = best: most recent, most frequent, highest spend) and the usual segment names.
RFM_SEGMENTS = (
    # (name, rule on R and FM = mean of F and M scores); the first matching rule wins.
    ("Champions", lambda r, fm: (r >= 4) & (fm >= 4)),
    ("Loyal", lambda r, fm: (r >= 3) & (fm >= 3)),
    ("Can't lose them", lambda r, fm: (r == 1) & (fm >= 4)),
    ("At risk", lambda r, fm: (r <= 2) & (fm >= 3)),
    ("New customers", lambda r, fm: (r == 5) & (fm < 2)),
    ("Potential loyalists", lambda r, fm: (r >= 4) & (fm >= 2)),
    ("Promising", lambda r, fm: r >= 4),
    ("Need attention", lambda r, fm: r == 3),
    ("Hibernating", lambda r, fm: r == 2),
    ("Lost", lambda r, fm: np.ones_like(r, dtype=bool)),
)
SEGMENT_NAMES = tuple(name for name, _ in RFM_SEGMENTS)


class RFMSegmenter:
    """Quintile edges fitted on the scored population, then R/F/M scores and a segment name per customer."""

    COLUMNS = {"R": "recency_days", "F": "frequency", "M": "monetary_total"}

    def fit(self, features: pd.DataFrame) -> RFMSegmenter:
        self.edges_ = {
            k: np.quantile(features[col].to_numpy(float), [0.2, 0.4, 0.6, 0.8]).tolist()
            for k, col in self.COLUMNS.items()
        }
        return self

    def _score(self, key: str, values: np.ndarray) -> np.ndarray:
        # 1..5, higher value -> higher score. F and M: a value equal to an edge gets the lower score, so when most
        # customers bought once (edges 1, 1, 1, 2) one purchase scores 1, not 4.
        s = np.searchsorted(self.edges_[key], values, side="right" if key == "R" else "left") + 1
        return 6 - s if key == "R" else s  # recent (few days) is good

    def transform(self, features: pd.DataFrame) -> pd.DataFrame:
        r = self._score("R", features["recency_days"].to_numpy(float))
        f = self._score("F", features["frequency"].to_numpy(float))
        m = self._score("M", features["monetary_total"].to_numpy(float))
        fm = (f + m) / 2.0
        # One purchase is no loyalty, however large: the F score alone places one-time buyers (New customers,
        # Promising, Need attention, Hibernating or Lost by recency), never Loyal or Champions.
        fm = np.where(features["frequency"].to_numpy(float) <= 1, f, fm)
        seg = np.full(len(r), None, dtype=object)
        for name, rule in RFM_SEGMENTS:
            hit = rule(r, fm) & (seg == None)  # noqa: E711 - elementwise
            seg[hit] = name
        return pd.DataFrame({"rfm_r": r, "rfm_f": f, "rfm_m": m, "rfm_segment": seg}, index=features.index)

    def to_dict(self) -> dict:
        return {"edges": self.edges_}

    @classmethod
    def from_dict(cls, d: dict) -> RFMSegmenter:
        s = cls()
        s.edges_ = {k: list(v) for k, v in d["edges"].items()}
        return s


REPEAT_SEGMENTS = {"Champions", "Loyal", "Can't lose them", "At risk", "Potential loyalists"}


def rfm_label(segment: str, frequency: float | None, scores: dict | None) -> str:
    """The segment to show: a stored segment that implies repeat buying is re-derived for a one-purchase customer
    (stores scored before the rule above existed), from the stored R score with F = 1."""
    if frequency is None or frequency > 1 or segment not in REPEAT_SEGMENTS or not scores or scores.get("r") is None:
        return segment
    r, fm = np.array([int(scores["r"])]), np.array([1.0])
    for name, rule in RFM_SEGMENTS:
        if bool(rule(r, fm)[0]):
            return name
    return segment
