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
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from eval.adapters import Dataset
from eval.baselines import Baseline, Calibration, SnapshotXGBoost, default_models
from eval.metrics import (
    bootstrap,
    calibration_bins,
    churn_scores,
    interval_report,
    mean_over_seeds,
    next_order_report,
    seed_summary,
    value_report,
)
from service.features import FeatureBuilder
from service.pipeline import Reporter, parse_cutoff
from service.tables import NON_SPEND_STATUSES, DataError, LoadedData

MIN_HISTORY_DAYS = 30  # the earliest training snapshot needs at least this much history
MIN_SPENDERS = 100  # fewer customers with holdout spend than this: the report does not rank the models


@dataclass
class Split:
    """One calibration/holdout split. ``train_horizon_days`` is the horizon the RFM cells learn (the product and the
    other learned models choose their own training snapshots); ``notes`` are every note the report prints about it."""

    cutoff: pd.Timestamp
    horizon_days: int
    train_horizon_days: int
    data_start: pd.Timestamp
    data_end: pd.Timestamp
    notes: list[str] = field(default_factory=list)
    defaults_used: bool = False

    @property
    def holdout_end(self) -> pd.Timestamp:
        return self.cutoff + timedelta(days=self.horizon_days)

    def to_dict(self) -> dict:
        return {
            "cutoff": self.cutoff.isoformat(),
            "horizon_days": self.horizon_days,
            "train_horizon_days": self.train_horizon_days,
            "rfm_snapshot": (self.cutoff - timedelta(days=self.train_horizon_days)).isoformat(),
            "holdout_end": self.holdout_end.isoformat(),
            "data_start": self.data_start.isoformat(),
            "data_end": self.data_end.isoformat(),
            "defaults_used": self.defaults_used,
            "notes": list(self.notes),
        }


