"""The answer schema of ``POST /v1/ask``: the request, the answer, and the structured facts each intent returns."""

from __future__ import annotations

from pydantic import BaseModel, Field

from service.explain import CheckResult, Evidence, Explanation
from service.facts import QuotedText
from service.intents import SUGGESTIONS, Intent
from service.whatif import WhatIf

# ----------------------------------------------------------------------------- answer models


class SimilarCustomer(BaseModel):
    customer_id: str = Field(
        description="A customer near this one in the fused behaviour + text space.", examples=["C000917"]
    )
    similarity: float = Field(
        description="Cosine similarity to the customer (1 = identical vectors).", examples=[0.962]
    )
    tier: str | None = Field(description="The similar customer's tier (None when not in the store).", examples=["VIP"])
    predicted_value: float | None = Field(
        description="The similar customer's predicted spend over the horizon.", examples=[512.4]
    )
    churn_probability: float | None = Field(description="The similar customer's churn probability.", examples=[0.08])
    rfm_segment: str | None = Field(description="The similar customer's RFM segment.", examples=["Champions"])


class ChurnDriver(BaseModel):
    name: str = Field(description="Driver family.", examples=["recency"])
    value: float | None = Field(
        description="The customer's raw value of the family's headline feature.", examples=[64.0]
    )
    unit: str | None = Field(description="What the value counts.", examples=["days since last purchase"])
    percentile: float | None = Field(
        description="Peer percentile (0-100) of the raw value among scored customers.", examples=[81.5]
    )
    churn_contribution: float = Field(
        description="Signed contribution to churn probability, in probability points (0.05 = +5 points).",
        examples=[0.05],
    )


class ChurnFacts(BaseModel):
    churn_probability: float = Field(description="Probability of no purchase over the horizon.", examples=[0.34])
    churn_band: str | None = Field(
        default=None, description="Churn risk as low / medium / high (bands from the playbook).", examples=["low"]
    )
    population_churn_probability: float | None = Field(
        description="Mean churn probability of all scored customers.", examples=[0.71]
    )
    horizon_days: int = Field(description="Horizon in days.", examples=[90])
    rfm_segment: str = Field(description="RFM segment.", examples=["Loyal"])
    recency_days: float | None = Field(description="Days since the last purchase at the cutoff.", examples=[12.5])
    usual_gap_days: float | None = Field(description="Mean days between the customer's purchases.", examples=[21.0])
    raises_risk: list[ChurnDriver] = Field(description="Drivers that raise the churn probability, largest first.")
    lowers_risk: list[ChurnDriver] = Field(description="Drivers that lower the churn probability, largest first.")


class ValueFacts(BaseModel):
    tier: str = Field(description="Tier.", examples=["High"])
    predicted_value: float = Field(description="Predicted spend over the horizon.", examples=[118.6])
    value_interval: list[float] | None = Field(
        default=None,
        description="80% interval [low, high] of the predicted value, when stored.",
        examples=[[60.0, 190.0]],
    )
    horizon_days: int = Field(description="Horizon in days.", examples=[90])
    value_rank_pct: float = Field(
        description="Share of scored customers with a lower prediction, in percent.", examples=[91.3]
    )
    tier_floor: float | None = Field(description="Lowest predicted value of the tier (None for Low).", examples=[19.91])
    next_tier: str | None = Field(description="The tier above (None for VIP).", examples=["VIP"])
    next_tier_floor: float | None = Field(description="Lowest predicted value of the tier above.", examples=[153.02])
    rfm_segment: str = Field(description="RFM segment.", examples=["Loyal"])
    spent_to_date: float | None = Field(description="Spend before the cutoff (purchases only).", examples=[1412.5])
    purchases: float | None = Field(description="Purchases before the cutoff.", examples=[14.0])


