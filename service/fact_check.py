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

from service.claim_actions import action_reasons
from service.claim_bindings import bound_number_reasons, bound_spans, dated_rating_reasons
from service.claim_dates import numeric_dates_as_iso, weekday_reasons
from service.claim_directions import driver_reasons
from service.claim_history import none_reasons, order_size_trend_reasons, trend_reasons, window_reasons
from service.claim_numbers import (
    APPROX,
    FLOOR_WORDS,
    SCALE,
    average_orders,
    bound_of,
    driver_totals,
    floors,
    gaps,
    margins,
    near,
    normalise_numbers,
    within_bound,
    words_to_digits,
)
from service.claim_texts import (
    browsed_object_reasons,
    browsing_reasons,
    event_date_reasons,
    review_description_reasons,
    review_mention_reasons,
)
from service.claim_words import (
    churn_level_reasons,
    churn_reasons,
    event_reasons,
    playbook_reasons,
    rank_reasons,
    season_reason_reasons,
    segment_reasons,
    threshold_reasons,
    tier_history_reasons,
)
from service.drivers import HEADLINE
from service.facts import Facts
from service.plain import share
from service.privacy import INVISIBLE, redact

# Every driver family a narrative could name; naming one outside the customer's top drivers fails the check.
ALL_DRIVER_NAMES = set(HEADLINE)


class CheckResult(BaseModel):
    passed: bool = Field(description="True when every statement of the narrative matches the facts.")
    reasons: list[str] = Field(default_factory=list, description="Why the check failed (empty when it passed).")


_QUOTE = re.compile(r"[\u201c\"]([^\u201d\"]+)[\u201d\"]")
# Other quotation marks (single curly, guillemets, low-high): a quotation in them is checked like one in double quotes.
# (A straight single quote is an apostrophe too often to be one.)
_OTHER_QUOTE = re.compile(
    r"\u2018([^\u2019]+)\u2019(?!\w)|\u00ab\s?([^\u00bb]+?)\s?\u00bb|\u201e([^\u201c\u201d]+)[\u201c\u201d]"
)
_NUMBER = re.compile(r"(?<![\w.])[-+]?\d[\d,]*(?:\.\d+)?")
# a number with what follows it: a thousands suffix, a percent sign
_NUMBER_UNIT = re.compile(r"(?<![\w.])([-+]?\d[\d,]*(?:\.\d+)?)\s?(k|K|M|bn|%)?(?![\w])")
_ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
MIN_QUOTE_WORDS = 3  # "as shown", cut from "was not as shown", said the opposite of the text it came from
_NEGATION_BEFORE = re.compile(
    r"(?:\bnot|n't|\bnever|\bno|\bnicht|\bkein\w*|\bpas|\bjamais|\bnunca|\bniet|\bnon)\W{0,3}$", re.I
)
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
    r"|from|than|up to|path to|way to|needed for|required for|necessary for|enough for|"
    # "le faltan 410,82 $ para llegar a VIP", "pour atteindre VIP", "um VIP zu erreichen", "per raggiungere VIP"
    r"llegar a|alcanzar|atteindre|passer|erreichen|raggiungere|passare|bereiken|chegar a|chegar ao|alcan[c\u00e7]ar|"
    r"bis|bis zu|bis zum|bis zur|tot|fino a|hasta|jusqu'[a\u00e0]|at\u00e9|" + FLOOR_WORDS + r")\W+(?:\w+\W+){0,2}$",
    re.I,
)
_THRESHOLD_AFTER = re.compile(
    r"^\W{0,3}(?:tier\W+)?(?:starts?|begins?|threshold|floor|cut-?off|requires?|needs?|is reached|at \$|would|"
    # "el nivel VIP empieza en 608,42 $", "VIP beginnt bei", "le niveau VIP commence \u00e0"
    r"empieza|comienza|commence|d[e\u00e9]bute|beginnt|begint|inizia|comincia|come[c\u00e7]a|f(?:\u00e4|a)ngt|"
    # a floor said with "from" before its amount ("VIP vanaf 608,42 $", "VIP ab 608,42 $", "VIP from $608.42")
    r"(?:vanaf|ab|from|[a\u00e0] partir de|desde|dal?|d[e\u00e8]s|em|en|at|bei|bij)\s+(?:[$\u20ac\u00a3]\s?)?\d)",
    re.I,
)


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
    nums += list(f.figures.values()) + list(f.value_interval or []) + gaps(f) + margins(f)  # "$42 short of VIP"
    nums += average_orders(f)  # spend over purchases ("11 orders averaging roughly $26 each")
    nums += driver_totals(f)  # "the drivers net out to -$54"
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
    # ... and the numbers of their texts: a product named without quotes ("a 500-pack of hand cream")
    texts = (
        [f.next_action or "", f.next_order_date or ""] + [e.source for e in f.evidence] + [e.text for e in f.evidence]
    )
    return {float(n.replace(",", "")) for text in texts for n in _NUMBER.findall(text)}


