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
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from service.api import services
from service.api.deps import Principal, principal_for_key
from service.api.problems import ProblemException
from service.console.charts import waterfall_svg

log = logging.getLogger("insight.console")

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
COOKIE = "insight_session"
IDLE_SECONDS = 8 * 3600
MAX_SECONDS = 24 * 3600
MAX_FORM_BYTES = 16_384
SEGMENTS = (
    "Champions",
    "Loyal",
    "Can't lose them",
    "At risk",
    "New customers",
    "Potential loyalists",
    "Promising",
    "Need attention",
    "Hibernating",
    "Lost",
)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action "
    "'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src "
    "'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


# ----------------------------------------------------------------------------- sessions


@dataclass
class Session:
    id: str
    csrf: str
    role: str
    label: str
    created: float = field(default_factory=time.monotonic)
    seen: float = field(default_factory=time.monotonic)


class Sessions:
    """Server-side console sessions (in memory: a restart signs everyone out, which is the safe default)."""

    def __init__(self):
        self._by_id: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, principal: Principal) -> Session:
        s = Session(
            id=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32), role=principal.role, label=principal.label
        )
        with self._lock:
            self._expire()
            self._by_id[s.id] = s
        return s

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        now = time.monotonic()
        with self._lock:
            s = self._by_id.get(sid)
            if s is None or now - s.seen > IDLE_SECONDS or now - s.created > MAX_SECONDS:
                self._by_id.pop(sid, None)
                return None
            s.seen = now
            return s

    def close(self, sid: str | None) -> None:
        with self._lock:
            self._by_id.pop(sid or "", None)

    def _expire(self) -> None:
        now = time.monotonic()
        for sid in [k for k, s in self._by_id.items() if now - s.seen > IDLE_SECONDS or now - s.created > MAX_SECONDS]:
            del self._by_id[sid]


# ----------------------------------------------------------------------------- rendering

_env = Environment(
    loader=FileSystemLoader(str(HERE / "templates")),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _money(x, currency="$", decimals=2):
    return "" if x is None else f"{currency}{x:,.{decimals}f}" if x >= 0 else f"-{currency}{abs(x):,.{decimals}f}"


def _pct(x, decimals=0):
    return "" if x is None else f"{x * 100:.{decimals}f}%"


_env.filters["money"] = _money
_env.filters["pct"] = _pct
_env.filters["label"] = lambda s: str(s).replace("_", " ")


def render(request: Request, template: str, status: int = 200, session: Session | None = None, **ctx) -> HTMLResponse:
    html = _env.get_template(template).render(request=request, session=session, path=request.url.path, **ctx)
    return HTMLResponse(html, status_code=status, headers=_headers())


def _headers(csp: str = CSP) -> dict[str, str]:
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "").lower() == "https"


