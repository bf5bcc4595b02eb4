"""Errors as RFC 9457 problem details (``application/problem+json``): a title, a detail, never a stack trace.

Every error the service returns goes through here: HTTP errors raised by the routers, request
validation errors (422, with the offending field), body-size refusals (413) and anything unexpected
(500, with a request id to find the server-side log entry; the traceback stays in the log).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.privacy import INVISIBLE
from service.store_checks import RESCORE, DamagedProfile
from service.table_values import ANY_CONTROL

_LOG_UNSAFE = re.compile(f"{ANY_CONTROL.pattern}|{INVISIBLE.pattern}")


def log_text(text: str) -> str:
    """``text`` with control and invisible characters escaped (``\\x0a``, ``\\u202e``), for a log line: a request path
    holding a percent-encoded newline wrote a forged second line into the access log, and a right-to-left override
    reversed how the rest of the line reads."""
    return _LOG_UNSAFE.sub(
        lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}", text
    )


log = logging.getLogger("insight.api")

PROBLEM_JSON = "application/problem+json"

TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    408: "Request timeout",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Invalid request",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}
SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    408: "request-timeout",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-error",
    429: "too-many-requests",
    500: "internal-error",
    503: "unavailable",
}


class ProblemException(Exception):
    """Raise from routers or the application glue to answer with a problem."""

    def __init__(
        self,
        status: int,
        detail: str,
        title: str | None = None,
        *,
        type_: str | None = None,
        errors: list[dict] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or TITLES.get(status, "Error")
        self.type = type_ or SLUGS.get(status, "error")
        self.errors = errors
        self.headers = headers
        self.extra = extra


def problem_response(
    request: Request | None,
    status: int,
    detail: str,
    title: str | None = None,
    *,
    type_: str | None = None,
    errors: list[dict] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"/problems/{type_ or SLUGS.get(status, 'error')}",
        "title": title or TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.url.path
        rid = getattr(request.state, "request_id", None)
        if rid:
            body["request_id"] = rid
    if errors:
        body["errors"] = errors
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _loc(loc) -> str:
    """('body', 'tables', 'orders', 0, 'amount') -> 'tables.orders[0].amount'.

    The 'body'/'query'/'path' prefix is dropped."""
    parts = list(loc)
    if len(parts) == 2 and parts[0] == "body" and isinstance(parts[1], int):
        return "body"  # a JSON syntax error at a character position
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "body"


def validation_errors(exc: RequestValidationError) -> list[dict]:
    # The offending value is not echoed back (it may be a secret or personal data): field, message, type only.
    return [
        {"field": _loc(e.get("loc", ())), "message": e.get("msg", "invalid"), "type": e.get("type", "value_error")}
        for e in exc.errors()
    ]


def install(app: FastAPI) -> None:
    @app.exception_handler(ProblemException)
    async def _problem(request: Request, exc: ProblemException):
        return problem_response(
            request,
            exc.status,
            exc.detail,
            exc.title,
            type_=exc.type,
            errors=exc.errors,
            headers=exc.headers,
            **exc.extra,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "Error")
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no endpoint at {request.url.path}; the API is under /v1 (see /openapi.json)"
        elif exc.status_code == 405 and detail == "Method Not Allowed":
            detail = f"{request.method} is not allowed on {request.url.path}"
        return problem_response(request, exc.status_code, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = validation_errors(exc)
        first = errors[0] if errors else {"field": "body", "message": "invalid"}
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return problem_response(request, 422, f"{first['field']}: {first['message']}{more}", errors=errors)

    @app.exception_handler(DamagedProfile)
    async def _damaged(request: Request, exc: DamagedProfile):
        # The store was edited or damaged outside the service: the operator's fix, said plainly (no row values).
        log.error("damaged store row on %s %s: %s", request.method, log_text(request.url.path), log_text(str(exc)))
        return problem_response(request, 500, f"{exc.subject} is damaged; {RESCORE}")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        rid = getattr(request.state, "request_id", None)
        log.exception("unhandled error on %s %s (request %s)", request.method, log_text(request.url.path), rid)
        return problem_response(
            request,
            500,
            f"an unexpected error occurred; quote request id {rid} to the operator"
            if rid
            else "an unexpected error occurred",
        )
