"""Answers about the tier: why the customer is in it, the value forecast behind it, and their own words."""

from __future__ import annotations

from service.ask.context import currency_of, purchases_phrase, round4_or_none, stored_activity, stored_features
from service.ask.models import ValueFacts
from service.explain import Evidence, explain_facts, money
from service.facts import one_line_quote
from service.intents import Route
from service.tiers import TIER_ORDER


def answer_why_tier(r: Route, facts, profile, ctx):
    exp = explain_facts(facts, ctx.narrator, None)
    preface = ""
    if r.tier and r.tier != facts.tier:
        preface = f"No: {facts.customer_id} is not in the {r.tier} tier but in the {facts.tier} tier. "
        if TIER_ORDER.index(r.tier) < TIER_ORDER.index(facts.tier):
            preface += "Ask what would move them up to see what the model says it would take.\n"
        else:
            preface += "\n"
    return preface + exp.narrative, {"explanation": exp}


def value_facts(facts, profile) -> ValueFacts:
    feats = stored_features(profile)
    spent = facts.figures.get("historic_value", feats.get("monetary_total"))
    return ValueFacts(
        tier=facts.tier,
        predicted_value=facts.predicted_value,
        value_interval=facts.value_interval,
        horizon_days=facts.horizon_days,
        value_rank_pct=facts.value_rank_pct,
        tier_floor=facts.tier_floor,
        next_tier=facts.next_tier,
        next_tier_floor=facts.next_tier_floor,
        rfm_segment=facts.rfm_segment,
        spent_to_date=round4_or_none(spent),
        purchases=round4_or_none(feats.get("frequency")),
    )


def answer_value(r: Route, facts, profile, ctx):
    c = currency_of(facts)
    vf = value_facts(facts, profile)
    interval = (
        f" (80% range {money(vf.value_interval[0], c)} to {money(vf.value_interval[1], c)})"
        if vf.value_interval
        else ""
    )
    rank = (
        f"more than {facts.value_rank_pct:.1f}% of scored customers"
        if facts.value_rank_pct >= 1
        else "one of the lowest forecasts among scored customers"
    )
    s = [
        f"The model expects {facts.customer_id} to spend {money(facts.predicted_value, c)} in the next "
        f"{facts.horizon_days} days{interval}, {rank}; that puts them in the {facts.tier} tier."
    ]
    if facts.tier_floor is not None:
        s.append(
            f"{facts.tier} starts at {money(facts.tier_floor, c)}"
            + (f"; {facts.next_tier} starts at {money(facts.next_tier_floor, c)}." if facts.next_tier else ".")
        )
    elif facts.next_tier:
        s.append(
            f"{facts.tier} means a forecast below {money(facts.next_tier_floor, c)}, where {facts.next_tier} starts."
        )
    if vf.spent_to_date is not None and vf.purchases is not None:
        s.append(
            f"So far: {money(vf.spent_to_date, c)} spent over {purchases_phrase(vf.purchases)}."
            if vf.purchases >= 1
            else "No kept purchases so far (every order was returned or cancelled)."
        )
    return " ".join(s), {"value": vf}


def answer_evidence(r: Route, facts, profile, ctx):
    act = stored_activity(profile)
    reviews = [e for e in facts.evidence if e.source.startswith("review")]
    seen = {e.text for e in reviews}
    for q in sorted((act.get("complaints") or []) + (act.get("praise") or []), key=lambda x: x["date"], reverse=True):
        text = one_line_quote(q["text"])  # as the evidence holds it, so a review with line breaks is not quoted twice
        if text not in seen and len(reviews) < 4:
            reviews.append(Evidence(text=text, source=f"review {q['date']}, {q['rating']}/5"))
            seen.add(text)
    browsing = [e for e in facts.evidence if not e.source.startswith("review")]
    s = []
    if reviews:
        s.append(
            f"What {facts.customer_id} ({facts.tier} tier) wrote in their reviews: "
            + " ".join(f"\u201c{e.text}\u201d ({e.source})." for e in reviews)
        )
    else:
        s.append(
            f"{facts.customer_id} ({facts.tier} tier) has written no reviews, so there are no words of their own on "
            "record."
        )
    if browsing:
        s.append(
            "Not their words, but what they looked at (browsing): "
            + " ".join(f"\u201c{e.text}\u201d ({e.source})." for e in browsing)
        )
    return "\n".join(s), {"evidence": reviews + browsing}
