"""The models of a report, one class each, all with the same two calls:

    model.fit(calibration)          # sees only the calibration tables (every row at or before the cutoff)
    model.predict(customer_ids)     # -> Prediction: value over the horizon, churn probabilities (optional)

- ``PastSpend``: each customer keeps spending at their calibration-period rate.
- ``RFMLookup``: quintile R/F/M scores (service.tiers.RFMSegmenter); the mean spend and churn rate of
  each RFM cell, learned on an earlier window inside the calibration period.
- ``BGNBDGammaGamma``: BG/NBD purchases x Gamma-Gamma spend, PyMC-Marketing's clv module, MAP fits;
  churn as P(no purchase in the horizon). (Not 1 - P(alive): P(alive) is 1 for every one-time buyer, so
  it ranks them as the safest customers; the mean P(alive) is kept as information only.)
- ``SnapshotXGBoost``: the product's own training (service.pipeline.train) on the calibration tables,
  with text sources (the product) or without (the tabular-only baseline), scored the product's way
  (service.pipeline.predict_tables).

The ``Calibration`` object is built by the backtest from tables already cut at the cutoff, so no
model can see the holdout, whatever it does inside. Models with ``learned = True`` depend on their
training seed (``Calibration.seed``); the backtest fits them once per seed.

``Calibration``, ``Prediction`` and ``Baseline`` are defined in ``eval.model_interface`` and ``BGNBDGammaGamma`` in
``eval.bgnbd``; all four can be imported from here too.
"""

from __future__ import annotations

import tempfile
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from eval.bgnbd import BGNBDGammaGamma
from eval.model_interface import Baseline, Calibration, Prediction
from service.features import FeatureBuilder
from service.pipeline import Reporter, TrainOptions, predict_tables, train
from service.tiers import RFMSegmenter

# --------------------------------------------------------------------------- (a) past spend repeats


class PastSpend(Baseline):
    key = "past_spend"
    label = "Past spend repeats"
    description = "calibration spend per day x horizon (the same rate again)"

    def fit(self, cal: Calibration) -> PastSpend:
        p = cal.purchases
        days = max((cal.cutoff - cal.start).total_seconds() / 86400.0, 1.0)
        self.rate_ = p.groupby("customer_id")["amount"].sum() / days * cal.horizon_days
        return self

    def predict(self, customer_ids) -> Prediction:
        return Prediction(self.rate_.reindex(pd.Index(customer_ids)).fillna(0.0).to_numpy(dtype=float))


# --------------------------------------------------------------------------- (b) RFM


class RFMLookup(Baseline):
    """RFM cells -> mean future spend and churn rate, learned one training horizon earlier.

    At ``cutoff - h`` (h: ``Calibration.train_horizon_days``, the horizon itself when the history allows)
    customers get quintile R, F and M scores; the mean spend in ``(cutoff - h, cutoff]`` and the share
    without a purchase are recorded per cell (R, F, M). At the cutoff, each customer gets their cell's
    numbers (the spend scaled by horizon / h; the churn rate is for h days); cells with fewer than
    ``min_count`` customers fall back to the cell of the summed score R + F + M, then to everyone.
    """

    key = "rfm"
    label = "RFM cells"
    description = "quintile R/F/M cell -> mean spend one horizon later (learned inside calibration)"

    def __init__(self, min_count: int = 30):
        self.min_count = min_count

    def _scored(self, snap: pd.DataFrame) -> pd.DataFrame:
        seg = RFMSegmenter().fit(snap)
        s = seg.transform(snap)
        return pd.DataFrame(
            {
                "customer_id": snap["customer_id"].to_numpy(),
                "r": s["rfm_r"].to_numpy(),
                "f": s["rfm_f"].to_numpy(),
                "m": s["rfm_m"].to_numpy(),
                "future_value": snap["future_value"].to_numpy(),
                "churn": snap["churn"].to_numpy(),
            }
        )

    def fit(self, cal: Calibration) -> RFMLookup:
        h = cal.train_horizon_days
        fb = FeatureBuilder(cal.loaded.tables, threads=cal.threads)
        past = self._scored(fb.snapshot(cal.cutoff - timedelta(days=h), h))
        self.now_ = self._scored(fb.snapshot(cal.cutoff, h)).set_index("customer_id")
        fb.close()
        past["score"] = past["r"] + past["f"] + past["m"]
        self.cells_ = past.groupby(["r", "f", "m"]).agg(
            value=("future_value", "mean"), churn=("churn", "mean"), n=("churn", "size")
        )
        self.sums_ = past.groupby("score").agg(
            value=("future_value", "mean"), churn=("churn", "mean"), n=("churn", "size")
        )
        self.all_ = (float(past["future_value"].mean()), float(past["churn"].mean()))
        self.scale_ = cal.horizon_days / h
        self.train_horizon_ = h
        return self

    def predict(self, customer_ids) -> Prediction:
        now = self.now_.reindex(pd.Index(customer_ids))
        key = pd.MultiIndex.from_arrays([now["r"].fillna(1), now["f"].fillna(1), now["m"].fillna(1)])
        cells = self.cells_.reindex(key)
        sums = self.sums_.reindex((now["r"] + now["f"] + now["m"]).fillna(3).to_numpy())
        out = {}
        for col, overall in zip(("value", "churn"), self.all_):
            v = np.where(cells["n"].to_numpy() >= self.min_count, cells[col].to_numpy(), np.nan)
            v = np.where(np.isnan(v) & (sums["n"].to_numpy() >= self.min_count), sums[col].to_numpy(), v)
            out[col] = np.where(np.isnan(v), overall, v)
        return Prediction(
            out["value"] * self.scale_,
            {"RFM cell churn rate": out["churn"]},
            info={"train_horizon_days": self.train_horizon_, "value_scale": self.scale_},
        )


