"""POST /v1/ask: a CRM agent's question about one customer, answered by service.ask from the snapshot's facts."""

from __future__ import annotations

from service.api.services.views import similar_customers, stored_profile
from service.api.snapshot import Snapshot
from service.api.state import AppState
from service.ask import AskAnswer, CustomerContext, SimilarCustomer, answer


def ask(snap: Snapshot, customer_id: str, question: str, narrator, mask: bool, encoder=None) -> AskAnswer:
    """``encoder``: the product's sentence encoder, for routing the question by meaning (words only without it)."""
    profile = stored_profile(snap, customer_id)

    def neighbours(k: int) -> list[SimilarCustomer]:
        try:
            return similar_customers(snap, snap.neighbours(customer_id, k))
        except KeyError:
            return []

    ctx = CustomerContext(
        profile=profile,
        meta=snap.meta,
        narrator=narrator,
        bundle=snap.bundle,
        similar=neighbours,
        population_churn=snap.population_churn,
        mask=mask,
        encoder=encoder,
    )
    return answer(question, ctx)


def question_encoder(state: AppState, snap: Snapshot):
    """The sentence encoder questions are routed with: the bundle's (already loaded for scoring), or None when the
    bundle has no text model or it cannot be loaded (routing then uses words only)."""
    try:
        return state.encoder(snap.bundle)
    except Exception:  # noqa: BLE001 - a missing encoder degrades routing, it does not fail the question
        return None
