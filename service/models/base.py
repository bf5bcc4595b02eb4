"""What the value and churn models share: parameters, the bag of early-stopped boosters, monotone constraints,
the classic-model offset, calibrated margin, SHAP contributions and persistence as booster attributes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xgboost as xgb

from service.models.boosters import average_boosters, truncated_booster
from service.models.horizon import SHIFT_FEATURE, HorizonShift
from service.models.matrices import column_values, inplace_predict, to_dmatrix, train_booster

BASE_PARAMS = {
    "tree_method": "hist",
    # Shallow trees with large leaves: they correct the classic models' offset rather than learn a level, and
    # cannot single out one customer (depth 5 / min_child_weight 5 ranked worse on held-out cutoffs of CDNOW
    # and Online Retail that the reports do not use)
    "max_depth": 3,
    "learning_rate": 0.1,  # 0.05 before model v2: bagging and the panel multiply fits, so fewer rounds each
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "min_child_weight": 20,
    "reg_lambda": 1.0,
}


# SHAP values are computed this many rows at a time: a (rows x features) float32 DMatrix plus the
# (rows x features + 1) output per batch, so memory stays bounded at millions of customers.
SHAP_BATCH_ROWS = 50_000


# Business directions the models must respect (feature -> +1: never lowers the predicted value).
# Churn gets the opposite sign. Applied only where validation does not suffer (see ``BaggedXGBModel``).
VALUE_MONOTONE = {
    "frequency": 1,
    "monetary_total": 1,
    "recency_days": -1,
    "orders_recent": 1,
    "spend_recent": 1,
    "btyd_expected_orders": 1,
    "btyd_expected_value": 1,
    "past_spend_rate": 1,
    "btyd_p_no_order": -1,
}
# Large fit panels take bigger steps. There early stopping keeps hundreds of rounds at 0.1 (churn 1,400 trees at 100k
# synthetic customers), which is most of training and of SHAP time, and at 0.2 it keeps half as many: on the six
# development cutoffs of CDNOW and Online Retail (5 seeds; none a report cutoff) 0.2 ranked as well as 0.1 (value
# Gini minus past spend's +0.0100 vs +0.0098 on average, churn Brier/ECE/AUC within 0.004). But on a small panel it
# tripled the seed-to-seed spread of Gini (seen on the evaluation report's earliest Online Retail cutoff, three months
# of history), and small fits are cheap anyway: below this size, 0.1. The real datasets' panels are all smaller.
LARGE_PANEL_ROWS = 100_000
LARGE_PANEL_LEARNING_RATE = 0.2
MONOTONE_TOLERANCE = 0.005  # normalized Gini (value) or relative log-loss (churn) a constraint may cost on validation


class BaggedXGBModel:
    """Shared training: a bag of boosters (one per seed), each early-stopped on the latest snapshot, averaged into
    one booster; monotone constraints kept only when validation does not suffer; a calibration of the margin
    fitted on the latest snapshot; optionally a horizon shift. ``margin`` is the final margin (link gives the
    prediction), and ``contributions`` are SHAP values that add up to it.
    """

    def __init__(
        self,
        seed: int = 0,
        n_threads: int = 2,
        max_rounds: int = 1000,
        early_stopping_rounds: int = 30,
        params: dict | None = None,
        n_bags: int = 3,
        monotone: bool = True,
    ):
        self.seed = seed
        self.n_threads = n_threads
        self.max_rounds = max_rounds
        self.early_stopping_rounds = early_stopping_rounds
        self.params = {**BASE_PARAMS, **(params or {})}
        self.step_by_size = "learning_rate" not in (params or {})  # LARGE_PANEL_LEARNING_RATE unless set explicitly
        self.n_bags = n_bags
        self.monotone = monotone
        self.booster_: xgb.Booster | None = None
        self.feature_names_: list[str] = []
        self.calibration_: tuple[float, float] = (0.0, 1.0)  # final margin = c0 + c1 * booster margin (+ anchor, shift)
        self.anchor_: float = 0.0  # level drift from the latest snapshot to the scored one (ValueModel.anchor_level)
        self.shift_: HorizonShift | None = None
        self.monotone_used_: bool = False
        self.validation_: dict = {}
        self.offset_ref_: list[
            float
        ] = []  # per offset feature, its mean part of the offset on the training rows (SHAP bias)

    # The classic models' predictions the trees boost from (see ``_offset``); empty: boost from a constant.
    OFFSET_FEATURES: tuple[str, ...] = ()

    @property
    def offset_features(self) -> list[str]:
        """The offset features present in this model's columns (all of OFFSET_FEATURES normally)."""
        return [c for c in self.OFFSET_FEATURES if c in self.feature_names_]

    def _offset_parts(self, X) -> list[np.ndarray]:
        """Each offset feature's share of the base margin: the equal-weight mean of their link-scale values."""
        cols = self.offset_features
        return [self._offset_from(column_values(X, c)) / len(cols) for c in cols]

    def _offset(self, X) -> np.ndarray | None:
        """Per-row base margin from the classic-model features, or None when the model has none."""
        parts = self._offset_parts(X)
        return np.sum(parts, axis=0) if parts else None

    def _offset_from(self, values: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # -- training helpers
    def _bag_seed(self, k: int) -> int:
        return int(self.seed) * 1009 + k

    def _constraints(self, columns: list[str], sign: int) -> str:
        return "(" + ",".join(str(sign * VALUE_MONOTONE.get(c, 0)) for c in columns) + ")"

    def _fit_one(self, params: dict, X, y, X_val, y_val, k: int) -> tuple[xgb.Booster, int]:
        p = {**self.params, **params, "seed": self._bag_seed(k), "nthread": self.n_threads}
        if self.step_by_size and "learning_rate" not in params and len(X) >= LARGE_PANEL_ROWS:
            p["learning_rate"] = LARGE_PANEL_LEARNING_RATE
        booster = train_booster(
            p,
            X,
            y,
            self.max_rounds,
            X_val,
            y_val,
            early_stopping_rounds=self.early_stopping_rounds,
            offset=self._offsets.get(id(X)),
            offset_val=self._offsets.get(id(X_val)),
        )
        rounds = booster.best_iteration + 1
        return truncated_booster(booster, rounds), rounds

    def _fit_bag(
        self, params: dict, X, y, X_val, y_val, first: xgb.Booster | None = None
    ) -> tuple[xgb.Booster, list[int]]:
        boosters, rounds = ([first], [first.num_boosted_rounds()]) if first is not None else ([], [])
        for k in range(len(boosters), self.n_bags):
            b, r = self._fit_one(params, X, y, X_val, y_val, k)
            boosters.append(b)
            rounds.append(r)
        return average_boosters(boosters), rounds

    def _offset_used(self) -> bool:
        return bool(self.offset_features)

    def _prepare_offsets(self, X, X_val) -> None:
        """Compute the training and validation offsets once per fit (keyed by the matrices' identity)."""
        off, off_val = self._offset(X), self._offset(X_val)
        self._offsets = {id(X): off, id(X_val): off_val}
        self.offset_ref_ = [float(np.mean(part)) for part in self._offset_parts(X)]

    def _raw_margin(self, X, booster=None) -> np.ndarray:
        """Trees' margin plus the offset (the trees' base score is neutral when an offset is used)."""
        booster = booster or self.booster_
        assert booster is not None  # without an explicit booster, called only once fit or load has set booster_
        m = inplace_predict(booster, X).astype(np.float64)
        off = self._offsets.get(id(X)) if getattr(self, "_offsets", None) else None
        off = off if off is not None else self._offset(X)
        return m if off is None else m + off

    # -- prediction
    def _check_fitted(self) -> xgb.Booster:
        """The booster; RuntimeError when the model is not fitted."""
        if self.booster_ is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted")
        return self.booster_

    def _check_columns(self, X):
        if list(X.columns) != self.feature_names_:
            missing = sorted(set(self.feature_names_) - set(X.columns))
            raise ValueError(f"feature columns do not match the model (missing: {missing[:5]}, order or extras differ)")

    def _shift(self, X, calibrated: np.ndarray) -> np.ndarray:
        """Margin added by the horizon shift (0 without one)."""
        return np.zeros(len(calibrated))

    def margin(self, X) -> np.ndarray:
        """Final margin for a frame (here) or a DaskMatrix (on its workers): calibrated, horizon-shifted."""
        self._check_fitted()
        self._check_columns(X)
        c0, c1 = self.calibration_
        m = c0 + self.anchor_ + c1 * self._raw_margin(X)
        return m + self._shift(X, m)

    def contributions(self, X: pd.DataFrame) -> np.ndarray:
        """Per-feature SHAP values in final-margin space, shape (n, n_features + 1); the last column is the bias.

        TreeSHAP of the averaged booster, scaled by the calibration slope; a horizon shift that differs by customer
        comes from the BG/NBD model and is credited to SHIFT_FEATURE, one that does not goes to the bias. Rows add up
        to ``margin``. Computed SHAP_BATCH_ROWS rows at a time (TreeSHAP is per row, so batching changes no value).
        """
        booster = self._check_fitted()
        self._check_columns(X)
        n = len(X)
        out = np.empty((n, len(self.feature_names_) + 1), dtype=np.float64)
        for start in range(0, n, SHAP_BATCH_ROWS):
            out[start : start + SHAP_BATCH_ROWS] = booster.predict(
                to_dmatrix(X.iloc[start : start + SHAP_BATCH_ROWS]), pred_contribs=True
            )
        # the classic models' part of the margin, each credited to its feature against its training mean
        for col, part, ref in zip(self.offset_features, self._offset_parts(X), self.offset_ref_):
            out[:, self.feature_names_.index(col)] += part - ref
            out[:, -1] += ref
        c0, c1 = self.calibration_
        out *= c1
        out[:, -1] += c0 + self.anchor_
        if self.shift_ is not None:
            calibrated = out.sum(axis=1)
            # one factor for everyone is a horizon scaling, part of the baseline; a per-customer ratio is BG/NBD's
            # (the bias too when the model has no BG/NBD column, so the rows still add up)
            per_customer = not self._shift_is_uniform() and SHIFT_FEATURE in self.feature_names_
            out[:, self.feature_names_.index(SHIFT_FEATURE) if per_customer else -1] += self._shift(X, calibrated)
        return out

    def _shift_is_uniform(self) -> bool:
        """The horizon shift adds the same margin to every customer."""
        return False

    def link(self, margin: np.ndarray) -> np.ndarray:
        """Margin -> prediction scale (currency for value, probability for churn)."""
        raise NotImplementedError

    # -- persistence: everything beyond the trees travels as booster attributes, inside the one JSON file
    def _attrs(self) -> dict:
        return {
            "calibration": json.dumps(list(self.calibration_)),
            "horizon_shift": json.dumps(self.shift_.to_dict() if self.shift_ else None),
            "monotone": "1" if self.monotone_used_ else "0",
            "offset_ref": json.dumps(self.offset_ref_),
            "anchor": repr(self.anchor_),
        }

    def _load_attrs(self) -> None:
        b = self._check_fitted()
        self.calibration_ = tuple(json.loads(b.attr("calibration") or "[0.0, 1.0]"))
        shift = json.loads(b.attr("horizon_shift") or "null")
        self.shift_ = HorizonShift(**shift) if shift else None
        self.monotone_used_ = b.attr("monotone") == "1"
        self.anchor_ = float(b.attr("anchor") or 0.0)
        refs = json.loads(b.attr("offset_ref") or "[]")
        self.offset_ref_ = [float(r) for r in refs] if isinstance(refs, list) else []
        if len(self.offset_ref_) != len(self.offset_features):
            raise ValueError(
                "booster's offset attributes do not match this version's offset features (retrain the bundle)"
            )

    def save(self, path) -> None:
        """XGBoost JSON; attributes set at fit time (objective, calibration, shift) travel inside it."""
        booster = self._check_fitted()
        booster.set_attr(**self._attrs())
        # written by Python, not by XGBoost's own file writer: a full disk is then an OSError that names the file
        # ("No space left on device (.../value.json)"), not "dmlc-core ... FileStream.Write incomplete"
        raw = booster.save_raw("json")
        try:
            with open(path, "wb") as f:
                f.write(raw)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None


def booster_json(model: BaggedXGBModel) -> str:
    """The booster as XGBoost JSON text (for fingerprints and tests)."""
    return json.dumps(json.loads(model._check_fitted().save_raw("json").decode()), sort_keys=True)
