"""Answers from the stored activity: when the next order is due, whether the customer is happy, what they buy."""

from __future__ import annotations

import re

import pandas as pd

from service.ask.context import (
    currency_of,
    data_cutoff,
    purchases_phrase,
    question_text,
    round4_or_none,
    stored_activity,
    stored_features,
)
from service.ask.models import Browsed, Category, NextOrderFacts, ProductFacts, Quote, SatisfactionFacts
from service.explain import money
from service.intents import Route
from service.plain import chance, days_ago, plural

# -- next order -------------------------------------------------------------------------------


def next_order_facts(facts, profile, ctx) -> NextOrderFacts:
    feats = stored_features(profile)
    act = stored_activity(profile)
    cutoff = data_cutoff(profile, ctx)
    rec = feats.get("recency_days")
    gap = facts.figures.get("avg_days_between_orders", feats.get("ipi_mean_days"))
    last = act.get("last_order") or (
        (cutoff - pd.Timedelta(days=float(rec))).date().isoformat() if rec is not None else None
    )
    nxt = facts.next_order_date
    if nxt is None and last is not None and gap:
        nxt = (pd.Timestamp(last) + pd.Timedelta(days=round(float(gap)))).date().isoformat()
    return NextOrderFacts(
        last_order=last,
        days_since_last_order=round4_or_none(rec),
        avg_days_between_orders=round4_or_none(gap),
        next_order_date=nxt,
        expected_orders=round4_or_none(facts.figures.get("expected_orders")),
        buy_probability=round(1 - facts.churn_probability, 4),
        horizon_days=facts.horizon_days,
        first_order=act.get("first_order"),
        cutoff=cutoff.date().isoformat(),
    )


def answer_next_order(r: Route, facts, profile, ctx):
    nf = next_order_facts(facts, profile, ctx)
    cutoff = data_cutoff(profile, ctx).date().isoformat()
    s = []
    if nf.last_order:
        s.append(
            f"{facts.customer_id} last bought on {nf.last_order} ({days_ago(nf.days_since_last_order or 0)} at the "
            f"data cutoff {cutoff})."
        )
    if nf.avg_days_between_orders:
        s.append(f"They buy every {plural(nf.avg_days_between_orders, 'day')} on average.")
    elif nf.last_order:
        s.append("They have bought only once, so there is no usual rhythm yet.")
    if nf.next_order_date:
        late = nf.next_order_date < cutoff
        if late:
            s.append(f"Their next order was due around {nf.next_order_date}, so it is overdue.")
        elif nf.buy_probability < 0.5:
            s.append(
                f"A purchase is unlikely, but if they do buy, the most likely date is around {nf.next_order_date}."
            )
        else:
            s.append(f"The next order is expected around {nf.next_order_date}.")
    if nf.expected_orders is not None:
        s.append(f"The model expects about {nf.expected_orders:.1f} orders in the next {nf.horizon_days} days.")
    s.append(f"Chance of at least one purchase in the next {nf.horizon_days} days: {chance(nf.buy_probability)}.")
    return " ".join(s), {"next_order": nf}


# -- satisfaction -----------------------------------------------------------------------------


def satisfaction_facts(facts, profile) -> SatisfactionFacts:
    act = stored_activity(profile)
    rv = act.get("reviews") or {}
    feats = stored_features(profile)
    n_ret = feats.get("n_returned")
    quotes = lambda key: [Quote(**q) for q in act.get(key) or []]  # noqa: E731
    if not rv and feats.get("review_count"):
        # Stored before activity existed: the counts are in the features; no texts by rating.
        rv = {"count": int(feats["review_count"]), "mean_rating": feats.get("rating_mean"), "by_rating": {}}
    return SatisfactionFacts(
        reviews=int(rv.get("count") or 0),
        mean_rating=round4_or_none(rv.get("mean_rating")),
        by_rating=rv.get("by_rating") or {},
        complaints=quotes("complaints"),
        praise=quotes("praise"),
        returned_or_cancelled=int(round(n_ret)) if n_ret is not None else None,
    )


def answer_satisfaction(r: Route, facts, profile, ctx):
    sf = satisfaction_facts(facts, profile)
    cid = facts.customer_id
    s = []
    if sf.reviews == 0:
        s.append(f"{cid} has written no reviews, so there is no rating and no complaint on record.")
    else:
        dist = ", ".join(f"{sf.by_rating[k]} rated {k}/5" for k in sorted(sf.by_rating, reverse=True))
        mood = (
            f"By their ratings, {cid} is happy with us"
            if (sf.mean_rating or 0) >= 4 and not sf.complaints
            else f"By their ratings, {cid} is unhappy with us"
            if (sf.mean_rating or 5) <= 2.5
            else f"{cid}'s ratings are mixed"
        )
        s.append(
            f"{mood}: {plural(sf.reviews, 'review')}, average {sf.mean_rating:.1f} out of 5"
            + (f" ({dist})" if dist else "")
            + "."
        )
        if sf.complaints:
            s.append(
                "Their complaints (reviews rated 1 or 2 out of 5): "
                + " ".join(f"\u201c{q.text}\u201d (review {q.date}, {q.rating}/5)." for q in sf.complaints)
            )
        elif sf.by_rating:
            s.append("No complaints: none of their reviews is rated below 3 out of 5.")
        if sf.praise and not re.search(
            r"complain|complaint|problem|issue|wrong|beschwer|plaint|queja|klacht|lament", question_text(r), re.I
        ):
            q = sf.praise[0]
            s.append(f"Most recent praise: \u201c{q.text}\u201d (review {q.date}, {q.rating}/5).")
    if sf.returned_or_cancelled:
        s.append(f"They returned or cancelled {plural(sf.returned_or_cancelled, 'order')}.")
    if re.search(r"\b(nps|csat|net promoter|promoter|detractor|survey)", question_text(r), re.I):
        # the reviews are the only satisfaction data there is; an NPS question must not read them as a survey score
        s.insert(0, "The data hold no NPS or satisfaction survey; this is what their reviews say.")
    return " ".join(s), {"satisfaction": sf}


# -- products ---------------------------------------------------------------------------------


def answer_products(r: Route, facts, profile, ctx):
    act = stored_activity(profile)
    c = currency_of(facts)
    pf = ProductFacts(
        categories=[Category(**x) for x in act.get("categories") or []],
        browsed=[Browsed(**x) for x in act.get("browsed") or []],
        searches=[Browsed(**x) for x in act.get("searches") or []],
    )
    cid = facts.customer_id
    s = []
    if pf.categories:
        s.append(
            f"{cid} buys "
            + ", ".join(
                f"{x.name.replace('_', ' ')} ({purchases_phrase(x.orders)}, {money(x.spend, c)})" for x in pf.categories
            )
            + "."
        )
    elif not act:
        s.append(
            f"The store holds no purchase categories for {cid} (scored before they were stored; re-score to answer "
            "this)."
        )
    else:
        s.append(f"{cid} has no kept purchases with a category on record.")
    if pf.browsed:
        s.append(
            "Looked at most (browsing): "
            + "; ".join(f"\u201c{x.text}\u201d ({plural(x.count, 'time')}, last {x.last})" for x in pf.browsed)
            + "."
        )
    if pf.searches:
        s.append(
            "Searched for: " + "; ".join(f"\u201c{x.text}\u201d ({plural(x.count, 'time')})" for x in pf.searches) + "."
        )
    return " ".join(s), {"products": pf}
