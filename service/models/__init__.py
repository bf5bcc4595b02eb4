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

Modules, in the order the data flows: ``matrices`` (frames or ``DaskMatrix``: train, predict, read a column),
``boosters`` (bag averaging and leaf scaling in the JSON model), ``horizon`` (``HorizonShift``), ``base``
(``BaggedXGBModel``: what both models share), ``intervals`` (the value model's conformal intervals), ``metrics``,
``value`` (``ValueModel``) and ``churn`` (``ChurnModel``). Import from ``service.models``; the names below are
its public surface. Constants are re-exported for reading; to patch one, patch the module that reads it
(``service.models.base.SHAP_BATCH_ROWS``); ``BASE_PARAMS`` is one dict, so changing its items works from either.
"""

from service.models.base import BASE_PARAMS, MONOTONE_TOLERANCE, SHAP_BATCH_ROWS, VALUE_MONOTONE, booster_json
from service.models.boosters import average_boosters
from service.models.churn import ChurnModel
from service.models.horizon import SHIFT_FEATURE, HorizonShift
from service.models.intervals import CHURN_BANDS, MIN_INTERVAL_CELL
from service.models.matrices import DaskMatrix, rows_of
from service.models.metrics import churn_metrics, value_metrics
from service.models.value import ANCHOR_LIMIT, ValueModel

__all__ = [
    "ANCHOR_LIMIT",
    "BASE_PARAMS",
    "CHURN_BANDS",
    "MIN_INTERVAL_CELL",
    "MONOTONE_TOLERANCE",
    "SHAP_BATCH_ROWS",
    "SHIFT_FEATURE",
    "VALUE_MONOTONE",
    "ChurnModel",
    "DaskMatrix",
    "HorizonShift",
    "ValueModel",
    "average_boosters",
    "booster_json",
    "churn_metrics",
    "rows_of",
    "value_metrics",
]
