"""Scoring a population into the profile store and the similar-customer index, in one transaction."""

from __future__ import annotations

import math
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from service import scaleout
from service.activity import unscored_customers
from service.bundle import ModelBundle
from service.partition import TableParts, partition_bounds
from service.profiles import predict, score_tables, similarity_vectors, summary_frame, with_population_ranks
from service.rejects_files import StagedRejects
from service.runs import (
    Reporter,
    RunSummary,
    bundle_backend,
    encoder_spec,
    load_input,
    make_encoder,
    parse_cutoff,
    record_rejects,
    timed,
)
from service.store import ProfileStore, check_store, index_root, rejects_dir, safe_url
from service.tables import LoadedData
from service.writer_lock import one_writer

SCORE_RANGE_CUSTOMERS = 100_000  # customers whose profile rows a single-machine score holds at once (~40 KB each)


@dataclass
class ScoreResult:
    summary: RunSummary
    frame: pd.DataFrame
    store: str
    index_dir: Path


def _score_in_ranges(
    bundle: ModelBundle,
    loaded: LoadedData,
    cut: pd.Timestamp,
    encoder,
    reporter: Reporter,
    threads: int,
    scored_at: str,
    range_customers: int,
):
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
        frame, rows, vectors = score_tables(
            bundle, loaded, cut, encoder=encoder, reporter=reporter, threads=threads, scored_at=scored_at
        )
        return frame, [rows], vectors
    if bundle.text.sources and encoder is None:  # one model load for every range and both passes
        encoder = make_encoder(bundle.config.get("embedding_model_arg"), None, bundle_backend(bundle))
    parts = TableParts(loaded.tables, partition_bounds(eligible, math.ceil(n_customers / range_customers)))

    def ranges():
        for k in range(len(parts)):
            sub = LoadedData(parts.part(k))
            if (sub.tables["orders"]["order_ts"] <= cut).any():  # a range of customers who all start after the cutoff
                yield sub

    frames, range_vectors = [], []
    with reporter.step("predictions per range (ranks, index vectors)"):
        for sub in ranges():
            s = predict(bundle, sub, cut, encoder, reporter, threads)
            frames.append(summary_frame(bundle, s)[0])
            range_vectors.append(similarity_vectors(bundle, s))
            del s
    frame = pd.concat(frames, ignore_index=True)

    def batches():
        for sub in ranges():
            with reporter.step("profile rows per range"):
                _, rows, _ = score_tables(
                    bundle, sub, cut, encoder=encoder, reporter=reporter, threads=threads, scored_at=scored_at
                )
            yield rows

    return frame, with_population_ranks(frame, batches()), np.concatenate(range_vectors)


def score(
    data: str | Path | LoadedData,
    model_dir: str | Path,
    store: str | Path,
    cutoff: str | None = None,
    reporter: Reporter | None = None,
    encoder=None,
    threads: int = 2,
    dask=None,
    range_customers: int | None = None,
) -> ScoreResult:
    """Score every customer and replace the store's profiles and similar-customer index in one go.

    A single-machine run holds at most ``range_customers`` (default ``SCORE_RANGE_CUSTOMERS``) customers' profile
    rows in memory at once (``_score_in_ranges``).

    With ``dask`` ("local:N", a scheduler address or a distributed.Client) the customers are scored per partition
    on the cluster and the store is written from the partitions, still in one transaction.
    """
    reporter = reporter or Reporter()
    summary = RunSummary()
    t0 = time.perf_counter()
    scaleout.check_spec(dask)
    check_store(store)  # driver, connection, INSIGHT_INDEX_DIR: before any work, not after it
    bundle = ModelBundle.load(model_dir)
    rejects_at = rejects_dir(store)
    # locked beside the store's index folder, which is local for a database URL too (one machine's runs, then)
    with one_writer(index_root(store), "`insight score`", shown=safe_url(store)):
        with timed(summary, reporter, "read and validate"):
            loaded = load_input(data, rejects_to=rejects_at)
        with StagedRejects(rejects_at) as rejects:
            record_rejects(summary, loaded, rejects)
            frame, idx_dir = _score_and_replace(
                bundle, model_dir, loaded, store, cutoff, encoder, reporter, threads, dask, range_customers, summary
            )
            rejects.commit()  # after the store's commit: the rejects beside it are always those of the data it holds
    summary.customers = len(frame)
    summary.seconds = round(time.perf_counter() - t0, 2)
    return ScoreResult(summary, frame, str(store), idx_dir)


