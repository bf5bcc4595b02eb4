"""The refusals: contact details are never shared; a question outside the intents gets what can be asked."""

from __future__ import annotations

from service.intents import SUGGESTIONS, Route


def answer_contact(r: Route, facts, profile, ctx):
    return (
        f"I can't share contact details: e-mail addresses and phone numbers are masked in this service. "
        f"About {facts.customer_id} I can answer: " + "; ".join(SUGGESTIONS[:6]),
        {},
    )


def answer_unsupported(r: Route, facts, profile, ctx):
    return (
        f"I can only answer from the facts about {facts.customer_id}: a summary, why they are in their tier, churn "
        "risk, when they will buy next, what they spent in a period, whether they are happy, what they buy, whether to "
        "offer a discount, what would move them up a tier and who is similar. That question is not one of these, so I "
        "won't guess. Try: " + " / ".join(f"\u201c{s}\u201d" for s in SUGGESTIONS[:4]),
        {},
    )
