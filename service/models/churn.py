"""The churn model: probability of no purchase in the horizon (logistic boosters, Platt-calibrated)."""

from __future__ import annotations

import numpy as np
import xgboost as xgb

from service.models.base import MONOTONE_TOLERANCE, BaggedXGBModel
from service.models.horizon import HorizonShift
from service.models.metrics import churn_metrics


def _platt(margin: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(d0, d1) of logistic regression of y on the margin (Platt scaling), fitted on the latest snapshot."""
    from scipy import optimize

    m, y = np.asarray(margin, float), np.asarray(y, float)
    if len(np.unique(y)) < 2:
        return 0.0, 1.0

    def loss(c):
        z = c[0] + c[1] * m
        return float(np.mean(np.logaddexp(0.0, z) - y * z))

    res = optimize.minimize(loss, np.asarray([0.0, 1.0]), method="L-BFGS-B", bounds=[(None, None), (0.05, 5.0)])
    return float(res.x[0]), float(res.x[1])


class ChurnModel(BaggedXGBModel):
    """Probability of no purchase in the horizon: a bag of binary logistic boosters, Platt-calibrated on the latest
    snapshot.

    Like the value model, the trees boost from the classic model: BG/NBD's P(no order in the horizon), on the logit
    scale.
    """

    OFFSET_FEATURES = ("btyd_p_no_order",)

    def _offset_from(self, values: np.ndarray) -> np.ndarray:
        p = np.clip(np.nan_to_num(values, nan=0.5), 1e-4, 1 - 1e-4)
        return np.log(p / (1 - p))

    def fit(self, X, y, X_val, y_val, shift: HorizonShift | None = None) -> ChurnModel:
        y, y_val = np.asarray(y), np.asarray(y_val)
        if not set(np.unique(y)) <= {0, 1}:
            raise ValueError("churn target must be 0/1")
        self.feature_names_ = list(X.columns)
        self._prepare_offsets(X, X_val)
        base = (
            0.5 if self._offset_used() else float(np.clip(np.mean(y), 0.01, 0.99))
        )  # 0.5: neutral (logit 0) beside an offset
        params = {"objective": "binary:logistic", "eval_metric": "logloss", "base_score": base}
        mono = {"monotone_constraints": self._constraints(self.feature_names_, -1)}
        b0, r0 = self._fit_one(params | (mono if self.monotone else {}), X, y, X_val, y_val, 0)
        self.monotone_used_ = self.monotone
        if self.monotone:
            b_free, _ = self._fit_one(params, X, y, X_val, y_val, 0)
            loss_c = _logloss(y_val, self._raw_margin(X_val, b0))
            loss_f = _logloss(y_val, self._raw_margin(X_val, b_free))
            if loss_c > loss_f * (1 + MONOTONE_TOLERANCE):
                self.monotone_used_, b0 = False, b_free
            else:
                params = params | mono
        self.booster_, rounds = self._fit_bag(params, X, y, X_val, y_val, first=b0)
        m_val = self._raw_margin(X_val)
        self.calibration_ = _platt(m_val, y_val)
        p_val = self.link(self.calibration_[0] + self.calibration_[1] * m_val)
        self.validation_ = churn_metrics(y_val, p_val) | {
            "rounds": rounds,
            "calibration": list(self.calibration_),
            "monotone": self.monotone_used_,
            "offset": self.offset_features,
        }
        self.shift_ = shift
        self._offsets = {}
        return self

    def _shift(self, X, calibrated: np.ndarray) -> np.ndarray:
        """logit(p * q) - logit(p): q is the BG/NBD chance of still no order between the two horizons."""
        if self.shift_ is None:
            return np.zeros(len(calibrated))
        p = self.link(calibrated) * self.shift_.no_order_ratio(X)
        p = np.clip(p, 1e-9, 1 - 1e-9)
        return np.log(p / (1 - p)) - calibrated

    def link(self, margin: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-np.clip(margin, -700.0, 700.0)))

    def predict_proba(self, X) -> np.ndarray:
        return self.link(self.margin(X))

    def learned_proba(self, X) -> np.ndarray:
        """P(no purchase) over the learned horizon as calibrated on the latest snapshot (no anchor, no shift)."""
        c0, c1 = self.calibration_
        return self.link(c0 + c1 * self._raw_margin(X))

    def _attrs(self) -> dict:
        return super()._attrs() | {"churn_model": "1"}

    @classmethod
    def load(cls, path) -> ChurnModel:
        m = cls()
        m.booster_ = xgb.Booster(model_file=str(path))
        if m.booster_.attr("churn_model") != "1":
            raise ValueError(f"{path}: not a churn model booster")
        m.feature_names_ = list(m.booster_.feature_names or [])
        m._load_attrs()
        return m


def _logloss(y: np.ndarray, margin: np.ndarray) -> float:
    y = np.asarray(y, float)
    return float(np.mean(np.logaddexp(0.0, margin) - y * margin))
