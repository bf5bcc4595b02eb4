"""A CRM agent's free question about one customer, routed to a grounded answer.

The router is deterministic (keyword rules, no model): a question is mapped to one intent, and each
intent has an answer built only from facts about the customer: the same facts as the explanation
(``service.explain.facts_from_profile``), the model's own re-predictions for "what would move them
up" (``service.whatif``) and the similar-customer index. A question outside those intents gets an
answer that says what can be asked; nothing is ever made up. Every answer comes with the structured
data it was built from and a check that each number in the answer appears in that data.

Personal data: the profile handed in should already be redacted (``service.privacy``); questions
asking for contact details get a refusal.
"""

from __future__ import annotations

import importlib.util
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, Field

from service.drivers import UNITS
from service.explain import (
    ALL_DRIVER_NAMES,
    CheckResult,
    Driver,
    Evidence,
    Explanation,
    Narrator,
    TemplateNarrator,
    explain_facts,
    facts_from_profile,
    money,
)
from service.plain import days_ago, distinct_money, driver_fact, plural
from service.privacy import redact, redact_profile
from service.tiers import TIER_ORDER
from service.whatif import WhatIf, WhatIfError, what_if

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

# ----------------------------------------------------------------------------- narrator


def get_narrator(settings=None) -> Narrator:
    """The narrator of explanations: ``service.narrators.get_narrator(settings)`` once that module exists,
    the template narrator until then. The one place the API and the CLI choose a narrator."""
    if importlib.util.find_spec("service.narrators") is not None:
        from service.narrators import get_narrator as _get_narrator

        if settings is None:
            from service.config import get_settings

            settings = get_settings()
        return _get_narrator(settings)
    return TemplateNarrator()


def explain_customer(profile: dict, meta: dict, narrator: Narrator, mask: bool = True) -> Explanation:
    """The explanation of one stored profile, customer texts masked first (so no narrator sees contact data)."""
    if mask:
        profile = redact_profile(profile)
    return explain_facts(facts_from_profile(profile, meta), narrator)


def explain_stored(customer_id: str, store, narrator: Narrator | None = None, mask: bool = True) -> Explanation:
    """`insight explain` and `GET /v1/customers/{id}/explanation` share this path, so their JSON is identical."""
    from service.store import ProfileStore

    try:
        profile, meta = ProfileStore.read_profile(store, customer_id)
    except KeyError:
        ps = ProfileStore(store)
        try:
            unscored = customer_id in set(ps.meta().get("unscored_customers") or [])
        finally:
            ps.close()
        if unscored:
            raise UnscoredCustomer(customer_id) from None
        raise
    return explain_customer(profile, meta, narrator or get_narrator(), mask=mask)


class UnscoredCustomer(ValueError):
    """A customer the input tables know, without orders, so not scored (a user error in the CLI: message, exit code
    2)."""

    def __init__(self, customer_id: str):
        super().__init__(f"customer {customer_id!r} is known, no orders yet, so not scored")
        self.customer_id = customer_id


# ----------------------------------------------------------------------------- routing
# The router lives in service.intents (meaning + multilingual words, rules only as guards).

