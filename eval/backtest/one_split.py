"""Running models on one split: every model fitted on the calibration side (learned ones once per seed) and scored
on the evaluation population (``run_split`` -> ``SplitResult`` of ``ModelRun``), and each model's figures over its
seeds (``model_report``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from eval.adapters import Dataset
from eval.backtest.splits import Split, truncate, truth
from eval.metrics import (
    calibration_bins,
    churn_scores,
    interval_report,
    mean_over_seeds,
    next_order_report,
    seed_summary,
    value_report,
)
from eval.model_interface import Baseline, Calibration, Prediction
from service.pipeline import Reporter
from service.tables import DataError

MIN_SPENDERS = 100  # fewer customers with holdout spend than this: the report does not rank the models


@dataclass
class ModelRun:
    """One model on one split: predictions as (seeds x customers) arrays (one row for a deterministic model)."""

    key: str
    label: str
    description: str
    values: np.ndarray
    churn: dict[str, np.ndarray]  # label -> (seeds x customers) probabilities of no purchase in the horizon
    fit_seconds: float  # mean over the seeds' fits
    score_seconds: float
    info: dict = field(default_factory=dict)
    error: str | None = None
    seeds: list[int] = field(default_factory=lambda: [0])
    learned: bool = False
    low: np.ndarray | None = None  # 80% value interval, (seeds x customers)
    high: np.ndarray | None = None
    next_days: np.ndarray | None = None  # expected days to the next order, (seeds x customers)

    @property
    def n_seeds(self) -> int:
        return int(self.values.shape[0])


SEED_METRICS = (
    "normalized_gini",
    "spearman",
    "calibration_ratio",
    "decile_mape",
    "mae",
    "rmse",
    "mean_predicted",
    "mean_actual",
)
CHURN_SEED_METRICS = ("roc_auc", "pr_auc", "brier", "ece", "mean_predicted")


def with_seed_spread(per_seed: list[dict], keys) -> dict:
    """The mean over seeds of every figure (``mean_over_seeds``), with ``sd`` and ``per_seed`` of the main ones beside
    them."""
    out = mean_over_seeds(per_seed)
    summ = {k: seed_summary([r.get(k) for r in per_seed]) for k in keys if k in per_seed[0]}
    out["sd"] = {k: v["sd"] for k, v in summ.items()}
    out["per_seed"] = {k: v["per_seed"] for k, v in summ.items()}
    return out


def model_report(outcome: pd.DataFrame, run: ModelRun) -> dict:
    """Every figure of one model on one split, mean over its seeds (``sd`` and ``per_seed`` beside the main ones):
    ``value`` (eval.metrics.value_report), ``interval`` (80% coverage, when the model gives intervals),
    ``next_order`` (MAE in days over the holdout buyers, when it gives days to the next order)."""
    a = outcome["future_value"].to_numpy()
    rep = {"n_seeds": run.n_seeds, "seeds": list(run.seeds)}
    rep["value"] = with_seed_spread([value_report(a, v) for v in run.values], SEED_METRICS)
    if run.low is not None and run.high is not None:
        rep["interval"] = with_seed_spread(
            [interval_report(a, lo, hi) for lo, hi in zip(run.low, run.high)],
            ("coverage", "coverage_spenders", "mean_width"),
        )
    if run.next_days is not None:
        d = outcome["days_to_next_order"].to_numpy()
        rep["next_order"] = with_seed_spread(
            [next_order_report(d, p) for p in run.next_days], ("mae_days", "median_abs_error_days")
        )
    return rep


@dataclass
class SplitResult:
    split: Split
    truth: pd.DataFrame
    runs: dict[str, ModelRun]
    _reports: dict = field(default_factory=dict, repr=False)

    @property
    def n_spenders(self) -> int:
        return int((self.truth["future_value"] > 0).sum())

    @property
    def separable(self) -> bool:
        """Enough customers spend in the holdout to rank models (``MIN_SPENDERS``)."""
        return self.n_spenders >= MIN_SPENDERS

    def report(self, key: str) -> dict:
        if key not in self._reports:
            self._reports[key] = model_report(self.truth, self.runs[key])
        return self._reports[key]

    def value_metrics(self) -> dict[str, dict]:
        return {k: self.report(k)["value"] for k, r in self.runs.items() if r.error is None}

    def churn_metrics(self) -> dict[str, dict]:
        """Per churn score (label): mean over seeds of eval.metrics.churn_scores, the reliability bins, sd and per-seed
        values."""
        y = self.truth["churn"].to_numpy()
        out = {}
        for r in self.runs.values():
            if r.error is not None:
                continue
            for label, p in r.churn.items():
                per_seed = [churn_scores(y, q) | {"calibration": calibration_bins(y, q)} for q in np.atleast_2d(p)]
                out[label] = with_seed_spread(per_seed, CHURN_SEED_METRICS) | {
                    "model": r.key,
                    "n_seeds": len(per_seed),
                }
        return out


def run_split(
    dataset: Dataset,
    split: Split,
    models: list[Baseline],
    reporter: Reporter | None = None,
    seeds=(0,),
    encoder=None,
    threads: int = 2,
    workdir=None,
    label: str = "",
) -> SplitResult:
    """Fit and score every model on one split: learned models once per seed in ``seeds``, the others once.
    A model that fails is reported as failed, the others go on."""
    reporter = reporter or Reporter()
    seeds = [int(s) for s in seeds] or [0]
    with reporter.stage(f"{label}outcomes in ({split.cutoff.date()}, {split.holdout_end.date()}]"):
        outcome = truth(dataset.loaded, split, threads)
        cal = Calibration(
            truncate(dataset.loaded, split.cutoff),
            split.cutoff,
            split.horizon_days,
            split.train_horizon_days,
            seed=seeds[0],
            threads=threads,
            encoder=encoder,
            reporter=reporter,
            workdir=workdir,
        )
    ids = outcome["customer_id"]
    runs: dict[str, ModelRun] = {}
    for m in models:
        runs[m.key] = _run_model(m, cal, ids, seeds if m.learned else seeds[:1], reporter, label)
    return SplitResult(split, outcome, runs)


def _run_model(
    m: Baseline, cal: Calibration, ids: pd.Series, m_seeds: list[int], reporter: Reporter, label: str
) -> ModelRun:
    """One model fitted and scored once per seed of ``m_seeds``; a failed fit or prediction gives a failed run."""
    preds, fit_s, score_s, error = _fit_and_predict(m, cal, ids, m_seeds, reporter, label)
    if error is not None:
        return ModelRun(
            m.key,
            m.label,
            m.description,
            np.zeros((1, len(ids))),
            {},
            float(np.mean(fit_s)),
            0.0,
            error=error,
            seeds=m_seeds,
            learned=m.learned,
        )
    churn = {lab: np.vstack([np.asarray(p.churn[lab], dtype=float) for p in preds]) for lab in preds[0].churn}
    info = dict(preds[0].info)
    if len(preds) > 1:
        info["per_seed"] = [p.info for p in preds]
    return ModelRun(
        m.key,
        m.label,
        m.description,
        np.vstack([np.asarray(p.value, dtype=float) for p in preds]),
        churn,
        float(np.mean(fit_s)),
        float(np.mean(score_s)),
        info,
        None,
        m_seeds,
        m.learned,
        _stacked([p.low for p in preds]),
        _stacked([p.high for p in preds]),
        _stacked([p.next_days for p in preds]),
    )


def _fit_and_predict(
    m: Baseline, cal: Calibration, ids: pd.Series, m_seeds: list[int], reporter: Reporter, label: str
) -> tuple[list[Prediction], list[float], list[float], str | None]:
    """Per seed, one fit and one prediction of ``ids``, timed: (predictions, fit seconds, score seconds, error).
    The first fit or prediction that raises a data or numerical error stops the model, with its error."""
    preds: list[Prediction] = []
    fit_s: list[float] = []
    score_s: list[float] = []
    error = None
    for s in m_seeds:
        with reporter.stage(f"{label}{m.label}" + (f" (seed {s})" if len(m_seeds) > 1 else "")):
            t0 = time.perf_counter()
            try:
                m.fit(replace(cal, seed=s) if s != cal.seed else cal)
                t1 = time.perf_counter()
                pred = m.predict(ids)
                t2 = time.perf_counter()
            except (DataError, ValueError, RuntimeError, np.linalg.LinAlgError) as exc:
                error = f"{type(exc).__name__}: {exc}" + (f" (seed {s})" if len(m_seeds) > 1 else "")
                fit_s.append(time.perf_counter() - t0)
                break
        if len(pred.value) != len(ids) or not np.isfinite(pred.value).all():
            raise AssertionError(
                f"{m.key}: prediction has {len(pred.value)} values for {len(ids)} customers or is not finite"
            )
        preds.append(pred)
        fit_s.append(t1 - t0)
        score_s.append(t2 - t1)
    return preds, fit_s, score_s, error


def _stacked(parts: list) -> np.ndarray | None:
    """Per-seed arrays as one (seeds x customers) array; None when any seed has none."""
    return None if any(x is None for x in parts) else np.vstack([np.asarray(x, dtype=float) for x in parts])
