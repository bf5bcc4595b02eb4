"""The application layer: train, score, explain. The CLI and the HTTP API are thin shells around these.

Time layout (DESIGN.md): with cutoff C and horizon H, the model is fitted on the snapshot at C - 2H
(target: spend in (C - 2H, C - H]), early-stopped and its objective chosen on the later snapshot at
C - H (target: spend in (C - H, C]), then refitted on both; scoring uses the snapshot at C.
"""
from __future__ import annotations

import math
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from service.btyd import CLASSIC_FEATURES, ClassicFeatures
from service.activity import customer_activity, unscored_customers
from service.bundle import ModelBundle, data_fingerprint
from service.drivers import FamilyGrouper, PeerPercentiles, driver_records, scaled_contributions
from service.features import SEASON_FEATURES, TABULAR_FEATURES, FeatureBuilder, season_features, to_utc
from service.metrics import normalized_gini
from service.models import ChurnModel, HorizonShift, ValueModel, rows_of, value_metrics
from service.partition import TableParts, partition_bounds
from service.similarity import CustomerVectorizer
from service.store import ProfileStore, check_store, rejects_dir
from service.tables import DataError, LoadedData, load_tables
from service.text_features import DEFAULT_HALF_LIFE_DAYS, PooledText, TextEmbeddings, TextFeaturizer
from service.tiers import RFMSegmenter, TierPolicy

EVIDENCE_MAX_CHARS = 300
SCORE_RANGE_CUSTOMERS = 100_000  # customers whose profile rows a single-machine score holds at once (~40 KB each)


class Reporter:
    """Progress hooks; the CLI passes one that draws rich progress bars, tests pass nothing."""

    @contextmanager
    def stage(self, name: str):
        yield

    def progress(self, name: str, total: int) -> Callable[[int], None]:
        return lambda n: None

    @contextmanager
    def step(self, name: str):
        """A timed part of a stage (features, SHAP, ...): the benchmark records it, the CLI shows only stages."""
        yield


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
    text_check: bool = True  # keep text features only when they rank the held-out validation customers better (TEXT_MIN_GAIN)
    dask: object = None  # None: in-process; "local:N", "tcp://host:port" or a distributed.Client: per-customer work on Dask


@dataclass
class RunSummary:
    rows_read: int = 0
    rows_rejected: int = 0
    rejects: dict = field(default_factory=dict)
    rejects_dir: str | None = None
    customers: int = 0
    seconds: float = 0.0
    stages: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- helpers


def parse_cutoff(value: str | None, default: pd.Timestamp) -> pd.Timestamp:
    """A date alone means the end of that day (UTC), so 'orders on the cutoff date' count as before it."""
    if value is None:
        return to_utc(default)
    from service.tables import parse_timestamp

    # Strict ISO 8601 inside the accepted date range: '01/02/2025' is refused, not read as 2 January.
    return parse_timestamp(value, "cutoff", end_of_day=True)


def make_encoder(model: str | None, cache_dir: Path | None, backend: str | None = None):
    """The embedding model (on ``backend``, default $INSIGHT_EMBEDDING_BACKEND or onnx) behind the on-disk content-hash cache."""
    from embeddings.cache import CachedEncoder, EmbeddingCache
    from embeddings.encoder import default_cache_dir, load_encoder

    encoder = load_encoder(model, backend)
    cache_dir = Path(cache_dir or default_cache_dir())
    cache_dir.mkdir(parents=True, exist_ok=True)
    return CachedEncoder(encoder, EmbeddingCache(cache_dir / "embeddings.sqlite", encoder.model_id))


def _timed(summary: RunSummary, reporter: Reporter, name: str):
    @contextmanager
    def cm():
        t0 = time.perf_counter()
        with reporter.stage(name):
            yield
        summary.stages[name] = round(time.perf_counter() - t0, 3)
    return cm()


def _load(data: str | Path | LoadedData) -> LoadedData:
    return data if isinstance(data, LoadedData) else load_tables(data)


def _record_rejects(summary: RunSummary, loaded: LoadedData, out_dir: Path | None) -> None:
    summary.rows_read = loaded.n_read
    summary.rows_rejected = loaded.n_rejected
    summary.rejects = {k: len(v) for k, v in loaded.rejects.items() if len(v)}
    # Per table read = kept + rejected (a customers table derived from the orders was not read: not listed).
    summary.details["tables"] = {k: v for k, v in loaded.summary().items() if k in loaded.rows_read}
    if out_dir is not None and loaded.n_rejected:
        loaded.write_rejects(out_dir)
        summary.rejects_dir = str(out_dir)


def _embeddings(loaded: LoadedData, sources, encoder, half_life, reporter: Reporter) -> TextEmbeddings | None:
    if not sources:
        return None
    return TextEmbeddings(loaded.tables, ProgressEncoder(encoder, reporter), sources=sources, half_life_days=half_life)


class ProgressEncoder:
    """Encodes in chunks so the CLI can show a progress bar (TextEmbeddings passes distinct texts; the cache dedupes too)."""

    CHUNK = 4096

    def __init__(self, encoder, reporter: Reporter):
        self.encoder, self.reporter, self.dim = encoder, reporter, encoder.dim

    def encode(self, texts: list[str]) -> np.ndarray:
        advance = self.reporter.progress("embedding texts", len(texts))
        parts = []
        for start in range(0, len(texts), self.CHUNK):
            chunk = list(texts[start:start + self.CHUNK])
            parts.append(self.encoder.encode(chunk))
            advance(len(chunk))
        return np.concatenate(parts) if parts else np.zeros((0, self.dim), np.float32)


def design_columns(text: TextFeaturizer | None) -> list[str]:
    """Model input columns, in order: behaviour, classic-model (BG/NBD, Gamma-Gamma), season, then text."""
    return TABULAR_FEATURES + CLASSIC_FEATURES + SEASON_FEATURES + (text.feature_names() if text is not None and text.sources else [])


