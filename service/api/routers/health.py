"""GET /healthz (liveness), /readyz (readiness) - open; GET /metrics (Prometheus) - any valid key."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from service.api.deps import require_agent
from service.api.metrics import CONTENT_TYPE_LATEST
from service.api.problems import ProblemException
from service.api.schemas import Health, Readiness, problem_responses

router = APIRouter(tags=["health"])

# The probes are ``async``: they run on the event loop, so requests queued for the thread pool (slow score requests)
# never delay them (a liveness probe had taken 27 s behind 48 score requests).


@router.get("/healthz", response_model=Health, summary="Liveness")
async def healthz() -> Health:
    """The process answers. Open (no key)."""
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, summary="Readiness", responses=problem_responses(503))
async def readyz(request: Request) -> Readiness:
    """Ready when a model and a store snapshot are loaded and serving. Open (no key)."""
    snap = request.app.state.insight.current()
    if snap is None:
        raise ProblemException(503, "no model and store are loaded yet", title="Not ready")
    return Readiness(
        status="ready", model_version=snap.model_version, customers=snap.customers, loaded_at=snap.loaded_at
    )


# HEAD too: load balancers and uptime checkers probe with it, and it was a 405. Kept out of the OpenAPI document (one
# operation per path and method there; the GETs document the answers).
@router.head("/healthz", include_in_schema=False)
async def healthz_head() -> Response:
    return Response(status_code=200)


@router.head("/readyz", include_in_schema=False)
async def readyz_head(request: Request) -> Response:
    return Response(status_code=200 if request.app.state.insight.current() is not None else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    dependencies=[Depends(require_agent)],
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text exposition format."},
        **problem_responses(401),
    },
)
def metrics(request: Request) -> Response:
    """Request counts and latencies by route, auth failures, reloads, ask intents, cold-start scoring, the model served."""  # noqa: E501  (OpenAPI description: wrapping would change it)
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
