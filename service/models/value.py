"""The value model: expected spend over the horizon (calibrated Tweedie boosters over the classic models)."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import xgboost as xgb

from service.metrics import normalized_gini
from service.models.base import MONOTONE_TOLERANCE, BaggedXGBModel
from service.models.horizon import HorizonShift
from service.models.intervals import conformal_ratio_intervals, hurdle_ends
from service.models.matrices import column_values
from service.models.metrics import value_metrics

ANCHOR_LIMIT = math.log(3.0)  # the level anchor moves the total by at most 3x either way (a guard, not a fit)


# A target above OUTLIER_FACTOR x the OUTLIER_RANK-th largest of its set is taken at that value for fitting (trees,
# calibration, intervals). Why: one mistyped amount (9e8 instead of 90) in the latest snapshot's window set the level
# of every customer through the Poisson calibration (about x40,000 on 400 synthetic customers). Real heavy tails stay
# well inside it (their largest customer spends a few times the fifth largest), so on real data it changes nothing.
OUTLIER_RANK = 5
OUTLIER_FACTOR = 20.0


def cap_outliers(y: np.ndarray) -> tuple[np.ndarray, int]:
    """``y`` with values above OUTLIER_FACTOR x its OUTLIER_RANK-th largest taken at that cap; how many were capped."""
    if len(y) < OUTLIER_RANK:
        return y, 0
    cap = OUTLIER_FACTOR * float(np.partition(y, len(y) - OUTLIER_RANK)[len(y) - OUTLIER_RANK])
    over = y > cap
    if cap <= 0 or not over.any():
        return y, 0
    return np.where(over, cap, y), int(over.sum())


def _poisson_calibration(margin: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(c0, c1) minimising the Poisson deviance of exp(c0 + c1 * margin) against y: the level and the spread
    of the predictions fitted on the latest snapshot; c1 > 0 keeps the ranking (bounded to [0.5, 1.5])."""
    from scipy import optimize

    m, y = np.asarray(margin, float), np.asarray(y, float)
    if y.sum() <= 0:
        return 0.0, 1.0
    mu = m.mean()

    def loss(c):
        eta = c[0] + c[1] * (m - mu)
        return float(np.mean(np.exp(eta) - y * eta))

    c0 = math.log(y.mean()) - math.log(np.mean(np.exp(m - mu)))
    res = optimize.minimize(loss, np.asarray([c0, 1.0]), method="L-BFGS-B", bounds=[(None, None), (0.5, 1.5)])
    a, b = res.x
    return float(a - b * mu), float(b)