def _score_and_replace(
    bundle: ModelBundle,
    model_dir: str | Path,
    loaded: LoadedData,
    store: str | Path,
    cutoff: str | None,
    encoder,
    reporter: Reporter,
    threads: int,
    dask,
    range_customers: int | None,
    summary: RunSummary,
) -> tuple[pd.DataFrame, Path]:
    """Score the customers (here in ranges, or on the Dask cluster) and swap in the store and index."""
    from embeddings.index import SimilarityIndex

    cut = parse_cutoff(cutoff, loaded.tables["orders"]["order_ts"].max())
    scored_at = datetime.now(UTC).isoformat(timespec="seconds")
    with ExitStack() as stack:
        with timed(summary, reporter, "score"):
            if dask is None:
                frame, batches, vectors = _score_in_ranges(
                    bundle, loaded, cut, encoder, reporter, threads, scored_at, range_customers or SCORE_RANGE_CUSTOMERS
                )
            else:
                client = stack.enter_context(scaleout.connect(dask))
                spec = encoder_spec(bundle.config.get("embedding_model_arg"), None, encoder, bundle_backend(bundle))
                # Rows stay on the workers until the store transaction pulls them, one partition at a time.
                frame, batches, vectors = scaleout.score(client, bundle, loaded, cut, scored_at, spec, reporter)
        with timed(summary, reporter, "write store and index"):
            with reporter.step("index build"):
                index = SimilarityIndex.build(frame["customer_id"].tolist(), vectors)
            del vectors  # the index holds its own copy (3.2 GB at 1M customers, while the rows are made)
            meta = _store_meta(bundle, model_dir, loaded, frame, cut, scored_at, summary)
            idx_dir = _replace_store(store, batches, meta, index)
    return frame, idx_dir


def _store_meta(
    bundle: ModelBundle,
    model_dir: str | Path,
    loaded: LoadedData,
    frame: pd.DataFrame,
    cut: pd.Timestamp,
    scored_at: str,
    summary: RunSummary,
) -> dict:
    """The store's run metadata: the model, tiers and horizon, the cutoff, what was scored and what was rejected."""
    return {
        "model_version": bundle.model_version,
        "model_dir": str(Path(model_dir).resolve()),
        "tiers": bundle.tiers.to_dict(),
        "horizon_days": bundle.config["horizon_days"],
        "currency": bundle.config.get("currency", "$"),
        "cutoff": cut.isoformat(),
        "scored_at": scored_at,
        "customers": len(frame),
        "tier_counts": frame["tier"].value_counts().to_dict(),
        "rejected_rows": summary.rejects,
        "unscored_customers": unscored_customers(loaded.tables, frame["customer_id"], cut),
    }


def _replace_store(store: str | Path, batches, meta: dict, index) -> Path:
    """Swap in the new profiles, metadata and index; returns the index version directory written.

    The index goes into a new version directory, then one transaction swaps in the profiles and the metadata naming
    that version: a run that fails or is killed at any point leaves the old store and the index it names.
    """
    ps = ProfileStore(store, create=True)
    try:
        idx_dir = ps.replace_all(batches, meta, index=index)
    finally:
        ps.close()
    assert idx_dir is not None  # replace_all returns the index version it wrote when given an index
    return idx_dir