def _same_origin(request: Request) -> bool:
    """Origin (or Referer) of a post must be this server when the browser sends one."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return True
    o = urlsplit(origin)
    return (o.scheme, o.netloc) == (request.url.scheme, request.url.netloc)


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise ProblemException(413, f"the form is larger than {MAX_FORM_BYTES:,} bytes")
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}


def _safe_next(target: str | None) -> str:
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


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


class SignInRequired(Exception):
    def __init__(self, request: Request):
        self.request = request


def current(request: Request) -> Session:
    s = request.app.state.console_sessions.get(request.cookies.get(COOKIE))
    if s is None:
        raise SignInRequired(request)
    request.state.principal = f"{s.label} (console)"
    return s


class CsrfRefused(Exception):
    def __init__(self, request: Request, session: Session):
        self.request, self.session = request, session


def _check_csrf(request: Request, session: Session, form: dict[str, str]) -> None:
    token = request.headers.get("x-csrf-token") or form.get("csrf_token") or ""
    if not (_same_origin(request) and secrets.compare_digest(token.encode(), session.csrf.encode())):
        metrics = getattr(request.app.state, "metrics", None)
        if metrics:
            metrics.auth_failures.labels("csrf").inc()
        log.warning("console post refused: missing or wrong CSRF token, or another origin (%s)", session.label)
        raise CsrfRefused(request, session)


def sign_in_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    url = "/console/sign-in?" + urlencode({"next": _safe_next(target)})
    if _is_htmx(request):
        return Response(status_code=401, headers={"HX-Redirect": url, **_headers()})
    return RedirectResponse(url, status_code=303, headers=_headers())


# ----------------------------------------------------------------------------- routes

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
    return render(request, "sign_in.html", next=_safe_next(next), error=None)


@router.post("/console/sign-in")
async def sign_in(request: Request) -> Response:
    form = await _form(request)
    nxt = _safe_next(form.get("next"))
    metrics = getattr(request.app.state, "metrics", None)
    if not _same_origin(request):
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
    resp = RedirectResponse(nxt, status_code=303, headers=_headers())
    resp.set_cookie(
        COOKIE, session.id, httponly=True, samesite="strict", secure=_secure(request), path="/", max_age=MAX_SECONDS
    )
    return resp


@router.post("/console/sign-out")
async def sign_out(request: Request) -> Response:
    form = await _form(request)
    session = current(request)
    _check_csrf(request, session, form)
    request.app.state.console_sessions.close(session.id)
    resp = RedirectResponse("/console/sign-in", status_code=303, headers=_headers())
    resp.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request))
    return resp


def _search_args(request: Request) -> dict:
    p = request.query_params
    tier = p.get("tier") or None
    band = p.get("churn") or None
    sort = p.get("sort") or "value"
    order = p.get("order") or "desc"
    try:
        page = max(1, min(int(p.get("page") or 1), 100_000))
    except ValueError:
        page = 1
    return {
        "q": (p.get("q") or "").strip()[:128] or None,
        "tier": tier if tier in ("VIP", "High", "Medium", "Low") else None,
        "segment": p.get("segment") if p.get("segment") in SEGMENTS else None,
        "churn_band": band if band in ("low", "medium", "high") else None,
        "sort": sort if sort in ("value", "churn", "id") else "value",
        "order": order if order in ("asc", "desc") else "desc",
        "page": page,
    }


@router.get("/console/customers")
def customers_page(request: Request) -> Response:
    session = current(request)
    args = _search_args(request)
    snap = request.app.state.insight.acquire()
    if snap is None:
        return render(
            request,
            "error.html",
            status=503,
            session=session,
            title="Not ready",
            message="No model and store are loaded yet.",
        )
    try:
        result = services.list_customers(snap, page_size=20, **args)
        currency = snap.meta.get("currency", "$")
        horizon = int(snap.meta["horizon_days"])
    finally:
        snap.release()
    base = {k: v for k, v in args.items() if v and k != "page"}
    links = {
        "prev": f"/console/customers?{urlencode({**base, 'page': result.page - 1})}" if result.page > 1 else None,
        "next": f"/console/customers?{urlencode({**base, 'page': result.page + 1})}"
        if result.page < result.pages
        else None,
    }
    ctx = dict(
        session=session, result=result, args=args, links=links, currency=currency, horizon=horizon, segments=SEGMENTS
    )
    if _is_htmx(request) and request.headers.get("hx-target") == "results":
        return render(request, "_results.html", **ctx)
    return render(request, "customers.html", **ctx)


def _customer_context(request: Request, session: Session, customer_id: str) -> tuple[dict | None, Response | None]:
    app = request.app
    snap = app.state.insight.acquire()
    if snap is None:
        return None, render(
            request,
            "error.html",
            status=503,
            session=session,
            title="Not ready",
            message="No model and store are loaded yet.",
        )
    try:
        profile = snap.profile(customer_id)
        if profile is None:
            known = customer_id in snap.unscored
            msg = (
                f"Customer {customer_id} is known, no orders yet, so not scored."
                if known
                else f"Customer {customer_id} is not in the profile store."
            )
            return None, render(
                request,
                "error.html",
                status=404,
                session=session,
                title="Not scored" if known else "Customer not found",
                message=msg,
            )
        mask = app.state.settings.api_mask_pii
        view = services.profile_view(snap, profile, mask, top=20)
        exp = services.explanation(snap, customer_id, app.state.narrator, mask)
        from service.whatif import WhatIfError, what_if

        wi_error: str | None
        try:
            wi = what_if(profile, snap.bundle, currency=view.currency)
        except WhatIfError as exc:
            wi, wi_error = None, str(exc)
        else:
            wi_error = None
        try:
            similar = services._similar_customers(snap, snap.neighbours(customer_id, 5))
        except KeyError:
            similar = []
        drivers = profile["profile"]["drivers"]
        chart = Markup(waterfall_svg(float(profile["predicted_value"]), drivers, view.currency, view.horizon_days))
        act = profile["profile"].get("activity") or {}
        ctx = dict(
            view=view,
            exp=exp,
            what_if=wi,
            what_if_error=wi_error,
            similar=similar,
            chart=chart,
            narrative=_narrative(exp.narrative),
            drivers=drivers,
            last_order=act.get("last_order"),
            currency=view.currency,
            reviews=[e for e in view.evidence if e.source.startswith("review")],
            browsing=[e for e in view.evidence if not e.source.startswith("review")],
        )
        return ctx, None
    finally:
        snap.release()


def _narrative(text: str) -> list[dict]:
    """Narrative lines as blocks: a paragraph, or a list of '- ' items under a heading line ending in ':'."""
    blocks: list[dict] = []
    for line in text.splitlines():
        if line.startswith("- ") and blocks and blocks[-1]["kind"] == "list":
            blocks[-1]["items"].append(line[2:])
        elif line.startswith("- "):
            blocks.append({"kind": "list", "title": None, "items": [line[2:]]})
        elif line.endswith(":"):
            blocks.append({"kind": "list", "title": line, "items": []})
        else:
            blocks.append({"kind": "p", "text": line})
    return blocks


@router.get("/console/customers/{customer_id}")
def customer_page(request: Request, customer_id: str) -> Response:
    session = current(request)
    ctx, error = _customer_context(request, session, customer_id[:128])
    if error is not None:
        return error
    assert ctx is not None  # one of the two is set
    return render(request, "customer.html", session=session, answer=None, question="", **ctx)


@router.post("/console/customers/{customer_id}/ask")
async def ask(request: Request, customer_id: str) -> Response:
    form = await _form(request)
    session = current(request)
    _check_csrf(request, session, form)
    question = (form.get("question") or "").strip()[:500]
    app = request.app
    snap = app.state.insight.acquire()
    if snap is None:
        return render(
            request,
            "error.html",
            status=503,
            session=session,
            title="Not ready",
            message="No model and store are loaded yet.",
        )
    try:
        if not question:
            result, error = None, "Type a question first."
        else:
            try:
                result = services.ask(
                    snap,
                    customer_id[:128],
                    question,
                    app.state.narrator,
                    app.state.settings.api_mask_pii,
                    encoder=services.question_encoder(app.state.insight, snap),
                )
                app.state.metrics.ask.labels(result.intent).inc()
                error = None
            except ProblemException as exc:
                result, error = None, exc.detail
    finally:
        snap.release()
    facts = _facts_used(result) if result is not None else None
    # the question is echoed into the page (input value), masked like the answer's copy
    if app.state.settings.api_mask_pii:
        from service.privacy import redact

        question = redact(question)
    if _is_htmx(request):
        return render(
            request,
            "_answer.html",
            session=session,
            answer=result,
            facts=facts,
            error=error,
            question=question,
            customer_id=customer_id,
        )
    ctx, err = _customer_context(request, session, customer_id[:128])
    if err is not None:
        return err
    assert ctx is not None  # one of the two is set
    return render(
        request, "customer.html", session=session, answer=result, facts=facts, error=error, question=question, **ctx
    )


def _facts_used(result) -> str:
    """The structured facts an answer was built from, as indented JSON (the explanation is on the page already)."""
    data = result.model_dump(
        exclude_none=True, exclude={"answer", "question", "check", "suggestions", "customer_id", "model_version"}
    )
    if "explanation" in data:
        data["explanation"] = {
            k: data["explanation"][k]
            for k in ("tier", "predicted_value", "drivers", "narrator", "check")
            if k in data["explanation"]
        }
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)


@router.get("/docs")
def docs(request: Request) -> HTMLResponse:
    html = _env.get_template("docs.html").render(request=request)
    return HTMLResponse(html, headers=_headers(DOCS_CSP))


def install(app) -> None:
    """Mount the console on ``app``: routes, static assets, sessions and the sign-in redirect."""
    from fastapi.staticfiles import StaticFiles

    app.state.console_sessions = Sessions()
    app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=str(STATIC_DIR)), name="console-static")

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


__all__ = ["install", "router", "Sessions"]
