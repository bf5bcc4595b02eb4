"""The API documentation page (/docs): open without a session, with its own CSP (it has inline styles)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from service.console.rendering import DOCS_CSP, env, security_headers

router = APIRouter(include_in_schema=False)


@router.get("/docs")
def docs(request: Request) -> HTMLResponse:
    html = env.get_template("docs.html").render(request=request)
    return HTMLResponse(html, headers=security_headers(DOCS_CSP))