from service.intents import INTENTS, SUGGESTIONS, Route, named_tier, route  # noqa: E402,F401

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
    lifetime_spend: float | None = Field(description="Net spend to date.", examples=[1412.5])
    lifetime_orders: int | None = Field(description="Purchases to date.", examples=[14])
    cutoff: str = Field(description="Date the data end (the scoring cutoff).", examples=["2025-12-31"])
    last_order: str | None = Field(
        default=None, description="Date of the last purchase (ISO), when stored.", examples=["2025-12-02"]
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
    text: str = Field(
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
    text: str = Field(
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


# ----------------------------------------------------------------------------- answering


@dataclass
class CustomerContext:
    """Everything an answer may use. ``profile`` is a stored profile row (redacted by the caller or here)."""

    profile: dict
    meta: dict
    narrator: Narrator = field(default_factory=TemplateNarrator)
    bundle: object | None = None  # ModelBundle, for what-if re-predictions
    similar: Callable[[int], list[SimilarCustomer]] | None = None
    population_churn: float | None = None
    mask: bool = True
    encoder: object | None = None  # the product's sentence encoder: routes questions by meaning (words only without it)


def answer(question: str, ctx: CustomerContext) -> AskAnswer:
    profile = redact_profile(ctx.profile) if ctx.mask else ctx.profile
    if ctx.mask:
        profile = _redact_activity(profile)
    q_shown = redact(question) if ctx.mask else question
    r = route(q_shown, ctx.encoder)
    facts = facts_from_profile(profile, ctx.meta)
    base: dict[str, Any] = dict(
        customer_id=facts.customer_id,
        question=q_shown,
        intent=r.intent,
        tier=facts.tier,
        model_version=facts.model_version,
    )
    parts = list(zip(r.parts, r.texts)) if r.parts else [(r, q_shown)]
    texts: list[str] = []
    data: dict = {}
    for part, _text in parts:
        text, extra = _HANDLERS[part.intent](part, facts, profile, ctx)
        texts.append(text)
        for k, v in extra.items():
            data.setdefault(k, v)
    supported = all(p.intent not in ("unsupported", "contact") for p, _ in parts)
    result = AskAnswer(
        **base,
        intents=[p.intent for p, _ in parts],
        supported=supported,
        answer="\n\n".join(texts),
        suggestions=[] if supported else SUGGESTIONS,
        check=CheckResult(passed=True),
        **data,
    )
    if r.intent == "why_tier" and len(parts) == 1 and result.explanation is not None:
        # The explanation's own faithfulness check covers the narrative; the short preface only names tiers.
        result.check = result.explanation.check
    else:
        result.check = check_numbers(
            result.answer, result, facts.customer_id, facts_from_profile(profile, ctx.meta, top=1000)
        )
    return result


def _redact_activity(profile: dict) -> dict:
    """Contact data masked in the stored activity texts too (complaints, praise, browsing)."""
    act = (profile.get("profile") or {}).get("activity")
    if not act:
        return profile
    act = dict(act)
    for key in ("complaints", "praise", "browsed", "searches"):
        if act.get(key):
            act[key] = [{**x, "text": redact(x.get("text"))} for x in act[key]]
    return {**profile, "profile": {**profile["profile"], "activity": act}}


def _c(facts) -> str:
    return facts.currency


def _activity(profile: dict) -> dict:
    return (profile.get("profile") or {}).get("activity") or {}


def _features(profile: dict) -> dict:
    return (profile.get("profile") or {}).get("features") or {}


def _cutoff(profile: dict, ctx) -> pd.Timestamp:
    c = (profile.get("profile") or {}).get("cutoff") or ctx.meta.get("cutoff")
    return pd.Timestamp(c) if c else pd.Timestamp.now(tz="UTC")


def _why(r: Route, facts, profile, ctx):
    exp = explain_facts(facts, ctx.narrator, None)
    preface = ""
    if r.tier and r.tier != facts.tier:
        preface = f"No: {facts.customer_id} is not in the {r.tier} tier but in the {facts.tier} tier. "
        if TIER_ORDER.index(r.tier) < TIER_ORDER.index(facts.tier):
            preface += "Ask what would move them up to see what the model says it would take.\n"
        else:
            preface += "\n"
    return preface + exp.narrative, {"explanation": exp}


def _churn_facts(facts, profile, ctx) -> tuple[ChurnFacts, list[Driver], list[Driver]]:
    drivers = [
        Driver(
            unit=UNITS.get(d.get("feature") or ""),
            **{k: d.get(k) for k in ("name", "value", "contribution", "percentile", "feature", "churn_contribution")},
        )
        for d in profile["profile"]["drivers"]
    ]

    def cd(d: Driver) -> ChurnDriver:
        return ChurnDriver(
            name=d.name,
            value=d.value,
            unit=d.unit,
            percentile=d.percentile,
            churn_contribution=d.churn_contribution or 0.0,
        )

    ups = sorted(
        [d for d in drivers if (d.churn_contribution or 0) >= 0.005], key=lambda d: -(d.churn_contribution or 0)
    )[:3]
    downs = sorted(
        [d for d in drivers if (d.churn_contribution or 0) <= -0.005], key=lambda d: d.churn_contribution or 0
    )[:3]
    feats = _features(profile)
    return (
        ChurnFacts(
            churn_probability=facts.churn_probability,
            churn_band=facts.churn_band,
            population_churn_probability=_r4(ctx.population_churn),
            horizon_days=facts.horizon_days,
            rfm_segment=facts.rfm_segment,
            recency_days=_r4(feats.get("recency_days")),
            usual_gap_days=_r4(feats.get("ipi_mean_days")),
            raises_risk=[cd(d) for d in ups],
            lowers_risk=[cd(d) for d in downs],
        ),
        ups,
        downs,
    )


def _churn(r: Route, facts, profile, ctx):
    cf, ups, downs = _churn_facts(facts, profile, ctx)
    c = _c(facts)
    p = round(facts.churn_probability * 100)
    band = f"{cf.churn_band} churn risk: " if cf.churn_band else ""
    s = [
        f"{facts.customer_id} ({facts.tier} tier) has a {band}{p}% chance of making no purchase in the next "
        f"{facts.horizon_days} days"
    ]
    if cf.population_churn_probability is not None:
        avg = round(cf.population_churn_probability * 100)
        rel = "below" if p < avg else "above" if p > avg else "the same as"
        s[0] += f", {rel} the average of {avg}% across scored customers"
    s[0] += "."
    if cf.recency_days is not None:
        line = f"They last bought {days_ago(cf.recency_days)}"
        if cf.usual_gap_days is not None:
            line += f"; they usually buy every {plural(cf.usual_gap_days, 'day')}"
        s.append(line + ".")
    fig = facts.figures
    if ups:
        s.append(
            "What raises the risk: "
            + "; ".join(
                f"{d.name} (+{(d.churn_contribution or 0) * 100:.0f} points): {driver_fact(d, c, fig)}" for d in ups
            )
            + "."
        )
    if downs:
        s.append(
            "What lowers it: "
            + "; ".join(
                f"{d.name} (-{abs(d.churn_contribution or 0) * 100:.0f} points): {driver_fact(d, c, fig)}"
                for d in downs
            )
            + "."
        )
    return "\n".join(s), {"churn": cf}


def _upgrade(r: Route, facts, profile, ctx):
    c = _c(facts)
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
            f"{sc.churn_probability * 100:.0f}%" + (f"; moved by {drv}" if drv else "") + "."
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


def _similar(r: Route, facts, profile, ctx):
    if ctx.similar is None:
        return ("Similar customers need the similar-customer index, which is not loaded here.", {})
    sims = ctx.similar(5)
    if not sims:
        return (f"No similar customers are indexed for {facts.customer_id}.", {"similar": []})
    parts = [f"{s.customer_id} ({s.tier or 'unknown tier'}, similarity {s.similarity:.2f})" for s in sims]
    text = f"Customers most like {facts.customer_id} ({facts.tier}) in behaviour and texts: " + "; ".join(parts) + "."
    return text, {"similar": sims}


def _value_facts(facts, profile) -> ValueFacts:
    feats = _features(profile)
    spent = facts.figures.get("historic_value", feats.get("monetary_total"))
    return ValueFacts(
        tier=facts.tier,
        predicted_value=facts.predicted_value,
        value_interval=facts.value_interval,
        horizon_days=facts.horizon_days,
        value_rank_pct=facts.value_rank_pct,
        tier_floor=facts.tier_floor,
        next_tier=facts.next_tier,
        next_tier_floor=facts.next_tier_floor,
        rfm_segment=facts.rfm_segment,
        spent_to_date=_r4(spent),
        purchases=_r4(feats.get("frequency")),
    )


def _value(r: Route, facts, profile, ctx):
    c = _c(facts)
    vf = _value_facts(facts, profile)
    interval = (
        f" (80% range {money(vf.value_interval[0], c)} to {money(vf.value_interval[1], c)})"
        if vf.value_interval
        else ""
    )
    rank = (
        f"more than {facts.value_rank_pct:.1f}% of scored customers"
        if facts.value_rank_pct >= 1
        else "one of the lowest forecasts among scored customers"
    )
    s = [
        f"The model expects {facts.customer_id} to spend {money(facts.predicted_value, c)} in the next "
        f"{facts.horizon_days} days{interval}, {rank}; that puts them in the {facts.tier} tier."
    ]
    if facts.tier_floor is not None:
        s.append(
            f"{facts.tier} starts at {money(facts.tier_floor, c)}"
            + (f"; {facts.next_tier} starts at {money(facts.next_tier_floor, c)}." if facts.next_tier else ".")
        )
    elif facts.next_tier:
        s.append(
            f"{facts.tier} means a forecast below {money(facts.next_tier_floor, c)}, where {facts.next_tier} starts."
        )
    if vf.spent_to_date is not None and vf.purchases is not None:
        s.append(
            f"So far: {money(vf.spent_to_date, c)} spent over {_purchases(vf.purchases)}."
            if vf.purchases >= 1
            else "No kept purchases so far (every order was returned or cancelled)."
        )
    return " ".join(s), {"value": vf}


def _purchases(n: float) -> str:
    k = int(round(n))
    return "one purchase" if k == 1 else f"{k:,} purchases" if k else "no kept purchases"


def _evidence(r: Route, facts, profile, ctx):
    act = _activity(profile)
    reviews = [e for e in facts.evidence if e.source.startswith("review")]
    seen = {e.text for e in reviews}
    for q in sorted((act.get("complaints") or []) + (act.get("praise") or []), key=lambda x: x["date"], reverse=True):
        if q["text"] not in seen and len(reviews) < 4:
            reviews.append(Evidence(text=q["text"], source=f"review {q['date']}, {q['rating']}/5"))
            seen.add(q["text"])
    browsing = [e for e in facts.evidence if not e.source.startswith("review")]
    s = []
    if reviews:
        s.append(
            f"What {facts.customer_id} ({facts.tier} tier) wrote in their reviews: "
            + " ".join(f"\u201c{e.text}\u201d ({e.source})." for e in reviews)
        )
    else:
        s.append(
            f"{facts.customer_id} ({facts.tier} tier) has written no reviews, so there are no words of their own on "
            "record."
        )
    if browsing:
        s.append(
            "Not their words, but what they looked at (browsing): "
            + " ".join(f"\u201c{e.text}\u201d ({e.source})." for e in browsing)
        )
    return "\n".join(s), {"evidence": reviews + browsing}


# -- spend in a period ------------------------------------------------------------------------

_MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("january", "januar", "janvier", "enero", "januari", "gennaio"),
            ("february", "februar", "fevrier", "febrero", "februari", "febbraio"),
            ("march", "marz", "mars", "marzo", "maart"),
            ("april", "avril", "abril", "aprile"),
            ("may", "mai", "mayo", "mei", "maggio"),
            ("june", "juni", "juin", "junio", "giugno"),
            ("july", "juli", "juillet", "julio", "luglio"),
            ("august", "aout", "agosto", "augustus"),
            ("september", "septembre", "septiembre", "settembre"),
            ("october", "oktober", "octobre", "octubre", "ottobre"),
            ("november", "novembre", "noviembre"),
            ("december", "dezember", "decembre", "diciembre", "dicembre"),
        ],
        1,
    )
    for m in names
}
_UNIT_DAYS = {
    "day": 1,
    "days": 1,
    "tag": 1,
    "tage": 1,
    "tagen": 1,
    "jour": 1,
    "jours": 1,
    "dia": 1,
    "dias": 1,
    "dag": 1,
    "dagen": 1,
    "giorni": 1,
    "week": 7,
    "weeks": 7,
    "woche": 7,
    "wochen": 7,
    "semaine": 7,
    "semaines": 7,
    "semana": 7,
    "semanas": 7,
    "weken": 7,
    "settimane": 7,
    "month": 30,
    "months": 30,
    "monat": 30,
    "monate": 30,
    "monaten": 30,
    "mois": 30,
    "mes": 30,
    "meses": 30,
    "maand": 30,
    "maanden": 30,
    "mesi": 30,
    "year": 365,
    "years": 365,
    "jahr": 365,
    "jahre": 365,
    "jahren": 365,
    "an": 365,
    "ans": 365,
    "ano": 365,
    "anos": 365,
    "jaar": 365,
    "anni": 365,
}
_NUM_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "six": 6,
    "twelve": 12,
    "ein": 1,
    "zwei": 2,
    "drei": 3,
    "sechs": 6,
    "zwolf": 12,
}


