"""Where a design matrix lives: a pandas frame (trained and predicted in-process) or a ``DaskMatrix`` spread over a
Dask cluster (``xgboost.dask``); the helpers here train, predict and read columns the same way for either."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb


def to_dmatrix(X: pd.DataFrame, y=None) -> xgb.DMatrix:
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


def train_booster(
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
        d = to_dmatrix(M, t)
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


def column_values(X, name: str) -> np.ndarray:
    """One column as float64 numpy, from a frame or a DaskMatrix."""
    if isinstance(X, DaskMatrix):
        return np.asarray(X.client.compute(X[[name]].data).result(), dtype=np.float64)[:, 0]
    return X[name].to_numpy(dtype=np.float64)


def inplace_predict(booster: xgb.Booster, X, iteration_range=(0, 0), predict_type: str = "margin") -> np.ndarray:
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
