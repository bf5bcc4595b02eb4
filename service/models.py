"""XGBoost estimators for future value and churn, scikit-learn style: fit / predict / contributions.

Both models are trained time-aware: ``fit`` takes the stacked training snapshots (a panel of earlier
cutoffs) and the *latest* snapshot (features at cutoff - horizon, targets observed up to the cutoff).
The latest snapshot early-stops every booster, chooses the objective, decides whether the monotone
business constraints stay, and calibrates the output (level of value, probabilities of churn); it is
not trained on, so those decisions are made out of sample. Several seeds are bagged into one booster.

Where the design matrices live decides how a model trains: pandas frames train in-process
(``xgboost.train``); ``DaskMatrix`` blocks spread over a Dask cluster train with ``xgboost.dask``.
The objective selection, early stopping and refit are the same code for both, and either way the
result is one ordinary Booster, saved in the same bundle format.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb
from scipy.stats import spearmanr
from sklearn.metrics import average_precision_score, roc_auc_score

from service.metrics import normalized_gini

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


def _dmatrix(X: pd.DataFrame, y=None) -> xgb.DMatrix:
    return xgb.DMatrix(
        X.to_numpy(dtype=np.float32),
        label=None if y is None else np.asarray(y, dtype=np.float32),
        feature_names=list(X.columns),
        missing=np.nan,
    )


@dataclass
class DaskMatrix:
    """A design matrix spread over a Dask cluster: float32 row blocks of known lengths, plus the column names.

    ``ValueModel`` / ``ChurnModel`` accept it wherever they accept a DataFrame: ``fit`` then trains with
    ``xgboost.dask`` on the cluster of ``client``, ``predict`` predicts on the workers and returns numpy.
    Targets stay numpy arrays on the driver (one number per customer) and are chunked like the rows.
    """

    data: Any  # dask.array.Array, shape (n, len(columns)), float32
    columns: list[str]
    client: Any  # distributed.Client

    def __len__(self) -> int:
        return int(self.data.shape[0])

    def __getitem__(self, columns: list[str]) -> DaskMatrix:
        idx = [self.columns.index(c) for c in columns]
        return DaskMatrix(self.data[:, idx], list(columns), self.client)

    def rows(self, mask: np.ndarray) -> DaskMatrix:
        return DaskMatrix(self.data[np.asarray(mask, bool)], self.columns, self.client)

    def label(self, y) -> object:
        import dask.array as da

        return da.from_array(np.asarray(y, dtype=np.float32), chunks=(self.data.chunks[0],))


def _booster_train(
    params: dict,
    X,
    y,
    num_boost_round: int,
    X_val=None,
    y_val=None,
    early_stopping_rounds: int | None = None,
    offset=None,
    offset_val=None,
) -> xgb.Booster:
    """xgboost.train in-process for frames; xgboost.dask.train on the cluster for DaskMatrix (same params, same rounds).

    ``offset`` / ``offset_val``: per-row base margins the trees boost from (None: the base score).
    """
    if isinstance(X, DaskMatrix):
        from xgboost import dask as dxgb

        params = {k: v for k, v in params.items() if k != "nthread"}  # each worker uses its own threads

        def dm(M, t, off):
            return dxgb.DaskDMatrix(
                M.client,
                M.data,
                M.label(t),
                feature_names=M.columns,
                missing=np.nan,
                base_margin=None if off is None else M.label(off),
            )

        evals: Sequence[tuple[Any, str]] | None = (
            [(dm(X_val, y_val, offset_val), "valid")] if X_val is not None else None
        )
        out = dxgb.train(
            X.client,
            params,
            dm(X, y, offset),
            num_boost_round=num_boost_round,
            evals=evals,
            early_stopping_rounds=early_stopping_rounds,
            verbose_eval=False,
        )
        return out["booster"]

    def dmat(M, t, off):
        d = _dmatrix(M, t)
        if off is not None:
            d.set_base_margin(np.asarray(off, dtype=np.float32))
        return d

    evals = [(dmat(X_val, y_val, offset_val), "valid")] if X_val is not None else ()
    return xgb.train(
        params,
        dmat(X, y, offset),
        num_boost_round=num_boost_round,
        evals=evals,
        early_stopping_rounds=early_stopping_rounds,
        verbose_eval=False,
    )


def rows_of(X, mask: np.ndarray):
    """The rows of a frame or a DaskMatrix where ``mask`` is true (in order)."""
    if isinstance(X, DaskMatrix):
        return X.rows(mask)
    return X[np.asarray(mask, bool)].reset_index(drop=True)


def _column(X, name: str) -> np.ndarray:
    """One column as float64 numpy, from a frame or a DaskMatrix."""
    if isinstance(X, DaskMatrix):
        return np.asarray(X.client.compute(X[[name]].data).result(), dtype=np.float64)[:, 0]
    return X[name].to_numpy(dtype=np.float64)


def _inplace_predict(booster: xgb.Booster, X, iteration_range=(0, 0), predict_type: str = "margin") -> np.ndarray:
    """In-place prediction (no DMatrix copy; margin by default): on the workers for a DaskMatrix, here for a frame."""
    if isinstance(X, DaskMatrix):
        from xgboost import dask as dxgb

        pred = dxgb.inplace_predict(
            X.client, booster, X.data, iteration_range=iteration_range, predict_type=predict_type, missing=np.nan
        )
        return np.asarray(X.client.compute(pred).result())
    return booster.inplace_predict(
        X.to_numpy(dtype=np.float32), iteration_range=iteration_range, predict_type=predict_type, missing=np.nan
    )


def _scale_tree(t: dict, scale: Callable[[float], float]) -> None:
    """Apply ``scale`` to one tree's leaf values (and node weights), in XGBoost's JSON model format."""
    leaves = {i for i, left in enumerate(t["left_children"]) if left == -1}
    t["split_conditions"] = [scale(v) if i in leaves else v for i, v in enumerate(t["split_conditions"])]
    t["base_weights"] = [scale(v) for v in t["base_weights"]]


def _load_json_model(model: dict) -> xgb.Booster:
    model["learner"]["attributes"] = {}
    booster = xgb.Booster()
    booster.load_model(bytearray(json.dumps(model).encode()))
    return booster


def average_boosters(boosters: list[xgb.Booster]) -> xgb.Booster:
    """One booster whose margin is the mean of the given boosters' margins (same base score required).

    Leaf weights are divided by the number of boosters and the trees concatenated, so prediction,
    TreeSHAP (linear in the leaf values) and saving work on the bag exactly as on a single model.
    """
    if len(boosters) == 1:
        return boosters[0]
    models = [json.loads(b.save_raw("json")) for b in boosters]
    bases = {m["learner"]["learner_model_param"]["base_score"] for m in models}
    if len(bases) != 1:
        raise ValueError(f"boosters to average need one base score, got {sorted(bases)}")
    k = float(len(models))
    trees: list[dict] = []
    info: list[int] = []
    for m in models:
        gb = m["learner"]["gradient_booster"]["model"]
        for t in gb["trees"]:
            _scale_tree(t, lambda v: v / k)
            t["id"] = len(trees)
            trees.append(t)
        info += gb["tree_info"]
    out = models[0]
    gb = out["learner"]["gradient_booster"]["model"]
    gb["trees"], gb["tree_info"] = trees, info
    gb["gbtree_model_param"]["num_trees"] = str(len(trees))
    gb["iteration_indptr"] = list(range(len(trees) + 1))
    return _load_json_model(out)


def scale_booster(booster: xgb.Booster, factor: float) -> xgb.Booster:
    """A booster whose trees' margin is ``factor`` times this one's (the base score is unchanged).

    Like the bag average, this scales leaf values, so prediction, TreeSHAP and saving stay exact.
    """
    if factor == 1.0:
        return booster
    model = json.loads(booster.save_raw("json"))
    for t in model["learner"]["gradient_booster"]["model"]["trees"]:
        _scale_tree(t, lambda v: v * float(factor))
    return _load_json_model(model)


def _truncated(booster: xgb.Booster, rounds: int) -> xgb.Booster:
    """The first ``rounds`` trees (early stopping trains a few past the best round)."""
    return booster[:rounds] if rounds < booster.num_boosted_rounds() else booster


# Business directions the models must respect (feature -> +1: never lowers the predicted value).
# Churn gets the opposite sign. Applied only where validation does not suffer (see ``_XGBModel``).
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
ANCHOR_LIMIT = math.log(3.0)  # the level anchor moves the total by at most 3x either way (a guard, not a fit)
MONOTONE_TOLERANCE = 0.005  # normalized Gini (value) or relative log-loss (churn) a constraint may cost on validation


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

        return summary_from_features(*(_column(X, c) for c in ("frequency", "recency_days", "first_purchase_days")))

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


class _XGBModel:
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
        return [self._offset_from(_column(X, c)) / len(cols) for c in cols]

    def _offset(self, X) -> np.ndarray | None:
        """Per-row base margin from the classic-model features, or None when the model has none."""
        parts = self._offset_parts(X)
        return np.sum(parts, axis=0) if parts else None

    @staticmethod
    def _offset_from(values: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # -- training helpers
    def _bag_seed(self, k: int) -> int:
        return int(self.seed) * 1009 + k

    def _constraints(self, columns: list[str], sign: int) -> str:
        return "(" + ",".join(str(sign * VALUE_MONOTONE.get(c, 0)) for c in columns) + ")"

    def _fit_one(self, params: dict, X, y, X_val, y_val, k: int) -> tuple[xgb.Booster, int]:
        p = {**self.params, **params, "seed": self._bag_seed(k), "nthread": self.n_threads}
        booster = _booster_train(
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
        return _truncated(booster, rounds), rounds

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
        m = _inplace_predict(booster, X).astype(np.float64)
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

        TreeSHAP of the averaged booster, scaled by the calibration slope; the horizon shift, which comes
        from the BG/NBD model, is credited to SHIFT_FEATURE. Rows add up to ``margin``. Computed
        SHAP_BATCH_ROWS rows at a time (TreeSHAP is per row, so batching changes no value).
        """
        booster = self._check_fitted()
        self._check_columns(X)
        n = len(X)
        out = np.empty((n, len(self.feature_names_) + 1), dtype=np.float64)
        for start in range(0, n, SHAP_BATCH_ROWS):
            out[start : start + SHAP_BATCH_ROWS] = booster.predict(
                _dmatrix(X.iloc[start : start + SHAP_BATCH_ROWS]), pred_contribs=True
            )
        # the classic models' part of the margin, each credited to its feature against its training mean
        for col, part, ref in zip(self.offset_features, self._offset_parts(X), self.offset_ref_):
            out[:, self.feature_names_.index(col)] += part - ref
            out[:, -1] += ref
        c0, c1 = self.calibration_
        out *= c1
        out[:, -1] += c0 + self.anchor_
        if self.shift_ is not None and SHIFT_FEATURE in self.feature_names_:
            calibrated = out.sum(axis=1)
            out[:, self.feature_names_.index(SHIFT_FEATURE)] += self._shift(X, calibrated)
        return out

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
        booster.save_model(str(path))


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