def _matches(
    x: float,
    allowed: list[float],
    exact: set[float] | frozenset[float] = frozenset(),
    tight: bool = False,
    approx: bool = False,
) -> bool:
    """Stated exactly (``exact``) or within rounding of one of ``allowed`` (``claim_numbers.near``)."""
    return x in exact or near(x, allowed, approx, tight)


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
    narrative = _QUOTE.sub(" ", narrative)
    found += ["".join(g) for g in _OTHER_QUOTE.findall(narrative)]
    narrative = _OTHER_QUOTE.sub(" ", narrative)
    found += ["".join(g).strip() for g in _SPEECH.findall(narrative)]
    return _SPEECH.sub(" ", narrative), found


# Another customer's id where this one's stands ("Customer C000460 is in ..."): an id has letters and digits together.
_OTHER_ID = re.compile(
    r"\b(?:customer|client|kundin|kunde|cliente?|klant)\s+#?(?=[A-Za-z]{0,4}\d)[A-Za-z]{0,4}\d{3,}\w*\b", re.I
)
# A tier to come ("expected to move up to High next quarter"): the models predict spend, not tiers.
_TIER_OUTLOOK = re.compile(
    r"\b(?:expected|likely|set|going|poised|on track|forecast|predicted)\s+to\s+(?:move|go|climb|drop|fall|slip)\s+"
    r"(?:up|down|back)?\s*(?:in)?to\s+(?:the\s+)?(?:VIP|High|Medium|Low)\b|\bwill\s+(?:soon\s+)?(?:become|reach|make|hit|"
    r"move up to|drop to|fall to)\s+(?:the\s+)?(?:VIP|High|Medium|Low)\b",
    re.I,
)
# Reported speech in straight single quotes or a quoted line ("she wrote 'never again'", "> Great dress"): a quotation
# like any other, so it must be verbatim.
_SPEECH = re.compile(
    r"\b(?:wrote|writes|said|says|complained|stated|mentioned|told us)[:,]?\s+'([^'\n]{6,}?)'(?!\w)|^>\s*(.+)$",
    re.M,
)