def parse_period(question: str, cutoff: pd.Timestamp) -> tuple[str, pd.Timestamp | None, pd.Timestamp, bool]:
    """(words, start or None for 'to date', end, rolling) of the period a spend question asks about; relative to the
    cutoff.

    'last year' is the last complete calendar year at the cutoff (the cutoff's own year when the data end on 31
    December); 'this year' the cutoff's year to date; 'last N days/weeks/months' a rolling window ending at the cutoff;
    'last month' / 'last quarter' the last complete calendar month / quarter; a year ('in 2024') or a month ('in March
    2025') that one.
    """
    from service.intents import fold

    q = fold(question)
    end = cutoff.normalize()
    day = pd.Timedelta(days=1)
    full_year = (cutoff.month, cutoff.day) == (12, 31)
    m = re.search(r"\b(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\b(?:\s+((?:19|20)\d\d))?", q)
    if m and not re.search(r"\bmay (i|we|he|she|they)\b", q):
        month = _MONTHS[m.group(1)]
        year = int(m.group(2)) if m.group(2) else (cutoff.year if month <= cutoff.month else cutoff.year - 1)
        start = pd.Timestamp(year=year, month=month, day=1, tz=cutoff.tz)
        stop = min(start + pd.offsets.MonthEnd(0), end)
        return f"{start.strftime('%B %Y')}", start, stop, False
    years = re.findall(r"\b((?:19|20)\d\d)\b", q)
    if years:
        y = int(years[-1])
        start = pd.Timestamp(year=y, month=1, day=1, tz=cutoff.tz)
        stop = min(pd.Timestamp(year=y, month=12, day=31, tz=cutoff.tz), end)
        return (
            (f"{y} (calendar year)" if stop.month == 12 and stop.day == 31 else f"{y} up to {stop.date()}"),
            start,
            stop,
            False,
        )
    n = re.search(
        r"\b(?:last|past|previous|letzten|vergangenen|derniers?|dernieres?|ultimos?|ultime|ultimi|afgelopen|laatste)\s+"
        r"(\d+|" + "|".join(_NUM_WORDS) + r")\s+(\w+)",
        q,
    )
    if n and n.group(2) in _UNIT_DAYS:
        k = int(n.group(1)) if n.group(1).isdigit() else _NUM_WORDS[n.group(1)]
        days = k * _UNIT_DAYS[n.group(2)]
        unit = {1: "day", 7: "week", 30: "month", 365: "year"}[_UNIT_DAYS[n.group(2)]]
        return (
            f"the last {k} {unit}{'s' if k != 1 else ''} (to {end.date()})",
            end - pd.Timedelta(days=days) + day,
            end,
            True,
        )
    if re.search(
        r"\b(this year|dieses jahr|diesem jahr|cette annee|este ano|dit jaar|quest anno|year to date|ytd)\b", q
    ):
        start = pd.Timestamp(year=cutoff.year, month=1, day=1, tz=cutoff.tz)
        return f"{cutoff.year} up to {end.date()}", start, end, False
    if re.search(
        r"\b(last|previous|letzten|vorigen|dernier|ultimo|vorige|scorso) (quarter|quartal|trimestre|kwartaal)\b", q
    ):
        q_end = (cutoff + pd.offsets.QuarterEnd(0)).normalize()
        if q_end > end:
            q_end = (cutoff - pd.offsets.QuarterEnd(1)).normalize()
        start = (q_end - pd.offsets.QuarterBegin(1, startingMonth=1)).normalize()
        return f"the quarter {start.date()} to {q_end.date()}", start, q_end, False
    if re.search(
        r"\b(last|previous|letzten|vorigen|dernier|mes pasado|vorige maand|mese scorso)\s*(month|monat|mois|maand)?\b",
        q,
    ) and re.search(r"\b(month|monat|mois|mes|maand|mese)\b", q):
        m_end = (cutoff + pd.offsets.MonthEnd(0)).normalize()
        if m_end > end:
            m_end = (cutoff - pd.offsets.MonthEnd(1)).normalize()
        start = m_end.replace(day=1)
        return start.strftime("%B %Y"), start, m_end, False
    if re.search(
        r"\b(last year|last yr|previous year|letztes jahr|letzten jahr|vorjahr|annee derniere|l annee derniere|"
        r"ano pasado|"
        r"vorig jaar|anno scorso|past year)\b",
        q,
    ):
        y = cutoff.year if full_year else cutoff.year - 1
        start = pd.Timestamp(year=y, month=1, day=1, tz=cutoff.tz)
        return f"{y} (calendar year)", start, pd.Timestamp(year=y, month=12, day=31, tz=cutoff.tz), False
    return "to date", None, end, False


