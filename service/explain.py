"""Explanations: facts first (deterministic, from the stored profile), prose second (a narrator), then a
faithfulness check of the prose against the facts.

The facts are the only source a narrator may use. Customer texts appear in them as evidence, i.e.
data to quote, never instructions: the template narrator only ever quotes them inside quotation
marks, and the check refuses any narrative whose tier, numbers, driver directions or quotes do not
match the facts.
"""
from __future__ import annotations

import re
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from service.drivers import HEADLINE, UNITS
from service.tiers import TIER_ORDER

TOP_DRIVERS = 5


class Driver(BaseModel):
    name: str = Field(description="Readable driver family, e.g. 'frequency' or 'review text'.", examples=["frequency"])
    value: float | None = Field(description="The customer's raw value of the family's headline feature.", examples=[14.0])
    contribution: float = Field(description="Signed contribution to predicted value, in currency (SHAP, scaled from margin).", examples=[420.1])
    percentile: float | None = Field(default=None, description="Peer percentile (0-100) of the raw value among scored customers.", examples=[98.5])
    feature: str | None = Field(default=None, description="The headline feature behind the value.", examples=["frequency"])
    unit: str | None = Field(default=None, description="What the value counts.", examples=["purchases"])
    churn_contribution: float | None = Field(default=None, description="Signed contribution to churn probability, in probability points.", examples=[-0.04])


class Evidence(BaseModel):
    text: str = Field(description="Verbatim text written or browsed by the customer.", examples=["Bulk order for our office again, arrived on time."])
    source: str = Field(description="Where the text comes from: review (with date and rating) or browsing (with event type and date).", examples=["review 2025-11-02, 5/5"])


class CheckResult(BaseModel):
    passed: bool = Field(description="True when every statement of the narrative matches the facts.")
    reasons: list[str] = Field(default_factory=list, description="Why the check failed (empty when it passed).")


class Facts(BaseModel):
    customer_id: str
    tier: str
    predicted_value: float
    horizon_days: int
    currency: str
    value_rank_pct: float = Field(description="Share of scored customers with a lower predicted value, in percent.")
    tier_floor: float | None = Field(description="Lowest predicted value of the customer's tier (None for Low).")
    next_tier: str | None
    next_tier_floor: float | None
    churn_probability: float
    rfm_segment: str
    drivers: list[Driver]
    evidence: list[Evidence]
    model_version: str
    scored_at: str


class Explanation(BaseModel):
    """The contract of `insight explain ID --json` and `GET /v1/customers/{id}/explanation`."""

    customer_id: str = Field(examples=["C000042"])
    tier: str = Field(examples=["VIP"])
    predicted_value: float = Field(description="Expected spend over the horizon, in currency.", examples=[1234.56])
    narrative: str = Field(description="Plain-language answer to 'why is this customer in this tier'.")
    drivers: list[Driver]
    evidence: list[Evidence]
    narrator: Literal["template", "openai", "hf"] = Field(description="Which narrator wrote the narrative that is returned.")
    check: CheckResult
    fallback: bool = Field(description="True when an LLM narrative failed the check and was replaced by the template.")
    model_version: str
    horizon_days: int
    churn_probability: float
    rfm_segment: str


def facts_from_profile(profile: dict, meta: dict, top: int = TOP_DRIVERS) -> Facts:
    """Build the facts of one stored profile (a row of the profile store) and the store metadata."""
    thresholds = meta["tiers"]["thresholds"]
    tier = profile["tier"]
    idx = TIER_ORDER.index(tier)
    next_tier = TIER_ORDER[idx - 1] if idx > 0 else None
    drivers = [Driver(unit=UNITS.get(d.get("feature") or ""), **{k: d.get(k) for k in ("name", "value", "contribution", "percentile", "feature", "churn_contribution")})
               for d in profile["profile"]["drivers"][:top]]
    return Facts(
        customer_id=profile["customer_id"], tier=tier, predicted_value=round(profile["predicted_value"], 2),
        horizon_days=int(meta["horizon_days"]), currency=meta.get("currency", "$"),
        value_rank_pct=round(profile["value_rank_pct"], 1),
        tier_floor=round(thresholds[tier], 2) if tier in thresholds else None,
        next_tier=next_tier, next_tier_floor=round(thresholds[next_tier], 2) if next_tier else None,
        churn_probability=round(profile["churn_probability"], 4), rfm_segment=profile["rfm_segment"],
        drivers=drivers, evidence=[Evidence(**e) for e in profile["profile"].get("evidence", [])],
        model_version=profile["model_version"], scored_at=profile["scored_at"],
    )


