"""What the service serves: an immutable snapshot (bundle + store + index + meta), swapped atomically on reload.

A request takes the current snapshot once (``AppState.acquire``) and uses only that object until it
ends, so a reload in the middle of a request never gives it a mix of old and new. A snapshot that
has been replaced is closed when its last request releases it.

The snapshot reads a private SQLite copy of the store: SQLite's online backup of a SQLite store, or
for a server database (PostgreSQL URL) the metadata and every profile read in one REPEATABLE READ
transaction. Either is a consistent point-in-time copy, so a concurrent ``insight score`` into the live
store changes nothing that is served (profiles, tiers, model, explanations) until the next reload: one
model version at a time. Copies live in ``insight-snapshot-pid<pid>-*`` folders; a server killed with
SIGKILL leaves one behind, and the next start removes those of processes that are gone.

Before a new snapshot is swapped in it must load completely and agree with itself: the bundle loads
and its model version is the one the store was scored with, and the similar-customer index holds
exactly the store's scored customers. Otherwise the reload is refused and the old snapshot keeps
serving.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import sqlalchemy as sa

from service.bundle import BundleError, ModelBundle
from service.crash import fault_point, orphaned
from service.store import ProfileStore, StoreError, index_dir, profiles, safe_url, store_meta, store_url

if TYPE_CHECKING:
    from embeddings.index import SimilarityIndex

log = logging.getLogger("insight.api")


class SnapshotError(ValueError):
    """A snapshot cannot be loaded (store, bundle or index missing, broken or inconsistent)."""


@dataclass
class RawHistory:
    """The batch input tables as raw strings, indexed by customer, to merge with a known customer's new rows."""

    tables: dict[str, pd.DataFrame]
    positions: dict[str, dict[str, np.ndarray]]
    source: str

    def rows_for(self, name: str, customer_ids) -> pd.DataFrame | None:
        if name not in self.tables:
            return None
        pos = self.positions[name]
        idx = [pos[c] for c in customer_ids if c in pos]
        df = self.tables[name]
        return df.iloc[np.concatenate(idx)] if idx else df.iloc[0:0]

    def knows(self, customer_id: str) -> bool:
        return customer_id in self.positions.get("orders", {})


def load_history(data_dir: Path) -> RawHistory:
    from service.tables import TABLES, find_table_file, read_raw

    tables, positions = {}, {}
    for name in TABLES:
        path = find_table_file(Path(data_dir), name)
        if path is None:
            continue
        df = read_raw(path).reset_index(drop=True)
        if "customer_id" not in df.columns:
            continue
        ids = df["customer_id"].map(lambda v: v.strip() if isinstance(v, str) else v)
        tables[name] = df
        positions[name] = {k: np.asarray(v) for k, v in ids.groupby(ids, sort=False).indices.items()}
    if "orders" not in tables:
        raise SnapshotError(f"{data_dir}: no orders table to take customers' history from")
    return RawHistory(tables, positions, str(data_dir))