def spend_between(
    activity: dict, start: pd.Timestamp | None, end: pd.Timestamp, rolling: bool, cutoff: pd.Timestamp
) -> tuple[float, int] | None:
    """(net spend, purchases) from the stored activity; None when the store has no history for the period."""
    months = activity.get("spend_by_month") or {}  # no months: no kept purchase (every order returned or cancelled)
    if start is None:
        return round(sum(v[1] for v in months.values()), 2), sum(int(v[0]) for v in months.values())
    recent = activity.get("recent_orders") or []
    from service.activity import RECENT_ORDER_DAYS

    covered = start > cutoff - pd.Timedelta(days=RECENT_ORDER_DAYS)
    if rolling or (covered and (start.day != 1 or end != (end + pd.offsets.MonthEnd(0)).normalize())):
        if not covered:
            return None
        a, b = start.date().isoformat(), end.date().isoformat()
        days = [(d, x) for d, x in recent if a <= d <= b]
        # recent_orders holds purchase days; the count of orders on a day is in spend_by_month only, so count days
        return round(sum(x for _, x in days), 2), len(days)
    a, b = start.strftime("%Y-%m"), end.strftime("%Y-%m")
    sel = [v for k, v in months.items() if a <= k <= b]
    return round(sum(v[1] for v in sel), 2), sum(int(v[0]) for v in sel)


