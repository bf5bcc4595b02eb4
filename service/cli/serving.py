"""`insight serve`: the HTTP API (service.api.serve), after checking that the port can be listened on."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from service.cli.errors import user_errors

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")  # uvicorn's


@user_errors
def serve(
    store: str = typer.Option(
        ..., "--store", envvar="INSIGHT_STORE", help="Profile store: SQLite file path or database URL."
    ),
    model: Path | None = typer.Option(
        None, "--model", envvar="INSIGHT_MODEL_DIR", help="Model bundle; default: the one the store was scored with."
    ),
    data: Path | None = typer.Option(
        None,
        "--data",
        envvar="INSIGHT_DATA_DIR",
        help="Input tables of the batch run, so POST /v1/score merges a known customer's history.",
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    log_level: str = typer.Option("info", "--log-level", help="critical, error, warning, info, debug or trace."),
):
    """Serve the HTTP API (keys from INSIGHT_API_KEYS). SIGHUP or POST /v1/admin/reload swaps in a new bundle and store
    without downtime."""
    from service.api.serve import run
    from service.playbook import load_playbook
    from service.table_schema import Bounds

    if log_level.lower() not in LOG_LEVELS:  # uvicorn would fail with a KeyError after the snapshot is loaded
        raise ValueError(f"--log-level {log_level!r}: use one of {', '.join(LOG_LEVELS)}")
    Bounds.from_env()  # a bad INSIGHT_AMOUNT_MAX, INSIGHT_DATE_MIN ...: one line, before anything else
    _check_port(host, port)  # a busy port is one line and exit 2, before the snapshot is loaded
    # A broken playbook would silently cost every answer its next action: refuse to start on one (PlaybookError).
    load_playbook()
    # soft_wrap: the "serving ... on http://..." line stays one line in a log, however long.
    run(
        store=store,
        model_dir=model,
        data_dir=data,
        host=host,
        port=port,
        log_level=log_level,
        console=Console(stderr=True, soft_wrap=True),
    )


def _check_port(host: str, port: int) -> None:
    """ValueError (one line, exit 2) when ``host:port`` cannot be listened on, e.g. another server holds it."""
    import socket

    try:
        family, _, _, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise ValueError(f"--host {host}: cannot resolve it ({exc.strerror})") from None
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(
            socket.SOL_SOCKET, socket.SO_REUSEADDR, 1
        )  # as uvicorn does: only a live listener blocks the port
        try:
            sock.bind(addr)
        except OSError as exc:
            raise ValueError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc} (is another server using it? choose another "
                "--port)"
            ) from None
