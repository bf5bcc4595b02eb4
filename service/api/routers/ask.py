"""POST /v1/ask: a CRM agent's question about one customer."""
from __future__ import annotations

from fastapi import APIRouter, Body, Depends, Request

from service.api import services
from service.api.deps import require_agent, snapshot
from service.api.schemas import AskRequest, AskResponse, problem_responses
from service.api.state import Snapshot

router = APIRouter(prefix="/v1", tags=["ask"], dependencies=[Depends(require_agent)], responses=problem_responses(401, 404, 413, 422))


@router.post("/ask", response_model=AskResponse, summary="Answer a question about one customer")
def ask(request: Request, body: AskRequest = Body(...), snap: Snapshot = Depends(snapshot)) -> AskResponse:
    """Routes the question (why this tier, churn risk, what would move them up, similar customers, predicted spend, their own words)
    to an answer built only from the customer's facts and the model's re-predictions; anything else gets a list of what can be asked."""
    result = services.ask(snap, body.customer_id, body.question, request.app.state.narrator, request.app.state.settings.api_mask_pii)
    request.app.state.metrics.ask.labels(result.intent).inc()
    return result
