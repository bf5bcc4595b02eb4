"""The question router: what a CRM agent's question asks, routed by meaning, with rules only as guards.

Three layers, cheapest first:

1. **Guards** (``service.intents.guards``): instructions aimed at the service, commands and questions for contact data
   are refused before any scoring.
2. **Lexical evidence** (``service.intents.words``): weighted word stems and phrases per intent in six languages
   (``lexicon_model``, ``lexicon_activity``).
3. **Meaning** (``service.intents.examples``): the best cosine between the question and an intent's example questions,
   above ``SEM_FLOOR``, adds to the intent's score (when an encoder is given).

Naming a tier or a year (``service.intents.entities``) adds evidence for the tier or spend questions. The intent with
the highest combined score wins if it clears ``THRESHOLD``; below it the question is refused with suggestions, never
guessed. A question with two parts ("why is she VIP and will she churn?") is split and each part routed; both are
answered when both are confident.

``service.intents.rule_router`` keeps the previous, keyword-only router to measure this one against.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from service.intents.entities import named_tier, names_tier_target, names_year, tier_target
from service.intents.examples import ExampleIndex, example_index
from service.intents.guards import other_language, refusal
from service.intents.names import ANSWERABLE
from service.intents.period import names_fiscal_year, names_period
from service.intents.words import lexical_scores

THRESHOLD = 0.6  # combined score an intent needs; below it the question is refused
SEM_FLOOR = 0.40  # cosine below which an example says nothing
SEM_SPAN = 0.30  # cosine above the floor that counts as one full unit of evidence


@dataclass
class Route:
    """Where a question goes: its intent, the tier it names and the scores behind the choice."""

    intent: str
    tier: str | None = None  # a tier named in the question ("why is she VIP?", "move them to High")
    score: float = 0.0  # combined score of the chosen intent
    scores: dict[str, float] = field(default_factory=dict)
    parts: list[Route] = field(
        default_factory=list
    )  # for a two-part question: one route per part (this one is the first)
    texts: list[str] = field(default_factory=list)  # the parts' texts
    text: str = ""  # the question (or part) this route is for
    reason: str | None = None  # why refused: instruction, contact, command, shop_wide, other_customers, language

    @property
    def intents(self) -> list[str]:
        return [p.intent for p in self.parts] if self.parts else [self.intent]


def _score(question: str, index: ExampleIndex | None) -> dict[str, float]:
    lex = lexical_scores(question)
    if index is None:
        return lex
    sem = index.scores(question)
    return {i: lex.get(i, 0.0) + float(np.clip((sem.get(i, 0.0) - SEM_FLOOR) / SEM_SPAN, 0.0, 1.2)) for i in ANSWERABLE}


def _route_one(question: str, index: ExampleIndex | None, customer_id: str | None = None) -> Route:
    r = _route_text(question, index, customer_id)
    r.text = question
    return r


def _tier_of(text: str) -> str | None:
    return tier_target(text) or named_tier(text)  # "this Medium customer ... reach High": High


# What the agent says they do not ask ("not how much she's spent, but what she's worth", "the actual number not the
# forecast", "I don't need the full summary, just ..."): its words had outvoted the question's own.
_NOT_ASKED = re.compile(
    r"\bnot\s+(?:how|what|why|when|which|who|whether|the|his|her|their|a|an|about|just)\b[^,;.?!]*?,?\s+but\s+|"
    r"\b(?:i|we)\s+(?:don'?t|do not|dont)\s+(?:need|want)\b[^,;.?!]*[,;.]\s*(?:just\s+|only\s+)?|"
    r",?\s*(?:and\s+)?not\s+(?:the|a|an|any|his|her|their)\s+\w+(?:\s+\w+)?\s*[?.!]*\s*$|"
    r"\b(?:rather than|instead of)\s+[^,;.?!]*|"
    # said first: "not the spend forecast, the chance they never buy again"
    r"^\s*not\s+(?:the|a|an|his|her|their|how|what)\b[^,;.?!]*[,;:\u2013\u2014]\s*(?:but\s+|just\s+|only\s+)?",
    re.I,
)
# A purchase supposed, not asked about ("if he spent a bit more, would he move up?"): no period of spend is asked for.
_SUPPOSED_SPEND = re.compile(
    r"\bif\s+(?:he|she|they|the customer|this customer)\s+(?:spent|spends|spend|bought|buys|ordered|orders|placed)\b",
    re.I,
)


def _scored(text: str, index: ExampleIndex | None) -> tuple[dict[str, float], str]:
    """The intents' scores for ``text`` without what it says it does not ask, with what it names, and the best."""
    asked = _NOT_ASKED.sub(" ", text).strip() or text
    scores = _score(asked, index)
    _add_named_evidence(scores, asked, _tier_of(text))
    return scores, max(scores, key=lambda i: scores[i])


