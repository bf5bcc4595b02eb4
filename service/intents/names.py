"""What a question can be about: the intents (the answer schema's ``intent`` field) and the questions suggested when
one is refused."""

from __future__ import annotations

from typing import Literal, get_args

Intent = Literal[
    "why_tier",
    "churn",
    "upgrade",
    "similar",
    "value",
    "evidence",
    "summary",
    "next_order",
    "spend_period",
    "satisfaction",
    "products",
    "offer",
    "contact",
    "unsupported",
]
INTENTS: tuple[str, ...] = get_args(Intent)
ANSWERABLE = tuple(i for i in INTENTS if i not in ("contact", "unsupported"))

SUGGESTIONS = [
    "Summarize this customer",
    "Why is this customer in their tier?",
    "Is this customer about to churn?",
    "When will they buy next?",
    "How much did they spend last year?",
    "Are they happy with us?",
    "What products do they like?",
    "Should I offer a discount?",
    "What would move them up a tier?",
    "Who else is like this customer?",
]