def _spend(r: Route, facts, profile, ctx):
    c = _c(facts)
    cutoff = _cutoff(profile, ctx)
    act = _activity(profile)
    feats = _features(profile)
    life = facts.figures.get("historic_value", feats.get("monetary_total"))
    life_n = feats.get("frequency")
    words, start, end, rolling = (
        parse_period(r.text or "", cutoff) if getattr(r, "text", None) else ("to date", None, cutoff.normalize(), False)
    )
    stored = "activity" in (
        profile.get("profile") or {}
    )  # stores scored before activity was kept cannot answer per period
    got = spend_between(act, start, end, rolling, cutoff) if stored else None
    sf = SpendFacts(
        period=words,
        start=start.date().isoformat() if start is not None else None,
        end=end.date().isoformat(),
        spend=got[0] if got else None,
        orders=got[1] if got else None,
        lifetime_spend=_r4(life),
        lifetime_orders=int(round(life_n)) if life_n is not None else None,
        cutoff=cutoff.date().isoformat(),
        last_order=act.get("last_order"),
    )
    net = "returned and cancelled orders not counted"
    if start is None:
        text = (
            (
                f"{facts.customer_id} has spent {money(life, c)} to date over {_purchases(life_n or 0)} ({net}; the "
                f"data end on {sf.cutoff})."
            )
            if life is not None
            else f"The store has no spend history for {facts.customer_id}."
        )
    elif got is None:
        text = (
            f"The store holds no per-period spend for {facts.customer_id} (the profiles were scored before spend per "
            "month was stored; re-score to answer this)."
        )
        if life is not None:
            text += f" To date they have spent {money(life, c)} over {_purchases(life_n or 0)}."
    else:
        spend, n = got
        days = " purchase days" if rolling else ""
        when = f"In {words}" if not words.startswith("the ") else f"In {words}"
        if n == 0:
            text = f"{when}, {facts.customer_id} bought nothing ({net}; the data end on {sf.cutoff})."
            if sf.last_order:
                text += f" Their last purchase was on {sf.last_order}."
        else:
            unit = (
                ("purchase day" if n == 1 else "purchase days") if rolling else ("purchase" if n == 1 else "purchases")
            )
            text = (
                f"{when}, {facts.customer_id} spent {money(spend, c)} over {n} {unit} "
                f"({net}; the data end on {sf.cutoff})."
            )
        if life is not None:
            text += f" To date: {money(life, c)} over {_purchases(life_n or 0)}."
        del days
    return text, {"spend": sf}