@dataclass
class Snapshot:
    """One consistent state of the service. Treat as read-only, except ``add_profiles`` (admin writes)."""

    seq: int
    bundle: ModelBundle
    store: ProfileStore
    index: SimilarityIndex
    meta: dict
    model_dir: Path
    store_source: str
    loaded_at: str
    population_values: np.ndarray  # sorted predicted values of the scored customers (for ranks of cold-start customers)
    population_churn: float
    roster: dict[str, tuple]  # customer_id -> (tier, predicted_value, churn_probability, rfm_segment)
    history: RawHistory | None = None
    copy_path: Path | None = None
    load_seconds: float = 0.0
    extra_vectors: dict[str, np.ndarray] = field(default_factory=dict)
    response_cache_size: int = 0  # customers whose serialised responses are kept (0: none)
    _responses: dict = field(default_factory=dict)  # customer_id -> {(kind, *args): JSON bytes}
    _catalog: Catalog | None = None
    _unscored: set[str] | None = None
    _refs: int = 0
    _retired: bool = False
    _closed: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- reference counting ---------------------------------------------------------------------

    def _acquire(self) -> None:
        with self._lock:
            self._refs += 1

    def release(self) -> None:
        with self._lock:
            self._refs -= 1
            done = self._retired and self._refs == 0
        if done:
            self._close()

    def retire(self) -> None:
        with self._lock:
            self._retired = True
            done = self._refs == 0
        if done:
            self._close()

    def _close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self.store.close()
        if self.copy_path is not None:
            shutil.rmtree(self.copy_path.parent, ignore_errors=True)
        log.info("snapshot %s closed", self.seq)

    @property
    def closed(self) -> bool:
        return self._closed

    # -- reads ----------------------------------------------------------------------------------

    @property
    def model_version(self) -> str:
        return self.meta["model_version"]

    @property
    def customers(self) -> int:
        return len(self.roster)

    def profile(self, customer_id: str) -> dict | None:
        return self.store.get(customer_id)

    def rank_pct(self, value: float) -> float:
        """Share of scored customers with a strictly lower prediction, floored to 0.1 (as the batch does)."""
        n = len(self.population_values)
        if n == 0:
            return 0.0
        lower = int(np.searchsorted(self.population_values, value, side="left"))
        return float(np.floor(lower / n * 1000) / 10)

    def vector_of(self, customer_id: str) -> np.ndarray | None:
        if customer_id in self.index:
            return self.index.vector_of(customer_id)
        return self.extra_vectors.get(customer_id)

    def neighbours(self, customer_id: str, k: int) -> list[tuple[str, float]]:
        """The k nearest scored customers (itself excluded); KeyError when the customer has no vector."""
        if customer_id in self.index:
            ids, scores = self.index.neighbours_of(customer_id, k)
            return [(i, float(s)) for i, s in zip(ids, scores)]
        vec = self.extra_vectors.get(customer_id)
        if vec is None:
            raise KeyError(customer_id)
        return self.search(vec, k, exclude=customer_id)

    def search(self, vector: np.ndarray, k: int, exclude: str | None = None) -> list[tuple[str, float]]:
        ids, scores = self.index.search(np.asarray(vector, dtype=np.float32)[None, :], k + 1)
        out = [(i, float(s)) for i, s in zip(ids[0], scores[0]) if i != exclude]
        return out[:k]

    def roster_row(self, customer_id: str) -> tuple | None:
        return self.roster.get(customer_id)

    @property
    def unscored(self) -> set[str]:
        """Customers the input tables know who have no orders, so were not scored (store metadata)."""
        if self._unscored is None:
            self._unscored = set(self.meta.get("unscored_customers") or [])
        return self._unscored

    def catalog(self) -> Catalog:
        """The roster as arrays for search (built once per snapshot, rebuilt after profiles are added)."""
        with self._lock:
            if self._catalog is None:
                self._catalog = Catalog.build(self.roster, self.population_values)
            return self._catalog

    # -- serialised responses ---------------------------------------------------------------------

    def cached_response(self, customer_id: str, key: tuple) -> bytes | None:
        """A response body serialised earlier from this very snapshot (same profile, same model, same meta), or None."""
        entry = self._responses.get(customer_id)
        return None if entry is None else entry.get(key)

    def cache_response(self, customer_id: str, key: tuple, body: bytes) -> None:
        """Keep ``body`` for the next request; at most ``response_cache_size`` customers, the oldest dropped first.

        Bodies are a pure function of the snapshot, so a reload (a new snapshot) starts empty and admin writes
        (``add_profiles``) drop the customers they change."""
        if self.response_cache_size <= 0:
            return
        with self._lock:
            entry = self._responses.get(customer_id)
            if entry is None:
                while len(self._responses) >= self.response_cache_size:
                    self._responses.pop(next(iter(self._responses)))
                entry = self._responses[customer_id] = {}
            entry[key] = body

    # -- writes (admin cold-start scoring) ------------------------------------------------------

    def add_profiles(self, rows: list[dict], vectors: np.ndarray) -> None:
        """Make freshly scored profiles visible in this snapshot (the caller has written them to the live store)."""
        if self.copy_path is not None:
            self.store.upsert(rows)
        self._catalog = None  # search sees the new profiles
        with self._lock:
            for row in rows:
                self._responses.pop(row["customer_id"], None)  # their cached bodies describe the old profile
        for row, vec in zip(rows, vectors):
            self.roster[row["customer_id"]] = (
                row["tier"],
                row["predicted_value"],
                row["churn_probability"],
                row["rfm_segment"],
            )
            if row["customer_id"] not in self.index:
                self.extra_vectors[row["customer_id"]] = np.asarray(vec, dtype=np.float32)