class SpendFacts(BaseModel):
    period: str = Field(description="The period asked about, in words.", examples=["2025 (calendar year)"])
    start: str | None = Field(
        description="First day of the period (ISO date; None for 'to date').", examples=["2025-01-01"]
    )
    end: str = Field(
        description="Last day of the period (ISO date; never after the data cutoff).", examples=["2025-12-31"]
    )
    spend: float | None = Field(
        description="Net spend in the period: purchases, without returned or cancelled orders (None when not stored).",
        examples=[473.11],
    )
    orders: int | None = Field(description="Purchases in the period.", examples=[5])
    orders_are_days: bool = Field(
        default=False,
        description="True when ``orders`` counts purchase days, not orders (stores scored before the orders of each "
        "day were kept).",
        examples=[False],
    )
    lifetime_spend: float | None = Field(description="Net spend to date.", examples=[1412.5])
    lifetime_orders: int | None = Field(description="Purchases to date.", examples=[14])
    cutoff: str = Field(description="Date the data end (the scoring cutoff).", examples=["2025-12-31"])
    last_order: str | None = Field(
        default=None, description="Date of the last purchase (ISO), when stored.", examples=["2025-12-02"]
    )
    after_data: str | None = Field(
        default=None,
        description="A period asked about that lies after the data end (no spend figure is given for it).",
        examples=["next month"],
    )
    unread: str | None = Field(
        default=None,
        description="The question's period words that could not be read (spend to date is given instead).",
        examples=["since christmas"],
    )


class NextOrderFacts(BaseModel):
    last_order: str | None = Field(description="Date of the last purchase (ISO).", examples=["2025-12-02"])
    days_since_last_order: float | None = Field(
        description="Days from the last purchase to the cutoff.", examples=[29.0]
    )
    avg_days_between_orders: float | None = Field(description="Average days between purchases.", examples=[41.5])
    next_order_date: str | None = Field(
        description="Expected date of the next order (ISO), from the profile or last purchase + usual gap.",
        examples=["2026-01-12"],
    )
    expected_orders: float | None = Field(
        description="Orders the model expects in the horizon, when stored.", examples=[1.4]
    )
    buy_probability: float = Field(
        description="Chance of at least one purchase in the horizon (1 - churn probability).", examples=[0.66]
    )
    horizon_days: int = Field(description="Horizon in days.", examples=[90])
    first_order: str | None = Field(
        default=None, description="Date of the first purchase (ISO), when stored.", examples=["2024-03-02"]
    )
    cutoff: str | None = Field(
        default=None, description="Date the data end (the scoring cutoff).", examples=["2025-12-31"]
    )


class Quote(BaseModel):
    text: QuotedText = Field(
        description="A review text, verbatim (contact data masked).", examples=["Arrived broken, very disappointed."]
    )
    rating: int = Field(description="Its rating, 1-5.", examples=[1])
    date: str = Field(description="Review date (ISO).", examples=["2025-10-02"])


class SatisfactionFacts(BaseModel):
    reviews: int = Field(description="Reviews written up to the cutoff.", examples=[6])
    mean_rating: float | None = Field(description="Average rating, 1-5.", examples=[4.2])
    by_rating: dict[str, int] = Field(description="Reviews per rating.", examples=[{"5": 4, "4": 1, "2": 1}])
    complaints: list[Quote] = Field(
        description="Reviews rated 1 or 2 (most recent first): the complaints.", examples=[[]]
    )
    praise: list[Quote] = Field(description="Reviews rated 4 or 5 (most recent first).", examples=[[]])
    returned_or_cancelled: int | None = Field(description="Orders returned or cancelled.", examples=[1])


class Category(BaseModel):
    name: str = Field(description="Product category.", examples=["electronics"])
    orders: int = Field(description="Purchases in it.", examples=[5])
    spend: float = Field(description="Net spend in it.", examples=[234.5])


class Browsed(BaseModel):
    text: QuotedText = Field(
        description="Product title or search query, as browsed (not the customer's words).",
        examples=["Dune Smart Laptop Stand"],
    )
    count: int = Field(description="Times viewed, carted or searched.", examples=[3])
    last: str = Field(description="Last time (ISO date).", examples=["2025-12-01"])


class ProductFacts(BaseModel):
    categories: list[Category] = Field(
        description="Categories bought, by spend.", examples=[[{"name": "electronics", "orders": 5, "spend": 234.5}]]
    )
    browsed: list[Browsed] = Field(description="Products viewed or carted most often.", examples=[[]])
    searches: list[Browsed] = Field(description="Searches made most often.", examples=[[]])


