"""Posted forms: reading them (with a size cap), the same-origin and CSRF checks that every state-changing post
(ask, sign out) passes, and the safe target of the redirect after sign-in.

The CSRF token is per session and comes as a form field or an ``X-CSRF-Token`` header (htmx).
"""

from __future__ import annotations

import logging
import secrets
from urllib.parse import parse_qs, urlsplit

from fastapi import Request

from service.api.problems import ProblemException
from service.console.sessions import Session

log = logging.getLogger("insight.console")

MAX_FORM_BYTES = 16_384


async def read_form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise ProblemException(413, f"the form is larger than {MAX_FORM_BYTES:,} bytes")
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}


def same_origin(request: Request) -> bool:
    """Origin (or Referer) of a post must be this server when the browser sends one."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return True
    o = urlsplit(origin)
    return (o.scheme, o.netloc) == (request.url.scheme, request.url.netloc)


def safe_next(target: str | None) -> str:
    """Only a path of this console (no other host, no scheme)."""
    if (
        target
        and target.startswith("/console/")
        and not target.startswith("//")
        and "\\" not in target
        and "://" not in target
    ):
        return target
    return "/console/customers"


class CsrfRefused(Exception):
    """Raised by ``check_csrf``; ``routes.install`` answers it with the 'Refused' page."""

    def __init__(self, request: Request, session: Session):
        self.request, self.session = request, session


def check_csrf(request: Request, session: Session, form: dict[str, str]) -> None:
    token = request.headers.get("x-csrf-token") or form.get("csrf_token") or ""
    if not (same_origin(request) and secrets.compare_digest(token.encode(), session.csrf.encode())):
        metrics = getattr(request.app.state, "metrics", None)
        if metrics:
            metrics.auth_failures.labels("csrf").inc()
        log.warning("console post refused: missing or wrong CSRF token, or another origin (%s)", session.label)
        raise CsrfRefused(request, session)
