"""The whole backtest (``run_backtest``): the primary split with every model, the text ablation, the bootstrap of
the product against the baselines, and the rolling cutoffs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pandas as pd

from eval.adapters import Dataset
from eval.backtest.comparison import (
    BASELINE_KEYS,
    TABULAR_KEY,
    ablation_variants,
    alias_product,
    compare,
    strongest_baselines,
)
from eval.backtest.one_split import CHURN_SEED_METRICS, ModelRun, SplitResult, model_report, run_split, with_seed_spread
from eval.backtest.rolling import rolling_comparison
from eval.backtest.splits import Split, make_split
from eval.baselines import SnapshotXGBoost, default_models
from eval.metrics import churn_scores
from service.pipeline import Reporter
from service.tables import DataError


@dataclass
class BacktestOptions:
    cutoff: str | None = None
    horizon_days: int | None = None
    train_horizon_days: int | None = None  # RFM cells only; default: the horizon, shortened to what the history allows
    rolling: int = 1  # number of cutoffs (the primary one plus earlier ones)
    step_days: int | None = None  # between rolling cutoffs; default: the horizon
    ablation: bool = True
    n_boot: int = 1000
    seed: int = 0
    seeds: int = 5  # fits per learned model, with seeds seed, seed + 1, ...
    threads: int = 2

    @property
    def seed_list(self) -> list[int]:
        return [self.seed + i for i in range(max(int(self.seeds), 1))]


@dataclass
class BacktestResult:
    dataset: Dataset
    primary: SplitResult
    bootstrap: dict
    best_baseline: dict[str, str]
    ablation: dict | None
    rolling: list[SplitResult]
    seconds: float
    embedding: dict = field(default_factory=dict)
    rolling_comparisons: list[dict] = field(
        default_factory=list
    )  # per rolling cutoff: product vs its strongest baselines


def run_backtest(
    dataset: Dataset,
    opts: BacktestOptions | None = None,
    reporter: Reporter | None = None,
    encoder=None,
    workdir=None,
    models=None,
    variant=None,
) -> BacktestResult:
    """The primary split with every model (learned ones once per seed), the text ablation, and the rolling cutoffs.

    ``models``: a function text sources -> list of models (default ``default_models``); ``variant``: a function
    (text sources, key, label) -> the product refitted on those sources (default ``SnapshotXGBoost``). Tests pass
    their own.
    """
    opts = opts or BacktestOptions()
    reporter = reporter or Reporter()
    make_models = models or default_models
    make_variant = variant or (lambda src, key, label: SnapshotXGBoost(src, key=key, label=label))
    t0 = time.perf_counter()
    split = make_split(dataset, opts.cutoff, opts.horizon_days, opts.train_horizon_days)
    sources = dataset.text_sources
    if sources and encoder is None:
        from service.pipeline import make_encoder

        encoder = make_encoder(None, None)
    kw = dict(reporter=reporter, seeds=opts.seed_list, encoder=encoder, threads=opts.threads, workdir=workdir)
    primary = alias_product(run_split(dataset, split, make_models(sources), **kw))
    ok = {k: r for k, r in primary.runs.items() if r.error is None}
    best = strongest_baselines(primary)

    ablation, ablation_runs = _run_ablation(dataset, split, sources if opts.ablation else (), make_variant, kw)

    with reporter.stage(f"bootstrap ({opts.n_boot} resamples, customers and seeds)"):
        diffs = _product_differences(ok, ablation_runs)
        boot = compare(
            primary, diffs, ablation_runs, opts.n_boot, opts.seed, reporter.progress("resamples", opts.n_boot)
        )

    if ablation is not None:
        ablation["table"] = _ablation_table(primary, ok, ablation_runs, sources, boot)
        ablation["runs"] = dict(ablation_runs)

    rolling = [primary]
    comparisons = [rolling_comparison(primary, best, boot)]
    if opts.rolling > 1:
        for res, comparison in _rolling_cutoffs(dataset, split, opts, make_models, sources, kw):
            rolling.append(res)
            comparisons.append(comparison)

    embedding = encoder.stats() if encoder is not None and hasattr(encoder, "stats") else {}
    return BacktestResult(
        dataset, primary, boot, best, ablation, rolling, time.perf_counter() - t0, embedding, comparisons
    )


def _run_ablation(
    dataset: Dataset, split: Split, sources: tuple[str, ...], make_variant, kw: dict[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, ModelRun]]:
    """The product refitted without each text source (the variants between all text and none: the product and the
    tabular model ran already): ``({"variants": ...}, their runs)``, or ``(None, {})`` without text sources (a dataset
    without text, or no ablation asked)."""
    ablation: dict[str, Any] | None = None
    ablation_runs: dict[str, ModelRun] = {}
    if sources:
        variants = ablation_variants(sources)
        extra = [
            make_variant(src, f"ablation:{name}", f"product {name}")
            for name, src in variants.items()
            if src and src != tuple(sources)
        ]
        if extra:
            ablation_runs = run_split(dataset, split, extra, **kw, label="ablation: ").runs
        ablation = {"variants": {name: list(src) for name, src in variants.items()}}
    return ablation, ablation_runs


def _product_differences(ok: dict[str, ModelRun], ablation_runs: dict[str, ModelRun]) -> dict[str, tuple[str, str]]:
    """The differences the bootstrap scores: the product minus each baseline, and the product and each ablation
    variant minus the tabular model (what text adds; not when the product is that model)."""
    diffs = {}
    if "product" in ok:
        diffs = {f"product - {k}": ("product", k) for k in BASELINE_KEYS if k in ok}
        if TABULAR_KEY in ok and not ok["product"].info.get("same_as"):
            with_text = {"product": ok["product"]} | {k: r for k, r in ablation_runs.items() if r.error is None}
            diffs.update({f"{k} - {TABULAR_KEY}": (k, TABULAR_KEY) for k in with_text})
    return diffs


def _ablation_table(
    primary: SplitResult,
    ok: dict[str, ModelRun],
    ablation_runs: dict[str, ModelRun],
    sources: tuple[str, ...],
    boot: dict,
) -> dict[str, dict[str, Any]]:
    """Per ablation variant (all text, each source left out, no text): its ranking metrics with their bootstrap
    intervals and seed sd, top-k, churn, fit time, and its difference from the tabular model."""
    y_churn = primary.truth["churn"].to_numpy()
    table: dict[str, dict[str, Any]] = {}
    for name, src in ablation_variants(sources).items():
        key = "product" if src == tuple(sources) else TABULAR_KEY if not src else f"ablation:{name}"
        run = ok.get(key) or ablation_runs.get(key)
        if run is None or run.error:
            table[name] = {"text_sources": list(src), "error": run.error if run else "not run"}
            continue
        rep = model_report(primary.truth, run)
        churn = [
            with_seed_spread([churn_scores(y_churn, q) for q in p], CHURN_SEED_METRICS) for p in run.churn.values()
        ]
        diff = boot["differences"].get(f"{key} - {TABULAR_KEY}", {})
        table[name] = {
            "text_sources": list(src),
            "model": key,
            "n_seeds": run.n_seeds,
            "normalized_gini": boot["models"][key]["normalized_gini"].to_dict()
            | {"sd": rep["value"]["sd"]["normalized_gini"]},
            "spearman": boot["models"][key]["spearman"].to_dict() | {"sd": rep["value"]["sd"]["spearman"]},
            "top": rep["value"]["top"],
            "churn": churn[0] if churn else None,
            "fit_seconds": run.fit_seconds,
            "vs_no_text": {m: iv.to_dict() for m, iv in diff.items()},
        }
    return table


def _rolling_cutoffs(
    dataset: Dataset, split: Split, opts: BacktestOptions, make_models, sources: tuple[str, ...], kw: dict[str, Any]
) -> list[tuple[SplitResult, dict]]:
    """The earlier cutoffs, ``opts.step_days`` apart (default: the horizon), each with every model and the product
    against its strongest baselines there; a cutoff that cannot be made is skipped with a note on ``split``."""
    reporter = kw["reporter"]
    step = opts.step_days or split.horizon_days
    first = pd.Timestamp(dataset.loaded.tables["orders"]["order_ts"].min())
    out = []
    for i in range(1, opts.rolling):
        cut = split.cutoff - timedelta(days=i * step)
        if cut < first:  # and every later one: one note, not one per cutoff back to the year 1700
            split.notes.append(
                f"Rolling cutoffs {i + 1} to {opts.rolling} ({cut.date()} and earlier, {step} days apart) skipped: "
                f"before the first order ({first.date()})"
            )
            break
        try:
            s = make_split(dataset, cut.isoformat(), split.horizon_days, opts.train_horizon_days)
        except DataError as exc:
            split.notes.append(f"Rolling cutoff {cut.date()} skipped: {exc}")
            continue
        res = alias_product(run_split(dataset, s, make_models(sources), **kw, label=f"cutoff {s.cutoff.date()}: "))
        b = strongest_baselines(res)
        d = {f"product - {k}": ("product", k) for k in dict.fromkeys(b.values())}  # ordered: see compare
        with reporter.stage(f"cutoff {s.cutoff.date()}: bootstrap ({opts.n_boot} resamples)"):
            rb = compare(
                res,
                d,
                None,
                opts.n_boot,
                opts.seed,
                reporter.progress("resamples", opts.n_boot),
                keys=["product", *b.values()],
            )
        out.append((res, rolling_comparison(res, b, rb)))
    return out
