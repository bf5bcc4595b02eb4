"""Signing in and out: the landing redirects (/ and /console), the sign-in page and form, sign-out, and the redirect
to sign-in for a request without a session.

The sign-in form takes an API key (the same keys and roles as the API), checks it exactly as the API does, and opens
a server-side session (``service.console.sessions``). The key itself is never stored, put in a URL or logged.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service.api.deps import principal_for_key
from service.console.forms import check_csrf, read_form, safe_next, same_origin
from service.console.rendering import is_htmx, render, security_headers
from service.console.sessions import COOKIE, current, delete_session_cookie, set_session_cookie

log = logging.getLogger("insight.console")

router = APIRouter(include_in_schema=False)


@router.get("/")
def root() -> Response:
    return RedirectResponse("/console", status_code=303)


@router.get("/console")
def console_home(request: Request) -> Response:
    if request.app.state.console_sessions.get(request.cookies.get(COOKIE)):
        return RedirectResponse("/console/customers", status_code=303)
    return RedirectResponse("/console/sign-in", status_code=303)


@router.get("/console/sign-in")
def sign_in_page(request: Request, next: str | None = None) -> HTMLResponse:
    return render(request, "sign_in.html", next=safe_next(next), error=None)


@router.post("/console/sign-in")
async def sign_in(request: Request) -> Response:
    form = await read_form(request)
    nxt = safe_next(form.get("next"))
    metrics = getattr(request.app.state, "metrics", None)
    if not same_origin(request):
        return render(
            request, "sign_in.html", status=403, next=nxt, error="This sign-in did not come from this console."
        )
    key = (form.get("api_key") or "").strip()
    principal = principal_for_key(request.app.state.api_keys, key) if key else None
    if principal is None:
        if metrics:
            metrics.auth_failures.labels("missing" if not key else "unknown").inc()
        log.info("console sign-in refused (%s)", "no key" if not key else "unknown key")
        return render(
            request,
            "sign_in.html",
            status=401,
            next=nxt,
            error="That API key is not valid." if key else "Enter your API key.",
        )
    session = request.app.state.console_sessions.open(principal)
    request.state.principal = f"{principal.label} (console)"
    log.info("console sign-in: %s", principal.label)
    resp = RedirectResponse(nxt, status_code=303, headers=security_headers())
    set_session_cookie(resp, request, session)
    return resp


@router.post("/console/sign-out")
async def sign_out(request: Request) -> Response:
    form = await read_form(request)
    session = current(request)
    check_csrf(request, session, form)
    request.app.state.console_sessions.close(session.id)
    resp = RedirectResponse("/console/sign-in", status_code=303, headers=security_headers())
    delete_session_cookie(resp, request)
    return resp


def sign_in_redirect(request: Request) -> Response:
    """To the sign-in page, coming back here after it (htmx: a 401 with HX-Redirect, so the whole page goes)."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    url = "/console/sign-in?" + urlencode({"next": safe_next(target)})
    if is_htmx(request):
        return Response(status_code=401, headers={"HX-Redirect": url, **security_headers()})
    return RedirectResponse(url, status_code=303, headers=security_headers())