def _base_design(snapshot: pd.DataFrame, cutoff: pd.Timestamp, classic: ClassicFeatures) -> pd.DataFrame:
    """Behaviour, classic-model and season columns of one snapshot (no text)."""
    tab = snapshot.reset_index(drop=True)
    return pd.concat([tab[TABULAR_FEATURES], classic.transform(tab), season_features(cutoff, len(tab))], axis=1)


def _design(snapshot: pd.DataFrame, text: TextFeaturizer, emb: TextEmbeddings | None, cutoff: pd.Timestamp,
            classic: ClassicFeatures):
    """Feature matrix of one snapshot: behaviour, classic-model, season, then text columns; also the pooled vectors."""
    X = _base_design(snapshot, cutoff, classic)
    pooled = {}
    if emb is not None and text.sources:
        pooled = {src: emb.pooled(src, snapshot["customer_id"], cutoff) for src in text.sources}
        X = pd.concat([X, text.transform(pooled)], axis=1)
    return X, pooled


# Training panel: snapshots every PANEL_STEP_DAYS (at most the horizon) back from the latest one whose target
# window ends at the cutoff, each with at least MIN_HISTORY_DAYS of history; the oldest beyond
# MAX_FIT_SNAPSHOTS are not used, and rows beyond MAX_PANEL_ROWS are sampled away (training cost).
# When the history reaches back a year, the snapshot one year before the cutoff joins the panel: it shows
# the model the season it will be scored in, and only then are season features used (trees cannot
# extrapolate to a time of year no snapshot has seen; tried without this rule, a panel of winter and
# spring snapshots scored in August multiplied some predictions tenfold).
PANEL_STEP_DAYS = 30
MIN_HISTORY_DAYS = 30
MAX_FIT_SNAPSHOTS = 4
MAX_PANEL_ROWS = 200_000
LEVEL_ANCHOR = True
# Validation customers: this share of customers (by a stable hash of the id and the seed) is left out of the fit
# snapshots and makes up the latest snapshot that early-stops, selects and calibrates the models. Why: the fit
# snapshots' target windows overlap the latest one's, so with the same customers on both sides the trees and the
# text heads could recognise a customer and recall a future they had seen, which looked like skill on the latest
# snapshot and was not at the cutoff. Below MIN_VALIDATION_CUSTOMERS held-out customers every customer validates.
VALIDATION_CUSTOMER_SHARE = 0.3
MIN_VALIDATION_CUSTOMERS = 200
YEAR_DAYS = 365


@dataclass
class Panel:
    train_horizon_days: int
    cutoffs: dict[str, pd.Timestamp]  # "validation" (latest), "fit_1" ... (older), "fit_year" (a year before), "score"
    seasonal: bool
    notes: list[str]


def validation_customers(customer_ids, seed: int, share: float | None = None) -> np.ndarray:
    """True for the customers held out of the fit snapshots for validation (a stable hash of id and seed)."""
    share = VALIDATION_CUSTOMER_SHARE if share is None else share
    ids = np.asarray(customer_ids, dtype=object)
    if share <= 0 or len(ids) == 0:
        return np.zeros(len(ids), bool)
    u = pd.util.hash_array(ids, hash_key=f"validation{int(seed) % 10**6:06d}").astype(np.float64) / 2.0**64
    return u < share


def plan_panel(first_order: pd.Timestamp, cutoff: pd.Timestamp, horizon_days: int) -> Panel:
    """The training snapshots for a cutoff and a horizon.

    The requested horizon is learned directly when the history holds the latest snapshot (target window
    (cutoff - H, cutoff]) plus at least one earlier one, each with MIN_HISTORY_DAYS of history before it.
    Otherwise the longest horizon that does is learned, and predictions move to the requested horizon
    through the BG/NBD model (``models.HorizonShift``).
    """
    step = min(PANEL_STEP_DAYS, horizon_days)
    history = (cutoff - first_order).total_seconds() / 86400.0
    h, notes = horizon_days, []
    if history - horizon_days - step < MIN_HISTORY_DAYS:
        h = int(math.floor(history - MIN_HISTORY_DAYS - step))
        if h < 7:
            raise DataError(f"only {history:.0f} days of orders before the cutoff {cutoff.date()}: training needs at least "
                            f"{MIN_HISTORY_DAYS + step + 7} days (two snapshots with {MIN_HISTORY_DAYS} days of history and a 7-day target)")
        notes.append(f"history of {history:.0f} days is too short to learn a {horizon_days}-day horizon; the models learn {h} days "
                     f"and the BG/NBD model carries each customer's prediction to {horizon_days} days")

    def enough_history(c: pd.Timestamp) -> bool:
        return (c - first_order).total_seconds() / 86400.0 >= MIN_HISTORY_DAYS

    val = cutoff - timedelta(days=h)
    cutoffs = {"validation": val}
    for k in range(1, MAX_FIT_SNAPSHOTS + 1):
        c = val - timedelta(days=k * step)
        if not enough_history(c):
            break
        cutoffs[f"fit_{k}"] = c
    year_ago = cutoff - timedelta(days=YEAR_DAYS)
    seasonal = h <= YEAR_DAYS and enough_history(year_ago)
    if seasonal and all(abs((c - year_ago).days) >= step for c in cutoffs.values()):
        cutoffs["fit_year"] = year_ago
    if not seasonal:
        notes.append("less than a year of history before the cutoff: no season features (no snapshot has seen the season scored)")
    cutoffs["score"] = cutoff
    return Panel(h, cutoffs, seasonal, notes)


def _driver_inputs(columns) -> list[str]:
    """Model-input columns that drivers show beside the snapshot's own: text counts and the classic-model features."""
    return [c for c in columns if (c.startswith("n_") and c.endswith("_texts")) or (c in CLASSIC_FEATURES and c != "first_purchase_days")]


def fit_names(cutoffs: dict) -> list[str]:
    return [k for k in cutoffs if k.startswith("fit_")]


# ----------------------------------------------------------------------------- train


@dataclass
class TrainResult:
    bundle: ModelBundle
    summary: RunSummary
    out_dir: Path


