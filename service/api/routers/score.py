"""POST /v1/score: cold-start scoring of raw rows."""

from __future__ import annotations

import anyio
from fastapi import APIRouter, Body, Depends, Request

from service.api import services
from service.api.deps import Principal, require_agent, snapshot
from service.api.problems import ProblemException
from service.api.schemas import ScoreRequest, ScoreResponse, problem_responses
from service.api.snapshot import Snapshot
from service.api.strict_json import StrictJSONRoute

router = APIRouter(
    prefix="/v1",
    tags=["score"],
    route_class=StrictJSONRoute,
    responses=problem_responses(401, 403, 409, 413, 415, 422, 503),
)


@router.post("/score", response_model=ScoreResponse, summary="Score customers from raw rows")
def score(
    request: Request,
    body: ScoreRequest = Body(...),
    principal: Principal = Depends(require_agent),
    snap: Snapshot = Depends(snapshot),
) -> ScoreResponse:
    """Profiles and drivers for customers the store has never seen, or for known customers with new activity, validated by the
    same rules as `insight score`. Nothing is written unless `write` is true, which needs an admin key.

    The body must be strict JSON (a key twice in one object, NaN or malformed JSON: 422). One request may hold at most
    `INSIGHT_API_SCORE_MAX_CUSTOMERS` customers (422) and `INSIGHT_API_SCORE_MAX_TEXTS` distinct review and browsing texts
    (413), each at most `INSIGHT_API_SCORE_MAX_TEXT_CHARS` characters (422), so no request holds the scorer for long."""  # noqa: E501  (OpenAPI description: wrapping would change it)
    if body.write and principal.role != "admin":
        request.app.state.metrics.auth_failures.labels("forbidden").inc()
        raise ProblemException(
            403,
            f"writing scored profiles needs an admin key; {principal.label} has role {principal.role} "
            "(send write: false to score only)",
        )
    out = services.score(snap, request.app.state.insight, body, request.app.state.settings, request.app.state.metrics)
    reloads = request.app.state.worker_reloads
    if out.written and reloads is not None:  # one of several workers: the others reload to serve the write too
        anyio.from_thread.run(reloads.announce_write)
    return out
