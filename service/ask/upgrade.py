"""The what-if answer: what would move the customer up a tier, by the model's own re-predictions."""

from __future__ import annotations

from service.ask.context import currency_of
from service.explain import money
from service.intents import Route
from service.plain import chance, distinct_money
from service.tiers import TIER_ORDER
from service.whatif import WhatIfError, what_if


def answer_upgrade(r: Route, facts, profile, ctx):
    c = currency_of(facts)
    if ctx.bundle is None:
        return ("What-if answers need the model, which is not loaded here.", {})
    try:
        w = what_if(profile, ctx.bundle, target_tier=r.tier, currency=c)
    except WhatIfError as exc:
        return (f"I cannot re-run the model for {facts.customer_id}: {exc}.", {})
    s: list[str] = []
    if w.target_tier is None:
        assert w.tier_floor is not None  # the VIP floor, for a customer already in the top tier
        s.append(
            f"{facts.customer_id} is already in the top tier (VIP): the model expects {money(w.predicted_value, c)} "
            f"over the next {w.horizon_days} days, and VIP starts at {money(w.tier_floor, c)}."
        )
        return " ".join(s), {"what_if": w}
    if r.tier and TIER_ORDER.index(r.tier) >= TIER_ORDER.index(facts.tier):
        s.append(
            f"{facts.customer_id} is already {facts.tier}, at or above {r.tier}; looking at the next tier up instead."
        )
    assert w.target_floor is not None and w.gap is not None  # set whenever there is a target tier
    now, floor = distinct_money(w.predicted_value, w.target_floor, c)
    s.append(
        f"To reach {w.target_tier} (starts at {floor}), {facts.customer_id} is {money(w.gap, c)} short: "
        f"the model expects {now} over the next {w.horizon_days} days today ({facts.tier})."
    )
    s.append("Re-running the model with each change:")
    for sc in w.scenarios:
        verdict = (
            f"reaches {w.target_tier}"
            if sc.reaches_target
            else f"stays {sc.tier}"
            if sc.tier == facts.tier
            else f"moves to {sc.tier}, not enough"
        )
        if sc.value_change < 0:
            verdict += ", less than today"
        drv = ", ".join(f"{d.name} {'+' if d.change >= 0 else '-'}{money(d.change, c)}" for d in sc.drivers[:4])
        s.append(
            f"- {sc.description}: {money(sc.predicted_value, c)} ({verdict}); churn risk "
            f"{chance(sc.churn_probability)}" + (f"; moved by {drv}" if drv else "") + "."
        )
    if w.best is not None:
        s.append(f"Smallest change that gets there: {w.best.description}.")
    else:
        best = max(w.scenarios, key=lambda x: x.predicted_value)
        s.append(
            f"None of these reaches {w.target_tier}; the closest is {best.description} at "
            f"{money(best.predicted_value, c)}."
        )
    s.append("Text features (what they write or browse) are held fixed.")
    return "\n".join(s), {"what_if": w}
