"""XGBoost estimators for future value and churn, scikit-learn style: fit / predict / contributions.

Both models are trained time-aware: ``fit`` takes a training snapshot and a *later* validation
snapshot (features at cutoff - horizon, targets observed up to cutoff); early stopping and the
choice of objective use the later snapshot, then the model is refitted on both with the chosen
number of rounds so the most recent behaviour is learned too.

Where the design matrices live decides how a model trains: pandas frames train in-process
(``xgboost.train``); ``DaskMatrix`` blocks spread over a Dask cluster train with ``xgboost.dask``.
The objective selection, early stopping and refit are the same code for both, and either way the
result is one ordinary Booster, saved in the same bundle format.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.metrics import average_precision_score, roc_auc_score
from scipy.stats import spearmanr

from service.metrics import normalized_gini

BASE_PARAMS = {
    "tree_method": "hist",
    "max_depth": 5,
    "learning_rate": 0.05,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "min_child_weight": 5,
    "reg_lambda": 1.0,
}


# SHAP values are computed this many rows at a time: a (rows x features) float32 DMatrix plus the
# (rows x features + 1) output per batch, so memory stays bounded at millions of customers.
SHAP_BATCH_ROWS = 50_000


def _dmatrix(X: pd.DataFrame, y=None) -> xgb.DMatrix:
    return xgb.DMatrix(X.to_numpy(dtype=np.float32), label=None if y is None else np.asarray(y, dtype=np.float32),
                       feature_names=list(X.columns), missing=np.nan)


@dataclass
class DaskMatrix:
    """A design matrix spread over a Dask cluster: float32 row blocks of known lengths, plus the column names.

    ``ValueModel`` / ``ChurnModel`` accept it wherever they accept a DataFrame: ``fit`` then trains with
    ``xgboost.dask`` on the cluster of ``client``, ``predict`` predicts on the workers and returns numpy.
    Targets stay numpy arrays on the driver (one number per customer) and are chunked like the rows.
    """

    data: object  # dask.array.Array, shape (n, len(columns)), float32
    columns: list[str]
    client: object  # distributed.Client

    def __len__(self) -> int:
        return int(self.data.shape[0])

    def __getitem__(self, columns: list[str]) -> "DaskMatrix":
        idx = [self.columns.index(c) for c in columns]
        return DaskMatrix(self.data[:, idx], list(columns), self.client)

    def label(self, y) -> object:
        import dask.array as da

        return da.from_array(np.asarray(y, dtype=np.float32), chunks=(self.data.chunks[0],))


def _concat_rows(X, X_val):
    if isinstance(X, DaskMatrix):
        import dask.array as da

        return DaskMatrix(da.concatenate([X.data, X_val.data], axis=0), X.columns, X.client)
    return pd.concat([X, X_val], ignore_index=True)


def _booster_train(params: dict, X, y, num_boost_round: int, X_val=None, y_val=None, early_stopping_rounds: int | None = None) -> xgb.Booster:
    """xgboost.train in-process for frames; xgboost.dask.train on the cluster for DaskMatrix (same params, same rounds)."""
    if isinstance(X, DaskMatrix):
        from xgboost import dask as dxgb

        params = {k: v for k, v in params.items() if k != "nthread"}  # each worker uses its own threads
        dm = lambda M, t: dxgb.DaskDMatrix(M.client, M.data, M.label(t), feature_names=M.columns, missing=np.nan)  # noqa: E731
        evals = [(dm(X_val, y_val), "valid")] if X_val is not None else None
        out = dxgb.train(X.client, params, dm(X, y), num_boost_round=num_boost_round, evals=evals,
                         early_stopping_rounds=early_stopping_rounds, verbose_eval=False)
        return out["booster"]
    evals = [(_dmatrix(X_val, y_val), "valid")] if X_val is not None else ()
    return xgb.train(params, _dmatrix(X, y), num_boost_round=num_boost_round, evals=evals,
                     early_stopping_rounds=early_stopping_rounds, verbose_eval=False)


def _inplace_predict(booster: xgb.Booster, X, iteration_range=(0, 0), predict_type: str = "margin") -> np.ndarray:
    """In-place prediction (no DMatrix copy; margin by default): on the workers for a DaskMatrix, here for a frame."""
    if isinstance(X, DaskMatrix):
        from xgboost import dask as dxgb

        pred = dxgb.inplace_predict(X.client, booster, X.data, iteration_range=iteration_range,
                                    predict_type=predict_type, missing=np.nan)
        return np.asarray(X.client.compute(pred).result())
    return booster.inplace_predict(X.to_numpy(dtype=np.float32), iteration_range=iteration_range,
                                   predict_type=predict_type, missing=np.nan)


@dataclass
class _Fitted:
    booster: xgb.Booster
    best_rounds: int
    validation: dict = field(default_factory=dict)


class _XGBModel:
    """Shared training loop: early stopping on the later snapshot, then refit on both snapshots."""

    def __init__(self, seed: int = 0, n_threads: int = 2, max_rounds: int = 2000, early_stopping_rounds: int = 50, params: dict | None = None):
        self.seed = seed
        self.n_threads = n_threads
        self.max_rounds = max_rounds
        self.early_stopping_rounds = early_stopping_rounds
        self.params = {**BASE_PARAMS, **(params or {})}
        self.booster_: xgb.Booster | None = None
        self.feature_names_: list[str] = []

    def _train(self, params: dict, X, y, X_val, y_val) -> _Fitted:
        p = {**self.params, **params, "seed": self.seed, "nthread": self.n_threads}
        booster = _booster_train(p, X, y, self.max_rounds, X_val, y_val, early_stopping_rounds=self.early_stopping_rounds)
        return _Fitted(booster, booster.best_iteration + 1)

    def _refit(self, params: dict, X, y, X_val, y_val, rounds: int) -> xgb.Booster:
        p = {**self.params, **params, "seed": self.seed, "nthread": self.n_threads}
        y_all = np.concatenate([np.asarray(y), np.asarray(y_val)])
        return _booster_train(p, _concat_rows(X, X_val), y_all, rounds)

    def _check_fitted(self):
        if self.booster_ is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted")

    def _check_columns(self, X):
        if list(X.columns) != self.feature_names_:
            missing = sorted(set(self.feature_names_) - set(X.columns))
            raise ValueError(f"feature columns do not match the model (missing: {missing[:5]}, order or extras differ)")

    def margin(self, X) -> np.ndarray:
        """Margin for a frame (here) or a DaskMatrix (on its workers), by in-place prediction."""
        self._check_fitted()
        self._check_columns(X)
        return _inplace_predict(self.booster_, X)

    def contributions(self, X: pd.DataFrame) -> np.ndarray:
        """Per-feature SHAP values in margin space, shape (n, n_features + 1); the last column is the bias.

        Computed SHAP_BATCH_ROWS rows at a time (TreeSHAP is per row, so batching changes no value).
        """
        self._check_fitted()
        self._check_columns(X)
        n = len(X)
        if n <= SHAP_BATCH_ROWS:
            return self.booster_.predict(_dmatrix(X), pred_contribs=True)
        out = np.empty((n, len(self.feature_names_) + 1), dtype=np.float32)
        for start in range(0, n, SHAP_BATCH_ROWS):
            out[start:start + SHAP_BATCH_ROWS] = self.booster_.predict(_dmatrix(X.iloc[start:start + SHAP_BATCH_ROWS]), pred_contribs=True)
        return out

    def link(self, margin: np.ndarray) -> np.ndarray:
        """Margin -> prediction scale (currency for value, probability for churn)."""
        raise NotImplementedError

    def save(self, path) -> None:
        """XGBoost JSON; attributes set at fit time (objective, smearing) travel inside it."""
        self._check_fitted()
        self.booster_.save_model(str(path))


class ValueModel(_XGBModel):
    """Expected spend over the horizon.

    The target is zero for most customers and heavy-tailed for the rest. Two objectives suit that:
    Tweedie (a compound Poisson-gamma likelihood with a log link: models the mass at zero and the
    long tail together, and its predictions are means, so sums by segment stay calibrated) and a
    squared error on log1p(spend) (robust to whales, but predicts a geometric mean, so it needs
    Duan's smearing factor to return to a mean). Which one ranks customers better depends on the
    data, so ``objective="auto"`` fits both and keeps the one with the higher normalized Gini on the
    later (validation) snapshot; ties go to Tweedie for its calibration.
    """

    OBJECTIVES = {
        "tweedie": {"objective": "reg:tweedie", "tweedie_variance_power": 1.3, "eval_metric": "tweedie-nloglik@1.3"},
        "log_target": {"objective": "reg:squarederror", "eval_metric": "rmse"},
    }

    def __init__(self, objective: str = "auto", **kwargs):
        super().__init__(**kwargs)
        if objective != "auto" and objective not in self.OBJECTIVES:
            raise ValueError(f"objective must be 'auto' or one of {list(self.OBJECTIVES)}, got {objective!r}")
        self.objective = objective
        self.objective_: str | None = None
        self.smearing_: float = 1.0
        self.selection_: dict[str, dict] = {}
        self.validation_: dict = {}

    @staticmethod
    def _target(objective: str, y: np.ndarray) -> np.ndarray:
        return np.log1p(y) if objective == "log_target" else y

    def _predict_with(self, objective: str, margin: np.ndarray, smearing: float) -> np.ndarray:
        if objective == "log_target":
            return np.maximum(smearing * np.exp(margin) - 1.0, 0.0)
        return np.exp(margin)

    def fit(self, X: pd.DataFrame, y, X_val: pd.DataFrame, y_val) -> "ValueModel":
        y, y_val = np.asarray(y, dtype=np.float64), np.asarray(y_val, dtype=np.float64)
        if (y < 0).any() or (y_val < 0).any() or not np.isfinite(y).all():
            raise ValueError("value target must be finite and non-negative")
        self.feature_names_ = list(X.columns)
        candidates = list(self.OBJECTIVES) if self.objective == "auto" else [self.objective]
        fitted: dict[str, _Fitted] = {}
        for name in candidates:
            f = self._train(self.OBJECTIVES[name], X, self._target(name, y), X_val, self._target(name, y_val))
            smear = 1.0
            if name == "log_target":
                m_train = _inplace_predict(f.booster, X, iteration_range=(0, f.best_rounds))
                smear = float(np.mean(np.exp(np.log1p(y) - m_train)))
            m_val = _inplace_predict(f.booster, X_val, iteration_range=(0, f.best_rounds))
            pred = self._predict_with(name, m_val, smear)
            f.validation = value_metrics(y_val, pred) | {"rounds": f.best_rounds, "smearing": smear}
            fitted[name] = f
        self.selection_ = {k: v.validation for k, v in fitted.items()}
        best = max(candidates, key=lambda k: (round(fitted[k].validation["normalized_gini"], 3), k == "tweedie"))
        self.objective_ = best
        self.validation_ = fitted[best].validation
        self.smearing_ = fitted[best].validation["smearing"]
        self.booster_ = self._refit(self.OBJECTIVES[best], X, self._target(best, y), X_val, self._target(best, y_val), fitted[best].best_rounds)
        self.booster_.set_attr(value_objective=best, smearing=repr(self.smearing_))
        return self

    def link(self, margin: np.ndarray) -> np.ndarray:
        return self._predict_with(self.objective_, margin, self.smearing_)

    def predict(self, X) -> np.ndarray:
        return self.link(self.margin(X))

    @classmethod
    def load(cls, path) -> "ValueModel":
        m = cls()
        m.booster_ = xgb.Booster(model_file=str(path))
        m.feature_names_ = list(m.booster_.feature_names or [])
        m.objective_ = m.booster_.attr("value_objective")
        if m.objective_ not in cls.OBJECTIVES:
            raise ValueError(f"{path}: not a value model booster (objective attribute {m.objective_!r})")
        m.smearing_ = float(m.booster_.attr("smearing") or 1.0)
        return m


class ChurnModel(_XGBModel):
    """Probability of no purchase in the horizon (binary logistic, early stopping on log-loss)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validation_: dict = {}

    def fit(self, X: pd.DataFrame, y, X_val: pd.DataFrame, y_val) -> "ChurnModel":
        y, y_val = np.asarray(y), np.asarray(y_val)
        if not set(np.unique(y)) <= {0, 1}:
            raise ValueError("churn target must be 0/1")
        self.feature_names_ = list(X.columns)
        params = {"objective": "binary:logistic", "eval_metric": "logloss"}
        f = self._train(params, X, y, X_val, y_val)
        p_val = _inplace_predict(f.booster, X_val, iteration_range=(0, f.best_rounds), predict_type="value")
        self.validation_ = churn_metrics(y_val, p_val) | {"rounds": f.best_rounds}
        self.booster_ = self._refit(params, X, y, X_val, y_val, f.best_rounds)
        self.booster_.set_attr(churn_model="1")
        return self

    def link(self, margin: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-margin))

    def predict_proba(self, X) -> np.ndarray:
        return self.link(self.margin(X))

    @classmethod
    def load(cls, path) -> "ChurnModel":
        m = cls()
        m.booster_ = xgb.Booster(model_file=str(path))
        if m.booster_.attr("churn_model") != "1":
            raise ValueError(f"{path}: not a churn model booster")
        m.feature_names_ = list(m.booster_.feature_names or [])
        return m


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
        return {"roc_auc": float("nan"), "pr_auc": float("nan"), "churn_rate": float(actual.mean()), "n": int(len(actual))}
    return {
        "roc_auc": float(roc_auc_score(actual, prob)),
        "pr_auc": float(average_precision_score(actual, prob)),
        "churn_rate": float(actual.mean()),
        "mean_predicted": float(prob.mean()),
        "n": int(len(actual)),
    }


def booster_json(model: _XGBModel) -> str:
    """The booster as XGBoost JSON text (for fingerprints and tests)."""
    return json.dumps(json.loads(model.booster_.save_raw("json").decode()), sort_keys=True)