_NOT_A_CLAIM_BEFORE = re.compile(
    r"\b(?:not|never|no longer|isn't|aren't|could|might|would|may)\s+(?:\w+\s+){0,3}$", re.I
)


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
        if _NOT_A_CLAIM_BEFORE.search(before):
            continue  # "not a Low customer", "could become VIP": a denial or a possibility, not a claim
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
    # the segment's or the tier's own name in quotation marks (\u00ab At risk \u00bb) is that label, not a customer's
    # words
    labels = {x.lower() for x in (facts.rfm_segment, facts.tier) if x}
    named = [q for q in found if q.strip().lower() in labels]
    unquoted += "".join(f"\n{q.strip()}." for q in named)
    for q in found:
        if q not in named:
            reasons += _quote_reasons(q, evidence_texts)
    unquoted = unquoted.replace(facts.customer_id, " ")
    other = _OTHER_ID.search(unquoted)
    if other:
        reasons.append(f"names another customer ({other.group(0)}); the facts are about {facts.customer_id}")
    outlook = _TIER_OUTLOOK.search(unquoted)
    if outlook:
        reasons.append(f"predicts a tier change (\u201c{outlook.group(0)}\u201d); the facts hold the current tier only")
    # invisible characters and dotted letters hide a word from every pattern below ("V\u200bIP", "V.I.P.")
    unquoted = re.sub(r"\bV\.\s?I\.\s?P\b\.?", "VIP", INVISIBLE.sub("", unquoted))
    known = _known_dates(facts)
    unquoted = numeric_dates_as_iso(unquoted, known)
    reasons += _date_reasons(unquoted, facts)
    reasons += review_description_reasons(unquoted, facts) + browsing_reasons(narrative, facts)
    # the event dates are read with the quotes' words kept (a quote names the review it is from), their digits dropped
    quoted_words = numeric_dates_as_iso(_quotes_without_digits(INVISIBLE.sub("", narrative)), known)
    reasons += weekday_reasons(unquoted) + review_mention_reasons(unquoted, facts)
    reasons += event_date_reasons(quoted_words.replace(facts.customer_id, " "), facts)
    reasons += browsed_object_reasons(unquoted, facts) + dated_rating_reasons(unquoted, facts)
    unquoted = _ISO_DATE.sub(" ", unquoted)
    # the playbook's action is a fact as written ("within two weeks"): the number checks look past it; number words
    # are read as digits ("three months") and a percentage in words as one ("80 percent")
    narrated = unquoted.replace(facts.next_action, " ") if facts.next_action else unquoted
    numbers_text = normalise_numbers(
        words_to_digits(re.sub(r"(\d)\s*(?:percent|per cent)\b", r"\1%", narrated, flags=re.I))
    )
    reasons += _number_reasons(numbers_text, facts)
    reasons += bound_number_reasons(numbers_text, facts)
    if not _states_tier(unquoted, facts.tier):
        reasons.append(f"the customer's tier ({facts.tier}) is not stated")
    if _denies_tier(unquoted, facts.tier):
        reasons.append(f"says the customer is not {facts.tier}, which is their tier")
    wrong = other_tier_claims(unquoted, facts.tier)
    if wrong:
        reasons.append(f"states tier {', '.join(sorted(wrong))} but the customer is {facts.tier}")
    for m in re.finditer(r"\b(vip|high|medium|low)[- ]tier\b", unquoted, re.I):
        name = "VIP" if m.group(1).lower() == "vip" else m.group(1).capitalize()
        before, after = unquoted[max(0, m.start() - 40) : m.start()], unquoted[m.end() : m.end() + 30]
        if name != facts.tier and not _THRESHOLD_AFTER.search(after) and not _TARGET_BEFORE.search(before):
            reasons.append(f"states tier {name} (\u201c{m.group(0)}\u201d) but the customer is {facts.tier}")
    reasons += tier_history_reasons(unquoted) + season_reason_reasons(unquoted)
    words = _NUMBER_WORDS.search(numbers_text)
    if words:
        reasons.append(
            f"writes a number in words (\u201c{words.group(0)}\u201d): numbers are stated as the facts give them"
        )
    reasons += playbook_reasons(narrated, facts) + event_reasons(narrated, facts) + action_reasons(narrated, facts)
    reasons += rank_reasons(unquoted, facts) + churn_reasons(unquoted, facts) + segment_reasons(unquoted, facts)
    reasons += (
        churn_level_reasons(unquoted, facts)
        + trend_reasons(unquoted, facts)
        + order_size_trend_reasons(unquoted)
        + threshold_reasons(unquoted, facts)
    )
    reasons += window_reasons(numbers_text, facts) + none_reasons(narrated, facts)
    reasons += driver_reasons(unquoted, facts, all_driver_names or set())
    if redact(unquoted) != unquoted:
        reasons.append("contains contact data (an e-mail address, a phone or card number)")
    link = _LINK.search(unquoted)
    if link:  # the facts hold no link: one in the narrative came from elsewhere (a review telling the model to add it)
        reasons.append(f"contains a link (\u201c{link.group(0)[:60]}\u201d); the facts hold none")
    return CheckResult(passed=not reasons, reasons=list(dict.fromkeys(reasons)))


def _quote_reasons(q: str, evidence_texts: list[str]) -> list[str]:
    """A quotation must be a verbatim part of a customer text, long enough to stand for it, and not cut just after a
    negation ("as shown" from "was not as shown")."""
    q = q.strip()
    if "\n" in q:  # a customer text is quoted on one line (service.facts.one_line_quote): one across lines forges lines
        return [f"quote spans lines of the narrative: \u201c{q[:80]}\u201d"]
    sources = [t for t in evidence_texts if q and q in t]
    if not sources:
        return [f"quote not found verbatim in the customer's texts: \u201c{q[:80]}\u201d"]
    whole = {x.strip().rstrip(".!?") for t in sources for x in re.split(r"(?<=[.!?])\s+", t)}
    if any(t.strip() == q for t in sources) or q.rstrip(".!?") in whole:
        return []  # a whole text, or a whole sentence of one ("Great stapler.")
    if len(re.findall(r"\w+", q)) < MIN_QUOTE_WORDS:
        return [f"quote \u201c{q[:80]}\u201d is too short to stand for what the customer wrote"]
    if all(_NEGATION_BEFORE.search(t[: t.index(q)]) for t in sources):
        return [f"quote \u201c{q[:80]}\u201d leaves out the negation just before it in the customer's text"]
    return []