def make_split(
    dataset: Dataset, cutoff: str | None = None, horizon_days: int | None = None, train_horizon_days: int | None = None
) -> Split:
    """The calibration cutoff and horizon: given values, else the dataset's defaults.

    Never fails because the horizon is long: the learned models (the product, the tabular XGBoost) get the
    requested horizon and choose their training snapshots themselves. The RFM cells learn
    ``train_horizon_days`` (default: the horizon), shortened to the longest the history allows: their one
    training snapshot at ``cutoff - h`` needs ``MIN_HISTORY_DAYS`` of history before it. Fails only when the
    cutoff is not after the first order.
    """
    orders = dataset.loaded.tables["orders"]
    start, end = orders["order_ts"].min(), orders["order_ts"].max()
    d = dataset.defaults
    defaults_used = cutoff is None and horizon_days is None
    h = int(horizon_days or d.horizon_days)
    if h < 1:
        raise DataError(f"horizon must be at least 1 day, got {h}")
    if cutoff is None and d.cutoff is not None and defaults_used:
        cut = parse_cutoff(d.cutoff, end)
    elif cutoff is None:
        cut = parse_cutoff(None, end) - timedelta(days=h)
    else:
        cut = parse_cutoff(cutoff, end)
    if cut <= start:
        raise DataError(f"cutoff {cut.date()} is before the first order ({start.date()})")
    notes = []
    if defaults_used and d.note:
        notes.append(f"Dataset defaults: {d.note}")
    if cut + timedelta(days=h) > end + timedelta(days=1):
        notes.append(
            f"The holdout window runs {(cut + timedelta(days=h) - end).days} days past the last order ({end.date()})."
        )
    history = (cut - start).days
    longest = history - MIN_HISTORY_DAYS if history - MIN_HISTORY_DAYS >= 1 else max(history // 2, 1)
    asked = int(train_horizon_days or h)
    th = min(asked, longest)
    rfm_cut = (cut - timedelta(days=th)).date()
    if th < asked:
        notes.append(
            f"RFM cells learn a {th}-day horizon, not {asked}: {history} days of history come before the cutoff and "
            f"their training snapshot ({rfm_cut}) needs {MIN_HISTORY_DAYS} of them. Their values are scaled by "
            f"{h}/{th}; their churn rates are for no purchase in {th} days, not {h}."
        )
    elif th != h:
        notes.append(
            f"RFM cells learn a {th}-day horizon (as asked) on the snapshot at {rfm_cut}; their values are scaled by "
            f"{h}/{th}."
        )
    else:
        notes.append(f"RFM cells learn the {h}-day horizon on the snapshot at {rfm_cut} (outcomes up to the cutoff).")
    notes.append(
        f"The learned models (product, XGBoost tabular) are trained for the {h}-day horizon on the calibration tables; "
        "they choose their own training snapshots inside the calibration period."
    )
    return Split(
        cutoff=cut,
        horizon_days=h,
        train_horizon_days=int(th),
        data_start=start,
        data_end=end,
        notes=notes,
        defaults_used=defaults_used,
    )


def truncate(loaded: LoadedData, cutoff: pd.Timestamp) -> LoadedData:
    """The tables as they stood at ``cutoff``: every order, review and event after it is gone."""
    t = loaded.tables
    tables = {
        "orders": t["orders"][t["orders"]["order_ts"] <= cutoff].reset_index(drop=True),
        "reviews": t["reviews"][t["reviews"]["review_ts"] <= cutoff].reset_index(drop=True),
        "events": t["events"][t["events"]["event_ts"] <= cutoff].reset_index(drop=True),
    }
    cust = t["customers"]
    if "signup_ts" in cust:
        cust = cust[~(cust["signup_ts"] > cutoff)]
    tables["customers"] = cust.reset_index(drop=True)
    return LoadedData(tables=tables, rejects={}, sources={}, rows_read={})


def truth(loaded: LoadedData, split: Split, threads: int = 2) -> pd.DataFrame:
    """Evaluation population and outcomes: customers with an order at or before the cutoff; spend and churn in the
    holdout, and the days from the cutoff to their first holdout purchase (NaN without one)."""
    fb = FeatureBuilder(loaded.tables, threads=threads)
    snap = fb.snapshot(split.cutoff, split.horizon_days)
    fb.close()
    out = snap[["customer_id", "future_value", "future_orders", "churn"]].reset_index(drop=True)
    o = loaded.tables["orders"]
    buy = o[
        (o["order_ts"] > split.cutoff)
        & (o["order_ts"] <= split.holdout_end)
        & ~o["status"].str.lower().isin(NON_SPEND_STATUSES)
    ]
    first = buy.groupby("customer_id")["order_ts"].min()
    days = (first - split.cutoff).dt.total_seconds() / 86400.0
    out["days_to_next_order"] = days.reindex(out["customer_id"]).to_numpy(dtype=float)
    return out


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


def _with_seed_spread(per_seed: list[dict], keys) -> dict:
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
    rep["value"] = _with_seed_spread([value_report(a, v) for v in run.values], SEED_METRICS)
    if run.low is not None and run.high is not None:
        rep["interval"] = _with_seed_spread(
            [interval_report(a, lo, hi) for lo, hi in zip(run.low, run.high)],
            ("coverage", "coverage_spenders", "mean_width"),
        )
    if run.next_days is not None:
        d = outcome["days_to_next_order"].to_numpy()
        rep["next_order"] = _with_seed_spread(
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
                out[label] = _with_seed_spread(per_seed, CHURN_SEED_METRICS) | {
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
        m_seeds = seeds if m.learned else seeds[:1]
        preds, fit_s, score_s, error = [], [], [], None
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
        if error is not None:
            runs[m.key] = ModelRun(
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
            continue

        def stack(get, preds=preds):
            parts = [get(p) for p in preds]
            return None if any(x is None for x in parts) else np.vstack([np.asarray(x, dtype=float) for x in parts])

        churn = {lab: np.vstack([np.asarray(p.churn[lab], dtype=float) for p in preds]) for lab in preds[0].churn}
        info = dict(preds[0].info)
        if len(preds) > 1:
            info["per_seed"] = [p.info for p in preds]
        runs[m.key] = ModelRun(
            m.key,
            m.label,
            m.description,
            stack(lambda p: p.value),
            churn,
            float(np.mean(fit_s)),
            float(np.mean(score_s)),
            info,
            None,
            m_seeds,
            m.learned,
            stack(lambda p: p.low),
            stack(lambda p: p.high),
            stack(lambda p: p.next_days),
        )
    return SplitResult(split, outcome, runs)


# --------------------------------------------------------------------------- the whole backtest


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


BASELINE_KEYS = ("past_spend", "rfm", "bgnbd_gg", "xgb_tabular")


def ablation_variants(sources: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Product variants: all text, each source left out, no text (the tabular baseline)."""
    v = {"all text": tuple(sources)}
    for src, name in (("review", "without review text"), ("browse", "without browsing text")):
        rest = tuple(s for s in sources if s != src)
        if src in sources and rest:  # leaving out the only source is the tabular-only variant below
            v[name] = rest
    v["no text (tabular only)"] = ()
    return v


def _alias_product(res: SplitResult) -> SplitResult:
    """Without text in a dataset the product is its tabular model: the same fits, listed under both names."""
    tab = res.runs.get("xgb_tabular")
    if "product" not in res.runs and tab is not None:
        res.runs["product"] = replace(
            tab,
            key="product",
            label="Product (= tabular: no text)",
            # the tabular model has one churn score (its label), listed under the product's name
            churn={"Product churn (= tabular)": scores[-1]} if (scores := list(tab.churn.values())) else {},
            info=dict(tab.info, same_as="xgb_tabular"),
        )
    return res


def strongest_baselines(res: SplitResult) -> dict[str, str]:
    """Per metric, the baseline with the highest mean over seeds (the product's own tabular twin excluded)."""
    ok = {k: r for k, r in res.runs.items() if r.error is None}
    alias = ok.get("product") is not None and ok["product"].info.get("same_as")
    best = {}
    for metric in ("normalized_gini", "spearman"):
        cands = {k: res.report(k)["value"][metric] for k in BASELINE_KEYS if k in ok and not (alias and k == alias)}
        cands = {k: v for k, v in cands.items() if v is not None and np.isfinite(v)}
        if cands:
            best[metric] = max(cands, key=cands.__getitem__)
    return best


def compare(
    res: SplitResult,
    differences: dict[str, tuple[str, str]],
    extra: dict[str, ModelRun] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    progress=None,
    keys=None,
) -> dict:
    """Bootstrap (customers and seeds together) of the models of ``res`` (and ``extra``: e.g. ablation variants);
    ``keys`` limits the models. The product aliased to its tabular twin is scored as that twin (same fits, same
    draws)."""
    runs = {k: r for k, r in {**res.runs, **(extra or {})}.items() if r.error is None}
    to_boot = {k: (r.info.get("same_as") or k) for k, r in runs.items()}
    wanted = set(keys) if keys is not None else set(runs)
    wanted |= {x for pair in differences.values() for x in pair}
    preds = {to_boot[k]: runs[to_boot[k]].values for k in wanted if k in runs}
    diffs = {lab: (to_boot[a], to_boot[b]) for lab, (a, b) in differences.items() if a in runs and b in runs}
    boot = bootstrap(
        res.truth["future_value"].to_numpy(), preds, differences=diffs, n_boot=n_boot, seed=seed, progress=progress
    )
    boot["models"] = {k: boot["models"][to_boot[k]] for k in wanted if k in runs}
    boot["seeds"] = {k: boot["seeds"][to_boot[k]] for k in wanted if k in runs}
    return boot


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
    primary = _alias_product(run_split(dataset, split, make_models(sources), **kw))
    ok = {k: r for k, r in primary.runs.items() if r.error is None}
    best = strongest_baselines(primary)

    ablation: dict[str, Any] | None = None
    ablation_runs: dict[str, ModelRun] = {}
    if opts.ablation and sources:
        variants = ablation_variants(sources)
        extra = [
            make_variant(src, f"ablation:{name}", f"product {name}")
            for name, src in variants.items()
            if src and src != tuple(sources)
        ]
        if extra:
            ablation_runs = run_split(dataset, split, extra, **kw, label="ablation: ").runs
        ablation = {"variants": {name: list(src) for name, src in variants.items()}}

    with reporter.stage(f"bootstrap ({opts.n_boot} resamples, customers and seeds)"):
        diffs = {}
        if "product" in ok:
            aliased = bool(ok["product"].info.get("same_as"))
            diffs = {
                f"product - {k}": ("product", k)
                for k in BASELINE_KEYS
                if k in ok and not (aliased and k == "xgb_tabular")
            }
            if "xgb_tabular" in ok and not aliased:
                diffs.update(
                    {f"{k} - xgb_tabular": (k, "xgb_tabular") for k, r in ablation_runs.items() if r.error is None}
                )
        boot = compare(
            primary, diffs, ablation_runs, opts.n_boot, opts.seed, reporter.progress("resamples", opts.n_boot)
        )

    if ablation is not None:
        y_churn = primary.truth["churn"].to_numpy()
        table: dict[str, dict[str, Any]] = {}
        for name, src in ablation_variants(sources).items():
            key = "product" if src == tuple(sources) else "xgb_tabular" if not src else f"ablation:{name}"
            run = ok.get(key) or ablation_runs.get(key)
            if run is None or run.error:
                table[name] = {"text_sources": list(src), "error": run.error if run else "not run"}
                continue
            rep = model_report(primary.truth, run)
            churn = [
                _with_seed_spread([churn_scores(y_churn, q) for q in p], CHURN_SEED_METRICS) for p in run.churn.values()
            ]
            diff = boot["differences"].get(f"{key} - xgb_tabular", {})
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
        ablation["table"] = table
        ablation["runs"] = dict(ablation_runs)

    rolling = [primary]
    comparisons = [_rolling_comparison(primary, best, boot)]
    if opts.rolling > 1:
        step = opts.step_days or split.horizon_days
        for i in range(1, opts.rolling):
            cut = split.cutoff - timedelta(days=i * step)
            try:
                s = make_split(dataset, cut.isoformat(), split.horizon_days, opts.train_horizon_days)
            except DataError as exc:
                split.notes.append(f"Rolling cutoff {cut.date()} skipped: {exc}")
                continue
            res = _alias_product(run_split(dataset, s, make_models(sources), **kw, label=f"cutoff {s.cutoff.date()}: "))
            rolling.append(res)
            b = strongest_baselines(res)
            d = {f"product - {k}": ("product", k) for k in set(b.values())}
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
            comparisons.append(_rolling_comparison(res, b, rb))

    embedding = encoder.stats() if encoder is not None and hasattr(encoder, "stats") else {}
    return BacktestResult(
        dataset, primary, boot, best, ablation, rolling, time.perf_counter() - t0, embedding, comparisons
    )


def _rolling_comparison(res: SplitResult, best: dict[str, str], boot: dict) -> dict:
    """One cutoff: the product against its strongest baseline per metric, with the seed-inclusive interval of the
    difference."""
    out = {
        "cutoff": res.split.cutoff.isoformat(),
        "customers": int(len(res.truth)),
        "spenders": res.n_spenders,
        "separable": res.separable,
        "metrics": {},
    }
    p = res.runs.get("product")
    for metric, b in best.items():
        d = boot["differences"].get(f"product - {b}", {}).get(metric)
        row = {"best_baseline": b, "baseline": _mean_sd(res, b, metric), "difference": d.to_dict() if d else None}
        row["product"] = _mean_sd(res, "product", metric) if p is not None and p.error is None else None
        out["metrics"][metric] = row
    return out


def _mean_sd(res: SplitResult, key: str, metric: str) -> dict:
    v = res.report(key)["value"]
    return {
        "mean": v[metric],
        "sd": v["sd"].get(metric),
        "per_seed": v["per_seed"].get(metric),
        "n_seeds": res.runs[key].n_seeds,
    }


ROLLING_METRICS = (
    ("normalized_gini", "normalized_gini"),
    ("spearman", "spearman"),
    ("calibration_ratio", "calibration_ratio"),
    ("decile_mape", "decile_mape"),
    ("mae", "mae"),
)


def rolling_summary(results: list[SplitResult], comparisons: list[dict] | None = None) -> dict:
    """Per model and metric: the value at each cutoff (mean over seeds), its sd over seeds there, and the mean and
    standard deviation over the cutoffs. ``comparisons``: the product against its strongest baseline per cutoff."""
    per_model: dict[str, dict[str, dict[str, list]]] = {}
    for res in results:
        cm = res.churn_metrics()
        for k, r in res.runs.items():
            if r.error is not None:
                continue
            rep = res.report(k)
            v = rep["value"]
            d = per_model.setdefault(k, {})

            def add(name, val, sd, d=d):
                e = d.setdefault(name, {"values": [], "seed_sd": []})
                e["values"].append(val)
                e["seed_sd"].append(sd)

            for name, key in ROLLING_METRICS:
                add(name, v[key], v["sd"].get(key))
            add("top5_lift", v["top"]["5%"]["lift"], None)
            add("top20_lift", v["top"]["20%"]["lift"], None)
            churn = [c for c in cm.values() if c["model"] == k]
            if churn:
                for name in ("roc_auc", "ece", "brier"):
                    add(f"churn_{name}", churn[0][name], churn[0]["sd"].get(name))
            if "interval" in rep:
                add("interval_coverage", rep["interval"]["coverage"], rep["interval"]["sd"].get("coverage"))
            if "next_order" in rep:
                add("next_order_mae_days", rep["next_order"]["mae_days"], rep["next_order"]["sd"].get("mae_days"))
    out: dict[str, dict] = {}
    for k, d in per_model.items():
        out[k] = {}
        for name, e in d.items():
            v = np.array([x if x is not None else np.nan for x in e["values"]], dtype=float)
            fin = np.isfinite(v)
            out[k][name] = {
                "mean": float(np.nanmean(v)) if fin.any() else float("nan"),
                "std": float(np.nanstd(v, ddof=1)) if fin.sum() > 1 else float("nan"),
                "values": e["values"],
                "seed_sd": e["seed_sd"],
            }
    return {
        "cutoffs": [r.split.cutoff.isoformat() for r in results],
        "models": out,
        "comparisons": comparisons or [],
        "spenders": [r.n_spenders for r in results],
    }
