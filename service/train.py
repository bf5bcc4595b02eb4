"""Training: the panel of snapshots, the text featurizer, the value and churn models, tiers; one bundle written."""

from __future__ import annotations

import time
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from service import scaleout
from service.btyd import ClassicFeatures
from service.bundle import ModelBundle, check_bundle_out, data_fingerprint
from service.design import design_matrix, driver_inputs
from service.drivers import PeerPercentiles
from service.features import TABULAR_FEATURES, FeatureBuilder, to_utc
from service.models import ChurnModel, HorizonShift, ValueModel
from service.panel import Panel, check_history, fit_names, plan_panel
from service.rejects_files import StagedRejects
from service.runs import (
    Reporter,
    RunSummary,
    encoder_backend,
    encoder_spec,
    load_input,
    make_encoder,
    parse_cutoff,
    record_rejects,
    text_embeddings,
    timed,
)
from service.similarity import CustomerVectorizer
from service.tables import DataError, LoadedData
from service.text_check import text_check
from service.text_features import DEFAULT_HALF_LIFE_DAYS, TextFeaturizer
from service.tiers import RFMSegmenter, TierPolicy
from service.train_inputs import Designs, model_inputs
from service.writer_lock import one_writer


@dataclass
class TrainOptions:
    cutoff: str | None = None
    horizon_days: int = 90
    seed: int = 0
    text_sources: tuple[str, ...] = ("review", "browse")
    text_components: int = 8
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS
    tier_shares: dict | None = None
    tier_amounts: dict | None = None
    embedding_model: str | None = None
    embedding_backend: str | None = None  # torch | onnx | onnx-int8; None: $INSIGHT_EMBEDDING_BACKEND, else onnx
    cache_dir: Path | None = None
    currency: str = "$"
    n_threads: int = 2
    text_check: bool = (
        True  # keep text features only when they rank the held-out validation customers better (TEXT_MIN_GAIN)
    )
    dask: object = (
        None  # None: in-process; "local:N", "tcp://host:port" or a distributed.Client: per-customer work on Dask
    )


LEVEL_ANCHOR = True


@dataclass
class TrainResult:
    bundle: ModelBundle
    summary: RunSummary
    out_dir: Path


DESIGN_SLICE_ROWS = 100_000  # customers whose pooled text vectors a design matrix holds at once


class LocalWork:
    """The per-customer work of training, in this process: feature snapshots, embeddings, design matrices.

    ``service.scaleout.DaskWork`` is the same interface over partitions of customers on a Dask cluster;
    ``train`` runs the same steps on either.
    """

    def __init__(
        self,
        loaded: LoadedData,
        cutoffs: dict[str, pd.Timestamp],
        opts: TrainOptions,
        sources: tuple[str, ...],
        encoder,
        reporter: Reporter,
        summary: RunSummary,
    ):
        self.cutoffs = cutoffs
        with timed(summary, reporter, "features"):
            fb = FeatureBuilder(loaded.tables, threads=opts.n_threads)
            self.snapshots = {name: fb.snapshot(c, opts.horizon_days) for name, c in cutoffs.items()}
            fb.close()
        check_history(self.snapshots, cutoffs, opts.horizon_days)
        self.emb, self.embedding_model = None, None
        self.embedding_stats: dict = {}
        self.encoder = None
        if sources:
            with timed(summary, reporter, "embeddings"):
                encoder = encoder or make_encoder(opts.embedding_model, opts.cache_dir, opts.embedding_backend)
                self.encoder = encoder
                self.emb = text_embeddings(loaded, sources, encoder, opts.half_life_days, reporter)
                self.embedding_model = getattr(encoder, "model_id", None)
                self.embedding_stats = getattr(encoder, "stats", lambda: {})()

    def pooled(self, name: str, keep: np.ndarray | None = None) -> dict:
        """Pooled text vectors of one snapshot's customers (in snapshot order); with ``keep``, of those rows only."""
        emb = self.emb
        assert emb is not None  # asked for only when the run has text sources, which set it
        ids = self.snapshots[name]["customer_id"].to_numpy(dtype=object)
        return {src: emb.pooled(src, ids if keep is None else ids[keep], self.cutoffs[name]) for src in emb.sources}

    def distribute(self, X: pd.DataFrame) -> pd.DataFrame:
        return X

    def design(self, name: str, text: TextFeaturizer, classic: ClassicFeatures) -> pd.DataFrame:
        # In slices of customers: the pooled text vectors behind the text columns are 6 KB per customer and source
        # (17.8 GB peak for the validation and scored snapshots at 1M customers in one piece); each customer's row
        # does not depend on the others in its slice, so the matrix is the same.
        snap = self.snapshots[name]
        parts = [
            design_matrix(snap.iloc[start : start + DESIGN_SLICE_ROWS], text, self.emb, self.cutoffs[name], classic)[0]
            for start in range(0, len(snap), DESIGN_SLICE_ROWS)
        ]
        return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]

    @staticmethod
    def frame(X) -> pd.DataFrame:
        return X