class LocalWork:
    """The per-customer work of training, in this process: feature snapshots, embeddings, design matrices.

    ``service.scaleout.DaskWork`` is the same interface over partitions of customers on a Dask cluster;
    ``train`` runs the same steps on either.
    """

    def __init__(self, loaded: LoadedData, cutoffs: dict[str, pd.Timestamp], opts: TrainOptions, sources: tuple[str, ...],
                 encoder, reporter: Reporter, summary: RunSummary):
        self.cutoffs = cutoffs
        with _timed(summary, reporter, "features"):
            fb = FeatureBuilder(loaded.tables, threads=opts.n_threads)
            self.snapshots = {name: fb.snapshot(c, opts.horizon_days) for name, c in cutoffs.items()}
            fb.close()
        _check_history(self.snapshots, cutoffs, opts.horizon_days)
        self.emb, self.embedding_model, self.embedding_stats, self.encoder = None, None, {}, None
        if sources:
            with _timed(summary, reporter, "embeddings"):
                encoder = encoder or make_encoder(opts.embedding_model, opts.cache_dir, opts.embedding_backend)
                self.encoder = encoder
                self.emb = _embeddings(loaded, sources, encoder, opts.half_life_days, reporter)
                self.embedding_model = getattr(encoder, "model_id", None)
                self.embedding_stats = getattr(encoder, "stats", lambda: {})()

    def pooled(self, name: str, keep: np.ndarray | None = None) -> dict:
        """Pooled text vectors of one snapshot's customers (in snapshot order); with ``keep``, of those rows only."""
        ids = self.snapshots[name]["customer_id"].to_numpy(dtype=object)
        return {src: self.emb.pooled(src, ids if keep is None else ids[keep], self.cutoffs[name]) for src in self.emb.sources}

    def distribute(self, X: pd.DataFrame) -> pd.DataFrame:
        return X

    def design(self, name: str, text: TextFeaturizer, classic: ClassicFeatures) -> pd.DataFrame:
        return _design(self.snapshots[name], text, self.emb, self.cutoffs[name], classic)[0]

    @staticmethod
    def frame(X) -> pd.DataFrame:
        return X


def _check_history(snapshots: dict[str, pd.DataFrame], cutoffs: dict[str, pd.Timestamp], horizon_days: int) -> None:
    for name in ["validation"] + fit_names(cutoffs)[:1]:
        if name not in snapshots or len(snapshots[name]) < 50:
            n = len(snapshots.get(name, ()))
            raise DataError(f"only {n} customers have orders before the {name} snapshot at {cutoffs[name].date() if name in cutoffs else '?'}; "
                            f"training needs 50+ customers with history before two snapshots {horizon_days} days or more before the cutoff "
                            "(try a shorter --horizon-days or an earlier start of the data)")


def train(data: str | Path | LoadedData, out_dir: str | Path, opts: TrainOptions | None = None,
          reporter: Reporter | None = None, encoder=None) -> TrainResult:
    """Train the value and churn models and write the bundle; with ``opts.dask`` the per-customer work runs on a Dask cluster."""
    opts = opts or TrainOptions()
    reporter = reporter or Reporter()
    summary = RunSummary()
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    if opts.horizon_days < 1:
        raise DataError(f"horizon must be at least 1 day, got {opts.horizon_days}")
    _check_dask_spec(opts.dask)
    with _timed(summary, reporter, "read and validate"):
        loaded = _load(data)
    _record_rejects(summary, loaded, out_dir.parent / f"{out_dir.name}.rejects")

    orders = loaded.tables["orders"]
    cutoff = parse_cutoff(opts.cutoff, pd.Timestamp(orders["order_ts"].max()))
    first = pd.Timestamp(orders["order_ts"].min()) if len(orders) else cutoff
    panel = plan_panel(to_utc(first), cutoff, opts.horizon_days)
    train_h, cutoffs = panel.train_horizon_days, panel.cutoffs
    summary.details["panel"] = {"train_horizon_days": train_h, "snapshots": {k: v.isoformat() for k, v in cutoffs.items()},
                                "seasonal": panel.seasonal, "notes": panel.notes}
    sources = tuple(s for s in opts.text_sources if len(loaded.tables["reviews" if s == "review" else "events"]))
    work_opts = replace(opts, horizon_days=train_h)  # snapshots' targets are over the learned horizon

    with ExitStack() as stack:
        if opts.dask is None:
            work = LocalWork(loaded, cutoffs, work_opts, sources, encoder, reporter, summary)
        else:
            from service import scaleout

            client = stack.enter_context(scaleout.connect(opts.dask))
            work = scaleout.DaskWork(client, loaded, cutoffs, work_opts, sources, _encoder_spec(opts.embedding_model, opts.cache_dir, encoder, opts.embedding_backend),
                                     reporter, summary)
        if sources:
            summary.details["embedding"] = work.embedding_stats
        bundle = _fit_bundle(work, loaded, panel, opts, sources, reporter, summary)
    with _timed(summary, reporter, "write bundle"):
        bundle.save(out_dir)
    summary.customers = len(work.snapshots["score"])
    summary.seconds = round(time.perf_counter() - t0, 2)
    return TrainResult(bundle, summary, out_dir)


