"""The fact check: a narrative may state nothing the facts do not say.

Step three of an explanation (``service.explain``): every narrative, template or LLM, is checked against the facts
it was written from (``service.facts``) before an agent sees it. It fails when a number matches no fact (within
rounding), the customer's tier is not stated or another tier is claimed for them, a driver outside their top
drivers is named, a driver is said to move the value the wrong way, or a quotation is not verbatim from the
customer's own texts. Quoted customer texts are taken out before anything else is looked at, so words inside them
(an injected "treat them as VIP") never count as the narrative's own claims.
"""

from __future__ import annotations

import math
import re

from pydantic import BaseModel, Field

from service.drivers import HEADLINE
from service.facts import Facts
from service.plain import share

# Every driver family a narrative could name; naming one outside the customer's top drivers fails the check.
ALL_DRIVER_NAMES = set(HEADLINE)


class CheckResult(BaseModel):
    passed: bool = Field(description="True when every statement of the narrative matches the facts.")
    reasons: list[str] = Field(default_factory=list, description="Why the check failed (empty when it passed).")


_QUOTE = re.compile(r"[\u201c\"]([^\u201d\"]+)[\u201d\"]")
_NUMBER = re.compile(r"(?<![\w.])[-+]?\d[\d,]*(?:\.\d+)?")
_TIER_CLAIM = re.compile(r"\b(?:is|are|in the|as an?|as)\s+(VIP|High|Medium|Low)\b")
# Wider tier claims ("is a VIP", "treat them as a true VIP", "upgrade to VIP", "this VIP customer"): an obeyed
# injection rarely uses the template's own wording. Tier names are matched case-sensitively (except VIP), so
# "high churn risk" is no claim.
_TIER_NAME = r"(VIP|[Vv]ip|High|Medium|Low)"
_TIER_CLAIM_WIDE = re.compile(
    r"\b(?:is|are|be|being|been|becomes?|became|as|into|call(?:ed|s|ing)?|treat(?:ed|s|ing)?|label(?:l?ed|s)?|"
    r"classif(?:y|ied|ies)"
    r"|rank(?:ed|s)?|upgrade[ds]?|promote[ds]?|make[s]?|made|deserves?|qualif(?:y|ies|ied)|consider(?:ed|s)?|"
    r"count(?:ed|s)? as)\s+"
    r"(?:(?:him|her|them|it|this|that|the|customer|client|a|an|our|one|of|to|true|real|top|genuine|new|now|already|"
    r"clearly"
    r"|definitely|really|fully|tier|status|level)\s+){0,4}" + _TIER_NAME + r"\b"
)
_TIER_NOUN = re.compile(
    r"\b" + _TIER_NAME + r"[- ](?:tier|customer|client|status|member|level|segment|account|treatment|perks?)s?\b"
)
_VIP_ANY = re.compile(r"\bvip\b", re.I)
# A mention of another tier as a target or a threshold is no claim: "VIP starts at $153", "short of the VIP tier".
_TARGET_BEFORE = re.compile(
    r"(?:reach(?:es|ing)?|next|short of|below|under|above|away "
    r"from|gap|distance|close|closer|near|nearer|toward|towards"
    r"|from|than|up to|path to|way to)\W+(?:\w+\W+){0,2}$",
    re.I,
)
_THRESHOLD_AFTER = re.compile(
    r"^\W{0,3}(?:tier\W+)?(?:starts?|begins?|threshold|floor|cut-?off|requires?|needs?|is reached|at \$|would)", re.I
)
_UP = re.compile(r"\b(adds?|lifts?|raises?|increases?|pushes? up|boosts?)\b", re.I)
_DOWN = re.compile(r"\b(takes? off|lowers?|reduces?|holds? back|pulls? down|subtracts?|cuts?)\b", re.I)


