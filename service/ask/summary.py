"""The summary answer: tier and forecast, churn risk, purchases so far, next order, reviews and next action."""

from __future__ import annotations

from service.ask.activity import _next_order_facts, _satisfaction_facts
from service.ask.churn import _churn_facts
from service.ask.context import _activity, _c, _cutoff, _purchases
from service.ask.offer import _offer_facts
from service.ask.tier import _value_facts
from service.explain import money
from service.intents import Route
from service.plain import driver_fact, plural


def _summary(r: Route, facts, profile, ctx):
    c = _c(facts)
    vf = _value_facts(facts, profile)
    nf = _next_order_facts(facts, profile, ctx)
    sf = _satisfaction_facts(facts, profile)
    of = _offer_facts(facts, profile, ctx, with_whatif=False)
    cf, _, _ = _churn_facts(facts, profile, ctx)
    cid = facts.customer_id
    interval = (
        f" (80% range {money(vf.value_interval[0], c)} to {money(vf.value_interval[1], c)})"
        if vf.value_interval
        else ""
    )
    s = [
        f"{cid} is in the {facts.tier} tier: the model expects {money(facts.predicted_value, c)} of spend in the next "
        f"{facts.horizon_days} days{interval}."
    ]
    band = f"{facts.churn_band} " if facts.churn_band else ""
    s.append(
        f"Churn risk: {band}({facts.churn_probability * 100:.0f}% chance of no purchase in that time). RFM segment: "
        f"{facts.rfm_segment}."
    )
    if vf.spent_to_date is not None and vf.purchases is not None:
        since = _activity(profile).get("first_order")
        if vf.purchases >= 1:
            s.append(
                f"So far {money(vf.spent_to_date, c)} over {_purchases(vf.purchases)}"
                + (f" since {since}" if since else "")
                + (f"; last bought on {nf.last_order}" if nf.last_order else "")
                + "."
            )
        else:
            s.append("No kept purchases so far (every order was returned or cancelled).")
    if nf.next_order_date:
        due = nf.next_order_date < _cutoff(profile, ctx).date().isoformat()
        s.append(
            f"Next order was due around {nf.next_order_date} (overdue)."
            if due
            else f"Next order expected around {nf.next_order_date}."
            if nf.buy_probability >= 0.5
            else f"A purchase in the next {facts.horizon_days} days is unlikely; if one comes, most likely around "
            f"{nf.next_order_date}."
        )
    top = [d for d in facts.drivers if d.contribution > 0][:2]
    if top:
        s.append(
            "Main reasons for the forecast: "
            + "; ".join(f"{d.name} ({driver_fact(d, c, facts.figures)})" for d in top)
            + "."
        )
    if sf.reviews:
        s.append(
            f"Reviews: {sf.reviews}, average {sf.mean_rating:.1f} out of 5, "
            + (f"{plural(len(sf.complaints), 'complaint')} on record." if sf.complaints else "no complaints.")
        )
    else:
        s.append("No reviews written.")
    if of is not None:
        s.append(f"Next action: {of.action}")
    return " ".join(s), {"value": vf, "churn": cf, "next_order": nf, "satisfaction": sf, "offer": of}