def _panel(work, cutoffs: dict[str, pd.Timestamp], classics: dict[str, ClassicFeatures], text: TextFeaturizer,
           sources: tuple[str, ...], seed: int, held_out: bool):
    """The stacked fit snapshots: (design frame, value target, churn target, rows per snapshot, customer id per row).

    With ``held_out`` the validation customers are left out. Text features of the panel are fitted here
    (head scores out-of-fold, folds by customer); rows beyond MAX_PANEL_ROWS are sampled away uniformly, with
    the same seed every time.
    """
    names = fit_names(cutoffs)
    fitting = {n: ~validation_customers(work.snapshots[n]["customer_id"], seed) if held_out else np.ones(len(work.snapshots[n]), bool)
               for n in names}
    total = sum(int(f.sum()) for f in fitting.values())
    keep_share = min(1.0, MAX_PANEL_ROWS / max(total, 1))
    rng = np.random.default_rng(seed)
    parts, pooled_parts, yv, yc, kept, groups = [], [], [], [], [], []
    for n in names:
        snap = work.snapshots[n].reset_index(drop=True)
        keep = (rng.random(len(snap)) < keep_share if keep_share < 1.0 else np.ones(len(snap), bool)) & fitting[n]
        groups.append(snap["customer_id"].to_numpy(dtype=object)[keep])
        parts.append(_base_design(snap, cutoffs[n], classics[n])[keep].reset_index(drop=True))
        yv.append(snap["future_value"].to_numpy()[keep])
        yc.append(snap["churn"].to_numpy()[keep])
        kept.append(int(keep.sum()))
        if sources:
            pooled_parts.append(work.pooled(n, keep))  # only the kept rows are pooled (and, on Dask, gathered)
    X = pd.concat(parts, ignore_index=True)
    y_value, y_churn = np.concatenate(yv), np.concatenate(yc)
    if sources:
        pooled = {src: PooledText(np.concatenate([pp[src].vectors for pp in pooled_parts]), np.concatenate([pp[src].counts for pp in pooled_parts]))
                  for src in sources}
        X = pd.concat([X, text.fit_transform(pooled, y_value, y_churn, groups=np.concatenate(groups))], axis=1)
    return X, y_value, y_churn, kept, np.concatenate(groups)


# Text features are kept only when a booster with them ranks the held-out validation customers better than the
# same booster without them, by at least TEXT_MIN_GAIN normalized Gini (what text must add to be worth embedding
# and explaining), and not by luck: the gain stays above 0 in at least TEXT_CONFIDENCE of bootstrap resamples of
# those customers. Pure-noise text columns won by up to +0.007 and passed the bootstrap alone in tests. On the real
# datasets text did not pay (README); on a shop whose words carry signal it does, and each training run decides
# from its own data.
TEXT_MIN_GAIN = 0.01
TEXT_CONFIDENCE = 0.9
TEXT_BOOTSTRAP = 200


def _text_check(X_fit, y_value, X_val, y_val, columns: list[str], kw: dict) -> dict:
    """One value booster with every column and one without the text columns, fitted alike; whether text pays."""
    tabular = [c for c in columns if c in TABULAR_FEATURES + CLASSIC_FEATURES + SEASON_FEATURES]
    y_val = np.asarray(y_val, dtype=np.float64)
    pred = {}
    for name, cols in (("with_text", columns), ("tabular_only", tabular)):
        # no row or column sampling: the two boosters then differ only by the text columns, not by which rows and
        # columns their random draws picked (a seed's luck was as large as text's effect on the real data)
        m = ValueModel(objective=f"tweedie:{ValueModel.POWERS[-1]}", n_bags=1, monotone=False,
                       params={"subsample": 1.0, "colsample_bytree": 1.0}, **kw)
        pred[name] = m.fit(X_fit[cols], y_value, X_val[cols], y_val).predict(X_val[cols])
    gini = {k: round(float(normalized_gini(y_val, p)), 4) for k, p in pred.items()}
    rng = np.random.default_rng(kw.get("seed", 0))
    wins = 0
    for _ in range(TEXT_BOOTSTRAP):
        i = rng.integers(0, len(y_val), len(y_val))
        wins += normalized_gini(y_val[i], pred["with_text"][i]) > normalized_gini(y_val[i], pred["tabular_only"][i])
    share = wins / TEXT_BOOTSTRAP
    used = share >= TEXT_CONFIDENCE and gini["with_text"] >= gini["tabular_only"] + TEXT_MIN_GAIN
    return {**gini, "gain_share": round(share, 3), "used": bool(used), "columns": columns if used else tabular}


