"""POST /v1/admin/reload: swap in a new model bundle and store snapshot without downtime."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request

from service.api.deps import require_admin
from service.api.problems import ProblemException
from service.api.schemas import ReloadResponse, problem_responses

router = APIRouter(
    prefix="/v1/admin",
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses=problem_responses(401, 403, 409),
)


@router.post("/reload", response_model=ReloadResponse, summary="Reload the model bundle and the store")
async def reload(request: Request) -> ReloadResponse:
    """Loads the configured store (a fresh snapshot) and its model bundle, checks them against each other, and swaps them in
    atomically. A broken or inconsistent bundle is refused with 409 and the old one keeps serving. Same as sending SIGHUP.
    With several worker processes (`INSIGHT_API_WORKERS`) every worker reloads; the answer comes when all of them serve the new
    snapshot (or after two minutes) and says how many do."""  # noqa: E501  (OpenAPI description: wrapping would change it)
    from service.api.reload import do_reload

    reloads = getattr(request.app.state, "worker_reloads", None)
    if reloads is not None:  # one of several worker processes: every worker reloads
        ok, result = await reloads.reload_all()
    else:
        ok, result = await asyncio.to_thread(do_reload, request.app)
    if not ok:
        raise ProblemException(
            409,
            f"reload refused, still serving model {result['serving']}: {result['error']}",
            title="Reload refused",
            type_="reload-refused",
        )
    return ReloadResponse(**result)
