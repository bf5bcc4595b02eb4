"""Backtests: cut the data at a calibration cutoff, fit every model on the calibration side, score all of
them on the same customers against what those customers spent in the holdout window.

    split    = make_split(dataset, cutoff=None, horizon_days=None)      # defaults per dataset
    result   = run_split(dataset, split, models)                       # side by side, timed
    results  = run_backtest(dataset, options)                          # primary split + ablation + rolling cutoffs

The evaluation population is every customer with an order at or before the cutoff (the product's
own scoring population). Their actual future value and churn come from the full tables
(``FeatureBuilder.snapshot``: spend in (cutoff, cutoff + horizon], churn = no purchase in it); the
models only ever get ``Calibration``, whose tables hold no row after the cutoff.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import pandas as pd

from eval.adapters import Dataset
from eval.baselines import Baseline, Calibration, SnapshotXGBoost, default_models
from eval.metrics import METRIC_FUNCS, bootstrap, calibration_bins, churn_scores, value_report
from service.features import FeatureBuilder
from service.pipeline import Reporter, parse_cutoff
from service.tables import DataError, LoadedData

MIN_HISTORY_DAYS = 30  # the earliest training snapshot needs at least this much history


@dataclass
class Split:
    cutoff: pd.Timestamp
    horizon_days: int
    train_horizon_days: int
    data_start: pd.Timestamp
    data_end: pd.Timestamp
    notes: list[str] = field(default_factory=list)

    @property
    def holdout_end(self) -> pd.Timestamp:
        return self.cutoff + timedelta(days=self.horizon_days)

    def to_dict(self) -> dict:
        return {"cutoff": self.cutoff.isoformat(), "horizon_days": self.horizon_days, "train_horizon_days": self.train_horizon_days,
                "holdout_end": self.holdout_end.isoformat(), "data_start": self.data_start.isoformat(),
                "data_end": self.data_end.isoformat(), "fit_snapshot": (self.cutoff - timedelta(days=2 * self.train_horizon_days)).isoformat(),
                "validation_snapshot": (self.cutoff - timedelta(days=self.train_horizon_days)).isoformat(), "notes": self.notes}


def make_split(dataset: Dataset, cutoff: str | None = None, horizon_days: int | None = None,
               train_horizon_days: int | None = None) -> Split:
    """The calibration cutoff and horizons: given values, else the dataset's defaults.

    The training horizon (what the snapshot models learn) is the horizon itself when two horizons
    of history fit before the cutoff; otherwise the longest that does, and their predictions are
    scaled up to the horizon.
    """
    orders = dataset.loaded.tables["orders"]
    start, end = orders["order_ts"].min(), orders["order_ts"].max()
    d = dataset.defaults
    explicit_h = horizon_days is not None
    h = int(horizon_days or d.horizon_days)
    if h < 1:
        raise DataError(f"horizon must be at least 1 day, got {h}")
    if cutoff is None and d.cutoff is not None and not explicit_h:
        cut = parse_cutoff(d.cutoff, end)
    elif cutoff is None:
        cut = parse_cutoff(None, end) - timedelta(days=h)
    else:
        cut = parse_cutoff(cutoff, end)
    notes = []
    if cut <= start:
        raise DataError(f"cutoff {cut.date()} is before the first order ({start.date()})")
    if cut + timedelta(days=h) > end + timedelta(days=1):
        notes.append(f"the holdout window runs {(cut + timedelta(days=h) - end).days} days past the last order ({end.date()})")
    history = (cut - start).days - MIN_HISTORY_DAYS
    th = train_horizon_days or (d.train_horizon_days if (cutoff is None and not explicit_h) else None) or h
    if 2 * th > history:
        th2 = max(history // 2, 1)
        notes.append(f"training horizon shortened from {th} to {th2} days: only {(cut - start).days} days of history before the cutoff")
        th = th2
    if th != h:
        notes.append(f"snapshot models learn a {th}-day horizon; their values are scaled by {h}/{th}")
    return Split(cutoff=cut, horizon_days=h, train_horizon_days=int(th), data_start=start, data_end=end, notes=notes)


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
    """Evaluation population and outcomes: customers with an order at or before the cutoff; spend and churn in the holdout."""
    fb = FeatureBuilder(loaded.tables, threads=threads)
    snap = fb.snapshot(split.cutoff, split.horizon_days)
    fb.close()
    return snap[["customer_id", "future_value", "future_orders", "churn"]].reset_index(drop=True)


@dataclass
class ModelRun:
    key: str
    label: str
    description: str
    value: np.ndarray
    churn: dict[str, np.ndarray]
    fit_seconds: float
    score_seconds: float
    info: dict = field(default_factory=dict)
    error: str | None = None


@dataclass
class SplitResult:
    split: Split
    truth: pd.DataFrame
    runs: dict[str, ModelRun]

    def value_metrics(self) -> dict[str, dict]:
        a = self.truth["future_value"].to_numpy()
        return {k: value_report(a, r.value) for k, r in self.runs.items() if r.error is None}

    def churn_metrics(self) -> dict[str, dict]:
        y = self.truth["churn"].to_numpy()
        out = {}
        for r in self.runs.values():
            for label, p in r.churn.items():
                out[label] = churn_scores(y, p) | {"model": r.key, "calibration": calibration_bins(y, p)}
        return out


def run_split(dataset: Dataset, split: Split, models: list[Baseline], reporter: Reporter | None = None, seed: int = 0,
              encoder=None, threads: int = 2, workdir=None, label: str = "") -> SplitResult:
    """Fit and score every model on one split; a model that fails is reported as failed, the others go on."""
    reporter = reporter or Reporter()
    with reporter.stage(f"{label}outcomes in ({split.cutoff.date()}, {split.holdout_end.date()}]"):
        outcome = truth(dataset.loaded, split, threads)
        cal = Calibration(truncate(dataset.loaded, split.cutoff), split.cutoff, split.horizon_days, split.train_horizon_days,
                          seed=seed, threads=threads, encoder=encoder, reporter=reporter, workdir=workdir)
    ids = outcome["customer_id"]
    runs: dict[str, ModelRun] = {}
    for m in models:
        with reporter.stage(f"{label}{m.label}"):
            t0 = time.perf_counter()
            try:
                m.fit(cal)
                t1 = time.perf_counter()
                pred = m.predict(ids)
                t2 = time.perf_counter()
            except (DataError, ValueError, RuntimeError, np.linalg.LinAlgError) as exc:
                runs[m.key] = ModelRun(m.key, m.label, m.description, np.zeros(len(ids)), {}, time.perf_counter() - t0, 0.0,
                                       error=f"{type(exc).__name__}: {exc}")
                continue
        if len(pred.value) != len(ids) or not np.isfinite(pred.value).all():
            raise AssertionError(f"{m.key}: prediction has {len(pred.value)} values for {len(ids)} customers or is not finite")
        runs[m.key] = ModelRun(m.key, m.label, m.description, np.asarray(pred.value, float), pred.churn, t1 - t0, t2 - t1, pred.info)
    return SplitResult(split, outcome, runs)


# --------------------------------------------------------------------------- the whole backtest


@dataclass
class BacktestOptions:
    cutoff: str | None = None
    horizon_days: int | None = None
    train_horizon_days: int | None = None
    rolling: int = 1  # number of cutoffs (the primary one plus earlier ones)
    step_days: int | None = None  # between rolling cutoffs; default: the horizon
    ablation: bool = True
    n_boot: int = 1000
    seed: int = 0
    threads: int = 2


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
    """Without text in a dataset the product is its tabular model: the same fit, listed under both names."""
    tab = res.runs.get("xgb_tabular")
    if "product" not in res.runs and tab is not None:
        res.runs["product"] = ModelRun("product", "Product (= tabular: no text)", tab.description, tab.value,
                                       {"Product churn (= tabular)": v for v in tab.churn.values()}, tab.fit_seconds,
                                       tab.score_seconds, dict(tab.info, same_as="xgb_tabular"), tab.error)
    return res


def run_backtest(dataset: Dataset, opts: BacktestOptions | None = None, reporter: Reporter | None = None,
                 encoder=None, workdir=None) -> BacktestResult:
    opts = opts or BacktestOptions()
    reporter = reporter or Reporter()
    t0 = time.perf_counter()
    split = make_split(dataset, opts.cutoff, opts.horizon_days, opts.train_horizon_days)
    sources = dataset.text_sources
    if sources and encoder is None:
        from service.pipeline import make_encoder

        encoder = make_encoder(None, None)
    models = default_models(sources)
    kw = dict(reporter=reporter, seed=opts.seed, encoder=encoder, threads=opts.threads, workdir=workdir)
    primary = _alias_product(run_split(dataset, split, models, **kw))

    actual = primary.truth["future_value"].to_numpy()
    ok = {k: r for k, r in primary.runs.items() if r.error is None}
    best = {}
    for metric in ("normalized_gini", "spearman"):
        alias = ok.get("product") is not None and ok["product"].info.get("same_as")
        cands = {k: METRIC_FUNCS[metric](actual, ok[k].value) for k in BASELINE_KEYS if k in ok and not (alias and k == alias)}
        cands = {k: v for k, v in cands.items() if np.isfinite(v)}
        if cands:
            best[metric] = max(cands, key=cands.get)

    ablation = None
    ablation_runs: dict[str, ModelRun] = {}
    if opts.ablation and sources:
        variants = ablation_variants(sources)
        extra = [SnapshotXGBoost(src, key=f"ablation:{name}", label=f"product {name}")
                 for name, src in variants.items() if src and src != tuple(sources)]
        if extra:
            ablation_runs = run_split(dataset, split, extra, **kw, label="ablation: ").runs
        ablation = {"variants": {name: list(src) for name, src in variants.items()}}

    with reporter.stage(f"bootstrap ({opts.n_boot} resamples)"):
        preds = {k: r.value for k, r in ok.items()}
        preds.update({k: r.value for k, r in ablation_runs.items() if r.error is None})
        diffs = {}
        if "product" in ok and not ok["product"].info.get("same_as"):
            diffs = {f"product - {k}": ("product", k) for k in BASELINE_KEYS if k in ok}
            diffs.update({f"{k} - xgb_tabular": (k, "xgb_tabular") for k in ablation_runs if k in preds and "xgb_tabular" in ok})
        elif "product" in ok:  # the product is the tabular model: compare it with the other baselines only
            diffs = {f"product - {k}": ("product", k) for k in BASELINE_KEYS if k in ok and k != "xgb_tabular"}
        boot = bootstrap(actual, preds, differences=diffs, n_boot=opts.n_boot, seed=opts.seed,
                         progress=reporter.progress("resamples", opts.n_boot))

    if ablation is not None:
        y_churn = primary.truth["churn"].to_numpy()
        table = {}
        for name, src in ablation_variants(sources).items():
            key = "product" if src == tuple(sources) else "xgb_tabular" if not src else f"ablation:{name}"
            run = ok.get(key) or ablation_runs.get(key)
            if run is None or run.error:
                table[name] = {"text_sources": list(src), "error": run.error if run else "not run"}
                continue
            vr = value_report(actual, run.value)
            churn = [churn_scores(y_churn, p) for p in run.churn.values()]
            diff = boot["differences"].get(f"{key} - xgb_tabular", {})
            table[name] = {"text_sources": list(src), "model": key,
                           "normalized_gini": boot["models"][key]["normalized_gini"].to_dict(),
                           "spearman": boot["models"][key]["spearman"].to_dict(), "top": vr["top"],
                           "churn": churn[0] if churn else None, "fit_seconds": run.fit_seconds,
                           "vs_no_text": {m: iv.to_dict() for m, iv in diff.items()}}
        ablation["table"] = table
        ablation["runs"] = {k: r for k, r in ablation_runs.items()}

    rolling = [primary]
    if opts.rolling > 1:
        step = opts.step_days or split.horizon_days
        for i in range(1, opts.rolling):
            cut = split.cutoff - timedelta(days=i * step)
            try:
                s = make_split(dataset, cut.isoformat(), split.horizon_days, opts.train_horizon_days or split.train_horizon_days)
            except DataError as exc:
                split.notes.append(f"rolling cutoff {cut.date()} skipped: {exc}")
                continue
            rolling.append(_alias_product(run_split(dataset, s, default_models(sources), **kw, label=f"cutoff {s.cutoff.date()}: ")))

    embedding = encoder.stats() if encoder is not None and hasattr(encoder, "stats") else {}
    return BacktestResult(dataset, primary, boot, best, ablation, rolling, time.perf_counter() - t0, embedding)


def rolling_summary(results: list[SplitResult]) -> dict:
    """Mean and standard deviation of each metric per model over the cutoffs."""
    per_model: dict[str, dict[str, list[float]]] = {}
    for res in results:
        vm = res.value_metrics()
        cm = res.churn_metrics()
        for k, m in vm.items():
            d = per_model.setdefault(k, {})
            for name, val in (("normalized_gini", m["normalized_gini"]), ("spearman", m["spearman"]),
                              ("top5_lift", m["top"]["5%"]["lift"]), ("top20_lift", m["top"]["20%"]["lift"]),
                              ("decile_mape", m["decile_mape"]), ("mae", m["mae"])):
                d.setdefault(name, []).append(val)
            churn = [c for c in cm.values() if c["model"] == k]
            if churn:
                d.setdefault("churn_roc_auc", []).append(churn[0]["roc_auc"])
    out = {}
    for k, d in per_model.items():
        out[k] = {name: {"mean": float(np.nanmean(v)) if np.isfinite(v).any() else float("nan"),
                         "std": float(np.nanstd(v, ddof=1)) if np.isfinite(v).sum() > 1 else float("nan"), "values": v}
                  for name, v in d.items()}
    return {"cutoffs": [r.split.cutoff.isoformat() for r in results], "models": out}