# ----------------------------------------------------------------------------- narrators


class Narrator(Protocol):
    name: str

    def narrate(self, facts: Facts, question: str | None = None) -> str: ...


def money(x: float, currency: str) -> str:
    return f"{currency}{abs(x):,.2f}"


MONEY_FEATURES = {"monetary_total", "avg_order_value", "max_order_value", "spend_recent", "spend_prior"}


def _driver_phrase(d: Driver, currency: str) -> str:
    if d.value is None:
        return d.name
    if d.feature in MONEY_FEATURES:
        value = money(d.value, currency)
    else:
        value = f"{d.value:,.0f}" if abs(d.value) >= 10 or float(d.value).is_integer() else f"{d.value:,.2f}"
    pct = f", {d.percentile:.0f}th percentile" if d.percentile is not None else ""
    return f"{d.name} ({value} {d.unit or ''}{pct})".replace(" ,", ",").replace("  ", " ")


class TemplateNarrator:
    """Deterministic prose from the facts alone; the offline default and the fallback of every LLM narrator."""

    name = "template"

    def narrate(self, facts: Facts, question: str | None = None) -> str:
        c = facts.currency
        lines = [
            f"Customer {facts.customer_id} is in the {facts.tier} tier: the model expects {money(facts.predicted_value, c)} "
            f"of spend in the next {facts.horizon_days} days, more than {facts.value_rank_pct:.1f}% of scored customers."
        ]
        if facts.tier_floor is not None and facts.next_tier:
            lines.append(f"{facts.tier} starts at {money(facts.tier_floor, c)}; {facts.next_tier} starts at {money(facts.next_tier_floor, c)}.")
        elif facts.tier_floor is not None:
            lines.append(f"{facts.tier} starts at {money(facts.tier_floor, c)}.")
        elif facts.next_tier:
            lines.append(f"{facts.next_tier} starts at {money(facts.next_tier_floor, c)}.")
        ups = [d for d in facts.drivers if d.contribution > 0]
        downs = [d for d in facts.drivers if d.contribution < 0]
        if ups:
            lines.append("What lifts the prediction: " + "; ".join(f"{_driver_phrase(d, c)} adds {money(d.contribution, c)}" for d in ups) + ".")
        if downs:
            lines.append("What holds it back: " + "; ".join(f"{_driver_phrase(d, c)} takes off {money(d.contribution, c)}" for d in downs) + ".")
        lines.append(f"Churn risk: {facts.churn_probability * 100:.0f}% chance of no purchase in the next {facts.horizon_days} days (RFM segment: {facts.rfm_segment}).")
        quotes = facts.evidence[:2]
        if quotes:
            lines.append("In the customer's own words: " + " ".join(f"\u201c{e.text}\u201d ({e.source})." for e in quotes))
        return "\n".join(lines)


# ----------------------------------------------------------------------------- faithfulness check

_QUOTE = re.compile(r"[\u201c\"]([^\u201d\"]+)[\u201d\"]")
_NUMBER = re.compile(r"(?<![\w.])[-+]?\d[\d,]*(?:\.\d+)?")
_TIER_CLAIM = re.compile(r"\b(?:is|are|in the|as an?|as)\s+(VIP|High|Medium|Low)\b")
_UP = re.compile(r"\b(adds?|lifts?|raises?|increases?|pushes? up|boosts?)\b", re.I)
_DOWN = re.compile(r"\b(takes? off|lowers?|reduces?|holds? back|pulls? down|subtracts?|cuts?)\b", re.I)


