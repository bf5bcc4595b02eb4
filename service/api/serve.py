"""`insight serve`: load the snapshot (failing fast with a clear message), then run uvicorn; SIGHUP reloads.

``INSIGHT_API_WORKERS=N`` (N > 1) serves from N worker processes sharing the port (see ``service.api.workers``): each
loads its own snapshot, and a reload (SIGHUP to the server, POST /v1/admin/reload) reaches all of them.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

LOG_LEVEL_ENV = "INSIGHT_API_LOG_LEVEL"


def _setup_logging(log_level: str) -> None:
    level = getattr(logging, log_level.upper(), logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("insight")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    try:
        import faiss

        faiss.omp_set_num_threads(
            1
        )  # one query per request: OpenMP fan-out only adds overhead under concurrent requests
    except Exception:  # pragma: no cover - faiss without OpenMP
        pass


def run(
    store: str,
    model_dir=None,
    data_dir=None,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "info",
    console=None,
    workers: int | None = None,
) -> None:
    import uvicorn

    from service.api.app import create_app
    from service.api.http_protocol import MAX_HEADER_BYTES, BoundedH11Protocol
    from service.api.settings import api_settings

    settings = api_settings(store=store, model_dir=model_dir, data_dir=data_dir)
    if workers is not None:
        settings.api_workers = workers
    _require_keys(settings)
    _setup_logging(log_level)

    n = settings.api_workers
    # with workers: a dry run here, so a bad store or bundle fails with one line
    app = create_app(settings, handle_sighup=n == 1, settle_heap=True)
    _announce(app, host, port, n, console)
    common: dict[str, Any] = dict(
        host=host,
        port=port,
        log_level=log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=10,
        server_header=False,
        limit_concurrency=settings.api_max_connections,  # 503 above it, instead of connections piling up
        # bounded headers and idle connections closed (service.api.http_protocol)
        http=BoundedH11Protocol,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
    )
    if n == 1:
        uvicorn.run(app, **common)
        return
    app.state.insight.close()  # each worker loads its own
    del app
    _run_workers(settings, n, log_level, common)


def _require_keys(settings) -> None:
    """Refuse to serve without API keys: every endpoint but the probes would answer 401."""
    from service.api.settings import parse_api_keys

    if not parse_api_keys(settings.api_keys.get_secret_value()):
        raise ValueError(
            "INSIGHT_API_KEYS is not set: give at least one key, "
            "e.g. INSIGHT_API_KEYS='<secret>:agent,<other secret>:admin' "
            "(without keys every endpoint except /healthz and /readyz would answer 401)"
        )


def _announce(app, host: str, port: int, n: int, console) -> None:
    """One line: the model, customers and index served, where, and which paths need a key."""
    snap = app.state.insight.current()
    procs = f", {n} worker processes" if n > 1 else ""
    msg = (
        f"serving model {snap.model_version} ({snap.customers:,} customers, {snap.index.kind} index{procs}) "
        f"on http://{host}:{port} "
        f"- open: /healthz /readyz; with X-API-Key: /v1/..., /metrics, /openapi.json; SIGHUP reloads"
    )
    if console is not None:
        console.print(msg, highlight=False)
    else:
        print(msg, file=sys.stderr)


def _run_workers(settings, n: int, log_level: str, common: dict[str, Any]) -> None:
    """Serve from ``n`` worker processes (uvicorn's), each building its app with ``worker_app``; a reload channel
    carries reloads to all of them."""
    import uvicorn

    from service.api.workers import RUN_DIR_ENV, ReloadChannel, run_workers

    channel = ReloadChannel.create(settings.api_snapshot_dir)
    # The workers build their settings from the environment: hand them what was given on the command line.
    os.environ.update(
        {
            "INSIGHT_STORE": str(settings.store),
            "INSIGHT_API_WORKERS": str(n),
            RUN_DIR_ENV: str(channel.dir),
            LOG_LEVEL_ENV: log_level,
        }
    )
    for name, value in (("INSIGHT_MODEL_DIR", settings.model_dir), ("INSIGHT_DATA_DIR", settings.data_dir)):
        if value is not None:
            os.environ[name] = str(value)
    config = uvicorn.Config("service.api.serve:worker_app", factory=True, workers=n, **common)
    run_workers(config, channel)


def worker_app():
    """The app of one worker process (uvicorn factory): settings from the environment the parent prepared."""
    from service.api.app import create_app
    from service.api.settings import api_settings
    from service.api.workers import channel_from_env, exit_with_parent, ignore_sighup_until_ready

    ignore_sighup_until_ready()
    exit_with_parent()
    _setup_logging(os.environ.get(LOG_LEVEL_ENV, "info"))
    return create_app(api_settings(), handle_sighup=True, reload_channel=channel_from_env(), settle_heap=True)