def _quotes_without_digits(narrative: str) -> str:
    """``narrative`` with the digits inside its quotations blanked (a date a customer wrote is none of the events')."""

    def blank(m: re.Match) -> str:
        return re.sub(r"\d", " ", m.group(0))

    return _OTHER_QUOTE.sub(blank, _QUOTE.sub(blank, narrative))


def _known_dates(facts: Facts) -> str:
    return " ".join([facts.next_order_date or "", facts.next_action or ""] + [e.source for e in facts.evidence])


def _date_reasons(unquoted: str, facts: Facts) -> list[str]:
    """A date must be one the facts hold, whole (its parts matched any date's parts before)."""
    known = _known_dates(facts)
    return [f"date {d} is not one of the facts' dates" for d in _ISO_DATE.findall(unquoted) if d not in known]


def _chance_numbers(f: Facts) -> list[float]:
    """The chance of no purchase and of one, in percent ("under 1%" / "over 99%" as service.plain.chance says them)."""
    nums = [f.churn_probability * 100, (1 - f.churn_probability) * 100]
    return nums + [1.0, 99.0] if not 0.01 <= f.churn_probability <= 0.99 else nums


def _percent_numbers(f: Facts) -> list[float]:
    """What a percentage may say: the chances, the rank and its complement, the drivers' percentiles and churn
    contributions (in points)."""
    nums = _chance_numbers(f) + [f.value_rank_pct, 100 - f.value_rank_pct]
    # how far the forecast is above or below the spend so far or a tier's floor ("exceeds it by roughly 19%")
    bases = [x for x in [f.figures.get("monetary_total"), *floors(f)] if x]
    nums += [100 * abs(f.predicted_value / b - 1) for b in bases]
    for d in f.drivers:
        if d.percentile is not None:
            nums += [d.percentile, 100 - d.percentile, share(d.percentile), share(100 - d.percentile)]
        if d.churn_contribution is not None:
            nums += [abs(d.churn_contribution) * 100]
    return nums


