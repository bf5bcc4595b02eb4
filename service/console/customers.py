"""The customers page: search the scored customers (filtered by tier, RFM segment and churn band), sorted
and paged; htmx swaps in just the results table."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from service.api import services
from service.console.rendering import is_htmx, not_ready, render
from service.console.sessions import current
from service.tiers import SEGMENT_NAMES

SEGMENTS = SEGMENT_NAMES  # the filter's choices, in the order the segments are assigned

router = APIRouter(include_in_schema=False)


def _search_args(request: Request) -> dict:
    """The search of the query string, each value checked (unknown values are dropped or fall back to the default)."""
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
        return not_ready(request, session)
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
    if is_htmx(request) and request.headers.get("hx-target") == "results":
        return render(request, "_results.html", **ctx)
    return render(request, "customers.html", **ctx)