class ValueModel(_XGBModel):
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

    @staticmethod
    def _offset_from(values: np.ndarray) -> np.ndarray:
        return np.log(np.maximum(np.nan_to_num(values, nan=0.0), 0.01))

    # The trees' correction is shrunk toward the offset: margin = offset + w * trees, with w in TREE_WEIGHTS chosen
    # on the latest snapshot (the validation customers, held out of every fit) by normalized Gini, ties going to the
    # larger w. Why: early stopping watches the Tweedie deviance, not the ranking, and on Online Retail the few trees
    # it kept ranked the held-out customers no better than the offset alone, and the scored customers no better than
    # past spend (Gini -0.001 to +0.003 against it on three development cutoffs the reports do not use, 5 seeds;
    # +0.000 to +0.003 with the shrinkage, a gain within seed and customer noise); on CDNOW the trees rank better and
    # w stays at 0.9-1 (Gini unchanged to 0.0003). w = 0 is the offset itself, so the product cannot rank the
    # validation customers worse than the classic blend it starts from. The weight is folded into the leaf values
    # (``scale_booster``): prediction, SHAP and the bundle format are unchanged.
    TREE_WEIGHTS = tuple(round(0.1 * k, 1) for k in range(11))

    def __init__(self, objective: str = "auto", shrink: bool = True, **kwargs):
        super().__init__(**kwargs)
        if objective != "auto" and not (objective.startswith("tweedie") and _power(objective) is not None):
            raise ValueError(f"objective must be 'auto' or 'tweedie:<power>' with power in (1, 2), got {objective!r}")
        self.objective = objective
        self.shrink = shrink
        self.tree_weight_: float = 1.0
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
        self.feature_names_ = list(X.columns)
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
        if self.shrink:
            self.tree_weight_, tried = self._tree_weight(X_val, y_val)
            self.booster_ = scale_booster(self.booster_, self.tree_weight_)
            self.selection_["tree_weight"] = {"chosen": self.tree_weight_, "normalized_gini": tried}
        m_val = self._raw_margin(X_val)
        self.calibration_ = _poisson_calibration(m_val, y_val)
        c0, c1 = self.calibration_
        pred_val = np.exp(c0 + c1 * m_val)
        self.interval_ = _ratio_intervals(pred_val, y_val, self.INTERVAL_BINS, self.INTERVAL)
        self.validation_ = value_metrics(y_val, pred_val) | {
            "rounds": rounds,
            "calibration": list(self.calibration_),
            "monotone": self.monotone_used_,
            "objective": best,
            "tree_weight": self.tree_weight_,
            "offset": self.offset_features,
            "offset_gini": self._offset_gini(X_val, y_val),
        }
        self.shift_ = shift
        self._offsets = {}
        return self

    def _tree_weight(self, X_val, y_val: np.ndarray) -> tuple[float, dict[str, float]]:
        """The weight of the trees' margin beside the offset with the best validation Gini (ties: the larger weight)."""
        off = self._offsets.get(id(X_val)) if getattr(self, "_offsets", None) else None
        if off is None:  # no offset: the trees carry the level, nothing to shrink toward
            return 1.0, {}
        assert self.booster_ is not None  # called right after the bag is fitted
        trees = _inplace_predict(self.booster_, X_val).astype(np.float64)  # base score 1 beside an offset: margin 0
        gini = {w: float(normalized_gini(y_val, off + w * trees)) for w in self.TREE_WEIGHTS}
        if not all(np.isfinite(g) for g in gini.values()):
            return 1.0, {}
        best = max(gini.values())
        chosen = max(w for w, g in gini.items() if g >= best)
        return float(chosen), {f"{w:.1f}": round(g, 4) for w, g in gini.items()}

    ANCHOR_FEATURE = "btyd_expected_value"

    def anchor_level(self, X_val, X_score) -> ValueModel:
        """Carry the currency level from the latest snapshot to the scored one the way BG/NBD x Gamma-Gamma moves.

        The calibration sets the level on the latest snapshot, one horizon before the cutoff; by the cutoff every
        customer is a horizon older, and a cohort that buys less as it ages (CDNOW) or a shop that grows moves
        the level. Trees cannot extrapolate age, while BG/NBD models it: the predicted total on the scored
        population is set to move from the latest snapshot's by the same factor as BG/NBD's predicted total
        (both at the learned horizon, so before any horizon shift). One constant for the whole bundle, fitted
        at training time: a customer's score still depends on nobody else in its batch.
        """
        if self.ANCHOR_FEATURE not in self.feature_names_:
            return self
        c0, c1 = self.calibration_
        pred = {k: np.exp(c0 + c1 * self._raw_margin(X)).sum() for k, X in (("validation", X_val), ("score", X_score))}
        btyd = {k: _column(X, self.ANCHOR_FEATURE).sum() for k, X in (("validation", X_val), ("score", X_score))}
        if min(*pred.values(), *btyd.values()) <= 0:
            return self
        self.anchor_ = float(
            np.clip(
                math.log((btyd["score"] / btyd["validation"]) / (pred["score"] / pred["validation"])),
                -ANCHOR_LIMIT,
                ANCHOR_LIMIT,
            )
        )
        self.validation_["anchor"] = round(self.anchor_, 4)
        return self

    def _offset_gini(self, X_val, y_val: np.ndarray) -> dict[str, float]:
        """Validation Gini of each offset feature and of the blend (for the record; nothing is chosen by it)."""
        gini = {c: round(normalized_gini(y_val, _column(X_val, c)), 3) for c in self.offset_features}
        off = self._offset(X_val)
        return gini | ({"blend": round(normalized_gini(y_val, off), 3)} if off is not None else {})

    def _shift(self, X, calibrated: np.ndarray) -> np.ndarray:
        return self.shift_.value_log_ratio(X) if self.shift_ is not None else np.zeros(len(calibrated))

    def link(self, margin: np.ndarray) -> np.ndarray:
        return np.exp(np.minimum(margin, 700.0))

    def predict(self, X) -> np.ndarray:
        return self.link(self.margin(X))

    def interval(self, predicted: np.ndarray, X=None, churn=None) -> tuple[np.ndarray, np.ndarray]:
        """80% interval around each prediction (the stored ratio quantiles of the latest snapshot).

        Bins are defined on the prediction over the learned horizon; with a horizon shift (``X`` needed)
        the interval is found there and scaled like the prediction. With ``churn`` (the churn model's
        probabilities) and cells fitted by ``condition_interval``, the cell of value bin x churn band is used
        where it had enough customers, the bin otherwise.
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
            has = np.isfinite(c_lo) & np.isfinite(c_hi)
            low, high = np.where(has, c_lo, low), np.where(has, c_hi, high)
        return p * low, p * high

    def condition_interval(self, X_val, y_val, churn_val) -> ValueModel:
        """Refit the interval on the latest snapshot in cells of value bin x churn band (``_ratio_intervals``)."""
        c0, c1 = self.calibration_
        pred_val = np.exp(c0 + c1 * self._raw_margin(X_val))
        self.interval_ = _ratio_intervals(
            pred_val, np.asarray(y_val, float), self.INTERVAL_BINS, self.INTERVAL, churn=churn_val
        )
        return self

    def _attrs(self) -> dict:
        return super()._attrs() | {"value_objective": self.objective_, "interval": json.dumps(self.interval_)}

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
        m._load_attrs()
        m.interval_ = json.loads(m.booster_.attr("interval") or "null")
        return m


def _power(objective: str) -> float | None:
    try:
        p = float(objective.split(":", 1)[1])
    except (IndexError, ValueError):
        return None
    return p if 1.0 < p < 2.0 else None


def _ratio_intervals(
    pred: np.ndarray, y: np.ndarray, bins: int, q: tuple[float, float], churn: np.ndarray | None = None
) -> dict:
    """Split-conformal intervals: in each bin of the prediction (equal counts), quantiles of actual / predicted.

    The lower end is the q[0]-quantile; the upper end is the quantile ``coverage`` above the share strictly below
    the lower end. With many customers spending nothing the lower end is 0 for a whole bin, and an equal-tailed
    interval would then cover 90% rather than 80%: this keeps the coverage at q[1] - q[0] either way.

    With ``churn`` (each customer's calibrated P(no purchase)) every bin is split further by CHURN_BANDS
    (Mondrian conformal: the same rule inside each cell of value bin x churn band, cells of fewer than
    MIN_INTERVAL_CELL customers fall back to their bin). Why: a bin of high predictions mixes customers who will
    almost surely buy with ones who may not, and its 10% quantile is 0, so a VIP at 1% churn risk read
    "$0 to $3,801"; inside the low-churn cell fewer than 10% spend nothing and the lower end is a real amount.
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
    return out


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


class ChurnModel(_XGBModel):
    """Probability of no purchase in the horizon: a bag of binary logistic boosters, Platt-calibrated on the latest
    snapshot.

    Like the value model, the trees boost from the classic model: BG/NBD's P(no order in the horizon), on the logit
    scale.
    """

    OFFSET_FEATURES = ("btyd_p_no_order",)

    @staticmethod
    def _offset_from(values: np.ndarray) -> np.ndarray:
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


def value_metrics(actual, predicted) -> dict:
    actual, predicted = np.asarray(actual, float), np.asarray(predicted, float)
    rho = spearmanr(actual, predicted).statistic if np.ptp(actual) > 0 and np.ptp(predicted) > 0 else float("nan")
    return {
        "normalized_gini": float(normalized_gini(actual, predicted)),
        "spearman": float(rho),
        "mae": float(np.mean(np.abs(actual - predicted))),
        "rmse": float(math.sqrt(np.mean((actual - predicted) ** 2))),
        "mean_actual": float(actual.mean()),
        "mean_predicted": float(predicted.mean()),
        "n": int(len(actual)),
    }


def churn_metrics(actual, prob) -> dict:
    actual, prob = np.asarray(actual), np.asarray(prob, float)
    if len(np.unique(actual)) < 2:
        return {
            "roc_auc": float("nan"),
            "pr_auc": float("nan"),
            "churn_rate": float(actual.mean()),
            "n": int(len(actual)),
        }
    return {
        "roc_auc": float(roc_auc_score(actual, prob)),
        "pr_auc": float(average_precision_score(actual, prob)),
        "churn_rate": float(actual.mean()),
        "mean_predicted": float(prob.mean()),
        "n": int(len(actual)),
    }


def booster_json(model: _XGBModel) -> str:
    """The booster as XGBoost JSON text (for fingerprints and tests)."""
    return json.dumps(json.loads(model._check_fitted().save_raw("json").decode()), sort_keys=True)
