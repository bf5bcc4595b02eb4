"""Layer 3 of the router, the meaning: the sentence encoder the product ships (all-MiniLM-L6-v2) embeds the question
and a set of example questions per intent (``EXAMPLES``); the best cosine per intent is the intent's semantic evidence
(weighed in ``service.intents.router``). This carries paraphrases no stem list foresees ("is this account slipping
away")."""

from __future__ import annotations

import threading

import numpy as np

# Example questions per intent, embedded once per encoder: the meaning half of the router. English only (the
# encoder is an English model); other languages are carried by the lexicon.
EXAMPLES: dict[str, list[str]] = {
    "why_tier": [
        "Why is this customer in this tier?",
        "Why is she a VIP?",
        "What are the reasons for his classification?",
        "Explain the tier of this customer.",
        "What drives this customer's score?",
        "Why did the model rank them like that?",
        "What factors put this customer in the high tier?",
        "Why is he considered a low value customer?",
    ],
    "churn": [
        "Is this customer about to churn?",
        "Are we going to lose this customer?",
        "Will she stop buying from us?",
        "How likely is he to leave?",
        "Is this customer at risk of leaving?",
        "Will they come back and buy again?",
        "Has this customer gone inactive?",
        "What is the probability that they stop ordering?",
        "Is the customer slipping away?",
    ],
    "upgrade": [
        "What would move this customer up a tier?",
        "How can we get her to the next tier?",
        "What would it take to make him VIP?",
        "How could we increase this customer's value?",
        "What if they ordered more often?",
        "What does she need to reach a higher tier?",
    ],
    "similar": [
        "Which customers are similar to this one?",
        "Show me lookalike customers.",
        "Who else behaves like this customer?",
        "Find customers with a comparable profile.",
        "Which other customers resemble her?",
    ],
    "value": [
        "How much will this customer spend in the next quarter?",
        "What is the predicted value of this customer?",
        "How much revenue do we expect from them?",
        "What is the spend forecast for the next 90 days?",
        "What is this customer worth in the future?",
        "How much is he expected to buy in the coming months?",
    ],
    "evidence": [
        "What did this customer write?",
        "Show me the customer's reviews.",
        "What did she say in her feedback?",
        "Give me quotes from the customer.",
        "What comments has he left?",
    ],
    "summary": [
        "Summarize this customer.",
        "Give me an overview of this customer.",
        "What's going on with this customer?",
        "Tell me about this customer.",
        "Brief me on this account.",
        "What should I know about this customer before I call?",
        "Who is this customer?",
        "Give me the big picture on this client.",
    ],
    "next_order": [
        "When will this customer order next?",
        "When is the next purchase expected?",
        "How often does she buy?",
        "How many days between his orders?",
        "Is the customer overdue for an order?",
        "How many orders will they place next quarter?",
    ],
    "spend_period": [
        "How much did this customer spend last year?",
        "What did she spend in 2024?",
        "How much has he spent so far?",
        "What was their total spend in the last 90 days?",
        "How much did they spend this year?",
        "What is the lifetime spend to date?",
        "How much money did they spend last month?",
    ],
    "satisfaction": [
        "Is this customer happy with us?",
        "What did they complain about?",
        "Is she satisfied with our service?",
        "Has he had any problems with orders?",
        "How does the customer rate our products?",
        "Any negative reviews?",
        "Is the customer unhappy or frustrated?",
    ],
    "products": [
        "What products does this customer like?",
        "Which categories does she buy?",
        "What has he been browsing?",
        "What items are they interested in?",
        "What does this customer usually shop for?",
        "Which products did they search for?",
    ],
    "offer": [
        "Should I offer this customer a discount?",
        "What offer should we make?",
        "What is the next best action for this customer?",
        "Would a coupon help retain her?",
        "How should I approach this customer?",
        "What do you recommend we do with this account?",
        "Is a promotion worth it for him?",
    ],
}


class ExampleIndex:
    """The example questions of every intent, embedded once per encoder."""

    def __init__(self, encoder):
        self.encoder = getattr(
            encoder, "encoder", encoder
        )  # the plain model, not its on-disk cache: questions are not stored
        self.intents: list[str] = []
        texts: list[str] = []
        for intent, ex in EXAMPLES.items():
            self.intents += [intent] * len(ex)
            texts += ex
        self.vectors = np.asarray(self.encoder.encode(texts), dtype=np.float32)
        self._intent_idx = {i: np.array([k for k, x in enumerate(self.intents) if x == i]) for i in EXAMPLES}

    def scores(self, question: str) -> dict[str, float]:
        v = np.asarray(self.encoder.encode([question]), dtype=np.float32)[0]
        sims = self.vectors @ v
        return {i: float(sims[idx].max()) for i, idx in self._intent_idx.items()}


_INDEXES: dict[int, ExampleIndex] = {}
_INDEX_LOCK = threading.Lock()


def example_index(encoder) -> ExampleIndex | None:
    if encoder is None:
        return None
    key = id(getattr(encoder, "encoder", encoder))
    with _INDEX_LOCK:
        if key not in _INDEXES:
            _INDEXES[key] = ExampleIndex(encoder)
        return _INDEXES[key]
