"""Reloading the served snapshot: one function the admin endpoint, SIGHUP, worker reloads and startup share.

It lives apart from the app factory so that the routers and the worker channel can call it without importing the
app module (no import cycle), and beside it the prewarming of kept response bodies a fresh snapshot starts.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

from fastapi import FastAPI

from service.api import heap
from service.api.metrics import Metrics
from service.api.state import AppState, SnapshotError

log = logging.getLogger("insight.api")


def do_reload(app: FastAPI) -> tuple[bool, dict]:
    """Reload the snapshot of ``app``; (True, ReloadResult fields) or (False, {"error", "serving"}). Never raises."""
    state: AppState = app.state.insight
    metrics: Metrics = app.state.metrics
    try:
        result = state.reload()
    except SnapshotError as exc:
        metrics.reloads.labels("refused").inc()
        cur = state.current()
        if cur is None:
            log.warning("cannot load a snapshot: %s", exc)
        else:
            log.warning("reload refused, still serving %s: %s", cur.model_version, exc)
        return False, {"error": str(exc), "serving": cur.model_version if cur else None}
    metrics.reloads.labels("ok").inc()
    snap = state.current()
    assert snap is not None  # the reload worked, so a snapshot is serving
    metrics.serving(snap.model_version, snap.customers, datetime.fromisoformat(snap.loaded_at).timestamp())
    if app.state.settle_heap:
        heap.settle("loading " + snap.model_version)
    if app.state.settings.api_prewarm and snap.response_cache_size:
        threading.Thread(target=_prewarm, args=(app,), name="bodies-prewarm", daemon=True).start()
    return True, {
        k: getattr(result, k)
        for k in ("model_version", "previous_model_version", "customers", "loaded_at", "seconds", "snapshot")
    }


def _prewarm(app: FastAPI) -> None:
    """Serialise the bodies of the most valuable customers of the snapshot now serving (``INSIGHT_API_PREWARM``)."""
    from service.api import services

    state: AppState = app.state.insight
    snap = state.acquire()
    if snap is None:
        return
    try:
        t0 = time.perf_counter()
        n = min(app.state.settings.api_prewarm, snap.response_cache_size)
        ids = sorted(snap.roster, key=lambda c: -snap.roster[c][1])[:n]
        narrator, mask = app.state.narrator, app.state.settings.api_mask_pii
        explain = services.deterministic(narrator)
        for i, cid in enumerate(ids):
            if snap._retired:  # a reload replaced it: the next snapshot warms itself
                return
            services.customer_json(snap, cid, mask, 5)
            if explain:
                services.explanation_json(snap, cid, narrator, mask)
            if i % 50 == 0:
                time.sleep(0.001)  # let requests have the interpreter
        log.info("kept the bodies of %d customers in %.1fs", len(ids), time.perf_counter() - t0)
        if app.state.settle_heap:
            heap.settle("the body prewarm")
    except Exception as exc:  # a body that cannot be made now will fail (or not) on its own request
        log.warning("prewarming stopped: %s", exc)
    finally:
        snap.release()
