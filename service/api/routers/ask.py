"""POST /v1/ask: a CRM agent's question about one customer."""

from __future__ import annotations

from fastapi import APIRouter, Body, Depends, Request

from service.api import services
from service.api.deps import require_agent, snapshot
from service.api.schemas import AskRequest, AskResponse, problem_responses
from service.api.snapshot import Snapshot
from service.api.strict_json import StrictJSONRoute
from service.ask import AskAnswer

router = APIRouter(
    prefix="/v1",
    tags=["ask"],
    dependencies=[Depends(require_agent)],
    route_class=StrictJSONRoute,
    responses=problem_responses(401, 404, 413, 415, 422),
)


@router.post("/ask", response_model=AskResponse, summary="Answer a question about one customer")
def ask(request: Request, body: AskRequest = Body(...), snap: Snapshot = Depends(snapshot)) -> AskAnswer:
    """Routes the question by meaning (the bundled sentence encoder and multilingual word stems; rules only guard against instructions
    and requests for contact data) to an answer built only from the customer's facts, stored history and the model's re-predictions:
    a summary, why this tier, churn risk, the next order, spend in a period, satisfaction and complaints, products, offer advice, what
    would move them up, similar customers, predicted spend, their own words. A two-part question gets both answers; anything else
    gets a list of what can be asked."""  # noqa: E501  (OpenAPI description: wrapping would change it)
    result = services.ask(
        snap,
        body.customer_id,
        body.question,
        request.app.state.narrator,
        request.app.state.settings.api_mask_pii,
        encoder=services.question_encoder(request.app.state.insight, snap),
    )
    request.app.state.metrics.ask.labels(result.intent).inc()
    return result
