"""GET /v1/tiers and GET /v1/model."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from service.api import services
from service.api.deps import require_agent, snapshot
from service.api.schemas import ModelInfo, TiersResponse, problem_responses
from service.api.snapshot import Snapshot

router = APIRouter(
    prefix="/v1", tags=["model"], dependencies=[Depends(require_agent)], responses=problem_responses(401)
)


@router.get("/tiers", response_model=TiersResponse, summary="Tier thresholds and counts")
def get_tiers(snap: Snapshot = Depends(snapshot)) -> TiersResponse:
    """Thresholds stored with the model, configured shares, and the customers, mean value and mean churn of each tier."""  # noqa: E501  (OpenAPI description: wrapping would change it)
    return services.tiers(snap)


@router.get("/model", response_model=ModelInfo, summary="The model being served")
def get_model(snap: Snapshot = Depends(snapshot)) -> ModelInfo:
    """Version, horizon, cutoff, features, validation metrics, library versions and the similar-customer index served."""  # noqa: E501  (OpenAPI description: wrapping would change it)
    return services.model_info(snap)