def _fit_bundle(work, loaded: LoadedData, panel: Panel, opts: TrainOptions, sources: tuple[str, ...], reporter: Reporter,
                summary: RunSummary) -> ModelBundle:
    """Classic models per snapshot, text featurizer, value and churn models, tiers and the other population fits;
    ``work`` is a LocalWork or DaskWork."""
    cutoffs, train_h, notes = panel.cutoffs, panel.train_horizon_days, panel.notes
    s_val, s_score = work.snapshots["validation"], work.snapshots["score"]
    cutoff = cutoffs["score"]
    with _timed(summary, reporter, "train models"):
        with reporter.step("classic models per snapshot"):
            # Each snapshot's BG/NBD and Gamma-Gamma are fitted on that snapshot's own history (nothing later).
            classics = {n: ClassicFeatures(train_h).fit(work.snapshots[n]) for n in cutoffs}
        text = TextFeaturizer(n_components=opts.text_components, sources=sources, random_state=opts.seed)
        with reporter.step("panel design"):
            held = validation_customers(s_val["customer_id"], opts.seed)
            held_out = int(held.sum()) >= MIN_VALIDATION_CUSTOMERS
            X_fit, y_value, y_churn, kept, _ = _panel(work, cutoffs, classics, text, sources, opts.seed, held_out)
            columns = [c for c in X_fit.columns if panel.seasonal or c not in SEASON_FEATURES]
            X_fit = work.distribute(X_fit[columns])
            X_val = work.design("validation", text, classics["validation"])[columns]
            if held_out:
                X_val, s_val = rows_of(X_val, held), s_val[held].reset_index(drop=True)
        shift = None
        if train_h != opts.horizon_days:
            bg = classics["score"].bg_
            shift = HorizonShift(train_h, opts.horizon_days, bg.to_dict() if bg is not None else None)
        kw = dict(seed=opts.seed, n_threads=opts.n_threads)
        X_score = X_score_all = work.design("score", text, classics["score"])[columns]
        text_check = None
        if sources and opts.text_check:
            with reporter.step("text check: one booster with text, one without"):
                text_check = _text_check(X_fit, y_value, X_val, s_val["future_value"], columns, kw)
            if not text_check["used"]:
                columns = text_check["columns"]
                X_fit, X_val, X_score = X_fit[columns], X_val[columns], X_score[columns]
        with reporter.step("value model"):
            value = ValueModel(**kw).fit(X_fit, y_value, X_val, s_val["future_value"], shift=shift)
            if LEVEL_ANCHOR:
                value.anchor_level(X_val, X_score)
        with reporter.step("churn model"):
            churn = ChurnModel(**kw).fit(X_fit, y_churn, X_val, s_val["churn"], shift=shift)
        metrics = {"value": value.validation_, "value_objective": value.objective_, "value_selection": value.selection_,
                   "churn": churn.validation_, "n_fit": len(X_fit), "n_validation": len(X_val), "train_horizon_days": train_h,
                   "validation_customers": "held out of the fit snapshots" if held_out else "all (too few to hold out)",
                   "panel_rows": dict(zip(fit_names(cutoffs), kept))}
        if text_check is not None:
            metrics["text_check"] = {k: v for k, v in text_check.items() if k != "columns"}
        # Expected orders: BG/NBD over the horizon, levelled on the latest snapshot like the value model.
        predicted_orders = classics["validation"].orders(s_val, train_h).sum()
        orders_scale = float(s_val["future_orders"].sum() / predicted_orders) if predicted_orders > 0 else 1.0

    with _timed(summary, reporter, "calibrate tiers"):
        pred = value.predict(X_score)
        tiers = TierPolicy(shares=opts.tier_shares, amounts=opts.tier_amounts).fit(pred)
        rfm = RFMSegmenter().fit(s_score)
        vectorizer = CustomerVectorizer().fit(s_score[TABULAR_FEATURES])
        peers = PeerPercentiles().fit(pd.concat([s_score.reset_index(drop=True), work.frame(X_score_all[_driver_inputs(X_score_all.columns)])], axis=1))
        metrics["score_population"] = {"customers": len(X_score), "tier_counts": pd.Series(tiers.assign(pred)).value_counts().to_dict()}

    return ModelBundle(
        value_model=value, churn_model=churn, text=text, feature_names=list(X_fit.columns), tiers=tiers, rfm=rfm, peers=peers,
        config={"horizon_days": opts.horizon_days, "train_horizon_days": train_h, "cutoff": cutoff.isoformat(),
                "panel_cutoffs": {k: v.isoformat() for k, v in cutoffs.items()}, "panel_notes": notes, "seasonal": panel.seasonal,
                "fit_cutoff": min(cutoffs[n] for n in fit_names(cutoffs)).isoformat(), "validation_cutoff": cutoffs["validation"].isoformat(),
                "classic": classics["score"].to_dict(), "orders_scale": orders_scale,
                "seed": opts.seed, "text_sources": list(sources),
                "embedding_model": work.embedding_model if sources else None,
                "embedding_model_arg": opts.embedding_model,
                "embedding_backend": encoder_backend(getattr(work, "encoder", None), opts.embedding_backend) if sources else None, "half_life_days": opts.half_life_days, "currency": opts.currency,
                "vectorizer": vectorizer.to_dict()},
        metrics=metrics, fingerprint=data_fingerprint(loaded.sources) if loaded.sources else "in-memory",
    )


def _check_dask_spec(dask) -> None:
    """A --dask spec that cannot work fails before any data is read."""
    if isinstance(dask, str):
        from service.scaleout import parse_spec

        parse_spec(dask)


def _encoder_spec(model: str | None, cache_dir: Path | None, encoder=None,
                  backend: str | None = None) -> tuple[str | None, str | None, str]:
    """(model, cache directory, backend) for workers, which load the encoder themselves (a model cannot travel between processes).

    When the caller passed an encoder with an on-disk cache, the workers share that cache file.
    """
    backend = encoder_backend(encoder, backend)
    cache = getattr(getattr(encoder, "cache", None), "path", None)
    if cache is not None:
        return model, str(Path(cache).parent), backend
    return model, (str(cache_dir) if cache_dir else None), backend


def bundle_backend(bundle: ModelBundle) -> str:
    """The embedding backend a bundle was trained with (bundles from before backends existed used torch)."""
    return bundle.config.get("embedding_backend") or "torch"


def encoder_backend(encoder=None, backend: str | None = None) -> str:
    """The backend of ``encoder`` (or of the one it wraps), else ``backend`` resolved (argument, env, default)."""
    from embeddings.encoder import resolve_backend

    inner = getattr(encoder, "encoder", encoder)
    return getattr(inner, "backend", None) or resolve_backend(backend)


# ----------------------------------------------------------------------------- score


def _evidence(emb: TextEmbeddings | None, customer_ids: pd.Series, cutoff: pd.Timestamp, review_direction: np.ndarray,
              reviews: pd.DataFrame) -> dict[str, list[dict]]:
    """Up to two review quotes and one browsing text per customer, verbatim (capped in length).

    Reviews are picked to match the review-text driver: the best-rated recent ones when the
    text lifts the prediction, the worst-rated when it lowers it.
    """
    out: dict[str, list[dict]] = {cid: [] for cid in customer_ids}
    if len(reviews):
        r = reviews[reviews["review_ts"] <= cutoff][["customer_id", "review_ts", "rating", "text"]].copy()
        direction = pd.Series(review_direction, index=customer_ids.to_numpy())
        r = r[r["customer_id"].isin(direction.index)]
        r["key"] = -r["rating"] * np.sign(direction.reindex(r["customer_id"]).fillna(1).to_numpy() + 1e-9)
        # The text breaks ties, so the quotes do not depend on the order of the input rows.
        r = r.sort_values(["customer_id", "key", "review_ts", "text"], ascending=[True, True, False, True]).groupby("customer_id").head(2)
        for cid, ts, rating, text in r[["customer_id", "review_ts", "rating", "text"]].itertuples(index=False):
            out[cid].append({"text": text[:EVIDENCE_MAX_CHARS], "source": f"review {ts.date()}, {rating:.0f}/5"})
    if emb is not None and "browse" in emb.sources:
        e = emb.texts_of("browse")
        e = e[(pd.to_datetime(e["ts"], utc=True) <= cutoff) & e["customer_id"].isin(out.keys())]
        e = e.sort_values(["customer_id", "ts", "text"], ascending=[True, False, True]).drop_duplicates(["customer_id", "text"]).groupby("customer_id").head(1)
        for cid, ts, text in e[["customer_id", "ts", "text"]].itertuples(index=False):
            out[cid].append({"text": text[:EVIDENCE_MAX_CHARS], "source": f"browsing {pd.Timestamp(ts).date()}"})
    return out


