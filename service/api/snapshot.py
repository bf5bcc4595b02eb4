"""What the service serves: an immutable snapshot (bundle + store + index + meta), swapped atomically on reload.

A request takes the current snapshot once (``AppState.acquire`` in service.api.state) and uses only that object until
it ends, so a reload in the middle of a request never gives it a mix of old and new. A snapshot that has been replaced
is closed when its last request releases it.

Here: the snapshot's reference counting, the reads a request makes (profiles, ranks, similar customers, the search
catalog of service.api.catalog), the serialised bodies kept per customer, and its one write (``add_profiles``, for
cold-start scoring with ``write``). Loading one is service.api.loader's job.
"""

from __future__ import annotations

import logging
import shutil
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from service.api.catalog import Catalog
from service.bundle import ModelBundle
from service.store import ProfileStore

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
        return nfc(customer_id) in self.positions.get("orders", {})


def nfc(customer_id: str) -> str:
    """An id as given to a lookup, in the NFC form every stored id has (the input contract): "Café-1" typed with a
    decomposed accent finds the customer instead of a 404 that shows the very id the agent sees."""
    return unicodedata.normalize("NFC", customer_id)


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
        return self.store.get(nfc(customer_id))

    def rank_pct(self, value: float) -> float:
        """Share of scored customers with a strictly lower prediction, floored to 0.1 (as the batch does)."""
        n = len(self.population_values)
        if n == 0:
            return 0.0
        lower = int(np.searchsorted(self.population_values, value, side="left"))
        return float(np.floor(lower / n * 1000) / 10)

    def vector_of(self, customer_id: str) -> np.ndarray | None:
        customer_id = nfc(customer_id)
        if customer_id in self.index:
            return self.index.vector_of(customer_id)
        return self.extra_vectors.get(customer_id)

    def neighbours(self, customer_id: str, k: int) -> list[tuple[str, float]]:
        """The k nearest scored customers (itself excluded); KeyError when the customer has no vector."""
        customer_id = nfc(customer_id)
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
        return self.roster.get(nfc(customer_id))

    @property
    def unscored(self) -> set[str]:
        """Customers the input tables know who have no orders, so were not scored (store metadata), less those a
        write has scored since (the metadata lists them until the next batch run)."""
        if self._unscored is None:
            self._unscored = {c for c in self.meta.get("unscored_customers") or [] if c not in self.roster}
        return self._unscored

    def is_unscored(self, customer_id: str) -> bool:
        """Known from the tables but never scored (no orders), as typed or decomposed ("Cafe\u0301-1")."""
        return nfc(customer_id) in self.unscored

    def catalog(self) -> Catalog:
        """The roster as arrays for search (built once per snapshot, rebuilt after profiles are added)."""
        with self._lock:
            if self._catalog is None:
                self._catalog = Catalog.build(self.roster, self.population_values)
            return self._catalog

    # -- serialised responses ---------------------------------------------------------------------

    def cached_response(self, customer_id: str, key: tuple) -> bytes | None:
        """A response body serialised earlier from this very snapshot (same profile, same model, same meta), or None."""
        entry = self._responses.get(nfc(customer_id))  # keyed as the store is: an id typed decomposed is the same one
        return None if entry is None else entry.get(key)

    def cache_response(self, customer_id: str, key: tuple, body: bytes) -> None:
        """Keep ``body`` for the next request; at most ``response_cache_size`` customers, the oldest dropped first.

        Bodies are a pure function of the snapshot, so a reload (a new snapshot) starts empty and admin writes
        (``add_profiles``) drop the customers they change."""
        if self.response_cache_size <= 0:
            return
        customer_id = nfc(customer_id)
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
            if self._unscored is not None:
                self._unscored.discard(row["customer_id"])
            self.roster[row["customer_id"]] = (
                row["tier"],
                row["predicted_value"],
                row["churn_probability"],
                row["rfm_segment"],
            )
            if row["customer_id"] not in self.index:
                self.extra_vectors[row["customer_id"]] = np.asarray(vec, dtype=np.float32)
