"""The BG/NBD + Gamma-Gamma baseline (PyMC-Marketing's clv module, MAP fits): expected purchases x expected spend
over the horizon, P(no purchase in the horizon) as churn, and the expected days to the next purchase."""

from __future__ import annotations

import logging
import warnings
from contextlib import contextmanager

import numpy as np
import pandas as pd

from eval.model_interface import Baseline, Calibration, Prediction


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