def _number_reasons(unquoted: str, facts: Facts) -> list[str]:
    """Every number must match a fact within rounding; with a thousands suffix ("$5.5k") as the amount it stands for,
    and a percentage only a percentage fact (the constants 5 and 80 of the tier shares and the interval are no
    chance of anything)."""
    reasons = []
    allowed, exact = allowed_numbers(facts), exact_numbers(facts)
    pct, chances = _percent_numbers(facts), _chance_numbers(facts)
    pct_exact = {float(n.replace(",", "")) for n in _NUMBER.findall(facts.next_action or "")}  # "Offer 15% off"
    typed = _typed_numbers(facts)
    skip = bound_spans(unquoted)
    skip += _ranges_holding_a_fact(unquoted, typed, pct)
    for m in _NUMBER_UNIT.finditer(unquoted):
        if any(a <= m.start() < b for a, b in skip):
            continue
        raw, unit = m.group(1), m.group(2)
        try:
            x = float(raw.replace(",", ""))
        except ValueError:
            continue
        if unit == "%":
            after = unquoted[m.end() : m.end() + 25].lower()
            before = unquoted[max(0, m.start() - 25) : m.start()].lower()
            if x == 80 and (
                re.match(r"\s*-?\s*(range|interval|prediction interval|band|bereich|spanne|intervall?o?)", after)
                or re.search(
                    r"\b(intervall?[eo]?|intervalo|range|bereich|spanne|fourchette|horquilla|rango|faixa)\W+(\w+\W+)?$",
                    before,
                )
                # "between $0 and $88.70 in 80% of cases"
                or re.match(r"\s*(?:of (?:the )?(?:cases|time|outcomes)|dei casi|des cas|de los casos)", after)
            ):
                continue  # "the 80% range", "intervalle \u00e0 80 %": the interval's own name
            around = unquoted[max(0, m.start() - 40) : m.end() + 25]
            # a chance is the chance of no purchase or of one, not whatever fact lies within rounding (a rank of 79.7
            # let "an 80% chance she makes no purchase" pass for a chance of 51%)
            allowed_pct = chances if _CHANCE_WORDS.search(around) and not _RANK_WORDS.search(around) else pct
            bound = bound_of(unquoted[max(0, m.start() - 25) : m.start()])  # "più del 90%" of 90.7: within 1 point
            if not (_matches(x, allowed_pct, pct_exact, tight=True) or within_bound(x, allowed_pct, bound, share=0.0)):
                reasons.append(f"percentage {raw}% matches no fact")
            continue
        kind = _UNIT_AFTER.match(unquoted[m.end() :])
        if unit is None and kind is not None:
            # a count of days, months, years or purchases is one of those facts, not any number within rounding
            # ("last ordered 4 days ago" for 40, "a customer for 14 years" for 14 months)
            key = next(k for k, v in kind.groupdict().items() if v)
            approx = APPROX.search(unquoted[max(0, m.start() - 20) : m.start()]) is not None  # "roughly 290 days"
            if not _matches(x, typed[key], approx=approx) and not any(
                abs(x - math.floor(a)) < 1e-9 for a in typed[key]
            ):
                reasons.append(f"{raw} {kind.group(0).strip()} matches no fact counted in {key}")
            continue
        scale = SCALE.get(unit or "", 1.0)
        approx = APPROX.search(unquoted[max(0, m.start() - 20) : m.start()].rstrip("$\u20ac\u00a3R ")) is not None
        # a round amount said as a bound ("over $2,500"); other numbers are bounded by their own kind's checks
        money_said = re.search(r"[$\u20ac\u00a3]\s?$", unquoted[: m.start()]) or _CURRENCY_AFTER.match(
            unquoted[m.end() :]
        )
        bound = bound_of(unquoted[max(0, m.start() - 25) : m.start()]) if money_said else None
        of_theirs = _OF_THEIR.match(unquoted[m.end() :])
        if of_theirs:  # "two of their reviews": a part of a count, at most the count
            if of_theirs.group(1).lower() == "reviews":
                whole = [
                    facts.figures.get("review_count", 0.0),
                    sum(e.source.startswith("review") for e in facts.evidence),
                ]
            else:
                whole = [facts.figures.get("frequency", 0.0)] + [
                    d.value or 0.0 for d in facts.drivers if d.feature == "frequency"
                ]
            if not any(x <= w for w in whole):
                reasons.append(f"{raw} of their {of_theirs.group(1)}: they have {shown_counts(whole)}")
            continue
        if not (
            _matches(x * scale, allowed, exact if scale == 1.0 else frozenset(), approx=approx)
            or within_bound(x * scale, allowed, bound)
        ):
            reasons.append(f"number {raw}{unit or ''} matches no fact")
    return reasons


# A range of two numbers with its unit ("every 5 to 6 weeks", "the top ~10\u201311%", "3-4 Monate"): it holds when
# a fact of that unit lies within it
_RANGE = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?)\s?(?:%\s?)?(?:to|-|\u2013|or|bis|\u00e0|a|tot|o)\s?(\d+(?:\.\d+)?)\s?(%|days?|weeks?|months?|"
    r"years?|tagen?|wochen|monaten?|jahren?|jours|semaines|mois|ans|d[i\u00ed]as|semanas|meses|a\u00f1os|giorni|settimane|"
    r"mesi|anni|dagen|weken|maanden|jaar|anos)(?!\w)",
    re.I,
)


def _ranges_holding_a_fact(text: str, typed: dict[str, list[float]], pct: list[float]) -> list[tuple[int, int]]:
    """The spans of ranges that hold a fact of their unit (``typed`` by unit, ``pct`` the percentages), so the first
    look checks neither end on its own."""
    found = []
    for m in _RANGE.finditer(text):
        lo, hi = sorted((float(m.group(1)), float(m.group(2))))
        unit = m.group(3).lower()
        kind = _UNIT_AFTER.match(" " + unit)
        allowed = pct if unit == "%" else (typed[next(k for k, v in kind.groupdict().items() if v)] if kind else [])
        if hi - lo <= max(2.0, 0.5 * hi) and any(lo - 0.5 <= a <= hi + 0.5 for a in allowed):
            found.append(m.span())
    return found


