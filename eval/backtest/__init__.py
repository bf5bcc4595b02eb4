"""Backtests: cut the data at a calibration cutoff, fit every model on the calibration side, score all of
them on the same customers against what those customers spent in the holdout window.

    split   = make_split(dataset, cutoff=None, horizon_days=None)  # defaults per dataset; never fails on a long horizon
    result  = run_split(dataset, split, models, seeds=[0, 1, 2])  # side by side, timed; learned models once per seed
    results = run_backtest(dataset, options)                      # primary split + ablation + rolling cutoffs

Refit variance: every learned model (``Baseline.learned``: the product, the tabular XGBoost, the ablation
variants) is fitted with ``BacktestOptions.seeds`` seeds; the figures are means over the seeds (with sd and
per-seed values beside them), and every bootstrap interval draws customers and, per learned model, a seed
(eval.metrics.bootstrap). The fits are made once per split and reused by every resample.

The evaluation population is every customer with an order at or before the cutoff (the product's
own scoring population). Their actual future value and churn come from the full tables
(``FeatureBuilder.snapshot``: spend in (cutoff, cutoff + horizon], churn = no purchase in it); the
models only ever get ``Calibration``, whose tables hold no row after the cutoff.

The modules, in the order a backtest uses them: ``splits`` (making a split: ``make_split``, ``truncate``,
``truth``), ``one_split`` (running models on one split: ``run_split``, ``SplitResult``, ``model_report``),
``comparison`` (the product against the baselines: strongest baselines, the bootstrap comparison, ablation
variants), ``rolling`` (the figures over rolling cutoffs) and ``run`` (the whole backtest: ``run_backtest``).
"""

from eval.backtest.one_split import MIN_SPENDERS, run_split
from eval.backtest.rolling import rolling_summary
from eval.backtest.run import BacktestOptions, BacktestResult, run_backtest
from eval.backtest.splits import MIN_HISTORY_DAYS, make_split, truncate, truth

__all__ = [
    "MIN_HISTORY_DAYS",
    "MIN_SPENDERS",
    "BacktestOptions",
    "BacktestResult",
    "make_split",
    "rolling_summary",
    "run_backtest",
    "run_split",
    "truncate",
    "truth",
]