def _allowed_numbers(f: Facts) -> list[float]:
    nums = [f.predicted_value, f.value_rank_pct, f.horizon_days, f.churn_probability * 100, f.churn_probability]
    nums += [x for x in (f.tier_floor, f.next_tier_floor) if x is not None]
    for d in f.drivers:
        nums += [abs(d.contribution), d.contribution]
        nums += [x for x in (d.value, d.percentile) if x is not None]
        if d.churn_contribution is not None:
            nums += [abs(d.churn_contribution) * 100]
    for e in f.evidence:  # dates and ratings in the source labels
        nums += [float(n.replace(",", "")) for n in _NUMBER.findall(e.source)]
    return nums


def _matches(x: float, allowed: list[float]) -> bool:
    # Within rounding: the narrative may round to whole units or to one decimal, as people do.
    return any(abs(x - a) <= max(0.51, 0.005 * abs(a)) or abs(x - round(a)) < 1e-9 for a in allowed)


def check_narrative(narrative: str, facts: Facts, all_driver_names: set[str] | None = None) -> CheckResult:
    """Every number, tier, driver direction and quote in ``narrative`` must match ``facts``."""
    reasons: list[str] = []
    evidence_texts = [e.text for e in facts.evidence]
    quotes = _QUOTE.findall(narrative)
    for q in quotes:
        if not any(q.strip() in t for t in evidence_texts):
            reasons.append(f"quote not found verbatim in the customer's texts: \u201c{q[:80]}\u201d")
    unquoted = _QUOTE.sub(" ", narrative).replace(facts.customer_id, " ")
    allowed = _allowed_numbers(facts)
    for raw in _NUMBER.findall(unquoted):
        try:
            x = float(raw.replace(",", ""))
        except ValueError:
            continue
        if not _matches(x, allowed):
            reasons.append(f"number {raw} matches no fact")
    claimed = set(_TIER_CLAIM.findall(unquoted))
    if facts.tier not in unquoted:
        reasons.append(f"the customer's tier ({facts.tier}) is not stated")
    wrong = claimed - {facts.tier}
    if wrong:
        reasons.append(f"states tier {', '.join(sorted(wrong))} but the customer is {facts.tier}")
    known = {d.name: d for d in facts.drivers}
    for sentence in re.split(r"(?<=[.;!?])\s+|\n", unquoted):
        for name in sorted(all_driver_names or set(), key=len, reverse=True):
            if re.search(rf"\b{re.escape(name)}\b", sentence, re.I) and name not in known:
                reasons.append(f"names driver '{name}', which is not among the customer's top drivers")
        for name, d in known.items():
            if not re.search(rf"\b{re.escape(name)}\b", sentence, re.I):
                continue
            up, down = bool(_UP.search(sentence)), bool(_DOWN.search(sentence))
            if up != down:  # one clear direction in the sentence
                if (d.contribution > 0) != up:
                    reasons.append(f"driver '{name}' is said to {'raise' if up else 'lower'} the value, but its contribution is {d.contribution:+,.2f}")
    return CheckResult(passed=not reasons, reasons=list(dict.fromkeys(reasons)))


ALL_DRIVER_NAMES = set(HEADLINE)


def explain_facts(facts: Facts, narrator: Narrator, question: str | None = None) -> Explanation:
    """Narrate, check, and fall back to the template narrative when an LLM narrative fails the check."""
    narrative = narrator.narrate(facts, question)
    check = check_narrative(narrative, facts, ALL_DRIVER_NAMES)
    used, fallback = narrator.name, False
    if not check.passed and narrator.name != TemplateNarrator.name:
        narrative = TemplateNarrator().narrate(facts, question)
        used, fallback = TemplateNarrator.name, True
        # The reasons of the rejected LLM narrative are kept: they are what the caller needs to see.
        check = CheckResult(passed=False, reasons=check.reasons)
    return Explanation(customer_id=facts.customer_id, tier=facts.tier, predicted_value=facts.predicted_value,
                       narrative=narrative, drivers=facts.drivers, evidence=facts.evidence, narrator=used, check=check,
                       fallback=fallback, model_version=facts.model_version, horizon_days=facts.horizon_days,
                       churn_probability=facts.churn_probability, rfm_segment=facts.rfm_segment)


def explain_profile(profile: dict, meta: dict, narrator: Narrator) -> Explanation:
    return explain_facts(facts_from_profile(profile, meta), narrator)
