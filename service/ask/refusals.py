"""The refusals: contact details are never shared; a question outside the intents gets what can be asked."""

from __future__ import annotations

from service.intents import SUGGESTIONS, Route


def answer_contact(r: Route, facts, profile, ctx):
    return (
        f"I can't share contact details: e-mail addresses and phone numbers are masked in this service. "
        f"About {facts.customer_id} I can answer: " + "; ".join(SUGGESTIONS[:6]),
        {},
    )


# What a guard's refusal says first, by the guard's reason (service.intents.guards); the rest is what can be asked.
_WHY_REFUSED = {
    "instruction": "That reads as an instruction to this service, not a question about {id}; instructions in a "
    "question are never followed.",
    "command": "I can't change records or act for you (delete, assign, send, change a tier...): this console only "
    "answers questions about {id}.",
    "other_customers": "Other customers' data is not shown here: I answer about {id} only.",
    "shop_wide": "I answer about one customer at a time, here {id}; questions about the whole shop (best-sellers, "
    "totals over all customers) are for the shop's reports.",
    "language": "I read questions in English, German, French, Spanish, Italian, Dutch and Portuguese; this one seems "
    "to be in another language.",
    "not_held": "That is not in the data I have: I know {id}'s orders, returns, reviews and browsing, and predict "
    "their spend, churn risk and next order over the coming months; not credit or income, age or family, calls and "
    "chats, other agents' notes, spend at other shops, changes in their life, how many years they will stay, or future "
    "returns, reviews and referrals.",
}


def answer_unsupported(r: Route, facts, profile, ctx):
    cid = facts.customer_id
    first = _WHY_REFUSED[r.reason].format(id=cid) + " " if r.reason in _WHY_REFUSED else ""
    return (
        first + f"I can only answer from the facts about {cid}: a summary, why they are in their tier, churn "
        "risk, when they will buy next, what they spent in a period, whether they are happy, what they buy, whether to "
        "offer a discount, what would move them up a tier and who is similar."
        + ("" if first else " That question is not one of these, so I won't guess.")
        + " Try: "
        + " / ".join(f"\u201c{s}\u201d" for s in SUGGESTIONS[:4]),
        {},
    )
