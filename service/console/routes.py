"""The agent console: server-rendered pages (Jinja2) enhanced by htmx, served by `insight serve` beside the API.

Why this shape: an agent needs a few pages (sign in, find, read, ask), all of them views of facts the server
already has. Rendering them on the server keeps one source of truth (the same ``service.api.services``
functions the API calls), needs no build step, works without JavaScript (every form is a real form), and
ships as templates plus one vendored 50 KB script (htmx) that swaps fragments in place for a quicker feel.
Charts are SVG drawn on the server, so they need no chart library either.

Security: the sign-in page takes an API key (the same keys and roles as the API), checks it exactly as the
API does, and opens a server-side session; the browser only holds a random session id in a cookie that is
HttpOnly, SameSite=Strict (and Secure over HTTPS). The key itself is never stored, put in a URL or logged.
Every page with data needs the session; state-changing posts (ask, sign out) carry a per-session CSRF token
(form field or ``X-CSRF-Token`` header) and a same-origin check. Pages send a strict Content-Security-Policy
(scripts and styles from this origin only).

Where things are: one module per page (``sign_in``, ``customers``, ``customer``, ``ask``, ``docs``), each with its
router; the helpers they share: ``sessions`` (sessions, the cookie, ``current``), ``forms`` (reading posts, CSRF and
same-origin checks), ``rendering`` (templates, security headers), ``charts`` (SVG). This module puts the routers
together and mounts the console on the app (``install``).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request

from service.console import ask, customer, customers, docs, sign_in
from service.console.forms import CsrfRefused
from service.console.rendering import render
from service.console.sessions import COOKIE, Sessions, SignInRequired
from service.console.sign_in import sign_in_redirect

STATIC_DIR = Path(__file__).resolve().parent / "static"

router = APIRouter(include_in_schema=False)
for _page in (sign_in, customers, customer, ask, docs):
    router.include_router(_page.router)


def install(app) -> None:
    """Mount the console on ``app``: routes, static assets, sessions and the sign-in redirect."""
    from fastapi.staticfiles import StaticFiles

    app.state.console_sessions = Sessions()
    app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=str(STATIC_DIR)), name="console-static")
    # After the static mount (routes match in order): any other console address is a page, not the API's JSON 404.
    app.add_api_route("/console/{rest:path}", _page_not_found, methods=["GET"], include_in_schema=False)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired):
        return sign_in_redirect(request)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, exc: CsrfRefused):
        return render(
            request,
            "error.html",
            status=403,
            session=exc.session,
            title="Refused",
            message="This form is stale or did not come from this console. Reload the page and try again.",
        )


def _page_not_found(request: Request, rest: str):
    session = request.app.state.console_sessions.get(request.cookies.get(COOKIE))
    return render(
        request,
        "error.html",
        status=404,
        session=session,
        title="Page not found",
        message="There is no console page at this address.",
    )


__all__ = ["COOKIE", "install", "router", "Sessions"]
