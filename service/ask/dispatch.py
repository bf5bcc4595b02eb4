"""``answer``: route a question, run the handler of each of its parts, and check the numbers of the result."""

from __future__ import annotations

from typing import Any

from service.ask.activity import answer_next_order, answer_products, answer_satisfaction
from service.ask.check import check_numbers
from service.ask.churn import answer_churn
from service.ask.context import CustomerContext
from service.ask.models import AskAnswer
from service.ask.offer import answer_offer
from service.ask.refusals import answer_contact, answer_unsupported
from service.ask.similar import answer_similar
from service.ask.spend import answer_spend
from service.ask.summary import answer_summary
from service.ask.tier import answer_evidence, answer_value, answer_why_tier
from service.ask.upgrade import answer_upgrade
from service.explain import CheckResult, facts_from_profile
from service.intents import SUGGESTIONS, route
from service.privacy import redact, redact_profile

_HANDLERS = {
    "why_tier": answer_why_tier,
    "churn": answer_churn,
    "upgrade": answer_upgrade,
    "similar": answer_similar,
    "value": answer_value,
    "evidence": answer_evidence,
    "summary": answer_summary,
    "next_order": answer_next_order,
    "spend_period": answer_spend,
    "satisfaction": answer_satisfaction,
    "products": answer_products,
    "offer": answer_offer,
    "contact": answer_contact,
    "unsupported": answer_unsupported,
}


def answer(question: str, ctx: CustomerContext) -> AskAnswer:
    profile = redact_profile(ctx.profile) if ctx.mask else ctx.profile
    if ctx.mask:
        profile = _redact_activity(profile)
    q_shown = redact(question) if ctx.mask else question
    r = route(q_shown, ctx.encoder, customer_id=ctx.profile.get("customer_id"))
    facts = facts_from_profile(profile, ctx.meta)
    base: dict[str, Any] = dict(
        customer_id=facts.customer_id,
        question=q_shown,
        intent=r.intent,
        tier=facts.tier,
        model_version=facts.model_version,
    )
    parts = list(zip(r.parts, r.texts)) if r.parts else [(r, q_shown)]
    texts: list[str] = []
    data: dict = {}
    for part, _text in parts:
        text, extra = _HANDLERS[part.intent](part, facts, profile, ctx)
        texts.append(text)
        for k, v in extra.items():
            # a part's own facts win over the same facts another part gave in passing (a summary's offer facts come
            # without the what-if that the offer answer itself quotes)
            if k == part.intent or k not in data:
                data[k] = v
    supported = all(p.intent not in ("unsupported", "contact") for p, _ in parts)
    result = AskAnswer(
        **base,
        intents=[p.intent for p, _ in parts],
        supported=supported,
        answer="\n\n".join(texts),
        suggestions=[] if supported else SUGGESTIONS,
        check=CheckResult(passed=True),
        **data,
    )
    if r.intent == "why_tier" and len(parts) == 1 and result.explanation is not None:
        # The explanation's own faithfulness check covers the narrative; the short preface only names tiers.
        result.check = result.explanation.check
    else:
        result.check = check_numbers(
            result.answer, result, facts.customer_id, facts_from_profile(profile, ctx.meta, top=1000)
        )
    return result


def _redact_activity(profile: dict) -> dict:
    """Contact data masked in the stored activity texts too (complaints, praise, browsing)."""
    act = (profile.get("profile") or {}).get("activity")
    if not act:
        return profile
    act = dict(act)
    for key in ("complaints", "praise", "browsed", "searches"):
        if act.get(key):
            act[key] = [{**x, "text": redact(x.get("text"))} for x in act[key]]
    return {**profile, "profile": {**profile["profile"], "activity": act}}
