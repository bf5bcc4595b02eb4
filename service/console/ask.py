"""Asking about a customer: the question form of the customer page. With htmx only the answer is swapped in;
without JavaScript the whole customer page comes back around the answer."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from service.api import services
from service.api.problems import ProblemException
from service.console.customer import customer_context, damaged_message
from service.console.forms import check_csrf, read_form
from service.console.rendering import is_htmx, not_ready, render
from service.console.sessions import current
from service.store_checks import DamagedProfile
from service.table_values import clean_text

if TYPE_CHECKING:
    from service.ask import AskAnswer

router = APIRouter(include_in_schema=False)


@router.post("/console/customers/{customer_id:path}/ask")
async def ask(request: Request, customer_id: str) -> Response:
    form = await read_form(request)
    session = current(request)
    check_csrf(request, session, form)
    question = clean_text((form.get("question") or "").strip()[:500])  # no NUL or other control characters in the page
    # answering (the narrator may wait seconds on an LLM) and rendering block: in the thread pool, as the API's routes
    # are, not on the event loop, where one question had stalled every agent, the API and /healthz
    return await run_in_threadpool(_respond, request, session, customer_id, question)


def _respond(request: Request, session, customer_id: str, question: str) -> Response:
    """The answer swapped in (htmx) or the customer page around it."""
    app = request.app
    snap = app.state.insight.acquire()
    if snap is None:
        return not_ready(request, session)
    try:
        result, error = _answer(app, snap, customer_id, question)
    finally:
        snap.release()
    facts = _facts_used(result) if result is not None else None
    # the question is echoed into the page (input value), masked like the answer's copy
    if app.state.settings.api_mask_pii:
        from service.privacy import redact

        question = redact(question)
    if is_htmx(request):
        return render(
            request,
            "_answer.html",
            session=session,
            answer=result,
            facts=facts,
            error=error,
            question=question,
            customer_id=customer_id,
        )
    ctx, err = customer_context(request, session, customer_id)
    if err is not None:
        return err
    assert ctx is not None  # one of the two is set
    return render(
        request, "customer.html", session=session, answer=result, facts=facts, error=error, question=question, **ctx
    )


def _answer(app, snap, customer_id: str, question: str) -> tuple[AskAnswer | None, str | None]:
    """The answer to the question (counted by intent), or the message to show instead."""
    if not question:
        return None, "Type a question first."
    try:
        result = services.ask(
            snap,
            customer_id,
            question,
            app.state.narrator,
            app.state.settings.api_mask_pii,
            encoder=services.question_encoder(app.state.insight, snap),
        )
        app.state.metrics.ask.labels(result.intent).inc()
        return result, None
    except ProblemException as exc:
        return None, exc.detail
    except DamagedProfile as exc:  # said on the page, like any other reason there is no answer
        return None, damaged_message(exc)


def _facts_used(result) -> str:
    """The structured facts an answer was built from, as indented JSON (the explanation is on the page already)."""
    data = result.model_dump(
        exclude_none=True, exclude={"answer", "question", "check", "suggestions", "customer_id", "model_version"}
    )
    if "explanation" in data:
        data["explanation"] = {
            k: data["explanation"][k]
            for k in ("tier", "predicted_value", "drivers", "narrator", "check")
            if k in data["explanation"]
        }
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)
