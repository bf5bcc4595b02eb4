"""`insight serve`: load the snapshot (failing fast with a clear message), then run uvicorn; SIGHUP reloads."""
from __future__ import annotations

import logging
import sys


def run(store: str, model_dir=None, data_dir=None, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info",
        console=None) -> None:
    import uvicorn

    from service.api.app import create_app
    from service.api.settings import api_settings, parse_api_keys

    settings = api_settings(store=store, model_dir=model_dir, data_dir=data_dir)
    if not parse_api_keys(settings.api_keys.get_secret_value()):
        raise ValueError("INSIGHT_API_KEYS is not set: give at least one key, e.g. INSIGHT_API_KEYS='<secret>:agent,<other secret>:admin' "
                         "(without keys every endpoint except /healthz and /readyz would answer 401)")
    level = getattr(logging, log_level.upper(), logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("insight")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    try:
        import faiss

        faiss.omp_set_num_threads(1)  # one query per request: OpenMP fan-out only adds overhead under concurrent requests
    except Exception:  # pragma: no cover - faiss without OpenMP
        pass

    app = create_app(settings, handle_sighup=True)
    snap = app.state.insight.current()
    msg = (f"serving model {snap.model_version} ({snap.customers:,} customers, {snap.index.kind} index) on http://{host}:{port} "
           f"- open: /healthz /readyz; with X-API-Key: /v1/..., /metrics, /openapi.json; SIGHUP reloads")
    if console is not None:
        console.print(msg, highlight=False)
    else:
        print(msg, file=sys.stderr)
    uvicorn.run(app, host=host, port=port, log_level=log_level.lower(), access_log=False, timeout_graceful_shutdown=10,
                server_header=False)
