"""A serving process's long-lived objects kept out of the garbage collector's full passes.

A worker of `insight serve` holds about 500,000 objects the collector tracks that live as long as it does: the
libraries (torch, transformers, pandas), the embedding model, the snapshot's profiles and the kept response bodies. A
full collection walks all of them, about 275 ms on the demo store, and every request in flight waits it out: that
pause was the p99 of `make bench-api` at 128 connections. ``settle`` collects once and then moves every object alive
into the permanent generation (``gc.freeze``), so later collections walk only what requests allocate. It runs after
each step that adds long-lived objects (a snapshot load, the encoder preload, the body prewarm). It unfreezes first,
so a replaced snapshot's cyclic garbage is collected at the next settle instead of being kept for good.
"""

from __future__ import annotations

import gc
import logging
import threading
import time

log = logging.getLogger("insight.api")
_lock = threading.Lock()


def settle(after: str) -> float:
    """Collect, then freeze what is left; the seconds it took (logged)."""
    with _lock:
        t0 = time.perf_counter()
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        seconds = time.perf_counter() - t0
    log.info("heap settled after %s: %d objects frozen in %.0f ms", after, gc.get_freeze_count(), seconds * 1000)
    return seconds
