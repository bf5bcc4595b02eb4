"""The offer answer: the playbook's advice for the customer's tier and churn band, with the model's upgrade hint."""

from __future__ import annotations

import re

from service.ask.activity import answer_products
from service.ask.context import question_text
from service.ask.models import OfferFacts
from service.intents import Route
from service.plain import chance
from service.tiers import TIER_ORDER
from service.whatif import WhatIfError, what_if

# a question about what to sell them next, answered with what they buy and browse beside the playbook
_UPSELL = re.compile(r"up-?sell|cross-?sell|what (?:to|should (?:i|we)) (?:sell|recommend|suggest)|recommend", re.I)


def offer_facts(facts, profile, ctx, with_whatif: bool = True) -> OfferFacts | None:
    from service.playbook import PlaybookError, get_playbook

    try:
        pb = get_playbook()
    except PlaybookError:
        return None
    play = pb.play(facts.tier, facts.churn_probability)
    of = OfferFacts(
        tier=facts.tier,
        churn_probability=facts.churn_probability,
        churn_band=pb.band(facts.churn_probability),
        horizon_days=facts.horizon_days,
        offer=play.offer,
        action=play.action,
        playbook=pb.source.rsplit("/", 2)[-2] + "/" + pb.source.rsplit("/", 1)[-1],
    )
    if with_whatif and ctx.bundle is not None and facts.tier != TIER_ORDER[0]:
        try:
            w = what_if(profile, ctx.bundle, currency=facts.currency)
            if w.best is not None:
                of.upgrade_hint, of.upgrade_target = w.best.description, w.target_tier
        except WhatIfError:
            pass
    return of


def answer_offer(r: Route, facts, profile, ctx):
    of = offer_facts(facts, profile, ctx)
    if of is None:
        return ("The playbook file cannot be read, so I have no advice to give; ask your team lead.", {})
    s = [
        f"{facts.customer_id} is {facts.tier} with a {of.churn_band} churn risk ({chance(facts.churn_probability)} "
        f"chance of no purchase in the next {facts.horizon_days} days).",
        f"Playbook advice: {of.offer}",
        f"Next action: {of.action}",
    ]
    if of.upgrade_hint:
        s.append(f"For reference, the model says {of.upgrade_hint} would move them up to {of.upgrade_target}.")
    extra: dict = {"offer": of}
    if _UPSELL.search(question_text(r)):
        # an upsell question wants to know what to put in front of them: what they buy and browse
        text, products = answer_products(r, facts, profile, ctx)
        s.append(f"To pick what to suggest: {text}")
        extra |= products
    return " ".join(s), extra