def train(
    data: str | Path | LoadedData,
    out_dir: str | Path,
    opts: TrainOptions | None = None,
    reporter: Reporter | None = None,
    encoder=None,
) -> TrainResult:
    """Train the value and churn models and write the bundle; with ``opts.dask`` the per-customer work runs on a
    Dask cluster."""
    opts = opts or TrainOptions()
    reporter = reporter or Reporter()
    summary = RunSummary()
    t0 = time.perf_counter()
    # the folder itself, not a link to it nor "." (a link's name had put the lock and the rejects beside the link while
    # the bundle went to its target; "." had put the rejects inside the bundle)
    out_dir = Path(out_dir).resolve()
    if opts.horizon_days < 1:
        raise DataError(f"horizon must be at least 1 day, got {opts.horizon_days}")
    scaleout.check_spec(opts.dask)
    check_bundle_out(out_dir)  # before any work, not after it
    rejects_at = out_dir.parent / f"{out_dir.name}.rejects"
    with one_writer(out_dir, "`insight train`"):
        with timed(summary, reporter, "read and validate"):
            loaded = load_input(data, rejects_to=rejects_at)
        with StagedRejects(rejects_at) as rejects:
            record_rejects(summary, loaded, rejects)
            bundle, customers = _train_and_save(loaded, out_dir, opts, encoder, reporter, summary)
            rejects.commit()  # after the bundle: the rejects beside it are always those of the data it was trained on
    summary.customers = customers
    summary.seconds = round(time.perf_counter() - t0, 2)
    return TrainResult(bundle, summary, out_dir)


def _lone_latest_orders(order_ts: pd.Series, horizon_days: int) -> list[str]:
    """A warning when the default cutoff (the last order) sits far after nearly all orders: one mistyped date (2100 for
    2024) moved every snapshot there, and the models learned from empty windows (validation Gini -0.59) without a
    word."""
    ts = pd.to_datetime(order_ts, utc=True)
    if len(ts) < 100:
        return []
    bulk = ts.quantile(0.999)
    gap = (ts.max() - bulk).days
    if gap <= max(90, horizon_days):
        return []
    n = int((ts > bulk + pd.Timedelta(days=max(90, horizon_days))).sum())
    return [
        f"the cutoff is the last order, {ts.max().date()}, {gap:,} days after 99.9% of the orders ({n:,} order"
        f"{'s' if n != 1 else ''} that late): a mistyped date? Fix it, or pass --cutoff"
    ]


