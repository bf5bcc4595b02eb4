"""The summary answer: tier and forecast, churn risk, purchases so far, next order, reviews and next action."""

from __future__ import annotations

from service.ask.activity import next_order_facts, satisfaction_facts
from service.ask.churn import churn_facts
from service.ask.context import currency_of, data_cutoff, purchases_phrase, stored_activity
from service.ask.offer import offer_facts
from service.ask.tier import value_facts
from service.explain import money
from service.intents import Route
from service.plain import chance, driver_fact, plural


def answer_summary(r: Route, facts, profile, ctx):
    c = currency_of(facts)
    vf = value_facts(facts, profile)
    nf = next_order_facts(facts, profile, ctx)
    sf = satisfaction_facts(facts, profile)
    of = offer_facts(facts, profile, ctx, with_whatif=False)
    cf, _, _ = churn_facts(facts, profile, ctx)
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
        f"Churn risk: {band}({chance(facts.churn_probability)} chance of no purchase in that time). RFM segment: "
        f"{facts.rfm_segment}."
    )
    if vf.spent_to_date is not None and vf.purchases is not None:
        since = stored_activity(profile).get("first_order")
        if vf.purchases >= 1:
            s.append(
                f"So far {money(vf.spent_to_date, c)} over {purchases_phrase(vf.purchases)}"
                + (f" since {since}" if since else "")
                + (f"; last bought on {nf.last_order}" if nf.last_order else "")
                + "."
            )
        else:
            s.append("No kept purchases so far (every order was returned or cancelled).")
    if nf.next_order_date:
        due = nf.next_order_date < data_cutoff(profile, ctx).date().isoformat()
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