# -- next order -------------------------------------------------------------------------------


def _next_order_facts(facts, profile, ctx) -> NextOrderFacts:
    feats = _features(profile)
    act = _activity(profile)
    cutoff = _cutoff(profile, ctx)
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
        days_since_last_order=_r4(rec),
        avg_days_between_orders=_r4(gap),
        next_order_date=nxt,
        expected_orders=_r4(facts.figures.get("expected_orders")),
        buy_probability=round(1 - facts.churn_probability, 4),
        horizon_days=facts.horizon_days,
        first_order=act.get("first_order"),
        cutoff=cutoff.date().isoformat(),
    )


def _next_order(r: Route, facts, profile, ctx):
    nf = _next_order_facts(facts, profile, ctx)
    cutoff = _cutoff(profile, ctx).date().isoformat()
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
    s.append(f"Chance of at least one purchase in the next {nf.horizon_days} days: {nf.buy_probability * 100:.0f}%.")
    return " ".join(s), {"next_order": nf}


# -- satisfaction -----------------------------------------------------------------------------


def _satisfaction_facts(facts, profile) -> SatisfactionFacts:
    act = _activity(profile)
    rv = act.get("reviews") or {}
    feats = _features(profile)
    n_ret = feats.get("n_returned")
    quotes = lambda key: [Quote(**q) for q in act.get(key) or []]  # noqa: E731
    if not rv and feats.get("review_count"):
        # Stored before activity existed: the counts are in the features; no texts by rating.
        rv = {"count": int(feats["review_count"]), "mean_rating": feats.get("rating_mean"), "by_rating": {}}
    return SatisfactionFacts(
        reviews=int(rv.get("count") or 0),
        mean_rating=_r4(rv.get("mean_rating")),
        by_rating=rv.get("by_rating") or {},
        complaints=quotes("complaints"),
        praise=quotes("praise"),
        returned_or_cancelled=int(round(n_ret)) if n_ret is not None else None,
    )


