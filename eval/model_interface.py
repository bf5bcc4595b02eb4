"""The interface every model of a backtest implements: what it may see (``Calibration``: the tables cut at the
cutoff), what it returns (``Prediction``), and the two calls (``Baseline.fit``, ``Baseline.predict``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from service.pipeline import Reporter
from service.tables import NON_SPEND_STATUSES, LoadedData


@dataclass
class Calibration:
    """What a model may see: tables cut at ``cutoff``, the horizon to predict, and the horizon the RFM cells learn
    (the product chooses its own training horizon inside ``service.pipeline.train``)."""

    loaded: LoadedData
    cutoff: pd.Timestamp
    horizon_days: int
    train_horizon_days: int  # RFM cells: the longest horizon the history allows, at most the horizon
    seed: int = 0
    threads: int = 2
    encoder: object | None = None  # text encoder shared by the product variants (cached)
    reporter: Reporter | None = None
    workdir: Path | None = None

    def __post_init__(self):
        for name, ts in (("orders", "order_ts"), ("reviews", "review_ts"), ("events", "event_ts")):
            t = self.loaded.tables[name]
            if len(t) and (t[ts] > self.cutoff).any():
                raise AssertionError(f"calibration table {name} has rows after the cutoff {self.cutoff}")

    @property
    def purchases(self) -> pd.DataFrame:
        o = self.loaded.tables["orders"]
        return o[~o["status"].str.lower().isin(NON_SPEND_STATUSES)]

    @property
    def start(self) -> pd.Timestamp:
        return self.loaded.tables["orders"]["order_ts"].min()


@dataclass
class Prediction:
    """Per customer (in the order asked): value over the horizon; optional churn probabilities (no purchase in the
    horizon), an 80% value interval, and the expected days from the cutoff to the next order."""

    value: np.ndarray
    churn: dict[str, np.ndarray] = field(default_factory=dict)  # label -> probability of no purchase in the horizon
    info: dict = field(default_factory=dict)
    low: np.ndarray | None = None  # 80% interval of the value
    high: np.ndarray | None = None
    next_days: np.ndarray | None = None  # expected days from the cutoff to the next order


class Baseline:
    key = "baseline"
    label = "baseline"
    description = ""
    learned = False  # True: the fit depends on Calibration.seed, and the backtest refits it once per seed

    def fit(self, cal: Calibration) -> Baseline:
        raise NotImplementedError

    def predict(self, customer_ids) -> Prediction:
        raise NotImplementedError
