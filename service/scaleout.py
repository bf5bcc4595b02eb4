"""Running the pipeline's per-customer work on a Dask cluster (`insight train|score --dask SPEC`).

SPEC is ``local:N`` (a LocalCluster of N single-threaded worker processes on this machine, closed on exit)
or the address of a running scheduler (``tcp://host:port`` or ``host:port``).

What runs where:

- **driver** (this process): reads and validates the tables (rejects and duplicate checks need whole
  tables), picks the cutoffs, splits the customers into partitions, and fits what depends on the whole
  population: the text PCA + out-of-fold ridge heads (on the gathered pooled vectors), tier thresholds,
  RFM edges, peer percentiles, the similarity vectorizer, and at scoring the rank percentiles. It writes
  the bundle, the store (one transaction, rows pulled from the workers one partition at a time) and the
  FAISS index (from the gathered vectors).
- **workers**, per partition: DuckDB feature snapshots, text embeddings (each worker process loads the
  encoder once; workers on one host share the on-disk SQLite cache), pooled vectors, design matrices,
  and at scoring the whole of ``service.profiles.score_tables``: predictions, SHAP drivers, evidence, profile rows.
- **xgboost.dask** trains on the design matrices where they sit (``service.models.DaskMatrix``).

Partitions are contiguous ranges of the sorted customer ids, each holding the rows of every table for its
customers. Features are per customer, so a partition computes exactly what the single-machine run
computes for those customers, and concatenating partitions in order gives the single-machine order
(sorted by customer_id), which the driver-side fits rely on to get identical input.
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from service import profiles
from service.design import design_columns, design_matrix
from service.features import FeatureBuilder
from service.models import DaskMatrix
from service.panel import check_history
from service.partition import partition_bounds, split_tables
from service.runs import Reporter, make_encoder, text_embeddings, timed
from service.tables import DataError, LoadedData
from service.text_features import PooledText, TextEmbeddings, TextFeaturizer

CONNECT_TIMEOUT_S = 10
PARTITIONS_PER_WORKER = 3
MAX_CUSTOMERS_PER_PARTITION = 100_000  # bounds a partition's memory (profile rows, SHAP) at millions of customers


class ClusterError(DataError):
    """A bad --dask spec or an unreachable scheduler (a user error: one line, exit code 2)."""


# ----------------------------------------------------------------------------- connecting


def parse_spec(spec: str) -> tuple[str, int | str]:
    """("local", N) or ("address", "tcp://host:port"); a ClusterError naming the accepted forms otherwise.

    Called before any data is read, so a typo fails at once.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ClusterError(f"--dask expects local:N or a scheduler address (tcp://host:port), got {spec!r}")
    spec = spec.strip()
    if spec.startswith("local:") or spec == "local":
        n = spec.partition(":")[2]
        if not n.isdigit() or not 1 <= int(n) <= 256:
            raise ClusterError(
                f"--dask {spec!r}: expected local:N with N the number of worker processes (1-256), e.g. local:2"
            )
        return "local", int(n)
    m = re.fullmatch(r"(?:(tcp|tls|ws|wss|inproc)://)?([^\s:/]+|\[[0-9a-fA-F:]+\]):(\d{1,5})", spec)
    if not m or not 0 < int(m.group(3)) < 65536:
        raise ClusterError(
            f"--dask {spec!r}: expected local:N or a scheduler address such as tcp://10.0.0.5:8786 or host:8786"
        )
    return "address", spec if m.group(1) else f"tcp://{spec}"


def check_spec(dask) -> None:
    """A --dask spec that cannot work fails before any data is read (None: no cluster)."""
    if isinstance(dask, str):
        parse_spec(dask)


@contextmanager
def connect(spec) -> Iterator[object]:
    """A distributed.Client for ``spec``: "local:N", "tcp://host:port", "host:port", or an existing Client
    (left open)."""
    from distributed import Client

    if isinstance(spec, Client):
        yield spec
        return
    kind, target = parse_spec(spec)
    if kind == "local":
        assert isinstance(target, int)  # parse_spec pairs "local" with the number of workers
        yield from _local(target)
        return
    try:
        client = Client(target, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ClusterError(
            f"cannot reach the Dask scheduler at {target} within {CONNECT_TIMEOUT_S} s: {detail}"
        ) from None
    try:
        yield client
    finally:
        client.close()


def _local(n_workers: int):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None)
    try:
        client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


def n_workers(client) -> int:
    return max(1, len(client.scheduler_info().get("workers", {})))


# ----------------------------------------------------------------------------- partitioning


def _n_partitions(client, n_customers: int) -> int:
    return max(PARTITIONS_PER_WORKER * n_workers(client), math.ceil(n_customers / MAX_CUSTOMERS_PER_PARTITION))


def _scatter_partitions(client, loaded: LoadedData, eligible_ids) -> list:
    bounds = partition_bounds(eligible_ids, _n_partitions(client, len(set(eligible_ids))))
    parts = split_tables(loaded.tables, bounds)
    return client.scatter(parts, hash=False)


# ----------------------------------------------------------------------------- on the workers