def _route_text(question: str, index: ExampleIndex | None, customer_id: str | None = None) -> Route:
    tier = _tier_of(question)
    refused = refusal(question, customer_id)
    if refused is not None:
        return Route(refused[0], tier, reason=refused[1])
    after = _asked_after_context(question, index)
    if after is not None:  # the tier the question itself names, not one of the context ("a friend of hers is VIP")
        scores, best, last = after
        tier = _tier_of(last) or tier
    else:
        scores, best = _scored(question, index)
    if scores[best] < THRESHOLD:
        return Route("unsupported", tier, scores[best], scores, reason="language" if other_language(question) else None)
    return Route(best, tier, scores[best], scores)


# Context an agent types before the question ("we gave him 10% off last time, anyway - is he likely to lapse?"): the
# question is the last clause, and words of the context ("10% off") must not outvote it.
_CONTEXT_BREAK = re.compile(
    r"\s+[-\u2013\u2014]+\s+|\banyway\b[,:]?\s*|[.;:]\s+(?=\S)|,\s+so\s+|"
    # "she complained twice, but is she still likely to order again?": the question after "but"
    r",\s+but\s+(?=(?:is|are|will|would|does|do|did|can|could|should|what|why|how|when)\b)|,\s+(?=(?:what|which|how|why|when|should|can|could|would)(?:\s|'s\b|\u2019s\b))",
    re.I,
)


_ASKING = re.compile(
    r"(what|why|how|when|who|which|is|are|will|would|should|does|do|did|can|could|has|have|any|warum|wie|wann|was|ist|"
    r"pourquoi|quand|est-ce|por ?que|cuando|cuanto|perche|quanto|waarom|wanneer|hoeveel)\b",
    re.I,
)


def _asked_after_context(question: str, index: ExampleIndex | None) -> tuple[dict[str, float], str, str] | None:
    """(scores, best intent, the clause) of the last clause when the question has context before it and that clause
    alone is routed with confidence, else None."""
    clauses = [c.strip(" ,?!.") for c in _CONTEXT_BREAK.split(question)]
    clauses = [c for c in clauses if c]
    if len(clauses) < 2 or len(clauses[-1].split()) < 2:
        return None
    last = clauses[-1]
    if not (question.rstrip().endswith("?") or _ASKING.match(last)):
        return None  # a statement after the question ("what's the best offer - she hasn't ordered in months")
    scores, best = _scored(last, index)
    return (scores, best, last) if scores[best] >= THRESHOLD else None


def _add_named_evidence(scores: dict[str, float], question: str, tier: str | None) -> None:
    """Add to ``scores`` what the question names: a tier ("why is he VIP?", "VIP?") is evidence for a question about
    the tier, a tier to reach ("get him to VIP") for one about reaching it; a year ("in 2024", "im Jahr 2024") or
    another period of the past ("in Q3", "since March", "between March and June"), or a fiscal year (read as unread:
    fiscal years differ between companies) is evidence for a spend question, and a period of the past against a
    forecast;
    asking for the customer's own words is evidence for the texts."""
    if tier is not None:
        target = names_tier_target(question)
        key = "upgrade" if target else "why_tier"
        scores[key] = scores.get(key, 0.0) + 0.6  # a tier named, as the one they are in or as one to reach
    past = names_period(question)
    if names_year(question) or past or names_fiscal_year(question):
        scores["spend_period"] = scores.get("spend_period", 0.0) + 0.8
    if past and "value" in scores:  # a forecast is never of a past period: "YTD revenue" is spend so far
        scores["value"] = max(0.0, scores["value"] - 0.5)
    if past and "next_order" in scores and not _FUTURE.search(question):  # "how many orders since jan": past ones
        scores["next_order"] = max(0.0, scores["next_order"] - 0.8)
    if _ASKS_FOR_TEXTS.search(question):  # the texts themselves; the topic that follows only filters them
        scores["evidence"] = scores.get("evidence", 0.0) + 0.8
    if _ASKS_FOR_BASIS.search(question):  # what a score rests on; the score named is only its topic
        scores["evidence"] = scores.get("evidence", 0.0) + 1.5
        for topic in ("value", "churn", "why_tier"):
            scores[topic] = max(0.0, scores.get(topic, 0.0) - 1.0)
    if _SUPPOSED_SPEND.search(question):
        scores["spend_period"] = max(0.0, scores.get("spend_period", 0.0) - 0.8)
    if _STILL_BUYING.search(question) and not _WHEN.search(question):  # whether, not when: the churn question
        scores["churn"] = scores.get("churn", 0.0) + 1.2
        scores["next_order"] = max(0.0, scores.get("next_order", 0.0) - 1.0)


# The customer's texts asked for as such ("the exact wording of his complaints", "quotes behind that score"): the
# topic words that follow (complaints, satisfaction) had outvoted the ask.
_ASKS_FOR_TEXTS = re.compile(
    r"\b(quotes?|quoted|verbatim|wording|own words|exact words|word for word|in (her|his|their) (own )?words)\b", re.I
)