def value_rank_pct(value: np.ndarray) -> np.ndarray:
    """Share of scored customers with a strictly lower prediction, floored to 0.1 so the top one never reads "100%".

    It depends on the whole scored population, so a partitioned run computes it once over all customers.
    """
    return np.floor((pd.Series(value).rank(method="min").to_numpy() - 1) / len(value) * 1000) / 10


def _records(df: pd.DataFrame) -> list[dict]:
    """``df.astype(object).where(df.notna(), None).to_dict("records")`` column-wise: one ``tolist`` per column, no pandas per row."""
    cols = []
    for c in df.columns:
        vals = df[c].to_numpy().tolist()
        missing = df[c].isna().to_numpy()
        if missing.any():
            vals = [None if m else x for x, m in zip(vals, missing.tolist())]
        cols.append(vals)
    names = list(df.columns)
    return [dict(zip(names, row)) for row in zip(*cols)] if cols else [{} for _ in range(len(df))]


def _outlook_records(outlook: pd.DataFrame) -> list[dict]:
    """Profile fields from ``customer_outlook``: money rounded to cents, counts to 0.01, the interval as [low, high]."""
    o = outlook
    cols = {
        "historic_value": o["historic_value"].round(2), "expected_orders": o["expected_orders"].round(2),
        "avg_days_between_orders": o["avg_days_between_orders"].round(1), "next_order_date": o["next_order_date"],
        "value_low": o["value_low"].round(2), "value_high": o["value_high"].round(2),
    }
    recs = _records(pd.DataFrame(cols))
    for r in recs:
        low, high = r.pop("value_low"), r.pop("value_high")
        r["value_interval"] = [low, high] if low is not None and high is not None else None
    return recs


@dataclass
class Scored:
    """One scoring pass up to the predictions: the snapshot, the model input and what the models say."""

    snapshot: pd.DataFrame
    X: pd.DataFrame
    pooled: dict
    emb: TextEmbeddings | None
    value: np.ndarray
    churn: np.ndarray
    outlook: pd.DataFrame


def _predict(bundle: ModelBundle, loaded: LoadedData, cutoff: pd.Timestamp, encoder=None,
             reporter: Reporter | None = None, threads: int = 2) -> Scored:
    reporter = reporter or Reporter()
    with reporter.step("features"):
        fb = FeatureBuilder(loaded.tables, threads=threads)
        snap = fb.snapshot(cutoff, bundle.config["horizon_days"])
        fb.close()
    if len(snap) == 0:
        raise DataError(f"no customer has an order at or before the cutoff {cutoff.isoformat()}")
    sources = tuple(bundle.text.sources)
    emb = None
    if sources:
        encoder = encoder or make_encoder(bundle.config.get("embedding_model_arg"), None, bundle_backend(bundle))
        if encoder.model_id != bundle.config.get("embedding_model"):
            raise DataError(f"the bundle was trained with embedding model {bundle.config.get('embedding_model')} "
                            f"(backend {bundle_backend(bundle)}), but {encoder.model_id} (backend {encoder_backend(encoder)}) is configured; "
                            "set INSIGHT_EMBEDDING_MODEL to the training model")
        with reporter.step("embeddings"):
            emb = _embeddings(loaded, sources, encoder, bundle.config["half_life_days"], reporter)
    classic = bundle_classic(bundle)
    with reporter.step("pool texts + design matrix"):
        X, pooled = _design(snap, bundle.text, emb, cutoff, classic)
        X = X[bundle.feature_names]
    with reporter.step("predict (in place)"):
        value = bundle.value_model.predict(X)
        churn = bundle.churn_model.predict_proba(X)
        extra = customer_outlook(bundle, classic, snap, X, value, cutoff)
    return Scored(snap, X, pooled, emb, value, churn, extra)


def bundle_classic(bundle: ModelBundle) -> ClassicFeatures:
    """The BG/NBD and Gamma-Gamma fitted at the bundle's cutoff (bundles without one: a do-nothing model)."""
    spec = bundle.config.get("classic")
    return ClassicFeatures.from_dict(spec) if spec else ClassicFeatures(bundle.config["horizon_days"])


def customer_outlook(bundle: ModelBundle, classic: ClassicFeatures, snap: pd.DataFrame, X: pd.DataFrame, value: np.ndarray,
                     cutoff: pd.Timestamp) -> pd.DataFrame:
    """The per-customer fields a CRM shows beside value and churn, all computed per customer (batch-independent).

    historic_value: net spend to date (purchases, without returns and cancellations);
    expected_orders: BG/NBD orders over the horizon, levelled on the latest training snapshot;
    avg_days_between_orders: mean gap between purchases (empty below two purchases);
    next_order_date: BG/NBD's median date of the next order, given one falls inside the horizon;
    value_low / value_high: the 80% interval of the predicted value.
    """
    H = int(bundle.config["horizon_days"])
    tab = snap.reset_index(drop=True)
    low, high = bundle.value_model.interval(value, X)
    days = classic.next_order_days(tab, H)
    next_date = (pd.Timestamp(cutoff).normalize() + pd.to_timedelta(np.round(days), unit="D")).strftime("%Y-%m-%d")
    return pd.DataFrame({
        "historic_value": tab["monetary_total"].to_numpy(float),
        "expected_orders": classic.orders(tab, H) * float(bundle.config.get("orders_scale", 1.0)),
        "avg_days_between_orders": tab["ipi_mean_days"].to_numpy(float),
        "next_order_days": days,
        "next_order_date": np.asarray(next_date, dtype=object),
        "value_low": low, "value_high": high,
    })