# --------------------------------------------------------------------------- (d, e) the product's XGBoost


class _Nested(Reporter):
    """Inside one harness stage: the product's own stages stay silent, its progress bars (embedding) show."""

    def __init__(self, outer: Reporter | None):
        self.outer = outer or Reporter()

    @contextmanager
    def stage(self, name: str):
        yield

    def progress(self, name: str, total: int):
        return self.outer.progress(name, total)


class SnapshotXGBoost(Baseline):
    """The product's training and scoring, on the calibration tables only.

    ``service.pipeline.train`` with cutoff = the calibration cutoff and the requested horizon (the product
    chooses the training snapshots the history allows, inside ``train``); scoring is
    ``service.pipeline.predict_tables`` on the same tables, the numbers ``score_tables`` stores. Optional
    prediction columns (``value_low``/``value_high``: the 80% interval, ``next_order_days``) are used when
    the bundle provides them. Learned: the backtest fits it once per seed.
    """

    learned = True
    OPTIONAL = ("value_low", "value_high", "expected_orders", "next_order_days", "historic_value")

    def __init__(
        self, text_sources: tuple[str, ...] = ("review", "browse"), key: str | None = None, label: str | None = None
    ):
        self.text_sources = tuple(text_sources)
        self.key = key or ("product" if text_sources else "xgb_tabular")
        self.label = label or ("Product: XGBoost + text" if text_sources else "XGBoost, tabular only")
        self.description = (
            "XGBoost value + churn on tabular and " + " and ".join(f"{s} text" for s in text_sources) + " features"
            if text_sources
            else "XGBoost value + churn on tabular features"
        )

    def fit(self, cal: Calibration) -> SnapshotXGBoost:
        self.cal_ = cal
        opts = TrainOptions(
            cutoff=cal.cutoff.isoformat(),
            horizon_days=cal.horizon_days,
            seed=cal.seed,
            text_sources=self.text_sources,
            n_threads=cal.threads,
        )
        with tempfile.TemporaryDirectory(dir=cal.workdir) as tmp:
            encoder = cal.encoder if self.text_sources else None
            if self.text_sources and encoder is None:
                from service.pipeline import make_encoder

                encoder = make_encoder(None, None)
            self.encoder_ = encoder
            result = train(cal.loaded, Path(tmp) / "bundle", opts, reporter=_Nested(cal.reporter), encoder=encoder)
        self.bundle_ = result.bundle
        self.sources_ = tuple(result.bundle.text.sources)
        return self

    def predict(self, customer_ids) -> Prediction:
        cal, b = self.cal_, self.bundle_
        frame = predict_tables(
            b,
            cal.loaded,
            cal.cutoff,
            encoder=self.encoder_ if self.sources_ else None,
            reporter=_Nested(cal.reporter),
            threads=cal.threads,
        )
        frame = frame.set_index("customer_id").reindex(pd.Index(customer_ids))
        m = b.metrics
        training = {
            k: v
            for k, v in b.config.items()
            if k not in ("vectorizer", "embedding_model_arg") and not isinstance(v, dict)
        }
        info = {
            "objective": m.get("value_objective"),
            "text_sources": list(self.sources_),
            "features": len(b.feature_names),
            "validation": {"value": m.get("value"), "churn": m.get("churn")},
            "n_fit": m.get("n_fit"),
            "n_validation": m.get("n_validation"),
            "training": training,
            "optional_outputs": [c for c in self.OPTIONAL if c in frame.columns],
        }
        opt = {c: frame[c].to_numpy(dtype=float) if c in frame.columns else None for c in self.OPTIONAL}
        low, high = opt["value_low"], opt["value_high"]
        if low is not None and high is not None:  # a customer the product did not score has no interval: [0, 0]
            low, high = np.nan_to_num(low, nan=0.0), np.nan_to_num(high, nan=0.0)
        else:
            low = high = None
        return Prediction(
            frame["predicted_value"].fillna(0.0).to_numpy(dtype=float),
            {self.label: frame["churn_probability"].fillna(1.0).to_numpy(dtype=float)},
            info=info,
            low=low,
            high=high,
            next_days=opt["next_order_days"],
        )


def default_models(text_sources: tuple[str, ...]) -> list[Baseline]:
    """The report's models, baselines first; the product last (when a dataset has no text it is the tabular model)."""
    models: list[Baseline] = [PastSpend(), RFMLookup(), BGNBDGammaGamma(), SnapshotXGBoost(())]
    if text_sources:
        models.append(SnapshotXGBoost(tuple(text_sources)))
    return models