@functools.lru_cache(maxsize=4)
def _worker_encoder(model: str | None, cache_dir: str | None, backend: str | None = None):
    """One encoder per worker process (the model loads once; its SQLite cache file is shared by the host's workers)."""
    return make_encoder(model, Path(cache_dir) if cache_dir else None, backend)


def _worker_threads(driver_pid: int) -> int:
    """The worker's thread count; in a worker process (not the driver's threads) torch is held to it too."""
    from distributed import get_worker

    n = get_worker().state.nthreads
    if os.getpid() != driver_pid:
        try:
            import torch

            if torch.get_num_threads() != n:
                torch.set_num_threads(n)
        except ImportError:  # pragma: no cover - torch is a dependency
            pass
    return n


@dataclass
class _TrainPart:
    """What a worker keeps of one partition between the steps of a training run."""

    snapshots: dict[str, pd.DataFrame]
    cutoffs: dict[str, pd.Timestamp]
    emb: TextEmbeddings | None
    model_id: str | None = None
    stats: dict = field(default_factory=dict)


def _prepare_train_part(tables, cutoffs, horizon_days, sources, half_life_days, encoder_spec, driver_pid) -> _TrainPart:
    threads = _worker_threads(driver_pid)
    fb = FeatureBuilder(tables, threads=threads)
    snapshots = {name: fb.snapshot(c, horizon_days) for name, c in cutoffs.items()}
    fb.close()
    part = _TrainPart(snapshots, cutoffs, None)
    if sources:
        encoder = _worker_encoder(*encoder_spec)
        before = dict(encoder.stats()) if hasattr(encoder, "stats") else {}
        part.emb = text_embeddings(LoadedData(tables), sources, encoder, half_life_days, Reporter())
        part.model_id = encoder.model_id
        after = encoder.stats() if hasattr(encoder, "stats") else {}
        part.stats = {k: after[k] - before.get(k, 0) for k in after}
    return part


def _part_summary(part: _TrainPart) -> tuple[dict[str, pd.DataFrame], str | None, dict]:
    return part.snapshots, part.model_id, part.stats


def _part_pooled(part: _TrainPart, name: str, keep: np.ndarray | None = None) -> dict[str, PooledText]:
    emb = part.emb
    assert emb is not None  # asked for only when the run has text sources, which set it
    ids = part.snapshots[name]["customer_id"].to_numpy(dtype=object)
    return {src: emb.pooled(src, ids if keep is None else ids[keep], part.cutoffs[name]) for src in emb.sources}


def _part_design(part: _TrainPart, name: str, text: TextFeaturizer, classic) -> np.ndarray:
    return design_matrix(part.snapshots[name], text, part.emb, part.cutoffs[name], classic)[0].to_numpy(
        dtype=np.float32
    )


@dataclass
class _ScorePart:
    frame: pd.DataFrame
    rows: list[dict]
    vectors: np.ndarray


def _score_part(tables, bundle, cutoff, scored_at, encoder_spec, driver_pid) -> _ScorePart | None:
    threads = _worker_threads(driver_pid)
    encoder = _worker_encoder(*encoder_spec) if bundle.text.sources else None
    loaded = LoadedData(tables)
    if not (loaded.tables["orders"]["order_ts"] <= cutoff).any():
        return None  # a partition whose customers all start after the cutoff (possible with an early --cutoff)
    # Looked up on the module, so one code path serves the batch run, the API and every partition.
    frame, rows, vectors = profiles.score_tables(
        bundle, loaded, cutoff, encoder=encoder, threads=threads, scored_at=scored_at
    )
    return _ScorePart(frame, rows, vectors)


def _score_summary(part: _ScorePart | None):
    return None if part is None else (part.frame, part.vectors)


def _score_rows(part: _ScorePart | None) -> list[dict]:
    return [] if part is None else part.rows


# ----------------------------------------------------------------------------- training