def predict_tables(bundle: ModelBundle, loaded: LoadedData, cutoff: pd.Timestamp, encoder=None,
                   reporter: Reporter | None = None, threads: int = 2) -> pd.DataFrame:
    """Predictions only (no SHAP, evidence or profile rows) for every customer with an order at or before ``cutoff``.

    The evaluation harness calls this; the numbers are exactly those ``score_tables`` stores.
    Columns: customer_id, predicted_value, churn_probability, future_value, churn (these two are the
    outcomes when the tables reach past the cutoff, else 0 / 1), then ``customer_outlook``'s columns.
    """
    s = _predict(bundle, loaded, cutoff, encoder, reporter, threads)
    out = pd.DataFrame({"customer_id": s.snapshot["customer_id"].to_numpy(), "predicted_value": s.value,
                        "churn_probability": s.churn, "future_value": s.snapshot["future_value"].to_numpy(),
                        "churn": s.snapshot["churn"].to_numpy()})
    return pd.concat([out, s.outlook], axis=1)


def _summary_frame(bundle: ModelBundle, s: Scored) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The store's per-customer columns (tier, value, churn, RFM segment, rank among this batch) and the RFM scores."""
    snap = s.snapshot.reset_index(drop=True)
    rfm = bundle.rfm.transform(snap)
    frame = pd.DataFrame({"customer_id": snap["customer_id"].to_numpy(), "tier": bundle.tiers.assign(s.value),
                          "predicted_value": s.value, "churn_probability": s.churn, "rfm_segment": rfm["rfm_segment"].to_numpy(),
                          "value_rank_pct": value_rank_pct(s.value), "future_value": snap["future_value"].to_numpy(),
                          "churn": snap["churn"].to_numpy()})
    return frame, rfm


def _similarity_vectors(bundle: ModelBundle, s: Scored) -> np.ndarray:
    return CustomerVectorizer.from_dict(bundle.config["vectorizer"]).transform(s.snapshot[TABULAR_FEATURES], s.pooled)


def score_tables(bundle: ModelBundle, loaded: LoadedData, cutoff: pd.Timestamp, encoder=None,
                 reporter: Reporter | None = None, threads: int = 2,
                 scored_at: str | None = None) -> tuple[pd.DataFrame, list[dict], np.ndarray]:
    """Profiles for every customer with an order at or before ``cutoff``: (frame, profile rows, fused vectors).

    Shared by the batch `score`, the API's cold-start scoring and each partition of a Dask run, so all give
    the same answer (a partitioned run recomputes ``value_rank_pct`` over all customers).
    """
    reporter = reporter or Reporter()
    s = _predict(bundle, loaded, cutoff, encoder, reporter, threads)
    snap, X, pooled, emb, value, churn = s.snapshot, s.X, s.pooled, s.emb, s.value, s.churn
    frame, rfm = _summary_frame(bundle, s)
    with reporter.step("SHAP (batched)"):
        grouper = FamilyGrouper(bundle.feature_names)
        v_fam = grouper.transform(scaled_contributions(bundle.value_model.contributions(X), bundle.value_model.link))
        c_fam = grouper.transform(scaled_contributions(bundle.churn_model.contributions(X), bundle.churn_model.link))
    with reporter.step("drivers, evidence, profile rows"):
        feats = pd.concat([snap.reset_index(drop=True), X[_driver_inputs(X.columns)].reset_index(drop=True)], axis=1)
        drivers = driver_records(feats, grouper.families, v_fam, c_fam, bundle.peers)
        review_dir = v_fam[:, grouper.families.index("review text")] if "review text" in grouper.families else np.zeros(len(snap))
        evidence = _evidence(emb, snap["customer_id"], cutoff, review_dir, loaded.tables["reviews"])
        activity = customer_activity(loaded.tables, snap["customer_id"], cutoff)
        vectors = _similarity_vectors(bundle, s)
        scored_at = scored_at or datetime.now(timezone.utc).isoformat(timespec="seconds")
        keep = [c for c in TABULAR_FEATURES if c in snap]
        feat_records = _records(snap[keep].round(4))
        # The exact model input, so what-if questions can re-run the model on one stored customer.
        model_inputs = _records(X)
        cutoff_iso, version = cutoff.isoformat(), bundle.model_version
        rfm_scores = [np.asarray(rfm[c]).astype(np.int64).tolist() for c in ("rfm_r", "rfm_f", "rfm_m")]
        # Plain Python lists zipped together: no pandas access per customer.
        outlook = _outlook_records(s.outlook)
        rows = [
            {"customer_id": cid, "tier": tier, "predicted_value": v, "churn_probability": ch, "rfm_segment": seg, "value_rank_pct": pct,
             "profile": {"drivers": drv, "evidence": evidence.get(cid, []), "features": feat, "model_input": mi,
                         "rfm": {"r": r, "f": f, "m": m}, "cutoff": cutoff_iso, **out},
             "model_version": version, "scored_at": scored_at}
            for cid, tier, v, ch, seg, pct, drv, feat, mi, r, f, m, out in zip(
                snap["customer_id"].tolist(), frame["tier"].tolist(), value.astype(np.float64).tolist(),
                churn.astype(np.float64).tolist(), rfm["rfm_segment"].tolist(), frame["value_rank_pct"].astype(np.float64).tolist(),
                drivers, feat_records, model_inputs, *rfm_scores, outlook)
        ]
    for row in rows:  # what the customer did (service.activity): spend per month, categories, browsing, ratings, complaints
        row["profile"]["activity"] = activity.get(row["customer_id"], {})
    return frame, rows, vectors


@dataclass
class ScoreResult:
    summary: RunSummary
    frame: pd.DataFrame
    store: str
    index_dir: Path