class ValueModel(BaggedXGBModel):
    """Expected spend over the horizon.

    The target is zero for most customers and heavy-tailed for the rest. A Tweedie likelihood (compound
    Poisson-gamma, log link) models the mass at zero and the long tail together and predicts means, so
    totals by segment stay calibrated and SHAP stays additive in log space; the variance power (how
    heavy the tail is taken to be) differs between shops, so ``objective="auto"`` tries each of
    POWERS on the latest snapshot and keeps the one with the highest normalized Gini (ties: the first).
    A squared error on log1p(spend), the earlier alternative, predicts a geometric mean and needed a
    smearing factor to return to money; calibrated Tweedie does not, so it is gone.

    After the bag is trained, ``exp(c0 + c1 * margin)`` is fitted to the latest snapshot (Poisson deviance),
    which sets the currency level; an 80% interval comes from the ratios actual / predicted on that snapshot
    in bins of the prediction (conformal, per bin).
    """

    POWERS = (1.2, 1.5)
    INTERVAL = (0.1, 0.9)
    INTERVAL_BINS = 10
    # The trees boost from the classic predictions (log scale): they learn a correction factor to them rather than
    # a level. Why: snapshots of the panel are younger than the scored one (every customer is older at the cutoff),
    # and trees cannot extrapolate recency or age beyond the panel's range, while a classic model can. Which
    # classic prediction: the geometric mean of BG/NBD x Gamma-Gamma (dropout-aware) and the past-spend rate
    # (steadier for shops of loyal repeat buyers), with equal weights. Picking the one that ranked the latest
    # snapshot better (model v2's first rule) flipped with the snapshot on Online Retail; the equal-weight blend
    # ranked at least as well as the better of the two on most cutoffs tried on CDNOW and Online Retail (see the
    # README), and fixed weights need no selection that could overfit one window.
    OFFSET_FEATURES = ("btyd_expected_value", "past_spend_rate")

    # The smallest classic prediction the offset takes (log of 0 is -inf): 0.01 currency units, scaled down for a shop
    # whose buyers spend under 1 unit per horizon (amounts in thousands, or in bitcoin), where a fixed 0.01 would put
    # every customer on the floor and leave nothing to rank. Fitted on the training target, stored in the bundle.
    OFFSET_FLOOR = 0.01

    def _offset_from(self, values: np.ndarray) -> np.ndarray:
        return np.log(np.maximum(np.nan_to_num(values, nan=0.0), self.offset_floor_))

    def __init__(self, objective: str = "auto", **kwargs):
        super().__init__(**kwargs)
        if objective != "auto" and not (objective.startswith("tweedie") and _power(objective) is not None):
            raise ValueError(f"objective must be 'auto' or 'tweedie:<power>' with power in (1, 2), got {objective!r}")
        self.objective = objective
        self.offset_floor_ = self.OFFSET_FLOOR
        self.objective_: str | None = None
        self.selection_: dict[str, dict] = {}
        self.interval_: dict | None = None

    def _params(self, objective: str, y: np.ndarray) -> dict:
        power = _power(objective)
        # with an offset the base score must be neutral (log 1 = 0), so the margin is offset + trees
        base = 1.0 if self._offset_used() else max(float(np.mean(y)), 1e-3)
        return {
            "objective": "reg:tweedie",
            "tweedie_variance_power": power,
            "eval_metric": f"tweedie-nloglik@{power}",
            "base_score": base,
        }

    def fit(self, X, y, X_val, y_val, shift: HorizonShift | None = None) -> ValueModel:
        y, y_val = np.asarray(y, dtype=np.float64), np.asarray(y_val, dtype=np.float64)
        if (y < 0).any() or (y_val < 0).any() or not np.isfinite(y).all() or not np.isfinite(y_val).all():
            raise ValueError("value target must be finite and non-negative")
        (y, capped_fit), (y_val, capped_val) = cap_outliers(y), cap_outliers(y_val)
        self.feature_names_ = list(X.columns)
        bought = y[y > 0]
        self.offset_floor_ = self.OFFSET_FLOOR * min(1.0, float(bought.mean())) if len(bought) else self.OFFSET_FLOOR
        self._prepare_offsets(X, X_val)
        candidates = [f"tweedie:{p}" for p in self.POWERS] if self.objective == "auto" else [self.objective]
        mono = self._constraints(self.feature_names_, +1)
        first: dict[str, tuple[xgb.Booster, int]] = {}
        for name in candidates:
            params = self._params(name, y) | ({"monotone_constraints": mono} if self.monotone else {})
            b, r = self._fit_one(params, X, y, X_val, y_val, 0)
            first[name] = (b, r)
            self.selection_[name] = value_metrics(y_val, np.exp(self._raw_margin(X_val, b))) | {"rounds": r}
        best = max(candidates, key=lambda k: round(self.selection_[k]["normalized_gini"], 3))
        params = self._params(best, y)
        booster0 = first[best][0]
        self.monotone_used_ = self.monotone
        if self.monotone:  # keep the business directions unless they cost validation accuracy
            b_free, r_free = self._fit_one(params, X, y, X_val, y_val, 0)
            free = value_metrics(y_val, np.exp(self._raw_margin(X_val, b_free)))["normalized_gini"]
            self.selection_["unconstrained"] = {"normalized_gini": free, "rounds": r_free}
            if self.selection_[best]["normalized_gini"] < free - MONOTONE_TOLERANCE:
                self.monotone_used_, booster0 = False, b_free
            else:
                params = params | {"monotone_constraints": mono}
        self.objective_ = best
        self.booster_, rounds = self._fit_bag(params, X, y, X_val, y_val, first=booster0)
        m_val = self._raw_margin(X_val)
        self.calibration_ = _poisson_calibration(m_val, y_val)
        c0, c1 = self.calibration_
        pred_val = np.exp(c0 + c1 * m_val)
        self.interval_ = conformal_ratio_intervals(pred_val, y_val, self.INTERVAL_BINS, self.INTERVAL)
        self.validation_ = value_metrics(y_val, pred_val) | {
            "rounds": rounds,
            "calibration": list(self.calibration_),
            "monotone": self.monotone_used_,
            "objective": best,
            "offset": self.offset_features,
            "offset_gini": self._offset_gini(X_val, y_val),
            "targets_capped": {"fit": capped_fit, "validation": capped_val},
        }
        self.shift_ = shift
        self._offsets = {}
        return self

    ANCHOR_FEATURE = "btyd_expected_value"

    def anchor_level(self, X_val, X_score, validation_totals: tuple[float, float] | None = None) -> ValueModel:
        """Carry the currency level from the latest snapshot to the scored one the way BG/NBD x Gamma-Gamma moves.

        The calibration sets the level on the latest snapshot, one horizon before the cutoff; by the cutoff every
        customer is a horizon older, and a cohort that buys less as it ages (CDNOW) or a shop that grows moves
        the level. Trees cannot extrapolate age, while BG/NBD models it: the predicted total on the scored
        population is BG/NBD's predicted total there (at the learned horizon, before any horizon shift) times
        BG/NBD's actual / predicted ratio on the latest snapshot. One constant for the whole bundle, fitted
        at training time: a customer's score still depends on nobody else in its batch.

        ``validation_totals``: (actual spend, BG/NBD x Gamma-Gamma prediction) summed over every customer of the latest
        snapshot. That ratio needs no trees, so it is taken over all of them rather than the held-out share, and the
        level no longer depends on which customers the seed holds out (on Online Retail and Olist it had moved by up to
        a quarter with the seed). Without it (bundles' tests, callers before it) the held-out customers' calibrated
        total stands for the actual one.
        """
        if self.ANCHOR_FEATURE not in self.feature_names_:
            return self
        c0, c1 = self.calibration_
        sets = (("validation", X_val), ("score", X_score))
        # totals without the odd outlier (cap_outliers): one customer's mistyped amount must not move everyone's level
        pred = {k: cap_outliers(np.exp(c0 + c1 * self._raw_margin(X)))[0].sum() for k, X in sets}
        btyd = {k: cap_outliers(np.nan_to_num(column_values(X, self.ANCHOR_FEATURE)))[0].sum() for k, X in sets}
        actual, expected = (
            validation_totals if validation_totals is not None else (pred["validation"], btyd["validation"])
        )
        if min(pred["score"], btyd["score"], actual, expected) <= 0:
            return self
        target = btyd["score"] * actual / expected
        self.anchor_ = float(np.clip(math.log(target / pred["score"]), -ANCHOR_LIMIT, ANCHOR_LIMIT))
        self.validation_["anchor"] = round(self.anchor_, 4)
        return self

    def _offset_gini(self, X_val, y_val: np.ndarray) -> dict[str, float]:
        """Validation Gini of each offset feature and of the blend (for the record; nothing is chosen by it)."""
        gini = {c: round(normalized_gini(y_val, column_values(X_val, c)), 3) for c in self.offset_features}
        off = self._offset(X_val)
        return gini | ({"blend": round(normalized_gini(y_val, off), 3)} if off is not None else {})

    def _shift(self, X, calibrated: np.ndarray) -> np.ndarray:
        return self.shift_.value_log_ratio(X, len(calibrated)) if self.shift_ is not None else np.zeros(len(calibrated))

    def _shift_is_uniform(self) -> bool:
        return self.shift_ is not None and self.shift_.uniform_value

    def fix_horizon_factor(self, X_score) -> ValueModel:
        """Set the one factor value is carried from the learned horizon to the asked one (see ``HorizonShift``): the
        scored customers' total carried each by their own BG/NBD ratio, over their learned total. Fitted once at
        training time on the scoring snapshot, so a customer's score depends on nobody else in its batch."""
        if self.shift_ is None:
            return self
        c0, c1 = self.calibration_
        learned = cap_outliers(np.exp(c0 + self.anchor_ + c1 * self._raw_margin(X_score)))[0]
        carried = (learned * np.exp(self.shift_.customer_log_ratio(X_score))).sum()
        if not (learned.sum() > 0 and np.isfinite(carried) and carried > 0):
            factor = math.log(self.shift_.to_days / self.shift_.from_days)
        else:
            factor = math.log(carried / learned.sum())
        self.shift_ = replace(self.shift_, value_log_factor=float(factor))
        self.validation_["horizon_factor"] = round(math.exp(factor), 4)
        return self

    def link(self, margin: np.ndarray) -> np.ndarray:
        return np.exp(np.minimum(margin, 700.0))

    def predict(self, X) -> np.ndarray:
        return self.link(self.margin(X))

    def interval(self, predicted: np.ndarray, X=None, churn=None) -> tuple[np.ndarray, np.ndarray]:
        """80% interval around each prediction (the stored ratio quantiles of the latest snapshot).

        Bins are defined on the prediction over the learned horizon; with a horizon shift (``X`` needed)
        the interval is found there and scaled like the prediction. With ``churn`` (the churn model's
        probabilities) and cells fitted by ``condition_interval``, the cell of value bin x churn band is used
        where it had enough customers, and ``hurdle_ends`` (churn x spend given a purchase) elsewhere; bundles
        without the buyers' ratio use the bin there.
        """
        p = np.asarray(predicted, float)
        if not self.interval_:
            return np.full(len(p), np.nan), np.full(len(p), np.nan)
        edges, lo, hi = (np.asarray(self.interval_[k]) for k in ("edges", "low", "high"))
        learned = p / np.exp(self._shift(X, p)) if self.shift_ is not None and X is not None else p
        learned = learned / math.exp(self.anchor_)  # the bins are on the latest snapshot's level
        b = np.clip(np.searchsorted(edges, learned, side="right") - 1, 0, len(lo) - 1)
        low, high = lo[b], hi[b]
        if churn is not None and "cell_low" in self.interval_:
            band = np.searchsorted(np.asarray(self.interval_["churn_bands"]), np.asarray(churn, float), side="right")
            cell_lo = np.array(self.interval_["cell_low"], dtype=float)  # None -> nan: no cell, the bin's ends
            cell_hi = np.array(self.interval_["cell_high"], dtype=float)
            c_lo, c_hi = cell_lo[b, band], cell_hi[b, band]
            if self.interval_.get("buyer_ratio") is not None:
                low, high = hurdle_ends(self.interval_["buyer_ratio"], churn, tuple(self.interval_["levels"]))
            has = np.isfinite(c_lo) & np.isfinite(c_hi)
            low, high = np.where(has, c_lo, low), np.where(has, c_hi, high)
        return p * low, p * high

    def condition_interval(self, X_val, y_val, churn_val) -> ValueModel:
        """Refit the interval on the latest snapshot in cells of value bin x churn band
        (``conformal_ratio_intervals``)."""
        c0, c1 = self.calibration_
        pred_val = np.exp(c0 + c1 * self._raw_margin(X_val))
        y_val = cap_outliers(np.asarray(y_val, float))[0]  # as in fit
        self.interval_ = conformal_ratio_intervals(pred_val, y_val, self.INTERVAL_BINS, self.INTERVAL, churn=churn_val)
        return self

    def _attrs(self) -> dict:
        return super()._attrs() | {
            "value_objective": self.objective_,
            "interval": json.dumps(self.interval_),
            "offset_floor": repr(self.offset_floor_),
        }

    @classmethod
    def load(cls, path) -> ValueModel:
        m = cls()
        m.booster_ = xgb.Booster(model_file=str(path))
        m.feature_names_ = list(m.booster_.feature_names or [])
        m.objective_ = m.booster_.attr("value_objective")
        if m.objective_ is None or _power(m.objective_) is None:
            raise ValueError(
                f"{path}: not a value model booster of this version (objective attribute {m.objective_!r})"
            )
        m.offset_floor_ = float(m.booster_.attr("offset_floor") or cls.OFFSET_FLOOR)  # bundles before it: 0.01
        m._load_attrs()
        m.interval_ = json.loads(m.booster_.attr("interval") or "null")
        return m


def _power(objective: str) -> float | None:
    try:
        p = float(objective.split(":", 1)[1])
    except (IndexError, ValueError):
        return None
    return p if 1.0 < p < 2.0 else None
