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
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from service.features import FeatureBuilder
from service.pipeline import Reporter, TrainOptions, predict_tables, train
from service.tables import NON_SPEND_STATUSES, LoadedData
from service.tiers import RFMSegmenter


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


# --------------------------------------------------------------------------- (c) BG/NBD + Gamma-Gamma


@contextmanager
def _quiet_pymc():
    loggers = [logging.getLogger(n) for n in ("pymc", "pytensor", "pymc_marketing", "pymc_extras")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            yield
        finally:
            for lg, lv in zip(loggers, levels):
                lg.setLevel(lv)


class BGNBDGammaGamma(Baseline):
    """BG/NBD (purchases) x Gamma-Gamma (spend per purchase), MAP fits with PyMC-Marketing's default priors.

    Time is counted in ``time_unit`` periods (weeks by default, as in the BTYD literature; several
    purchases in one period count as one, their amounts summed). Gamma-Gamma is fitted on customers
    with at least one repeat purchase and a positive mean repeat spend; everyone else gets the
    population mean spend. Predicted value = expected purchases over the horizon x expected spend.
    Customers with no purchase at all before the cutoff (only returns or cancellations) get 0 and
    churn probability 1 (and a new customer's expected time to a first purchase). The expected days to the
    next purchase are conditional on a purchase within the horizon (``_days_to_next``).
    """

    key = "bgnbd_gg"
    label = "BG/NBD + Gamma-Gamma"
    description = "PyMC-Marketing clv: BetaGeoModel x GammaGammaModel, MAP, weekly periods"

    def __init__(self, time_unit: str = "W"):
        self.time_unit = time_unit

    def fit(self, cal: Calibration) -> BGNBDGammaGamma:
        from pymc_marketing import clv

        p = cal.purchases
        tx = pd.DataFrame(
            {
                "customer_id": p["customer_id"].to_numpy(),
                "date": p["order_ts"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(),
                "amount": p["amount"].to_numpy(),
            }
        )
        end = cal.cutoff.tz_convert("UTC").tz_localize(None)
        with _quiet_pymc():
            rfm = clv.utils.rfm_summary(
                tx,
                "customer_id",
                "date",
                monetary_value_col="amount",
                observation_period_end=end,
                time_unit=self.time_unit,
            )
            self.rfm_ = rfm
            self.bg_ = clv.BetaGeoModel()
            self.bg_.fit(data=rfm[["customer_id", "frequency", "recency", "T"]], method="map", progressbar=False)
            rep = rfm[(rfm["frequency"] > 0) & (rfm["monetary_value"] > 0)]
            self.gg_ = clv.GammaGammaModel()
            self.gg_.fit(data=rep[["customer_id", "frequency", "monetary_value"]], method="map", progressbar=False)
        self.periods_ = cal.horizon_days / (pd.Timedelta(1, self.time_unit).total_seconds() / 86400.0)
        self.params_ = {k: float(v) for k, v in self.bg_.fit_summary().items()} | {
            f"gg_{k}": float(v) for k, v in self.gg_.fit_summary().items()
        }
        return self

    GRID = 48  # points of the horizon on which P(no purchase in t) is evaluated for the time to the next purchase

    def predict(self, customer_ids) -> Prediction:
        ids = pd.Index(customer_ids)
        rfm = self.rfm_
        mean = lambda da: da.mean(("chain", "draw")).values  # noqa: E731 - MAP: one draw
        with _quiet_pymc():
            n_buy = mean(self.bg_.expected_purchases(data=rfm, future_t=self.periods_))
            spend = mean(self.gg_.expected_customer_spend(data=rfm))
            alive = mean(self.bg_.expected_probability_alive(data=rfm))
            no_buy = mean(self.bg_.expected_probability_no_purchase(t=self.periods_, data=rfm))
        ts = np.linspace(0.0, self.periods_, self.GRID + 1)
        no_buy_t = self._p_no_purchase(rfm, ts)
        if not np.allclose(no_buy_t[-1], no_buy, rtol=1e-6, atol=1e-9):  # the grid must be PyMC-Marketing's own formula
            raise AssertionError("BG/NBD P(no purchase) on the grid differs from pymc_marketing's")
        frame = pd.DataFrame(
            {"value": n_buy * spend, "no_buy": no_buy, "next_days": self._days_to_next(ts, no_buy_t)},
            index=rfm["customer_id"].to_numpy(),
        ).reindex(ids)
        # customers without a purchase before the cutoff (only returns or cancellations): a new customer's time to a
        # first purchase (frequency 0, recency 0, T 0), so that every holdout buyer has a next-order prediction
        new = pd.DataFrame({"frequency": [0.0], "recency": [0.0], "T": [0.0]})
        frame["next_days"] = frame["next_days"].fillna(float(self._days_to_next(ts, self._p_no_purchase(new, ts))[0]))
        info = {
            "params": self.params_,
            "customers_fitted": int(len(rfm)),
            "mean_p_alive": float(np.mean(alive)),
            "next_order_days": "E[days from the cutoff to the next purchase | a purchase within the horizon]",
        }
        return Prediction(
            frame["value"].fillna(0.0).to_numpy(),
            {"BG/NBD P(no purchase in horizon)": frame["no_buy"].fillna(1.0).to_numpy()},
            info=info,
            next_days=frame["next_days"].to_numpy(),
        )

    def _p_no_purchase(self, rfm: pd.DataFrame, ts: np.ndarray) -> np.ndarray:
        """P(no purchase in (T, T + t]) for each t in ``ts`` (rows) and customer (columns): the formula of
        ``BetaGeoModel.expected_probability_no_purchase`` (Hardie's note 039, eq. 34) at the MAP parameters, vectorised
        over t (the library takes one t per call)."""
        from scipy.special import betaln

        idata = self.bg_.idata
        assert idata is not None  # fitted
        # MAP: one draw (fit_summary rounds the parameters). arviz adds its groups (posterior, ...) as attributes
        # at run time, which mypy cannot see.
        post = idata.posterior  # type: ignore[attr-defined]
        a, b, alpha, r = (float(post[k].mean(("chain", "draw"))) for k in ("a", "b", "alpha", "r"))
        x, t_x, T = (rfm[c].to_numpy(dtype=float)[None, :] for c in ("frequency", "recency", "T"))
        t = np.asarray(ts, dtype=float)[:, None]
        E, F, Mm = alpha + t_x, alpha + T + t, alpha + T
        beta_rep = betaln(a, b + x)
        K_E = betaln(a + 1, b + x - 1) - (r + x) * np.log(E)
        K_F = beta_rep - (r + x) * np.log(F)
        K_M = beta_rep - (r + x) * np.log(Mm)
        K1, K2 = np.maximum(K_E, K_F), np.maximum(K_E, K_M)
        return np.exp(K1 - K2) * (np.exp(K_E - K1) + np.exp(K_F - K1)) / (np.exp(K_E - K2) + np.exp(K_M - K2))

    def _days_to_next(self, ts: np.ndarray, no_buy_t: np.ndarray) -> np.ndarray:
        """Expected time to the next purchase given one within the horizon H: with F(t) = 1 - P(no purchase in t),
        E[T | T <= H] = H - integral_0^H F(t) dt / F(H) (trapezoid rule on ``ts``), in days. BG/NBD's unconditional
        expectation is infinite (a customer may have dropped out), so this is the quantity to set against the
        customers who do buy in the holdout; it uses the knowledge that they buy, which the product's does not."""
        F = 1.0 - no_buy_t
        FH = F[-1]
        if hasattr(np, "trapezoid"):
            integral = np.trapezoid(F, ts, axis=0)
        else:  # numpy < 2, whose trapz numpy 2's type stubs no longer know
            integral = np.trapz(F, ts, axis=0)  # type: ignore[attr-defined]
        H = ts[-1]
        periods = np.where(FH > 1e-12, H - integral / np.maximum(FH, 1e-12), H / 2)
        return periods * pd.Timedelta(1, self.time_unit).total_seconds() / 86400.0


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