def _score_in_ranges(bundle: ModelBundle, loaded: LoadedData, cut: pd.Timestamp, encoder, reporter: Reporter, threads: int,
                     scored_at: str, range_customers: int):
    """(frame, row batches, vectors) for the store, holding at most ``range_customers`` customers' profile rows at once.

    Profile rows are ~40 KB per customer as Python objects (4.9 GB at 100k customers), so a larger population is
    scored in customer ranges, twice: a first pass of predictions only gives every customer's rank percentile and the
    similarity vectors (the index is built before the store transaction), the second makes each range's rows as the
    store transaction pulls them. Scoring is batch-independent, so the stored profiles equal a one-pass run's.
    """
    orders = loaded.tables["orders"]
    eligible = orders.loc[orders["order_ts"] <= cut, "customer_id"]
    n_customers = eligible.nunique()
    if n_customers <= range_customers:
        frame, rows, vectors = score_tables(bundle, loaded, cut, encoder=encoder, reporter=reporter, threads=threads,
                                            scored_at=scored_at)
        return frame, [rows], vectors
    if bundle.text.sources and encoder is None:  # one model load for every range and both passes
        encoder = make_encoder(bundle.config.get("embedding_model_arg"), None, bundle_backend(bundle))
    parts = TableParts(loaded.tables, partition_bounds(eligible, math.ceil(n_customers / range_customers)))

    def ranges():
        for k in range(len(parts)):
            sub = LoadedData(parts.part(k))
            if (sub.tables["orders"]["order_ts"] <= cut).any():  # a range of customers who all start after the cutoff
                yield sub

    frames, vectors = [], []
    with reporter.step("predictions per range (ranks, index vectors)"):
        for sub in ranges():
            s = _predict(bundle, sub, cut, encoder, reporter, threads)
            frames.append(_summary_frame(bundle, s)[0])
            vectors.append(_similarity_vectors(bundle, s))
            del s
    frame = pd.concat(frames, ignore_index=True)
    frame["value_rank_pct"] = value_rank_pct(frame["predicted_value"].to_numpy())
    ranks = frame["value_rank_pct"].astype(np.float64).tolist()

    def batches():
        start = 0
        for sub in ranges():
            with reporter.step("profile rows per range"):
                _, rows, _ = score_tables(bundle, sub, cut, encoder=encoder, reporter=reporter, threads=threads,
                                          scored_at=scored_at)
            for row, pct in zip(rows, ranks[start:start + len(rows)]):
                row["value_rank_pct"] = pct
            start += len(rows)
            yield rows

    return frame, batches(), np.concatenate(vectors)


def score(data: str | Path | LoadedData, model_dir: str | Path, store: str | Path, cutoff: str | None = None,
          reporter: Reporter | None = None, encoder=None, threads: int = 2, dask=None,
          range_customers: int | None = None) -> ScoreResult:
    """Score every customer and replace the store's profiles and similar-customer index in one go.

    A single-machine run holds at most ``range_customers`` (default ``SCORE_RANGE_CUSTOMERS``) customers' profile
    rows in memory at once (``_score_in_ranges``).

    With ``dask`` ("local:N", a scheduler address or a distributed.Client) the customers are scored per partition
    on the cluster and the store is written from the partitions, still in one transaction.
    """
    from embeddings.index import SimilarityIndex

    reporter = reporter or Reporter()
    summary = RunSummary()
    t0 = time.perf_counter()
    _check_dask_spec(dask)
    check_store(store)  # driver, connection, INSIGHT_INDEX_DIR: before any work, not after it
    bundle = ModelBundle.load(model_dir)
    with _timed(summary, reporter, "read and validate"):
        loaded = _load(data)
    store_s = str(store)
    _record_rejects(summary, loaded, rejects_dir(store))
    cut = parse_cutoff(cutoff, loaded.tables["orders"]["order_ts"].max())
    scored_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with ExitStack() as stack:
        with _timed(summary, reporter, "score"):
            if dask is None:
                frame, batches, vectors = _score_in_ranges(bundle, loaded, cut, encoder, reporter, threads, scored_at,
                                                           range_customers or SCORE_RANGE_CUSTOMERS)
            else:
                from service import scaleout

                client = stack.enter_context(scaleout.connect(dask))
                spec = _encoder_spec(bundle.config.get("embedding_model_arg"), None, encoder, bundle_backend(bundle))
                # Rows stay on the workers until the store transaction pulls them, one partition at a time.
                frame, batches, vectors = scaleout.score(client, bundle, loaded, cut, scored_at, spec, reporter)
        with _timed(summary, reporter, "write store and index"):
            with reporter.step("index build"):
                index = SimilarityIndex.build(frame["customer_id"].tolist(), vectors)
            meta = {"model_version": bundle.model_version, "model_dir": str(Path(model_dir).resolve()), "tiers": bundle.tiers.to_dict(),
                    "horizon_days": bundle.config["horizon_days"], "currency": bundle.config.get("currency", "$"),
                    "cutoff": cut.isoformat(), "scored_at": scored_at, "customers": len(frame),
                    "tier_counts": frame["tier"].value_counts().to_dict(), "rejected_rows": summary.rejects,
                    "unscored_customers": unscored_customers(loaded.tables, frame["customer_id"], cut)}
            # The index goes into a new version directory, then one transaction swaps in the profiles and the metadata
            # naming that version: a run that fails or is killed at any point leaves the old store and the index it names.
            ps = ProfileStore(store, create=True)
            try:
                idx_dir = ps.replace_all(batches, meta, index=index)
            finally:
                ps.close()
    summary.customers = len(frame)
    summary.seconds = round(time.perf_counter() - t0, 2)
    return ScoreResult(summary, frame, store_s, idx_dir)


# ----------------------------------------------------------------------------- explain


def explain(customer_id: str, store: str | Path, narrator=None):
    """The explanation of one stored profile (facts -> narrator -> check)."""
    from service.explain import TemplateNarrator, explain_profile

    profile, meta = ProfileStore.read_profile(store, customer_id)
    return explain_profile(profile, meta, narrator or TemplateNarrator())