@dataclass
class Catalog:
    """Search over the scored customers: ids sorted case-folded (prefix = one binary search), tiers, segments, values
    and churn as arrays (filters are masks, sorting one argsort of the matches)."""

    ids: np.ndarray  # customer ids, sorted by their case-folded form
    folded: list[str]  # the case-folded ids, same order
    tier: np.ndarray
    segment: np.ndarray
    value: np.ndarray
    churn: np.ndarray
    rank_pct: np.ndarray

    @classmethod
    def build(cls, roster: dict[str, tuple], population_values: np.ndarray) -> Catalog:
        items = sorted(roster.items(), key=lambda kv: (kv[0].casefold(), kv[0]))
        ids = np.array([k for k, _ in items], dtype=object)
        value = np.array([v[1] for _, v in items], dtype=np.float64)
        n = len(population_values)
        rank = np.floor(np.searchsorted(population_values, value, side="left") / max(n, 1) * 1000) / 10
        return cls(
            ids=ids,
            folded=[k.casefold() for k, _ in items],
            tier=np.array([v[0] for _, v in items], dtype=object),
            segment=np.array([v[3] for _, v in items], dtype=object),
            value=value,
            churn=np.array([v[2] for _, v in items], dtype=np.float64),
            rank_pct=rank,
        )

    def prefix_range(self, prefix: str) -> tuple[int, int]:
        import bisect

        p = prefix.casefold()
        return bisect.bisect_left(self.folded, p), bisect.bisect_left(self.folded, p + "\U0010ffff")


# ----------------------------------------------------------------------------- loading


def _sqlite_copy(src: Path, dst: Path) -> None:
    """A consistent copy of a live SQLite database (the online backup API: safe while a writer is active).

    The source is opened read-write when it can be: a run killed inside its transaction leaves a hot journal, which
    SQLite rolls back on the first read, and that needs write access (read-only it fails with "attempt to write a
    readonly database"). Nothing else is written.
    """
    writable = os.access(src, os.W_OK) and os.access(src.parent, os.W_OK)
    source = sqlite3.connect(f"file:{src}?mode={'rw' if writable else 'ro'}", uri=True, timeout=30)
    try:
        target = sqlite3.connect(dst)
        try:
            source.backup(target)
        except sqlite3.OperationalError as exc:
            if not writable and Path(f"{src}-journal").exists():
                raise SnapshotError(
                    f"{src}: a run that was killed left a hot journal ({src}-journal), and this process may not "
                    "write the store to roll it back; open it once with write access (e.g. run `insight serve` or "
                    "`insight explain` as the store's owner)"
                ) from exc
            raise
        finally:
            target.close()
    finally:
        source.close()


def _server_copy(src: ProfileStore, dst: Path) -> None:
    """Metadata and profiles of a server database, read in ONE repeatable-read transaction, into a SQLite file."""
    target = ProfileStore(dst, create=True)
    try:
        with src.engine.connect() as con:
            con = con.execution_options(isolation_level="REPEATABLE READ")
            with con.begin(), target.engine.begin() as out:
                meta = con.execute(sa.select(store_meta)).all()
                result = con.execution_options(yield_per=2000).execute(sa.select(profiles))
                for part in result.partitions():
                    out.execute(profiles.insert(), [dict(r._mapping) for r in part])
                if meta:
                    out.execute(store_meta.insert(), [{"key": k, "value": v} for k, v in meta])
    finally:
        target.close()


SNAPSHOT_PREFIX = "insight-snapshot-pid"


def clean_snapshot_copies(base: Path | None) -> list[Path]:
    """Remove snapshot copies left by servers that are gone (killed with SIGKILL, or crashed)."""
    base = Path(base) if base is not None else Path(tempfile.gettempdir())
    removed = []
    try:
        for p in base.glob(f"{SNAPSHOT_PREFIX}*"):
            if orphaned(p):
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p)
    except OSError:
        pass
    if removed:
        log.info("removed %d snapshot copies of servers that are gone", len(removed))
    return removed


