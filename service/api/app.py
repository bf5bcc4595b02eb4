"""The FastAPI application: ``create_app(settings)`` builds one service instance around an AppState.

Open: /healthz, /readyz, the console's sign-in page and static assets, the /docs shell. Everything else (the /v1 API,
/metrics, /openapi.json, every console page with data) needs an API key (the console: a session opened with one).

Wiring only: the routers (service.api.routers), the console, the problem handlers (service.api.problems), the request
middleware (service.api.middleware) and the snapshot's lifespan (reloads, SIGHUP, the encoder preload).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from service import __version__
from service.api import heap, problems
from service.api.deps import require_agent
from service.api.metrics import Metrics
from service.api.middleware import ServiceMiddleware
from service.api.reload import do_reload
from service.api.routers import admin, ask, customers, health, model, score
from service.api.settings import ApiSettings, api_settings, parse_api_keys
from service.api.state import AppState, SnapshotError
from service.ask import get_narrator
from service.table_schema import Bounds

log = logging.getLogger("insight.api")

DESCRIPTION = """Customer value, churn risk, tiers and grounded explanations.

Authenticate with `X-API-Key: <key>` (or `Authorization: Bearer <key>`); keys and roles come from
`INSIGHT_API_KEYS="key:role,..."`. Role `agent` reads and asks; `admin` may also write scored
profiles and reload the model. Errors are `application/problem+json`. Contact data inside customer
texts (e-mail addresses, phone numbers) is masked in every response.
"""


def create_app(
    settings: ApiSettings | None = None,
    *,
    store: str | None = None,
    model_dir=None,
    data_dir=None,
    load: bool = True,
    handle_sighup: bool = False,
    encoder=None,
    reload_channel=None,
    settle_heap: bool = False,
) -> FastAPI:
    """A service instance. ``load`` loads the snapshot now, so a bad store or bundle fails here (SnapshotError), not
    later.

    ``reload_channel`` (a ``service.api.workers.ReloadChannel``): this instance is one of several worker processes, and
    its reloads (POST /v1/admin/reload, SIGHUP) reach every worker through the channel.

    ``settle_heap``: this app owns its process (`insight serve`), so after each step that adds long-lived objects it
    takes them out of the garbage collector's full passes (``service.api.heap``)."""
    settings = api_settings(settings, store=store, model_dir=model_dir, data_dir=data_dir)
    # the input bounds (INSIGHT_AMOUNT_MAX, INSIGHT_DATE_MIN ...) are read at each validation: a bad one would make
    # every POST /v1/score a 422 blaming the request, so it stops the start instead (DataError, one line)
    Bounds.from_env()
    keys = parse_api_keys(settings.api_keys.get_secret_value())
    if not keys:
        log.warning("INSIGHT_API_KEYS is empty: every endpoint except /healthz and /readyz will answer 401")
    metrics = Metrics()
    state = AppState(settings, encoder=encoder)
    app = FastAPI(
        title="customer-insight API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=_lifespan(settings, state, encoder, reload_channel, handle_sighup),
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.api_keys = keys
    app.state.metrics = metrics
    app.state.insight = state
    app.state.worker_reloads = None
    app.state.settle_heap = settle_heap
    app.state.narrator = get_narrator(settings)
    problems.install(app)
    _install_routes(app)
    if reload_channel is not None:  # one of several workers: a browser's next request may reach another one
        from service.console.sessions import SharedSessions

        app.state.console_sessions = SharedSessions(reload_channel.dir / "console-sessions.db")
    app.add_middleware(
        ServiceMiddleware,
        metrics=metrics,
        max_body=settings.api_max_body_bytes,
        api_keys=keys,
        body_timeout=settings.api_body_timeout_s,
    )

    if load:
        ok, result = do_reload(app)
        if not ok:
            raise SnapshotError(result["error"])
    return app


def _lifespan(settings: ApiSettings, state: AppState, encoder, reload_channel, handle_sighup: bool):
    """What runs around the service's life: the worker reload channel, the SIGHUP handler and the encoder preload at
    start; the same undone, and the state closed, at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        loop = asyncio.get_running_loop()
        reloads = None
        if reload_channel is not None:
            from service.api.workers import WorkerReloads

            reloads = app.state.worker_reloads = WorkerReloads(app, reload_channel, settings.api_workers)
            reloads.start()
        if handle_sighup:
            if reloads is not None:
                loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(reloads.reload_all()))
            else:
                loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(asyncio.to_thread(do_reload, app)))
        if settings.api_preload_encoder and encoder is None and state.current() is not None:
            threading.Thread(
                target=_preload_encoder, args=(state, app.state.settle_heap), name="encoder-preload", daemon=True
            ).start()
        try:
            yield
        finally:
            if handle_sighup:
                loop.remove_signal_handler(signal.SIGHUP)
            if reloads is not None:
                await reloads.stop()
            state.close()

    return lifespan


def _install_routes(app: FastAPI) -> None:
    """The routers of the API, the console and Swagger UI, and /openapi.json (behind a key)."""
    for r in (customers.router, ask.router, score.router, model.router, admin.router, health.router):
        app.include_router(r)
    from service.console.routes import install as install_console

    install_console(app)  # the agent console (/console) and Swagger UI (/docs), same keys; assets ship with the package

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(require_agent)])
    def openapi(request: Request) -> JSONResponse:
        return JSONResponse(request.app.openapi())


def _preload_encoder(state: AppState, settle_heap: bool) -> None:
    snap = state.acquire()
    if snap is None:
        return
    # Only the bundle is needed: holding the snapshot through the load kept a server stopped meanwhile from removing
    # its private store copy (this daemon thread dies at exit, before it would release it).
    bundle = snap.bundle
    snap.release()
    try:
        t0 = time.perf_counter()
        enc = state.encoder(bundle)
        if enc is not None:
            from service.intents import example_index

            example_index(enc)  # the example questions of the ask router, embedded once
            log.info("embedding model loaded in %.1fs", time.perf_counter() - t0)
    except Exception as exc:  # scoring will report it; reads are unaffected
        log.warning("could not preload the embedding model: %s", exc)
    try:
        from service.features import warm_up

        warm_up()  # the one-off check of the small-input feature engine, not on the first POST /v1/score
    except Exception as exc:  # noqa: BLE001 - features then run on DuckDB; scoring still works
        log.warning("could not check the small-input feature engine: %s", exc)
    if settle_heap:
        heap.settle("the encoder preload")