def allowed_numbers(f: Facts) -> list[float]:
    nums = [
        f.predicted_value,
        f.value_rank_pct,
        f.horizon_days,
        f.churn_probability * 100,
        f.churn_probability,
        5.0,
        80.0,
        90.0,
    ]
    nums += [x for x in (f.tier_floor, f.next_tier_floor) if x is not None]
    if not 0.01 <= f.churn_probability <= 0.99:  # "under 1%" / "over 99%" (service.plain.chance), either side
        nums += [1.0, 99.0]
    nums += list(f.figures.values()) + list(f.value_interval or [])
    for d in f.drivers:
        nums += [abs(d.contribution), d.contribution]
        if d.value is not None:  # as stated in plain words: whole counts and days, months and years of tenure
            v = d.value
            nums += [v, math.floor(v), round(v), round(v / 30.44), v // 365.25]
        if d.percentile is not None:  # "more than 97% of customers", "more recently than 98% of customers"
            nums += [d.percentile, 100 - d.percentile, share(d.percentile), share(100 - d.percentile)]
        if d.churn_contribution is not None:
            nums += [abs(d.churn_contribution) * 100]
    return nums


def exact_numbers(f: Facts) -> set[float]:
    """Numbers taken from text (the playbook's own numbers, the parts of dates, the ratings in the evidence labels):
    stated exactly or not at all. Within rounding, the year 2025 would let any amount from $2,015 to $2,035 pass."""
    texts = [f.next_action or "", f.next_order_date or ""] + [e.source for e in f.evidence]
    return {float(n.replace(",", "")) for text in texts for n in _NUMBER.findall(text)}


def _matches(x: float, allowed: list[float], exact: set[float] | frozenset[float] = frozenset()) -> bool:
    # Within rounding: the narrative may round to whole units or to one decimal, as people do.
    return x in exact or any(abs(x - a) <= max(0.51, 0.005 * abs(a)) or abs(x - round(a)) < 1e-9 for a in allowed)


def strip_quotes(narrative: str, texts: list[str], quotes: list[str]) -> tuple[str, list[str]]:
    """Replace every quotation of a customer text by a blank; return the rest and the quotes found.

    Known texts and declared quotes are removed first, longest first, so a customer text that itself
    contains quotation marks cannot leak its words into the unquoted part; the rest by pattern.
    """
    found: list[str] = []
    for q in sorted({t for t in [*texts, *quotes] if t and t.strip()}, key=len, reverse=True):
        for wrapped in (f"\u201c{q}\u201d", f'"{q}"'):
            if wrapped in narrative:
                found.append(q)
                narrative = narrative.replace(wrapped, " ")
    found += _QUOTE.findall(narrative)
    return _QUOTE.sub(" ", narrative), found


def other_tier_claims(unquoted: str, tier: str) -> set[str]:
    claims: set[str] = set(_TIER_CLAIM.findall(unquoted)) - {tier}
    spans = [(m.group(1), m.start(1), m.end(1), True) for m in _TIER_CLAIM_WIDE.finditer(unquoted)]
    spans += [(m.group(1), m.start(1), m.end(1), False) for m in _TIER_NOUN.finditer(unquoted)]
    if tier != "VIP":
        spans += [("VIP", m.start(), m.end(), False) for m in _VIP_ANY.finditer(unquoted)]
    for name, start, end, verb in spans:
        name = "VIP" if name.lower() == "vip" else name
        if name == tier:
            continue
        before, after = unquoted[max(0, start - 40) : start], unquoted[end : end + 30]
        if _THRESHOLD_AFTER.search(after) or (not verb and _TARGET_BEFORE.search(before)):
            continue
        if (
            verb
            and _TARGET_BEFORE.search(before)
            and not re.search(
                r"\b(?:is|are|as|call|treat|label|upgrade|promote)\w*\W+(?:\w+\W+){0,3}$", before[-25:], re.I
            )
        ):
            continue
        claims.add(name)
    return claims


def check_narrative(
    narrative: str, facts: Facts, all_driver_names: set[str] | None = None, quotes: list[str] | None = None
) -> CheckResult:
    """Every number, tier, driver direction and quote in ``narrative`` must match ``facts``.

    ``quotes``: the quotations the narrator declares it made (an LLM narrator knows them exactly); they
    are verified like any other quote, and let quotes containing quotation marks be found whole.
    """
    reasons: list[str] = []
    evidence_texts = [e.text for e in facts.evidence]
    unquoted, found = strip_quotes(narrative, evidence_texts, quotes or [])
    for q in found:
        if not q.strip() or not any(q.strip() in t for t in evidence_texts):
            reasons.append(f"quote not found verbatim in the customer's texts: \u201c{q[:80]}\u201d")
    unquoted = unquoted.replace(facts.customer_id, " ")
    allowed, exact = allowed_numbers(facts), exact_numbers(facts)
    for raw in _NUMBER.findall(unquoted):
        try:
            x = float(raw.replace(",", ""))
        except ValueError:
            continue
        if not _matches(x, allowed, exact):
            reasons.append(f"number {raw} matches no fact")
    if facts.tier not in unquoted:
        reasons.append(f"the customer's tier ({facts.tier}) is not stated")
    wrong = other_tier_claims(unquoted, facts.tier)
    if wrong:
        reasons.append(f"states tier {', '.join(sorted(wrong))} but the customer is {facts.tier}")
    reasons += _driver_reasons(unquoted, facts, all_driver_names or set())
    return CheckResult(passed=not reasons, reasons=list(dict.fromkeys(reasons)))


def _driver_reasons(unquoted: str, facts: Facts, all_driver_names: set[str]) -> list[str]:
    """Sentence by sentence: drivers named that are not among the customer's top drivers, and top drivers said to
    move the value the other way than their contribution does."""
    reasons: list[str] = []
    known = {d.name: d for d in facts.drivers}
    for sentence in re.split(r"(?<=[.;!?])\s+|\n", unquoted):
        for name in sorted(all_driver_names, key=len, reverse=True):
            if re.search(rf"\b{re.escape(name)}\b", sentence, re.I) and name not in known:
                reasons.append(f"names driver '{name}', which is not among the customer's top drivers")
        for name, d in known.items():
            if not re.search(rf"\b{re.escape(name)}\b", sentence, re.I):
                continue
            up, down = bool(_UP.search(sentence)), bool(_DOWN.search(sentence))
            # one clear direction in the sentence, and it is the wrong one
            if up != down and (d.contribution > 0) != up:
                reasons.append(
                    f"driver '{name}' is said to {'raise' if up else 'lower'} the value, but its contribution is "
                    f"{d.contribution:+,.2f}"
                )
    return reasons
