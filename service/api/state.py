"""The service's state: the snapshot now serving, swapped atomically on reload, and the encoder scoring shares.

``AppState.reload`` builds a new snapshot off to the side (service.api.loader) and swaps it in under a lock; requests
hold the snapshot they started with (service.api.snapshot). A reload that fails to load or check the new snapshot is
refused, and the old one keeps serving.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from service.api.loader import load_snapshot
from service.api.snapshot import Snapshot, SnapshotError
from service.api.store_copy import SNAPSHOT_PREFIX
from service.bundle import ModelBundle

# SNAPSHOT_PREFIX, SnapshotError and load_snapshot are imported from here by the app, the workers and the tests.
__all__ = ["SNAPSHOT_PREFIX", "AppState", "ReloadResult", "SnapshotError", "load_snapshot"]

log = logging.getLogger("insight.api")


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
        # admin writes vs a reload's copy-and-swap: a write lands in the store before the copy or in the new snapshot
        self.write_lock = threading.Lock()
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
        self._score_waiting = 0
        self._score_waiting_lock = threading.Lock()

    # Score requests waiting for the scorer beyond this are turned away at once: each waiter holds one of the thread
    # pool's 40 threads, and 40 waiters had queued every other synchronous route (the console, ask, the customer list)
    # behind them for up to a minute.
    SCORE_MAX_WAITING = 4

    def enter_scorer(self, timeout: float) -> bool:
        """Take the scorer (one request at a time); False when it stays busy for ``timeout`` seconds or
        SCORE_MAX_WAITING requests already wait for it. ``leave_scorer`` gives it back."""
        if self.score_gate.acquire(blocking=False):
            return True
        with self._score_waiting_lock:
            if self._score_waiting >= self.SCORE_MAX_WAITING:
                return False
            self._score_waiting += 1
        try:
            return self.score_gate.acquire(timeout=timeout)
        finally:
            with self._score_waiting_lock:
                self._score_waiting -= 1

    def leave_scorer(self) -> None:
        self.score_gate.release()

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
        with self._reload_lock, self.write_lock:
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