def _roster(ps: ProfileStore) -> dict[str, tuple]:
    q = sa.select(
        profiles.c.customer_id,
        profiles.c.tier,
        profiles.c.predicted_value,
        profiles.c.churn_probability,
        profiles.c.rfm_segment,
    )
    with ps.engine.connect() as con:
        return {r[0]: (r[1], float(r[2]), float(r[3]), r[4]) for r in con.execute(q)}


def load_snapshot(settings, seq: int, previous: Snapshot | None = None) -> Snapshot:
    """Load and cross-check a complete snapshot; SnapshotError (with a clear message) when anything is off."""
    from embeddings.index import SimilarityIndex, SimilarityIndexError

    t0 = time.perf_counter()
    store = str(settings.store)
    url = store_url(store)
    copy_path: Path | None = None
    base = Path(settings.api_snapshot_dir) if settings.api_snapshot_dir else None
    try:
        if base is not None:
            base.mkdir(parents=True, exist_ok=True)
        if previous is None:
            clean_snapshot_copies(base)
        folder = Path(tempfile.mkdtemp(prefix=f"{SNAPSHOT_PREFIX}{os.getpid()}-{seq}-", dir=base))
        copy_path = folder / "profiles.db"
        if url.startswith("sqlite:///"):
            src = Path(url.removeprefix("sqlite:///"))
            if not src.exists():
                raise SnapshotError(f"{src}: profile store does not exist (create it with `insight score`)")
            _sqlite_copy(src, copy_path)
        else:
            live = ProfileStore(store)
            try:
                _server_copy(live, copy_path)
            finally:
                live.close()
        fault_point("serve:snapshot-copied")
        ps = ProfileStore(copy_path)
    except (StoreError, sqlite3.Error, sa.exc.SQLAlchemyError, OSError) as exc:
        if copy_path is not None:
            shutil.rmtree(copy_path.parent, ignore_errors=True)
        detail = (
            str(getattr(exc, "orig", None) or exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        )
        raise SnapshotError(f"cannot read the profile store {safe_url(store)}: {detail}") from exc
    except BaseException:
        if copy_path is not None:
            shutil.rmtree(copy_path.parent, ignore_errors=True)
        raise

    try:
        try:
            meta = ps.meta()
        except StoreError as exc:
            raise SnapshotError(str(exc)) from exc
        model_dir = Path(settings.model_dir or meta.get("model_dir") or "")
        if not str(model_dir):
            raise SnapshotError("no model bundle given and the store does not record one (pass --model)")
        try:
            bundle = ModelBundle.load(model_dir)
        except (BundleError, OSError, ValueError) as exc:
            raise SnapshotError(f"model bundle refused: {exc}") from exc
        if bundle.model_version != meta.get("model_version"):
            raise SnapshotError(
                f"the store was scored with model {meta.get('model_version')} but the bundle in {model_dir} is "
                f"{bundle.model_version}; re-score the store with this bundle (or point --model at the right one)"
            )
        roster = _roster(ps)
        try:
            idx_path = index_dir(store, meta)  # the version named by the metadata of this very snapshot
            index = SimilarityIndex.load(idx_path)
        except (FileNotFoundError, SimilarityIndexError, StoreError) as exc:
            raise SnapshotError(f"similar-customer index refused: {exc}") from exc
        if len(index) != int(meta.get("customers", -1)) or any(i not in roster for i in index.ids):
            raise SnapshotError(
                f"similar-customer index {idx_path} ({len(index)} customers) does not match the store "
                f"({meta.get('customers')} scored); a score run may be in progress, retry when it is done"
            )
        if index.kind == "flat" and len(index) > settings.index_approximate_above:
            ids = index.ids
            index = SimilarityIndex.build(
                ids,
                index.vectors(),
                approximate_above=settings.index_approximate_above,
                ef_search=settings.index_hnsw_ef_search,
            )
        elif index.kind == "hnsw":
            index.ef_search = settings.index_hnsw_ef_search
        history = load_history(settings.data_dir) if settings.data_dir else None
        values = np.sort(np.fromiter((v[1] for v in roster.values()), dtype=np.float64, count=len(roster)))
        churn = float(np.mean([v[2] for v in roster.values()])) if roster else float("nan")
        snap = Snapshot(
            seq=seq,
            bundle=bundle,
            store=ps,
            index=index,
            meta=meta,
            model_dir=model_dir.resolve(),
            store_source=store,
            loaded_at=datetime.now(UTC).isoformat(timespec="seconds"),
            population_values=values,
            population_churn=churn,
            roster=roster,
            history=history,
            copy_path=copy_path,
            load_seconds=round(time.perf_counter() - t0, 3),
            response_cache_size=int(getattr(settings, "api_response_cache", 0) or 0),
        )
        if previous is not None and previous.model_version == snap.model_version:
            # Customers written through the API since the last batch score keep their vectors (same model, same space).
            for cid, vec in previous.extra_vectors.items():
                if cid not in index and cid in roster:
                    snap.extra_vectors[cid] = vec
        return snap
    except BaseException:
        ps.close()
        if copy_path is not None:
            shutil.rmtree(copy_path.parent, ignore_errors=True)
        raise


@dataclass
class ReloadResult:
    model_version: str
    previous_model_version: str | None
    customers: int
    loaded_at: str
    seconds: float
    snapshot: int


class AppState:
    """Holds the current snapshot; ``reload`` builds a new one off to the side and swaps it in under a lock."""

    def __init__(self, settings, loader=load_snapshot, encoder=None):
        self.settings = settings
        self._pinned_encoder = encoder  # tests and benchmarks hand in an already loaded encoder
        self._loader = loader
        self._lock = threading.Lock()  # guards _current (swap vs acquire)
        self._reload_lock = threading.Lock()  # one reload at a time
        self._current: Snapshot | None = None
        self._seq = 0
        self.last_reload_error: str | None = None
        self.reloads_ok = 0
        self.reloads_failed = 0
        self.started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self._encoder = None
        self._encoder_key = None
        self._encoder_lock = threading.Lock()
        self.score_gate = threading.BoundedSemaphore(1)  # cold-start scoring is CPU-bound: one at a time

    @property
    def ready(self) -> bool:
        return self._current is not None

    def current(self) -> Snapshot | None:
        return self._current

    def acquire(self) -> Snapshot | None:
        """The current snapshot, held until ``release()``; None when nothing is loaded."""
        with self._lock:
            snap = self._current
            if snap is not None:
                snap._acquire()
            return snap

    def reload(self) -> ReloadResult:
        """Load a new snapshot and swap it in; on any failure raise SnapshotError and keep serving the old one."""
        with self._reload_lock:
            previous = self._current
            self._seq += 1
            try:
                new = self._loader(self.settings, self._seq, previous)
            except SnapshotError as exc:
                self.reloads_failed += 1
                self.last_reload_error = str(exc)
                raise
            except Exception as exc:  # anything unexpected is a refused reload too, never a broken service
                self.reloads_failed += 1
                self.last_reload_error = f"{type(exc).__name__}: {exc}"
                raise SnapshotError(f"reload failed: {self.last_reload_error}") from exc
            with self._lock:
                old, self._current = self._current, new
            if old is not None:
                old.retire()
            self.reloads_ok += 1
            self.last_reload_error = None
            log.info(
                "snapshot %s serving model %s (%d customers), loaded in %.2fs",
                new.seq,
                new.model_version,
                new.customers,
                new.load_seconds,
            )
            return ReloadResult(
                model_version=new.model_version,
                previous_model_version=old.model_version if old else None,
                customers=new.customers,
                loaded_at=new.loaded_at,
                seconds=new.load_seconds,
                snapshot=new.seq,
            )

    def encoder(self, bundle: ModelBundle):
        """The embedding encoder for ``bundle`` (loaded once, shared by scoring threads; its cache is thread-safe)."""
        if not bundle.text.sources:
            return None
        if self._pinned_encoder is not None:
            return self._pinned_encoder
        from service.pipeline import bundle_backend, make_encoder

        key = (self.settings.embedding_model or bundle.config.get("embedding_model_arg"), bundle_backend(bundle))
        with self._encoder_lock:
            if self._encoder is None or self._encoder_key != key:
                self._encoder = make_encoder(key[0], self.settings.cache_dir, key[1])
                self._encoder_key = key
            return self._encoder

    def close(self) -> None:
        with self._lock:
            snap, self._current = self._current, None
        if snap is not None:
            snap.retire()