def _satisfaction(r: Route, facts, profile, ctx):
    sf = _satisfaction_facts(facts, profile)
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
    return " ".join(s), {"satisfaction": sf}


def question_text(r: Route) -> str:
    return getattr(r, "text", "") or ""


# -- products ---------------------------------------------------------------------------------


def _products(r: Route, facts, profile, ctx):
    act = _activity(profile)
    c = _c(facts)
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
                f"{x.name.replace('_', ' ')} ({_purchases(x.orders)}, {money(x.spend, c)})" for x in pf.categories
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


# -- offer ------------------------------------------------------------------------------------


def _offer_facts(facts, profile, ctx, with_whatif: bool = True) -> OfferFacts | None:
    from service.playbook import PlaybookError, get_playbook

    try:
        pb = get_playbook()
    except PlaybookError:
        return None
    play = pb.play(facts.tier, facts.churn_probability)
    of = OfferFacts(
        tier=facts.tier,
        churn_probability=facts.churn_probability,
        churn_band=pb.band(facts.churn_probability),
        horizon_days=facts.horizon_days,
        offer=play.offer,
        action=play.action,
        playbook=pb.source.rsplit("/", 2)[-2] + "/" + pb.source.rsplit("/", 1)[-1],
    )
    if with_whatif and ctx.bundle is not None and facts.tier != TIER_ORDER[0]:
        try:
            w = what_if(profile, ctx.bundle, currency=facts.currency)
            if w.best is not None:
                of.upgrade_hint, of.upgrade_target = w.best.description, w.target_tier
        except WhatIfError:
            pass
    return of


def _offer(r: Route, facts, profile, ctx):
    of = _offer_facts(facts, profile, ctx)
    if of is None:
        return ("The playbook file cannot be read, so I have no advice to give; ask your team lead.", {})
    p = facts.churn_probability * 100
    s = [
        f"{facts.customer_id} is {facts.tier} with a {of.churn_band} churn risk ({p:.0f}% chance of no purchase in "
        f"the next {facts.horizon_days} days).",
        f"Playbook advice: {of.offer}",
        f"Next action: {of.action}",
    ]
    if of.upgrade_hint:
        s.append(f"For reference, the model says {of.upgrade_hint} would move them up to {of.upgrade_target}.")
    return " ".join(s), {"offer": of}