# Whether they will buy again at all ("is she still likely to order again?"), which "order again" had sent to the
# timing of the next order; asked with "when" it is that timing
_STILL_BUYING = re.compile(
    r"\b(?:is|are|will)\s+(?:she|he|they|the customer|this customer)\s+(?:still\s+)?(?:likely\s+|going\s+)?(?:to\s+)?"
    r"(?:buy|order|shop|purchase)\w*\s+(?:again|from us|with us)\b|"
    # coming back as a customer, not sending items back ("is she likely to return next quarter?")
    r"\b(?:is|are|will)\s+(?:she|he|they|the customer|this customer)\s+(?:ever\s+)?(?:likely\s+|going\s+)?(?:to\s+)?"
    r"(?:return|come back)\b(?=\s*(?:[?.!,]|$|to us|next|soon|again|any ?time|at all|in the|within|this (?:year|month|"
    r"quarter|season)))",
    re.I,
)
_FUTURE = re.compile(r"\b(?:will|won't|going to|gonna|next|expected|expect|likely|shall|upcoming|coming)\b", re.I)
_WHEN = re.compile(r"\b(?:when|wann|quand|cuando|quando|wanneer|how soon)\b", re.I)


# What a score or an answer rests on asked for ("what is that churn score actually based on", "where's the model
# getting this from"): the score it names ("churn") had outvoted the ask.
_ASKS_FOR_BASIS = re.compile(
    r"\b(what(?:\s+is|\s+are|\s*'s|\s*\u2019s|s)\s+(?:\w+\s+){0,4}based\s+on|"
    # "how'd the model come up with the spend forecast"
    r"how(?:'d|\u2019d|\s+did|\s+does|\s+do)\s+(?:the\s+model|it|you|the\s+system|they)\s+(?:come\s+up\s+with|arrive\s+at|"
    r"work\s+out|calculate|figure\s+out|get\s+to)|basis\s+(?:of|for)|getting\s+(?:this|that|it)\s+from|"
    r"where\s+(?:does|do|did)\s+(?:this|that|it|the \w+)\s+come\s+from|auf welchen daten|worauf|"
    r"(?:reviews?|orders?|data|numbers|figures)\s+behind|(?:did|do)\s+you\s+use|"
    r"(?:feeds?|fed|go|goes|went|going)\s+into\s+(?:(?:her|his|their|the|this|that)\s+)?(?:\w+\s+)?"
    r"(?:score|prediction|forecast|tier|number|rating))\b",
    re.I,
)


_SPLIT = re.compile(
    r"\?\s+(?=\S)|;\s*|,?\s+(?:(?:and|but)\s+)?(?:if so|if yes|if not|in that case|if that's the case|falls ja|si oui|"
    r"en ese caso|se si|zo ja)\b,?\s*|\s+(?:and also|and then|also|plus|as well as|und auch|et aussi|y tambien)\s+|"
    r"\s+(?:and|und|et|y|"
    r"en|e)\s+(?=(?:what|why|how|when|who|is|are|will|should|does|do|did|can|could|would|which|wie|was|warum|wann|ist|"
    r"wird|soll|quel|pourquoi|quand|est|que|por|cuando|cuanto|es)\b)",
    re.I,
)


def route(question: str, encoder=None, customer_id: str | None = None) -> Route:
    """The intent of ``question``; with ``encoder`` (the product's sentence encoder) by meaning and words, without it
    by words. With ``customer_id`` (the customer on screen) a question naming another customer's id is refused."""
    index = example_index(encoder)
    whole = _route_one(question, index, customer_id)
    if whole.intent in ("unsupported", "contact") and whole.scores == {}:
        return whole  # a guard fired: no splitting around it
    pieces = [p.strip(" ?.!,") for p in _SPLIT.split(question) if p and p.strip(" ?.!,")]
    if len(pieces) >= 2:
        parts = [_route_one(p, index, customer_id) for p in pieces[:3]]
        if any(p.intent in ("unsupported", "contact") and not p.scores for p in parts):
            guard = next(p for p in parts if p.intent in ("unsupported", "contact") and not p.scores)
            return Route(guard.intent, whole.tier, reason=guard.reason)
        good = [(p, t) for p, t in zip(parts, pieces) if p.intent in ANSWERABLE]
        distinct = list(dict.fromkeys(p.intent for p, _ in good))
        if len(distinct) >= 2:
            first = good[0][0]
            keep: list[tuple[Route, str]] = []
            for p, t in good:
                if p.intent not in [k[0].intent for k in keep]:
                    keep.append((p, t))
            return Route(
                first.intent,
                first.tier or whole.tier,
                first.score,
                first.scores,
                parts=[k[0] for k in keep],
                texts=[k[1] for k in keep],
                text=question,
            )
    return whole