_CURRENCY_AFTER = re.compile(r"\s?(?:[$\u20ac\u00a3]|USD|EUR|GBP|dollars?|euros?|pounds?)(?!\w)")
# a part of a count ("two of their reviews", "3 of her 7 orders")
_OF_THEIR = re.compile(
    r",?\s+of\s+(?:her|his|their|the|its)\s+(?:\d+\s+)?(?:\w+\s+)?(reviews|orders|purchases)\b", re.I
)


def shown_counts(values: list[float]) -> str:
    return " or ".join(f"{v:g}" for v in sorted(set(values))) or "none in the facts"


_LINK = re.compile(
    r"\b(?:https?://|www\.)\S+|\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:com|net|org|io|co|shop|store|info|biz|app|"
    r"online|site|xyz|top|link|click|me|de|fr|es|it|nl|uk|eu|ru|cn|br)(?:/\S*)?(?![\w.])",
    re.I,
)
_CHANCE_WORDS = re.compile(r"\b(chance|probability|likel\w*|odds|risk|churn\w*)\b", re.I)
_RANK_WORDS = re.compile(r"\b(of (scored )?customers|top|bottom|rank\w*|percentile)\b", re.I)
_NUMBER_WORDS = re.compile(
    r"\b(two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fifteen|twenty|thirty|forty|fifty|sixty|"
    r"seventy|eighty|ninety|hundred|thousand|million|billion|dozen|dozens)\b",
    re.I,
)
# ... in the languages the service reads ("39 Wochen", "49 semaines", "aus 12 Bestellungen")
_UNIT_AFTER = re.compile(
    r"\s*(?:(?P<days>days?|tagen?|jours?|d[i\u00ed]as?|giorni|dagen)|"
    r"(?P<weeks>weeks?|wochen|semaines?|semanas?|settimane|weken)|"
    r"(?P<months>months?|monaten?|mois|mes(?:es)?|mesi|maanden)|"
    r"(?P<years>years?|jahren?|ans|ann[e\u00e9]es?|a\u00f1os?|anni|anos|jaar|jaren)|"
    r"(?P<purchases>(?:more\s+)?(?:orders?|purchases?|bestellungen|k(?:\u00e4|ae)ufen?|eink(?:\u00e4|ae)ufen?|"
    r"commandes|achats|pedidos|compras|ordini|acquisti|bestellingen|aankopen|encomendas))|"
    r"(?P<times>times|mal|fois|veces|volte|keer|vezes))\b",
    re.I,
)


def _typed_numbers(f: Facts) -> dict[str, list[float]]:
    """The facts that count days, and so weeks, months and years, and those that count purchases."""
    days = [float(f.horizon_days)] + [v for k, v in f.figures.items() if "days" in k]
    orders = [v for k, v in f.figures.items() if k in ("frequency", "expected_orders")]
    counts = [v for k, v in f.figures.items() if k == "review_count"]  # "N times": anything counted
    for d in f.drivers:
        if d.value is None:
            continue
        unit, feature = (d.unit or "").lower(), d.feature or ""
        if "day" in unit or feature.endswith("_days"):
            days.append(d.value)
        elif feature in ("frequency", "n_returned"):  # not the average order's "per order on average"
            orders.append(d.value)
        elif re.search(r"time", unit) or feature.startswith("n_"):
            counts.append(d.value)
    orders += [float(math.floor(c)) for c in orders] + [float(round(c)) for c in orders]
    counts += [float(math.floor(c)) for c in counts] + [float(round(c)) for c in counts] + orders
    return {
        "days": days,
        "weeks": [d / 7 for d in days],
        "months": [d / 30.44 for d in days],
        "years": [d / 365.25 for d in days] + [d // 365.25 for d in days],
        "purchases": orders,
        "times": counts,
    }


def _states_tier(unquoted: str, tier: str) -> bool:
    """The tier as a word ("Highly" does not state High); VIP in any case, and "one of our VIPs"."""
    if tier == "VIP":
        return re.search(r"\bVIPs?\b", unquoted, re.I) is not None
    return re.search(rf"\b{tier}\b", unquoted) is not None


def _denies_tier(unquoted: str, tier: str) -> bool:
    return (
        re.search(
            rf"\b(?:not|never|no longer|isn't|aren't|wasn't)\s+(?:yet\s+|really\s+|quite\s+)?"
            rf"(?:a\s+|an\s+|in the\s+|one of (?:our|the)\s+)?{tier}\b(?![- ]?(?:starts|threshold|floor))",
            unquoted,
            re.I if tier == "VIP" else 0,
        )
        is not None
    )