class DaskWork:
    """``service.train.LocalWork``'s interface over partitions of customers on a Dask cluster.

    Snapshots (tabular features and targets, one row per customer) are gathered to the driver; text
    embeddings and pooled vectors stay on the workers, except the fit snapshot's pooled vectors, which
    the driver needs to fit the text featurizer. Design matrices are ``DaskMatrix`` row blocks.
    """

    def __init__(
        self,
        client,
        loaded: LoadedData,
        cutoffs: dict[str, pd.Timestamp],
        opts,
        sources: tuple[str, ...],
        encoder_spec: tuple[str | None, str | None, str],
        reporter,
        summary,
    ):
        self.client, self.cutoffs, self.sources = client, cutoffs, sources
        orders = loaded.tables["orders"]
        eligible = orders.loc[orders["order_ts"] <= cutoffs["score"], "customer_id"]
        with timed(summary, reporter, "features and embeddings on the cluster"):
            parts = _scatter_partitions(client, loaded, eligible if len(eligible) else orders["customer_id"])
            self.parts = [
                client.submit(
                    _prepare_train_part,
                    p,
                    cutoffs,
                    opts.horizon_days,
                    sources,
                    opts.half_life_days,
                    encoder_spec,
                    os.getpid(),
                    pure=False,
                )
                for p in parts
            ]
            done = reporter.progress(f"partitions on {n_workers(client)} workers", len(self.parts))
            summaries = []
            for f in self.parts:  # in partition order; a failed partition raises here, with its own error
                summaries.append(client.submit(_part_summary, f, pure=False).result())
                done(1)
            del parts
        self.snapshots = {name: pd.concat([s[name] for s, _, _ in summaries], ignore_index=True) for name in cutoffs}
        self.lengths = {name: [len(s[name]) for s, _, _ in summaries] for name in cutoffs}
        check_history(self.snapshots, cutoffs, opts.horizon_days)
        self.embedding_model = next((m for _, m, _ in summaries if m), None)
        self.embedding_stats: dict = {}
        for _, _, st in summaries:
            for k, v in st.items():
                self.embedding_stats[k] = self.embedding_stats.get(k, 0) + v

    def pooled(self, name: str, keep: np.ndarray | None = None) -> dict[str, PooledText]:
        """Pooled vectors of one snapshot, gathered; with ``keep`` (a mask over the snapshot's rows) only those rows are
        pooled and sent, so the driver holds the sampled panel's vectors rather than every customer's."""
        offsets = np.cumsum([0] + self.lengths[name])
        masks = [None if keep is None else keep[a:b] for a, b in zip(offsets[:-1], offsets[1:])]
        per_part = self.client.gather(
            [self.client.submit(_part_pooled, p, name, m, pure=False) for p, m in zip(self.parts, masks)]
        )
        return {
            src: PooledText(
                np.concatenate([pp[src].vectors for pp in per_part]),
                np.concatenate([pp[src].counts for pp in per_part]),
            )
            for src in self.sources
        }

    def distribute(self, X: pd.DataFrame) -> DaskMatrix:
        """A driver-side design matrix (the stacked fit snapshots, whose text scores are out-of-fold) as row blocks on
        the workers."""
        import dask.array as da

        arr = X.to_numpy(dtype=np.float32)
        # the stacked panel, in about as many row blocks as there are partitions
        bounds = np.linspace(0, len(arr), max(len(self.parts), 1) + 1).astype(int)
        blocks = [arr[a:b] for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
        futures = self.client.scatter(blocks, hash=False)
        data = da.concatenate([da.from_delayed(f, shape=b.shape, dtype=np.float32) for f, b in zip(futures, blocks)])
        return DaskMatrix(data, list(X.columns), self.client)

    def design(self, name: str, text: TextFeaturizer, classic) -> DaskMatrix:
        """Design matrix of one snapshot, built on the workers (pooled vectors never leave them)."""
        import dask.array as da

        text_f = self.client.scatter(text, broadcast=True, hash=False)
        columns = design_columns(text if self.sources else None)
        blocks = [
            da.from_delayed(
                self.client.submit(_part_design, p, name, text_f, classic, pure=False),
                shape=(n, len(columns)),
                dtype=np.float32,
            )
            for p, n in zip(self.parts, self.lengths[name])
            if n
        ]
        return DaskMatrix(da.concatenate(blocks), columns, self.client)

    def frame(self, X: DaskMatrix) -> pd.DataFrame:
        """A (small) DaskMatrix gathered into a float64 frame, e.g. the text counts for the peer percentiles."""
        return pd.DataFrame(np.asarray(self.client.compute(X.data).result(), dtype=np.float64), columns=X.columns)


# ----------------------------------------------------------------------------- scoring


def score(client, bundle, loaded: LoadedData, cutoff: pd.Timestamp, scored_at: str, encoder_spec, reporter):
    """Score every partition on the workers: (frame, row batches to stream into the store, fused vectors).

    The frame and the vectors are gathered; ``value_rank_pct`` is recomputed over all customers here, and
    patched into each partition's rows as the store transaction pulls them from the workers.
    """
    orders = loaded.tables["orders"]
    eligible = orders.loc[orders["order_ts"] <= cutoff, "customer_id"]
    if not len(eligible):
        raise DataError(f"no customer has an order at or before the cutoff {cutoff.isoformat()}")
    parts = _scatter_partitions(client, loaded, eligible)
    bundle_f = client.scatter(bundle, broadcast=True, hash=False)
    futures = [
        client.submit(_score_part, p, bundle_f, cutoff, scored_at, encoder_spec, os.getpid(), pure=False) for p in parts
    ]
    del parts
    done = reporter.progress(f"partitions on {n_workers(client)} workers", len(futures))
    summaries = []
    for f in futures:  # in partition order, so the gathered frame is in customer_id order like the single-machine run
        summaries.append(client.submit(_score_summary, f, pure=False).result())
        done(1)
    kept = [(f, s) for f, s in zip(futures, summaries) if s is not None]
    frame = pd.concat([s[0] for _, s in kept], ignore_index=True)
    vectors = np.concatenate([s[1] for _, s in kept])

    def batches():
        for f, _ in kept:
            rows = client.submit(_score_rows, f, pure=False).result()
            f.release()
            yield rows

    return frame, profiles.with_population_ranks(frame, batches()), vectors
