"""Scoring hot paths give exactly what the straightforward code gave: batched SHAP, column-wise profile records."""

import numpy as np
import pandas as pd

from service import models
from service.models import ChurnModel, ValueModel
from service.profiles import _records


def _data(n, seed):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=["a", "b", "c", "d"])
    X.loc[rng.random(n) < 0.2, "c"] = np.nan
    y = np.maximum(0, 10 * X["a"].to_numpy() + rng.normal(size=n) * 3)
    return X, y


def test_shap_in_batches_is_identical_to_one_batch(monkeypatch):
    X, y = _data(300, 0)
    X_val, y_val = _data(200, 1)
    value = ValueModel(objective="tweedie:1.5", max_rounds=30, n_threads=1).fit(X, y, X_val, y_val)
    churn = ChurnModel(max_rounds=30, n_threads=1).fit(X, (y == 0).astype(int), X_val, (y_val == 0).astype(int))
    whole = [m.contributions(X) for m in (value, churn)]
    monkeypatch.setattr(models.base, "SHAP_BATCH_ROWS", 7)  # 300 rows: 42 full batches and a partial one
    batched = [m.contributions(X) for m in (value, churn)]
    for w, b in zip(whole, batched):
        assert b.dtype == w.dtype and b.shape == (300, 5)
        np.testing.assert_array_equal(b, w)


def test_records_equal_the_pandas_records():
    df = pd.DataFrame(
        {
            "x": [1.5, np.nan, 3.25],
            "n": np.array([1, 2, 3], dtype=np.int64),
            "z": [np.nan] * 3,
            "s": ["a", "b", None],
            "f32": np.array([0.1, np.nan, -0.0], dtype=np.float32),  # not in the float64 block: its own column
            "w": [-0.0, np.inf, 1e-300],
        }
    )
    expected = df.astype(object).where(df.notna(), None).to_dict("records")
    got = _records(df)
    assert got == expected
    assert [type(v) for r in got for v in r.values()] == [type(v) for r in expected for v in r.values()]
    assert _records(df.iloc[:0]) == [] and _records(df[[]]) == [{}, {}, {}]
