"""GET /v1/customers/{id}, /explanation, /similar.

Ids are path parameters with the path converter: an id may hold '/' (the input contract allows it), sent as %2F.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from service.api import services
from service.api.deps import principal_for_key, require_agent, snapshot
from service.api.schemas import CustomerList, CustomerProfile, ExplanationResponse, SimilarResponse, problem_responses
from service.api.snapshot import Snapshot

JSON = "application/json"


class FastReadRoute(APIRoute):
    """A route whose endpoint may carry a ``fast(request, snap) -> Response`` shortcut for the plain, valid request.

    The agents' hot reads (a profile, an explanation) spend most of their time in FastAPI resolving the dependency
    tree (key header, bearer, role, snapshot, parameters), not in their own work. The shortcut handles the one common
    shape itself: an ``X-API-Key`` that is valid, no query string, an id within the declared length. The declared
    route (parameters, dependencies, response model, OpenAPI) is unchanged and serves everything else, so a missing
    or wrong key, a bearer token, ``?top=``, an id too long, still get exactly the answers (and metrics) they got.
    Errors raised by the shortcut (404 problems) go through the same exception handlers as the endpoint's."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        fast = getattr(self.endpoint, "fast", None)
        if fast is None:
            return handler

        async def route(request: Request) -> Response:
            if request.scope.get("query_string"):
                return await handler(request)
            cid = request.path_params.get("customer_id")
            given = request.headers.get("x-api-key")
            if not given or not isinstance(cid, str) or not 1 <= len(cid) <= 128:
                return await handler(request)
            principal = principal_for_key(request.app.state.api_keys, given)
            if principal is None:
                return await handler(request)  # the declared route answers (and counts) the 401
            request.state.principal = principal.label
            snap = request.app.state.insight.acquire()
            if snap is None:
                return await handler(request)  # 503 from the snapshot dependency
            try:
                return await fast(request, snap, cid)
            finally:
                snap.release()

        return route


router = APIRouter(
    prefix="/v1/customers",
    tags=["customers"],
    dependencies=[Depends(require_agent)],
    responses=problem_responses(401, 404, 422),
    route_class=FastReadRoute,
)

CustomerId = Path(min_length=1, max_length=128, description="Customer id as in the input tables.", examples=["C000127"])


@router.get("", response_model=CustomerList, summary="Find customers")
def list_customers(
    q: str | None = Query(
        None, max_length=128, description="Customer id prefix, case-insensitive.", examples=["c0001"]
    ),
    tier: Literal["VIP", "High", "Medium", "Low"] | None = Query(None, description="Only this tier."),
    segment: str | None = Query(
        None, max_length=64, description="Only this RFM segment (case-insensitive).", examples=["Champions"]
    ),
    churn_band: Literal["low", "medium", "high"] | None = Query(
        None, description="Only this churn-risk band (playbook bands)."
    ),
    sort: Literal["value", "churn", "id"] = Query(
        "value", description="Sort by predicted value, churn probability or id."
    ),
    order: Literal["asc", "desc"] = Query("desc", description="Sort order."),
    page: int = Query(1, ge=1, le=100_000, description="Page, 1-based."),
    page_size: int = Query(25, ge=1, le=100, description="Customers per page."),
    snap: Snapshot = Depends(snapshot),
) -> CustomerList:
    """Scored customers by id prefix (case-insensitive), tier, RFM segment and churn band, sorted by value or churn risk, a page at a
    time. Known customers without orders whose id matches the prefix are listed apart (`unscored_matches`)."""  # noqa: E501  (OpenAPI description: wrapping would change it)
    return services.list_customers(snap, q, tier, segment, churn_band, sort, order, page, page_size)


@router.get(
    "/{customer_id:path}/explanation", response_model=ExplanationResponse, summary="Why the customer is in their tier"
)
async def get_explanation(
    request: Request, customer_id: str = CustomerId, snap: Snapshot = Depends(snapshot)
) -> Response:  # the served JSON is already an ExplanationResponse (the response_model documents it)
    """The grounded explanation, the same JSON as `insight explain ID --json`: narrative, drivers, evidence, narrator and its check."""  # noqa: E501  (OpenAPI description: wrapping would change it)
    return await _explanation_fast(request, snap, customer_id)


async def _explanation_fast(request: Request, snap: Snapshot, customer_id: str) -> Response:
    narrator, mask = request.app.state.narrator, request.app.state.settings.api_mask_pii
    if services.deterministic(narrator):  # template prose: CPU only, kept per snapshot
        body = services.explanation_json(snap, customer_id, narrator, mask)
    else:  # an LLM narrator waits on its model: off the event loop
        body = await run_in_threadpool(services.explanation_json, snap, customer_id, narrator, mask)
    return Response(body, media_type=JSON)


get_explanation.fast = _explanation_fast  # type: ignore[attr-defined]  # a function attribute, read by FastReadRoute


@router.get(
    "/{customer_id:path}/similar", response_model=SimilarResponse, summary="Nearest customers in behaviour and texts"
)
def get_similar(
    request: Request,
    customer_id: str = CustomerId,
    k: int = Query(10, ge=1, le=100, description="How many neighbours."),
    snap: Snapshot = Depends(snapshot),
) -> SimilarResponse:
    """The k most similar scored customers (cosine similarity of the fused behaviour + text vectors) with their tiers."""  # noqa: E501  (OpenAPI description: wrapping would change it)
    k = min(k, request.app.state.settings.api_similar_max_k)
    return services.similar(snap, customer_id, k)


# Declared last: an id may hold '/', and the path converter would take '<id>/explanation' for an id.
@router.get("/{customer_id:path}", response_model=CustomerProfile, summary="Enriched profile of one customer")
async def get_customer(
    request: Request,
    customer_id: str = CustomerId,
    top: int = Query(5, ge=1, le=20, description="How many drivers to return."),
    snap: Snapshot = Depends(snapshot),
) -> Response:  # the served JSON is already a CustomerProfile (the response_model documents it)
    """Predicted value, churn probability, tier, RFM segment, top drivers, evidence texts, model version and scoring time."""  # noqa: E501  (OpenAPI description: wrapping would change it)
    # On the event loop: a cached body is microseconds, a miss one indexed read of the snapshot's local SQLite copy
    # and ~1 ms of CPU.
    return Response(
        services.customer_json(snap, customer_id, request.app.state.settings.api_mask_pii, top), media_type=JSON
    )


async def _customer_fast(request: Request, snap: Snapshot, customer_id: str) -> Response:
    return Response(
        services.customer_json(snap, customer_id, request.app.state.settings.api_mask_pii, 5), media_type=JSON
    )


get_customer.fast = _customer_fast  # type: ignore[attr-defined]  # a function attribute, read by FastReadRoute
