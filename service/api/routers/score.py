"""POST /v1/score: cold-start scoring of raw rows."""
from __future__ import annotations

from fastapi import APIRouter, Body, Depends, Request

from service.api import services
from service.api.deps import Principal, require_agent, snapshot
from service.api.problems import ProblemException
from service.api.schemas import ScoreRequest, ScoreResponse, problem_responses
from service.api.state import Snapshot

router = APIRouter(prefix="/v1", tags=["score"], responses=problem_responses(401, 403, 413, 422, 503))


@router.post("/score", response_model=ScoreResponse, summary="Score customers from raw rows")
def score(request: Request, body: ScoreRequest = Body(...), principal: Principal = Depends(require_agent),
          snap: Snapshot = Depends(snapshot)) -> ScoreResponse:
    """Profiles and drivers for customers the store has never seen, or for known customers with new activity, validated by the
    same rules as `insight score`. Nothing is written unless `write` is true, which needs an admin key."""
    if body.write and principal.role != "admin":
        request.app.state.metrics.auth_failures.labels("forbidden").inc()
        raise ProblemException(403, f"writing scored profiles needs an admin key; {principal.label} has role {principal.role} (send write: false to score only)")
    return services.score(snap, request.app.state.insight, body, request.app.state.settings, request.app.state.metrics)