# -- summary ----------------------------------------------------------------------------------


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


def _contact(r: Route, facts, profile, ctx):
    return (
        f"I can't share contact details: e-mail addresses and phone numbers are masked in this service. "
        f"About {facts.customer_id} I can answer: " + "; ".join(SUGGESTIONS[:6]),
        {},
    )


def _unsupported(r: Route, facts, profile, ctx):
    return (
        f"I can only answer from the facts about {facts.customer_id}: a summary, why they are in their tier, churn "
        "risk, when they will buy next, what they spent in a period, whether they are happy, what they buy, whether to "
        "offer a discount, what would move them up a tier and who is similar. That question is not one of these, so I "
        "won't guess. Try: " + " / ".join(f"\u201c{s}\u201d" for s in SUGGESTIONS[:4]),
        {},
    )


_HANDLERS = {
    "why_tier": _why,
    "churn": _churn,
    "upgrade": _upgrade,
    "similar": _similar,
    "value": _value,
    "evidence": _evidence,
    "summary": _summary,
    "next_order": _next_order,
    "spend_period": _spend,
    "satisfaction": _satisfaction,
    "products": _products,
    "offer": _offer,
    "contact": _contact,
    "unsupported": _unsupported,
}


def _r4(x) -> float | None:
    return None if x is None else round(float(x), 4)


# ----------------------------------------------------------------------------- grounding check

_QUOTE = re.compile(r"[\u201c\"]([^\u201d\"]+)[\u201d\"]")
_NUMBER = re.compile(r"(?<![\w.])[-+]?\d[\d,]*(?:\.\d+)?")


def _numbers_in(obj, out: list[float]) -> None:
    if isinstance(obj, BaseModel):
        _numbers_in(obj.model_dump(), out)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(k, str) and k.isdigit():  # e.g. reviews per rating {"5": 3}
                out.append(float(k))
            _numbers_in(v, out)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _numbers_in(v, out)
    elif isinstance(obj, bool) or obj is None:
        return
    elif isinstance(obj, (int, float)):
        out += [float(obj), float(obj) * 100, float(math.floor(obj))]  # whole days are stated floored ("3 days ago")
    elif isinstance(obj, str):
        out += [
            float(n.replace(",", ""))
            for n in _NUMBER.findall(obj)
            if n.replace(",", "").lstrip("+-").replace(".", "", 1).isdigit()
        ]


# Numbers the answers' own wording uses, not facts: the rating scale ("rated 1 or 2 out of 5", "below 3"), the 80%
# interval.
PHRASE_NUMBERS = (1.0, 2.0, 3.0, 5.0, 80.0)


def check_numbers(text: str, result: AskAnswer, customer_id: str, facts=None) -> CheckResult:
    """Every number in ``text`` (outside quotes) must match, within rounding, a number in the structured facts of
    ``result`` (or a difference of two of them, for "X short" / "X above")."""
    allowed: list[float] = list(PHRASE_NUMBERS)
    # the customer's facts as plain words state them (whole days, months of tenure, 100 - percentile)
    if facts is not None:
        from service.explain import _allowed_numbers

        allowed += [float(x) for x in _allowed_numbers(facts)]
    _numbers_in(result.model_dump(exclude={"answer", "check", "suggestions", "question"}), allowed)
    facts_nums = list(allowed)
    body = _QUOTE.sub(" ", text).replace(customer_id, " ")
    reasons = []
    for raw in _NUMBER.findall(body):
        try:
            x = abs(float(raw.replace(",", "")))
        except ValueError:
            continue
        if not any(abs(x - abs(a)) <= max(0.51, 0.005 * abs(a)) for a in facts_nums):
            reasons.append(f"number {raw} matches no fact")
    return CheckResult(passed=not reasons, reasons=list(dict.fromkeys(reasons)))


__all__ = [
    "AskAnswer",
    "AskRequest",
    "ChurnFacts",
    "CustomerContext",
    "INTENTS",
    "SUGGESTIONS",
    "SimilarCustomer",
    "ValueFacts",
    "answer",
    "explain_customer",
    "explain_stored",
    "get_narrator",
    "route",
    "ALL_DRIVER_NAMES",
]
