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
import re
from dataclasses import dataclass, field
from typing import Callable, Literal

from pydantic import BaseModel, Field

from service.explain import (ALL_DRIVER_NAMES, CheckResult, Driver, Evidence, Explanation, Narrator, TemplateNarrator,
                             _driver_phrase, explain_facts, facts_from_profile, money)
from service.drivers import UNITS
from service.privacy import redact, redact_profile
from service.tiers import TIER_ORDER
from service.whatif import WhatIf, WhatIfError, what_if

Intent = Literal["why_tier", "churn", "upgrade", "similar", "value", "evidence", "contact", "unsupported"]
INTENTS: tuple[str, ...] = ("why_tier", "churn", "upgrade", "similar", "value", "evidence", "contact", "unsupported")

SUGGESTIONS = [
    "Why is this customer VIP?",
    "Is this customer about to churn?",
    "What would move them up a tier?",
    "Who else is like this customer?",
    "How much will they spend in the next quarter?",
    "What did they write in their reviews?",
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

    profile, meta = ProfileStore.read_profile(store, customer_id)
    return explain_customer(profile, meta, narrator or get_narrator(), mask=mask)


# ----------------------------------------------------------------------------- routing

_TIER_WORD = r"(VIP|High|Medium|Low)"
_RULES: list[tuple[str, re.Pattern]] = [
    # Instructions aimed at the answering machinery are not questions about the customer.
    ("unsupported", re.compile(r"\b(ignore|disregard|forget|override)\b.{0,40}\b(instructions?|rules|above|previous|prompt|guidelines)\b|"
                               r"\b(system prompt|jailbreak|pretend (to be|you are)|act as|you are now)\b", re.I)),
    ("contact", re.compile(r"\b(e-?mails?|e-?mail address|phone|telephone|mobile number|cell number|contact (details|info\w*)|"
                           r"home address|postal address|(street )?address|credit card|card number|iban|password|date of birth)\b", re.I)),
    ("upgrade", re.compile(r"\b(what would (it take|move|get|make|push|bring)|what (does|do) (it|they|he|she) (take|need)|"
                           r"move (him|her|them|this customer|the customer)?\s*(up|to|into)|upgrade\w*|promot\w*|bump\w*|"
                           r"next tier|higher tier|tier up|up a tier|level up|get (him|her|them) (to|into)|reach\w*|become|"
                           r"what if|how (can|could|do|would) (we|i|they|he|she) (increase|raise|grow|boost|lift|improve|get)|"
                           r"(increase|raise|grow|boost|lift) (his|her|their|the) (value|tier|spend))\b", re.I)),
    ("similar", re.compile(r"\b(similar|alike|look-?alikes?|(customers|others|people|anyone|who) (else )?like (this|him|her|them)|"
                           r"who else|peers|neighbou?rs|comparable|resembl\w*)\b", re.I)),
    ("churn", re.compile(r"\b(churn\w*|leav(e|es|ing)|lose|losing|lost|at risk|risk\w*|stop(s|ped)? (buying|ordering|shopping|purchasing)|"
                         r"come back|coming back|buy again|order again|retain\w*|retention|lapse\w*|inactive|drop(ping)? off|"
                         r"going away|about to go|still (active|buying|around)|slipping|dormant)\b", re.I)),
    ("why_tier", re.compile(r"\b(why|how come|explain\w*|reasons?|what makes|driv(e|es|ers?|ing)|factors?|tier|segment|rfm|"
                            r"is (he|she|it|they|this customer|the customer) (a |an )?(vip|high|medium|low))\b", re.I)),
    ("value", re.compile(r"\b(how much|spend\w*|value|worth|predict\w*|forecast\w*|expect\w*|revenue|clv|ltv|lifetime|"
                         r"next (quarter|month|90 days)|big spender)\b", re.I)),
    ("evidence", re.compile(r"\b((did|does|do) (he|she|they|this customer|the customer) (say|write|think|feel|browse|search|look)|"
                            r"said|wrote|written|reviews?|own words|feedback|complain\w*|quotes?|opinions?|browsed|searched|"
                            r"look(ed|ing) at|interested in)\b", re.I)),
]


@dataclass
class Route:
    intent: str
    tier: str | None = None  # a tier named in the question ("why is she VIP?", "move them to High")


def named_tier(question: str) -> str | None:
    """A tier the question names: VIP anywhere; High/Medium/Low when capitalised, or next to 'tier' or after 'to/into/reach'."""
    m = re.search(r"\bVIP\b", question, re.I)
    if m:
        return "VIP"
    for pat in (rf"\b{_TIER_WORD}\b(?=[\s-]*(tier|value|segment|customer))", rf"\b(?:to|into|reach|become|the)\s+{_TIER_WORD}\b"):
        m = re.search(pat, question, re.I)
        if m:
            return m.group(1).capitalize()
    m = re.search(r"\b(High|Medium|Low)\b", question)  # capitalised as a tier name
    return m.group(1) if m else None


def route(question: str) -> Route:
    """The intent of ``question`` (first matching rule wins; the order of _RULES is the priority)."""
    for intent, pattern in _RULES:
        if pattern.search(question):
            return Route(intent, named_tier(question))
    if named_tier(question):  # "VIP?" alone: a question about the tier
        return Route("why_tier", named_tier(question))
    return Route("unsupported")


# ----------------------------------------------------------------------------- answer models


class SimilarCustomer(BaseModel):
    customer_id: str = Field(description="A customer near this one in the fused behaviour + text space.", examples=["C000917"])
    similarity: float = Field(description="Cosine similarity to the customer (1 = identical vectors).", examples=[0.962])
    tier: str | None = Field(description="The similar customer's tier (None when not in the store).", examples=["VIP"])
    predicted_value: float | None = Field(description="The similar customer's predicted spend over the horizon.", examples=[512.4])
    churn_probability: float | None = Field(description="The similar customer's churn probability.", examples=[0.08])
    rfm_segment: str | None = Field(description="The similar customer's RFM segment.", examples=["Champions"])


class ChurnDriver(BaseModel):
    name: str = Field(description="Driver family.", examples=["recency"])
    value: float | None = Field(description="The customer's raw value of the family's headline feature.", examples=[64.0])
    unit: str | None = Field(description="What the value counts.", examples=["days since last purchase"])
    percentile: float | None = Field(description="Peer percentile (0-100) of the raw value among scored customers.", examples=[81.5])
    churn_contribution: float = Field(description="Signed contribution to churn probability, in probability points (0.05 = +5 points).", examples=[0.05])


class ChurnFacts(BaseModel):
    churn_probability: float = Field(description="Probability of no purchase over the horizon.", examples=[0.34])
    population_churn_probability: float | None = Field(description="Mean churn probability of all scored customers.", examples=[0.71])
    horizon_days: int = Field(description="Horizon in days.", examples=[90])
    rfm_segment: str = Field(description="RFM segment.", examples=["Loyal"])
    recency_days: float | None = Field(description="Days since the last purchase at the cutoff.", examples=[12.5])
    usual_gap_days: float | None = Field(description="Mean days between the customer's purchases.", examples=[21.0])
    raises_risk: list[ChurnDriver] = Field(description="Drivers that raise the churn probability, largest first.")
    lowers_risk: list[ChurnDriver] = Field(description="Drivers that lower the churn probability, largest first.")


class ValueFacts(BaseModel):
    tier: str = Field(description="Tier.", examples=["High"])
    predicted_value: float = Field(description="Predicted spend over the horizon.", examples=[118.6])
    horizon_days: int = Field(description="Horizon in days.", examples=[90])
    value_rank_pct: float = Field(description="Share of scored customers with a lower prediction, in percent.", examples=[91.3])
    tier_floor: float | None = Field(description="Lowest predicted value of the tier (None for Low).", examples=[19.91])
    next_tier: str | None = Field(description="The tier above (None for VIP).", examples=["VIP"])
    next_tier_floor: float | None = Field(description="Lowest predicted value of the tier above.", examples=[153.02])
    rfm_segment: str = Field(description="RFM segment.", examples=["Loyal"])
    spent_to_date: float | None = Field(description="Spend before the cutoff (purchases only).", examples=[1412.5])
    purchases: float | None = Field(description="Purchases before the cutoff.", examples=[14.0])


class AskRequest(BaseModel):
    customer_id: str = Field(min_length=1, max_length=128, description="The customer the question is about.", examples=["C000127"])
    question: str = Field(min_length=1, max_length=500, description="The agent's question, in plain words.", examples=["Why is she VIP?"])


class AskAnswer(BaseModel):
    """A grounded answer: the prose plus the facts it was built from."""

    customer_id: str = Field(description="The customer the answer is about.", examples=["C000127"])
    question: str = Field(description="The question as asked (contact data masked).", examples=["Why is she VIP?"])
    intent: Intent = Field(description="What the question was understood to ask.", examples=["why_tier"])
    supported: bool = Field(description="False when the question is outside what can be answered from the facts.", examples=[True])
    answer: str = Field(description="The answer in plain words, built only from the facts below.",
                        examples=["Customer C000127 is in the VIP tier: the model expects $5,276.30 of spend in the next 90 days, ..."])
    tier: str = Field(description="The customer's tier.", examples=["VIP"])
    explanation: Explanation | None = Field(default=None, description="For why_tier: the full explanation (same as the explanation endpoint).")
    churn: ChurnFacts | None = Field(default=None, description="For churn: the churn facts.")
    what_if: WhatIf | None = Field(default=None, description="For upgrade: the model's re-predictions under simple actions.")
    similar: list[SimilarCustomer] | None = Field(default=None, description="For similar: the nearest customers.")
    value: ValueFacts | None = Field(default=None, description="For value: predicted spend, rank and tier floors.")
    evidence: list[Evidence] | None = Field(default=None, description="For evidence: the customer's own words (masked).")
    suggestions: list[str] = Field(default_factory=list, description="Questions that can be asked (for unsupported questions).",
                                   examples=[SUGGESTIONS[:3]])
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


def answer(question: str, ctx: CustomerContext) -> AskAnswer:
    profile = redact_profile(ctx.profile) if ctx.mask else ctx.profile
    q_shown = redact(question) if ctx.mask else question
    r = route(question)
    facts = facts_from_profile(profile, ctx.meta)
    base = dict(customer_id=facts.customer_id, question=q_shown, intent=r.intent, tier=facts.tier, model_version=facts.model_version)
    handler = _HANDLERS[r.intent]
    out = handler(r, facts, profile, ctx)
    text, extra = out
    data = {k: v for k, v in extra.items()}
    supported = r.intent not in ("unsupported", "contact")
    result = AskAnswer(**base, supported=supported, answer=text,
                       suggestions=[] if supported else SUGGESTIONS, check=CheckResult(passed=True), **data)
    if r.intent == "why_tier" and result.explanation is not None:
        # The explanation's own faithfulness check covers the narrative; the short preface only names tiers.
        result.check = result.explanation.check
    else:
        result.check = check_numbers(text, result, facts.customer_id)
    return result


def _c(facts) -> str:
    return facts.currency


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


def _churn(r: Route, facts, profile, ctx):
    drivers = [Driver(unit=UNITS.get(d.get("feature") or ""),
                      **{k: d.get(k) for k in ("name", "value", "contribution", "percentile", "feature", "churn_contribution")})
               for d in profile["profile"]["drivers"]]

    def cd(d: Driver) -> ChurnDriver:
        return ChurnDriver(name=d.name, value=d.value, unit=d.unit, percentile=d.percentile, churn_contribution=d.churn_contribution or 0.0)

    ups = sorted([d for d in drivers if (d.churn_contribution or 0) >= 0.005], key=lambda d: -(d.churn_contribution or 0))[:3]
    downs = sorted([d for d in drivers if (d.churn_contribution or 0) <= -0.005], key=lambda d: d.churn_contribution or 0)[:3]
    feats = profile["profile"].get("features") or {}
    cf = ChurnFacts(churn_probability=facts.churn_probability, population_churn_probability=_r4(ctx.population_churn),
                    horizon_days=facts.horizon_days, rfm_segment=facts.rfm_segment, recency_days=_r4(feats.get("recency_days")),
                    usual_gap_days=_r4(feats.get("ipi_mean_days")), raises_risk=[cd(d) for d in ups], lowers_risk=[cd(d) for d in downs])
    c = _c(facts)
    p = facts.churn_probability * 100
    s = [f"{facts.customer_id} ({facts.tier} tier) has a {p:.0f}% chance of making no purchase in the next {facts.horizon_days} days"]
    if cf.population_churn_probability is not None:
        avg = cf.population_churn_probability * 100
        rel = "below" if p < avg - 0.5 else "above" if p > avg + 0.5 else "about"
        s[0] += f", {rel} the average of {avg:.0f}% across scored customers"
    s[0] += f" (RFM segment: {facts.rfm_segment})."
    if cf.recency_days is not None:
        line = f"Last purchase {_days(cf.recency_days)} before the cutoff"
        if cf.usual_gap_days is not None:
            line += f"; they usually buy every {_days(cf.usual_gap_days)}"
        s.append(line + ".")
    if ups:
        s.append("What raises the risk: " + "; ".join(f"{_driver_phrase(d, c)} +{(d.churn_contribution or 0) * 100:.0f} points" for d in ups) + ".")
    if downs:
        s.append("What lowers it: " + "; ".join(f"{_driver_phrase(d, c)} -{abs(d.churn_contribution or 0) * 100:.0f} points" for d in downs) + ".")
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
        s.append(f"{facts.customer_id} is already in the top tier (VIP): the model expects {money(w.predicted_value, c)} "
                 f"over the next {w.horizon_days} days, and VIP starts at {money(w.tier_floor, c)}.")
        return " ".join(s), {"what_if": w}
    if r.tier and TIER_ORDER.index(r.tier) >= TIER_ORDER.index(facts.tier):
        s.append(f"{facts.customer_id} is already {facts.tier}, at or above {r.tier}; looking at the next tier up instead.")
    s.append(f"To reach {w.target_tier} (starts at {money(w.target_floor, c)}), {facts.customer_id} is {money(w.gap, c)} short: "
             f"the model expects {money(w.predicted_value, c)} over the next {w.horizon_days} days today ({facts.tier}).")
    s.append("Re-running the model with each change:")
    for sc in w.scenarios:
        verdict = f"reaches {w.target_tier}" if sc.reaches_target else f"stays {sc.tier}" if sc.tier == facts.tier else f"moves to {sc.tier}, not enough"
        if sc.value_change < 0:
            verdict += ", lower than today"
        drv = ", ".join(f"{d.name} {'+' if d.change >= 0 else '-'}{money(d.change, c)}" for d in sc.drivers[:4])
        s.append(f"- {sc.description}: {money(sc.predicted_value, c)} ({verdict}); churn risk {sc.churn_probability * 100:.0f}%"
                 + (f"; moved by {drv}" if drv else "") + ".")
    if w.best is not None:
        s.append(f"Smallest change that gets there: {w.best.description}.")
    else:
        best = max(w.scenarios, key=lambda x: x.predicted_value)
        s.append(f"None of these reaches {w.target_tier}; the closest is {best.description} at {money(best.predicted_value, c)}.")
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


def _value(r: Route, facts, profile, ctx):
    c = _c(facts)
    feats = profile["profile"].get("features") or {}
    vf = ValueFacts(tier=facts.tier, predicted_value=facts.predicted_value, horizon_days=facts.horizon_days, value_rank_pct=facts.value_rank_pct,
                    tier_floor=facts.tier_floor, next_tier=facts.next_tier, next_tier_floor=facts.next_tier_floor, rfm_segment=facts.rfm_segment,
                    spent_to_date=_r4(feats.get("monetary_total")), purchases=_r4(feats.get("frequency")))
    s = [f"The model expects {facts.customer_id} to spend {money(facts.predicted_value, c)} in the next {facts.horizon_days} days, "
         f"more than {facts.value_rank_pct:.1f}% of scored customers; that puts them in the {facts.tier} tier."]
    if facts.tier_floor is not None:
        s.append(f"{facts.tier} starts at {money(facts.tier_floor, c)}" + (f"; {facts.next_tier} starts at {money(facts.next_tier_floor, c)}." if facts.next_tier else "."))
    elif facts.next_tier:
        s.append(f"{facts.next_tier} starts at {money(facts.next_tier_floor, c)}.")
    if vf.spent_to_date is not None and vf.purchases is not None:
        s.append(f"So far: {vf.purchases:.0f} purchases, {money(vf.spent_to_date, c)} spent (RFM segment: {facts.rfm_segment}).")
    return " ".join(s), {"value": vf}


def _evidence(r: Route, facts, profile, ctx):
    ev = facts.evidence
    if not ev:
        return (f"{facts.customer_id} ({facts.tier}) has no reviews or browsing texts on record.", {"evidence": []})
    return (f"In {facts.customer_id}'s own words ({facts.tier} tier): " + " ".join(f"\u201c{e.text}\u201d ({e.source})." for e in ev),
            {"evidence": ev})


def _contact(r: Route, facts, profile, ctx):
    return (f"I can't share contact details: e-mail addresses and phone numbers are masked in this service. "
            f"About {facts.customer_id} I can answer: " + "; ".join(SUGGESTIONS), {})


def _unsupported(r: Route, facts, profile, ctx):
    return (f"I can only answer from the model's facts about {facts.customer_id}: why they are in their tier, their churn risk, "
            f"what would move them up a tier, who is similar, their predicted spend and what they wrote. "
            f"That question is not one of these, so I won't guess. Try: " + " / ".join(f"\u201c{s}\u201d" for s in SUGGESTIONS[:4]), {})


_HANDLERS = {"why_tier": _why, "churn": _churn, "upgrade": _upgrade, "similar": _similar, "value": _value,
             "evidence": _evidence, "contact": _contact, "unsupported": _unsupported}


def _days(x: float) -> str:
    text = f"{x:,.0f}" if abs(x) >= 10 else f"{x:.1f}"
    return f"{text} day" if text == "1.0" else f"{text} days"


def _r4(x) -> float | None:
    return None if x is None else round(float(x), 4)


# ----------------------------------------------------------------------------- grounding check

_QUOTE = re.compile(r"[\u201c\"]([^\u201d\"]+)[\u201d\"]")
_NUMBER = re.compile(r"(?<![\w.])[-+]?\d[\d,]*(?:\.\d+)?")


def _numbers_in(obj, out: list[float]) -> None:
    if isinstance(obj, BaseModel):
        _numbers_in(obj.model_dump(), out)
    elif isinstance(obj, dict):
        for v in obj.values():
            _numbers_in(v, out)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _numbers_in(v, out)
    elif isinstance(obj, bool) or obj is None:
        return
    elif isinstance(obj, (int, float)):
        out += [float(obj), float(obj) * 100]
    elif isinstance(obj, str):
        out += [float(n.replace(",", "")) for n in _NUMBER.findall(obj) if n.replace(",", "").lstrip("+-").replace(".", "", 1).isdigit()]


def check_numbers(text: str, result: AskAnswer, customer_id: str) -> CheckResult:
    """Every number in ``text`` (outside quotes) must match, within rounding, a number in the structured facts of ``result``
    (or a difference of two of them, for "X short" / "X above")."""
    allowed: list[float] = []
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


__all__ = ["AskAnswer", "AskRequest", "ChurnFacts", "CustomerContext", "INTENTS", "SUGGESTIONS", "SimilarCustomer", "ValueFacts",
           "answer", "explain_customer", "explain_stored", "get_narrator", "route", "ALL_DRIVER_NAMES"]
