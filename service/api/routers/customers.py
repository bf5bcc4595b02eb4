"""GET /v1/customers/{id}, /explanation, /similar."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from service.api import services
from service.api.deps import require_agent, snapshot
from service.api.schemas import CustomerList, CustomerProfile, ExplanationResponse, SimilarResponse, problem_responses
from service.api.state import Snapshot

router = APIRouter(prefix="/v1/customers", tags=["customers"], dependencies=[Depends(require_agent)],
                   responses=problem_responses(401, 404, 422))

CustomerId = Path(min_length=1, max_length=128, description="Customer id as in the input tables.", examples=["C000127"])


@router.get("", response_model=CustomerList, summary="Find customers")
def list_customers(q: str | None = Query(None, max_length=128, description="Customer id prefix, case-insensitive.", examples=["c0001"]),
                   tier: Literal["VIP", "High", "Medium", "Low"] | None = Query(None, description="Only this tier."),
                   segment: str | None = Query(None, max_length=64, description="Only this RFM segment (case-insensitive).", examples=["Champions"]),
                   churn_band: Literal["low", "medium", "high"] | None = Query(None, description="Only this churn-risk band (playbook bands)."),
                   sort: Literal["value", "churn", "id"] = Query("value", description="Sort by predicted value, churn probability or id."),
                   order: Literal["asc", "desc"] = Query("desc", description="Sort order."),
                   page: int = Query(1, ge=1, le=100_000, description="Page, 1-based."),
                   page_size: int = Query(25, ge=1, le=100, description="Customers per page."),
                   snap: Snapshot = Depends(snapshot)) -> CustomerList:
    """Scored customers by id prefix (case-insensitive), tier, RFM segment and churn band, sorted by value or churn risk, a page at a
    time. Known customers without orders whose id matches the prefix are listed apart (`unscored_matches`)."""
    return services.list_customers(snap, q, tier, segment, churn_band, sort, order, page, page_size)


@router.get("/{customer_id}", response_model=CustomerProfile, summary="Enriched profile of one customer")
def get_customer(request: Request, customer_id: str = CustomerId,
                 top: int = Query(5, ge=1, le=20, description="How many drivers to return."),
                 snap: Snapshot = Depends(snapshot)) -> CustomerProfile:
    """Predicted value, churn probability, tier, RFM segment, top drivers, evidence texts, model version and scoring time."""
    return services.customer(snap, customer_id, request.app.state.settings.api_mask_pii, top)


@router.get("/{customer_id}/explanation", response_model=ExplanationResponse, summary="Why the customer is in their tier")
def get_explanation(request: Request, customer_id: str = CustomerId, snap: Snapshot = Depends(snapshot)) -> ExplanationResponse:
    """The grounded explanation, the same JSON as `insight explain ID --json`: narrative, drivers, evidence, narrator and its check."""
    return services.explanation(snap, customer_id, request.app.state.narrator, request.app.state.settings.api_mask_pii)


@router.get("/{customer_id}/similar", response_model=SimilarResponse, summary="Nearest customers in behaviour and texts")
def get_similar(request: Request, customer_id: str = CustomerId,
                k: int = Query(10, ge=1, le=100, description="How many neighbours."),
                snap: Snapshot = Depends(snapshot)) -> SimilarResponse:
    """The k most similar scored customers (cosine similarity of the fused behaviour + text vectors) with their tiers."""
    k = min(k, request.app.state.settings.api_similar_max_k)
    return services.similar(snap, customer_id, k)
