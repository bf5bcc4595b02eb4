"""The FastAPI application: ``create_app(settings)`` builds one service instance around an AppState.

Open: /healthz, /readyz, the console's sign-in page and static assets, the /docs shell. Everything else (the /v1 API,
/metrics, /openapi.json, every console page with data) needs an API key (the console: a session opened with one).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import signal
import threading
import time
import uuid
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from service import __version__
from service.api import problems
from service.api.deps import require_agent
from service.api.metrics import Metrics
from service.api.reload import do_reload
from service.api.routers import admin, ask, customers, health, model, score
from service.api.settings import ApiSettings, api_settings, parse_api_keys
from service.api.state import AppState, SnapshotError
from service.ask import get_narrator

log = logging.getLogger("insight.api")
access_log = logging.getLogger("insight.api.access")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

DESCRIPTION = """Customer value, churn risk, tiers and grounded explanations.

Authenticate with `X-API-Key: <key>` (or `Authorization: Bearer <key>`); keys and roles come from
`INSIGHT_API_KEYS="key:role,..."`. Role `agent` reads and asks; `admin` may also write scored
profiles and reload the model. Errors are `application/problem+json`. Contact data inside customer
texts (e-mail addresses, phone numbers) is masked in every response.
"""


class ServiceMiddleware:
    """Request id, body-size limit (413 before the body is parsed), metrics and an access log without secrets."""

    def __init__(self, app, metrics: Metrics, max_body: int):
        self.app = app
        self.metrics = metrics
        self.max_body = max_body

    async def _problem(self, send, status: int, detail: str, path: str, rid: str) -> None:
        body = json.dumps(
            {
                "type": f"/problems/{problems.SLUGS[status]}",
                "title": problems.TITLES[status],
                "status": status,
                "detail": detail,
                "instance": path,
                "request_id": rid,
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", problems.PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", rid.encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        rid = headers.get("x-request-id", "")
        rid = rid if _REQUEST_ID.match(rid) else uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = rid
        t0 = time.perf_counter()
        status = {"code": 500}
        method, path = scope["method"], scope["path"]
        self.metrics.in_flight.inc()
        try:
            downstream = receive
            cl = headers.get("content-length")
            too_big = f"the request body is larger than {self.max_body:,} bytes"
            if cl is not None and cl.isdigit() and int(cl) > self.max_body:
                status["code"] = 413
                return await self._problem(send, 413, too_big, path, rid)
            if method in ("POST", "PUT", "PATCH"):
                chunks, size, more = [], 0, True
                while more:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        status["code"] = 499
                        return
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_body:
                        status["code"] = 413
                        return await self._problem(send, 413, too_big, path, rid)
                    chunks.append(chunk)
                    more = message.get("more_body", False)
                body = b"".join(chunks)
                delivered = {"done": False}

                async def downstream():
                    if not delivered["done"]:
                        delivered["done"] = True
                        return {"type": "http.request", "body": body, "more_body": False}
                    return await receive()

            async def send_wrapper(message):
                if message["type"] == "http.response.start":
                    status["code"] = message["status"]
                    message.setdefault("headers", [])
                    message["headers"] = list(message["headers"]) + [(b"x-request-id", rid.encode())]
                await send(message)

            await self.app(scope, downstream, send_wrapper)
        finally:
            self.metrics.in_flight.dec()
            route = scope.get("route")
            label = getattr(route, "path", None) or "unmatched"
            dt = time.perf_counter() - t0
            self.metrics.requests.labels(method, label, str(status["code"])).inc()
            self.metrics.latency.labels(method, label).observe(dt)
            state = scope.get("state") or {}
            access_log.info(
                "%s %s %s %.1fms %s rid=%s", method, path, status["code"], dt * 1000, state.get("principal", "-"), rid
            )


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
) -> FastAPI:
    """A service instance. ``load`` loads the snapshot now, so a bad store or bundle fails here (SnapshotError), not
    later.

    ``reload_channel`` (a ``service.api.workers.ReloadChannel``): this instance is one of several worker processes, and
    its reloads (POST /v1/admin/reload, SIGHUP) reach every worker through the channel."""
    settings = api_settings(settings, store=store, model_dir=model_dir, data_dir=data_dir)
    keys = parse_api_keys(settings.api_keys.get_secret_value())
    if not keys:
        log.warning("INSIGHT_API_KEYS is empty: every endpoint except /healthz and /readyz will answer 401")
    metrics = Metrics()
    state = AppState(settings, encoder=encoder)

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
            threading.Thread(target=_preload_encoder, args=(state,), name="encoder-preload", daemon=True).start()
        try:
            yield
        finally:
            if handle_sighup:
                loop.remove_signal_handler(signal.SIGHUP)
            if reloads is not None:
                await reloads.stop()
            state.close()

    app = FastAPI(
        title="customer-insight API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.api_keys = keys
    app.state.metrics = metrics
    app.state.insight = state
    app.state.worker_reloads = None
    app.state.narrator = get_narrator(settings)
    problems.install(app)
    for r in (customers.router, ask.router, score.router, model.router, admin.router, health.router):
        app.include_router(r)
    from service.console.routes import install as install_console

    install_console(app)  # the agent console (/console) and Swagger UI (/docs), same keys; assets ship with the package

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(require_agent)])
    def openapi(request: Request) -> JSONResponse:
        return JSONResponse(request.app.openapi())

    app.add_middleware(ServiceMiddleware, metrics=metrics, max_body=settings.api_max_body_bytes)

    if load:
        ok, result = do_reload(app)
        if not ok:
            raise SnapshotError(result["error"])
    return app


def _preload_encoder(state: AppState) -> None:
    snap = state.acquire()
    if snap is None:
        return
    try:
        t0 = time.perf_counter()
        enc = state.encoder(snap.bundle)
        if enc is not None:
            from service.intents import example_index

            example_index(enc)  # the example questions of the ask router, embedded once
            log.info("embedding model loaded in %.1fs", time.perf_counter() - t0)
    except Exception as exc:  # scoring will report it; reads are unaffected
        log.warning("could not preload the embedding model: %s", exc)
    finally:
        snap.release()
    try:
        from service.features import warm_up

        warm_up()  # the one-off check of the small-input feature engine, not on the first POST /v1/score
    except Exception as exc:  # noqa: BLE001 - features then run on DuckDB; scoring still works
        log.warning("could not check the small-input feature engine: %s", exc)
