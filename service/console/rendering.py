"""Rendering console pages: the Jinja2 templates with their filters, the security headers every page is sent with,
and the pages shared by several routes (not ready).

Pages send a strict Content-Security-Policy: scripts and styles from this origin only (the docs page also allows
its inline styles).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from service.console.sessions import Session
from service.plain import chance

HERE = Path(__file__).resolve().parent

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action "
    "'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src "
    "'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)

env = Environment(
    loader=FileSystemLoader(str(HERE / "templates")),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _money(x, currency="$", decimals=2):
    return "" if x is None else f"{currency}{x:,.{decimals}f}" if x >= 0 else f"-{currency}{abs(x):,.{decimals}f}"


def _pct(x):
    """A probability as the explanations say it: whole percents, 'under 1%' / 'over 99%' near the ends."""
    return "" if x is None else chance(x)


def customer_url(customer_id: str) -> str:
    """The console address of a customer: the id quoted whole, so '#', '?', '%', '/' or a space in it survive, and its
    dots too when it is nothing but dots (a browser resolves '.' and '..' away as path segments)."""
    quoted = quote(str(customer_id), safe="")
    return "/console/customers/" + (quoted.replace(".", "%2E") if set(quoted) == {"."} else quoted)


env.filters["customer_url"] = customer_url
env.filters["money"] = _money
env.filters["pct"] = _pct
env.filters["label"] = lambda s: str(s).replace("_", " ")


def render(request: Request, template: str, status: int = 200, session: Session | None = None, **ctx) -> HTMLResponse:
    html = env.get_template(template).render(request=request, session=session, path=request.url.path, **ctx)
    return HTMLResponse(html, status_code=status, headers=security_headers())


def security_headers(csp: str = CSP) -> dict[str, str]:
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }


def is_htmx(request: Request) -> bool:
    """True for a request htmx sent (it swaps in a fragment of the page rather than the whole page)."""
    return request.headers.get("hx-request") == "true"


def not_ready(request: Request, session: Session) -> HTMLResponse:
    """The page shown while no model and store are loaded."""
    return render(
        request,
        "error.html",
        status=503,
        session=session,
        title="Not ready",
        message="No model and store are loaded yet.",
    )