def _train_and_save(
    loaded: LoadedData, out_dir: Path, opts: TrainOptions, encoder, reporter: Reporter, summary: RunSummary
) -> tuple[ModelBundle, int]:
    """Plan the panel, fit the bundle and save it to ``out_dir``; returns it and the number of customers scored at
    the cutoff."""
    orders = loaded.tables["orders"]
    cutoff = parse_cutoff(opts.cutoff, pd.Timestamp(orders["order_ts"].max()))
    first = pd.Timestamp(orders["order_ts"].min()) if len(orders) else cutoff
    panel = plan_panel(to_utc(first), cutoff, opts.horizon_days)
    train_h, cutoffs = panel.train_horizon_days, panel.cutoffs
    if opts.cutoff is None:
        summary.details.setdefault("warnings", []).extend(_lone_latest_orders(orders["order_ts"], opts.horizon_days))
    summary.details["panel"] = {
        "train_horizon_days": train_h,
        "snapshots": {k: v.isoformat() for k, v in cutoffs.items()},
        "seasonal": panel.seasonal,
        "notes": panel.notes,
    }
    sources = tuple(s for s in opts.text_sources if len(loaded.tables["reviews" if s == "review" else "events"]))
    work_opts = replace(opts, horizon_days=train_h)  # snapshots' targets are over the learned horizon

    work: LocalWork | scaleout.DaskWork
    with ExitStack() as stack:
        if opts.dask is None:
            work = LocalWork(loaded, cutoffs, work_opts, sources, encoder, reporter, summary)
        else:
            client = stack.enter_context(scaleout.connect(opts.dask))
            work = scaleout.DaskWork(
                client,
                loaded,
                cutoffs,
                work_opts,
                sources,
                encoder_spec(opts.embedding_model, opts.cache_dir, encoder, opts.embedding_backend),
                reporter,
                summary,
            )
        if sources:
            summary.details["embedding"] = work.embedding_stats
        bundle = _fit_bundle(work, loaded, panel, opts, sources, reporter, summary)
    with timed(summary, reporter, "write bundle"):
        bundle.save(out_dir)
    return bundle, len(work.snapshots["score"])


def _fit_bundle(
    work,
    loaded: LoadedData,
    panel: Panel,
    opts: TrainOptions,
    sources: tuple[str, ...],
    reporter: Reporter,
    summary: RunSummary,
) -> ModelBundle:
    """Classic models per snapshot, text featurizer, value and churn models, tiers and the other population fits;
    ``work`` is a LocalWork or DaskWork."""
    cutoffs, train_h = panel.cutoffs, panel.train_horizon_days
    with timed(summary, reporter, "train models"):
        with reporter.step("classic models per snapshot"):
            # Each snapshot's BG/NBD and Gamma-Gamma are fitted on that snapshot's own history (nothing later).
            classics = {n: ClassicFeatures(train_h).fit(work.snapshots[n]) for n in cutoffs}
        text = TextFeaturizer(n_components=opts.text_components, sources=sources, random_state=opts.seed)
        with reporter.step("panel design"):
            d = model_inputs(work, panel, classics, text, sources, opts.seed)
        value, churn, metrics = _fit_models(d, panel, classics, opts, sources, reporter)
        # Expected orders: BG/NBD over the horizon, levelled on the latest snapshot like the value model.
        predicted_orders = classics["validation"].orders(d.s_val, train_h).sum()
        orders_scale = float(d.s_val["future_orders"].sum() / predicted_orders) if predicted_orders > 0 else 1.0

    with timed(summary, reporter, "calibrate tiers"):
        s_score = work.snapshots["score"]
        pred = value.predict(d.X_score)
        tiers = TierPolicy(shares=opts.tier_shares, amounts=opts.tier_amounts).fit(pred)
        rfm = RFMSegmenter().fit(s_score)
        vectorizer = CustomerVectorizer().fit(s_score[TABULAR_FEATURES])
        drivers = work.frame(d.X_score_all[driver_inputs(d.X_score_all.columns)])
        peers = PeerPercentiles().fit(pd.concat([s_score.reset_index(drop=True), drivers], axis=1))
        metrics["score_population"] = {
            "customers": len(d.X_score),
            "tier_counts": pd.Series(tiers.assign(pred)).value_counts().to_dict(),
        }

    return ModelBundle(
        value_model=value,
        churn_model=churn,
        text=text,
        feature_names=list(d.X_fit.columns),
        tiers=tiers,
        rfm=rfm,
        peers=peers,
        config=_bundle_config(work, panel, classics, opts, sources, orders_scale)
        | {"vectorizer": vectorizer.to_dict()},
        metrics=metrics,
        fingerprint=data_fingerprint(loaded.sources) if loaded.sources else "in-memory",
    )