class OfferFacts(BaseModel):
    tier: str = Field(description="Tier.", examples=["High"])
    churn_probability: float = Field(description="Churn probability.", examples=[0.55])
    churn_band: str = Field(description="Churn risk band (playbook).", examples=["medium"])
    horizon_days: int = Field(description="Horizon in days.", examples=[90])
    offer: str = Field(
        description="The playbook's discount advice for this tier and band.",
        examples=["A small incentive can help ..."],
    )
    action: str = Field(
        description="The playbook's next action for this tier and band.", examples=["Send a personal e-mail ..."]
    )
    playbook: str = Field(description="The playbook file the advice comes from.", examples=["prompts/playbook.toml"])
    upgrade_hint: str | None = Field(
        default=None,
        description="The smallest re-predicted action that moves the customer up a tier, if any.",
        examples=["one more order of $45.10 (their average order value) today"],
    )
    upgrade_target: str | None = Field(default=None, description="The tier that action reaches.", examples=["VIP"])


class AskRequest(BaseModel):
    customer_id: str = Field(
        min_length=1, max_length=128, description="The customer the question is about.", examples=["C000127"]
    )
    question: str = Field(
        min_length=1, max_length=500, description="The agent's question, in plain words.", examples=["Why is she VIP?"]
    )


class AskAnswer(BaseModel):
    """A grounded answer: the prose plus the facts it was built from."""

    customer_id: str = Field(description="The customer the answer is about.", examples=["C000127"])
    question: str = Field(description="The question as asked (contact data masked).", examples=["Why is she VIP?"])
    intent: Intent = Field(
        description="What the question was understood to ask (the first part's, for a question with several parts).",
        examples=["why_tier"],
    )
    intents: list[str] = Field(
        default_factory=list,
        description="Every part's intent, for a question with several parts.",
        examples=[["why_tier", "churn"]],
    )
    supported: bool = Field(
        description="False when the question is outside what can be answered from the facts.", examples=[True]
    )
    answer: str = Field(
        description="The answer in plain words, built only from the facts below.",
        examples=["Customer C000127 is in the VIP tier: the model expects $5,276.30 of spend in the next 90 days, ..."],
    )
    tier: str = Field(description="The customer's tier.", examples=["VIP"])
    explanation: Explanation | None = Field(
        default=None, description="For why_tier: the full explanation (same as the explanation endpoint)."
    )
    churn: ChurnFacts | None = Field(default=None, description="For churn (and summary): the churn facts.")
    what_if: WhatIf | None = Field(
        default=None, description="For upgrade: the model's re-predictions under simple actions."
    )
    similar: list[SimilarCustomer] | None = Field(default=None, description="For similar: the nearest customers.")
    value: ValueFacts | None = Field(
        default=None, description="For value (and summary): predicted spend, rank and tier floors."
    )
    evidence: list[Evidence] | None = Field(
        default=None, description="For evidence: the customer's own words (masked), then labelled browsing texts."
    )
    spend: SpendFacts | None = Field(
        default=None, description="For spend_period: spend in the period asked about, from the stored history."
    )
    next_order: NextOrderFacts | None = Field(
        default=None, description="For next_order (and summary): when the next purchase is expected."
    )
    satisfaction: SatisfactionFacts | None = Field(
        default=None, description="For satisfaction (and summary): ratings and complaints."
    )
    products: ProductFacts | None = Field(
        default=None, description="For products: categories bought, products browsed and searched."
    )
    offer: OfferFacts | None = Field(default=None, description="For offer (and summary): the playbook's advice.")
    suggestions: list[str] = Field(
        default_factory=list,
        description="Questions that can be asked (for unsupported questions).",
        examples=[SUGGESTIONS[:3]],
    )
    check: CheckResult = Field(description="Whether every number in the answer appears in the facts returned with it.")
    model_version: str = Field(description="Model that produced the facts.", examples=["2025-12-31-e236ca1b34"])