def _fit_models(
    d: Designs, panel: Panel, classics: dict, opts: TrainOptions, sources: tuple[str, ...], reporter: Reporter
) -> tuple[ValueModel, ChurnModel, dict]:
    """The text check (it may drop the text columns from ``d``), then the value and churn models and their metrics."""
    train_h = panel.train_horizon_days
    shift = None
    if train_h != opts.horizon_days:
        bg = classics["score"].bg_
        shift = HorizonShift(train_h, opts.horizon_days, bg.to_dict() if bg is not None else None)
    kw: dict[str, Any] = dict(seed=opts.seed, n_threads=opts.n_threads)
    check = None
    if sources and opts.text_check:
        with reporter.step("text check: one booster with text, one without"):
            columns = list(d.X_fit.columns)
            check = text_check(d.X_fit, d.y_value, d.X_val, d.s_val["future_value"], columns, kw)
        if not check["used"]:
            columns = check["columns"]
            d.X_fit, d.X_val, d.X_score = d.X_fit[columns], d.X_val[columns], d.X_score[columns]
    with reporter.step("value model"):
        value = ValueModel(**kw).fit(d.X_fit, d.y_value, d.X_val, d.s_val["future_value"], shift=shift)
        if LEVEL_ANCHOR:
            value.anchor_level(d.X_val, d.X_score, d.validation_totals)
        value.fix_horizon_factor(d.X_score)
    with reporter.step("churn model"):
        churn = ChurnModel(**kw).fit(d.X_fit, d.y_churn, d.X_val, d.s_val["churn"], shift=shift)
        value.condition_interval(d.X_val, d.s_val["future_value"], churn.learned_proba(d.X_val))
    metrics = {
        "value": value.validation_,
        "value_objective": value.objective_,
        "value_selection": value.selection_,
        "churn": churn.validation_,
        "n_fit": len(d.X_fit),
        "n_validation": len(d.X_val),
        "train_horizon_days": train_h,
        "validation_customers": "held out of the fit snapshots" if d.held_out else "all (too few to hold out)",
        "panel_rows": dict(zip(fit_names(panel.cutoffs), d.kept)),
    }
    if check is not None:
        metrics["text_check"] = {k: v for k, v in check.items() if k != "columns"}
    return value, churn, metrics


def _bundle_config(
    work, panel: Panel, classics: dict, opts: TrainOptions, sources: tuple[str, ...], orders_scale: float
) -> dict:
    cutoffs = panel.cutoffs
    backend = encoder_backend(getattr(work, "encoder", None), opts.embedding_backend) if sources else None
    return {
        "horizon_days": opts.horizon_days,
        "train_horizon_days": panel.train_horizon_days,
        "cutoff": cutoffs["score"].isoformat(),
        "panel_cutoffs": {k: v.isoformat() for k, v in cutoffs.items()},
        "panel_notes": panel.notes,
        "seasonal": panel.seasonal,
        "fit_cutoff": min(cutoffs[n] for n in fit_names(cutoffs)).isoformat(),
        "validation_cutoff": cutoffs["validation"].isoformat(),
        "classic": classics["score"].to_dict(),
        "orders_scale": orders_scale,
        "seed": opts.seed,
        "text_sources": list(sources),
        "embedding_model": work.embedding_model if sources else None,
        "embedding_model_arg": opts.embedding_model,
        "embedding_backend": backend,
        "half_life_days": opts.half_life_days,
        "currency": opts.currency,
    }
