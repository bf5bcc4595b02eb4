"""Explanations: facts first (deterministic, from the stored profile), prose second (a narrator), then a
faithfulness check of the prose against the facts.

The facts are the only source a narrator may use. Customer texts appear in them as evidence, i.e.
data to quote, never instructions: the template narrator only ever quotes them inside quotation
marks, and the check refuses any narrative whose tier, numbers, driver directions or quotes do not
match the facts.
"""

from __future__ import annotations

import math
import re
from typing import Literal, Protocol, cast

from pydantic import BaseModel, Field

from service.drivers import HEADLINE, UNITS
from service.plain import distinct_money, driver_fact, share
from service.tiers import TIER_ORDER, rfm_label

TOP_DRIVERS = 5


# The narrators an explanation can name (``Explanation.narrator``).
NarratorName = Literal["template", "openai", "hf"]


class Driver(BaseModel):
    name: str = Field(description="Readable driver family, e.g. 'frequency' or 'review text'.", examples=["frequency"])
    value: float | None = Field(
        description="The customer's raw value of the family's headline feature.", examples=[14.0]
    )
    contribution: float = Field(
        description="Signed contribution to predicted value, in currency (SHAP, scaled from margin).", examples=[420.1]
    )
    percentile: float | None = Field(
        default=None, description="Peer percentile (0-100) of the raw value among scored customers.", examples=[98.5]
    )
    feature: str | None = Field(
        default=None, description="The headline feature behind the value.", examples=["frequency"]
    )
    unit: str | None = Field(default=None, description="What the value counts.", examples=["purchases"])
    churn_contribution: float | None = Field(
        default=None, description="Signed contribution to churn probability, in probability points.", examples=[-0.04]
    )


class Evidence(BaseModel):
    text: str = Field(
        description="Verbatim text written or browsed by the customer.",
        examples=["Bulk order for our office again, arrived on time."],
    )
    source: str = Field(
        description="Where the text comes from: review (with date and rating) or browsing (with event type and date).",
        examples=["review 2025-11-02, 5/5"],
    )


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
    churn_band: str | None = Field(
        default=None, description="Churn risk as low / medium / high (bands from the playbook)."
    )
    next_action: str | None = Field(
        default=None, description="The playbook's next action for the customer's tier and churn band."
    )
    next_order_date: str | None = Field(
        default=None, description="Expected date of the next order (ISO date), when the profile has it."
    )
    value_interval: list[float] | None = Field(
        default=None, description="80% interval [low, high] around the predicted value, when the profile has it."
    )
    figures: dict[str, float] = Field(
        default_factory=dict,
        description="Further facts the prose may state: spend in the last and the "
        "previous 90 days, purchases, reviews, historic value, expected orders, exact amounts near a threshold.",
    )


class Explanation(BaseModel):
    """The contract of `insight explain ID --json` and `GET /v1/customers/{id}/explanation`."""

    customer_id: str = Field(examples=["C000042"])
    tier: str = Field(examples=["VIP"])
    predicted_value: float = Field(description="Expected spend over the horizon, in currency.", examples=[1234.56])
    narrative: str = Field(description="Plain-language answer to 'why is this customer in this tier'.")
    drivers: list[Driver]
    evidence: list[Evidence]
    narrator: NarratorName = Field(description="Which narrator wrote the narrative that is returned.")
    check: CheckResult
    fallback: bool = Field(description="True when an LLM narrative failed the check and was replaced by the template.")
    model_version: str
    horizon_days: int
    churn_probability: float
    rfm_segment: str
    prompt_version: str | None = Field(
        default=None,
        description="Version of the LLM prompt files behind the narrative (also kept on a fallback, naming the prompt "
        "whose narrative was rejected); None for the template narrator.",
        examples=["narrator-v1-1a2b3c4d"],
    )
    next_action: str | None = Field(
        default=None,
        description="The suggested next action for the agent: the playbook's action for the customer's tier and "
        "churn band (prompts/playbook.toml), as the LLM narrator phrased it when its narrative passed the check.",
    )
    churn_band: str | None = Field(
        default=None, description="Churn risk as low / medium / high (bands from the playbook).", examples=["low"]
    )


def facts_from_profile(profile: dict, meta: dict, top: int = TOP_DRIVERS) -> Facts:
    """Build the facts of one stored profile (a row of the profile store) and the store metadata."""
    thresholds = meta["tiers"]["thresholds"]
    tier = profile["tier"]
    idx = TIER_ORDER.index(tier)
    next_tier = TIER_ORDER[idx - 1] if idx > 0 else None
    drivers = [
        Driver(
            unit=UNITS.get(d.get("feature") or ""),
            **{k: d.get(k) for k in ("name", "value", "contribution", "percentile", "feature", "churn_contribution")},
        )
        for d in profile["profile"]["drivers"][:top]
    ]
    inner = profile["profile"]
    feats = inner.get("features") or {}
    churn = float(profile["churn_probability"])
    band = action = None
    try:
        from service.playbook import get_playbook

        pb = get_playbook()
        band = pb.band(churn)
        action = pb.play(tier, churn).action
    except Exception:  # noqa: BLE001 - a broken playbook file costs the advice, never the explanation
        pass
    figures: dict[str, float] = {}
    for key in (
        "spend_recent",
        "spend_prior",
        "review_count",
        "frequency",
        "monetary_total",
        "recency_days",
        "ipi_mean_days",
    ):
        if feats.get(key) is not None:
            figures[key] = float(feats[key])
    for key in ("historic_value", "expected_orders", "avg_days_between_orders"):
        if isinstance(inner.get(key), (int, float)) and math.isfinite(inner[key]):
            figures[key] = float(inner[key])
    figures["predicted_value_exact"] = float(profile["predicted_value"])
    for name in (tier, next_tier):
        if name in thresholds:
            figures[f"floor_{name}"] = float(thresholds[name])
    interval = inner.get("value_interval")
    interval = (
        [round(float(x), 2) for x in interval]
        if isinstance(interval, (list, tuple))
        and len(interval) == 2
        and all(isinstance(x, (int, float)) and math.isfinite(x) for x in interval)
        else None
    )
    if interval and not interval[0] <= round(float(profile["predicted_value"]), 2) <= interval[1]:
        interval = None  # a range that does not hold the prediction would read as a contradiction: not stated
    nod = inner.get("next_order_date")
    return Facts(
        churn_band=band,
        next_action=action,
        next_order_date=nod if isinstance(nod, str) and nod else None,
        value_interval=interval,
        figures=figures,
        customer_id=profile["customer_id"],
        tier=tier,
        predicted_value=round(profile["predicted_value"], 2),
        horizon_days=int(meta["horizon_days"]),
        currency=meta.get("currency", "$"),
        value_rank_pct=round(profile["value_rank_pct"], 1),
        tier_floor=round(thresholds[tier], 2) if tier in thresholds else None,
        next_tier=next_tier,
        next_tier_floor=round(thresholds[next_tier], 2) if next_tier else None,
        churn_probability=round(profile["churn_probability"], 4),
        rfm_segment=rfm_label(profile["rfm_segment"], feats.get("frequency"), inner.get("rfm")),
        drivers=drivers,
        evidence=[Evidence(**e) for e in profile["profile"].get("evidence", [])],
        model_version=profile["model_version"],
        scored_at=profile["scored_at"],
    )


# ----------------------------------------------------------------------------- narrators


class Narrator(Protocol):
    name: str

    def narrate(self, facts: Facts, question: str | None = None) -> str: ...


class Draft(BaseModel):
    """One narration attempt as a narrator that can take feedback returns it (see service.narrators.llm)."""

    narrative: str = ""
    reasons: list[str] = Field(
        default_factory=list,
        description="Failures the narrator found itself (unparseable output, unknown driver, ...).",
    )
    quotes: list[str] = Field(default_factory=list, description="The verbatim quotes the narrative contains.")
    checked_facts: Facts | None = Field(
        default=None,
        description="The facts as the narrator saw them (texts redacted and capped); the check uses these.",
    )
    next_action: str | None = None
    raw: str | None = Field(default=None, description="The model's raw answer, fed back on a retry.")
    prompt_version: str | None = None
    error: bool = Field(
        default=False, description="The call itself failed (timeout, connection): no retry, nothing cached."
    )


def money(x: float, currency: str) -> str:
    return f"{currency}{abs(x):,.2f}"


def ordinal(x: float) -> str:
    n = int(round(x))
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


MONEY_FEATURES = {"monetary_total", "avg_order_value", "max_order_value", "spend_recent", "spend_prior"}


def _driver_phrase(d: Driver, currency: str) -> str:
    if d.value is None:
        return d.name
    if d.feature in MONEY_FEATURES:
        value = money(d.value, currency)
    else:
        value = f"{d.value:,.0f}" if abs(d.value) >= 10 or float(d.value).is_integer() else f"{d.value:,.2f}"
    pct = f", {ordinal(d.percentile)} percentile" if d.percentile is not None else ""
    return f"{d.name} ({value} {d.unit or ''}{pct})".replace(" ,", ",").replace("  ", " ")


class TemplateNarrator:
    """Deterministic prose from the facts alone; the offline default and the fallback of every LLM narrator.

    Written for a CRM agent (see ``service.plain``): each driver as the fact it is, comparisons that read in
    the direction of the fact, whole counts and days, review quotes only where they agree with what the
    review-text driver says, browsing texts labelled as browsing (never as the customer's words), amounts
    with enough decimals not to look equal to a threshold they are below, and the playbook's next action.
    """

    name = "template"

    def narrate(self, facts: Facts, question: str | None = None) -> str:
        c = facts.currency
        fig = facts.figures
        exact = fig.get("predicted_value_exact", facts.predicted_value)
        lines = []
        # The threshold the value is measured against: amounts that round to the same cent get more decimals.
        ref = facts.tier_floor if facts.tier == "VIP" or facts.next_tier is None else facts.next_tier_floor
        ref_key = f"floor_{facts.tier if facts.tier == 'VIP' or facts.next_tier is None else facts.next_tier}"
        value_txt, ref_txt = (
            distinct_money(exact, fig.get(ref_key, ref), c)
            if ref is not None
            else (money(facts.predicted_value, c), "")
        )
        interval = ""
        if facts.value_interval:
            lo, hi = facts.value_interval
            interval = f" (80% range {money(lo, c)} to {money(hi, c)})"
        if facts.value_rank_pct >= 1:
            rank = f"more than {facts.value_rank_pct:.1f}% of scored customers"
        else:
            rank = "one of the lowest forecasts among scored customers"
        lines.append(
            f"Customer {facts.customer_id} is in the {facts.tier} tier: the model expects {value_txt} of spend in the "
            f"next {facts.horizon_days} days{interval}, {rank}."
        )
        if facts.tier == "VIP" and facts.tier_floor is not None:
            lines.append(f"VIP starts at {ref_txt}.")
        elif facts.tier_floor is not None and facts.next_tier:
            floor_txt = distinct_money(exact, fig.get(f"floor_{facts.tier}", facts.tier_floor), c)[1]
            lines.append(f"{facts.tier} starts at {floor_txt}; {facts.next_tier} starts at {ref_txt}.")
        elif facts.next_tier:
            lines.append(f"{facts.tier} means a forecast below {ref_txt}, where {facts.next_tier} starts.")
        review_quotes, other_quotes, browsing = _split_evidence(facts)
        ups = [d for d in facts.drivers if d.contribution > 0]
        downs = [d for d in facts.drivers if d.contribution < 0]
        for title, group in (("What lifts the forecast:", ups), ("What holds it back:", downs)):
            if not group:
                continue
            lines.append(title)
            for d in group:
                verb = "adds" if d.contribution > 0 else "takes off"
                line = f"- {d.name} {verb} {money(d.contribution, c)}: {driver_fact(d, c, fig)}"
                if d.name == "review text":
                    agree = review_quotes.get(d.contribution > 0, [])
                    if agree:
                        line += ", for example " + " ".join(f"\u201c{e.text}\u201d ({e.source})" for e in agree[:2])
                    elif review_quotes.get(d.contribution <= 0):
                        line += (
                            " (none of the reviews shown here is critical; the model reads the wording as a whole)"
                            if d.contribution < 0
                            else " (the reviews shown here are critical; the model reads the wording as a whole)"
                        )
                lines.append(line + ".")
        chance = f"{facts.churn_probability * 100:.0f}% chance of no purchase in the next {facts.horizon_days} days"
        lines.append(
            f"Churn risk: {f'{facts.churn_band} ({chance})' if facts.churn_band else chance}. RFM segment: "
            f"{facts.rfm_segment}."
        )
        history = []
        spent = fig.get("historic_value", fig.get("monetary_total"))
        if spent is not None and fig.get("frequency") is not None:
            n = int(round(fig["frequency"]))
            history.append(
                f"So far they have spent {money(spent, c)} over {'one purchase' if n == 1 else f'{n:,} purchases'}"
                if n >= 1
                else "No purchases kept so far (every order was returned or cancelled)"
            )
        if fig.get("avg_days_between_orders") is not None and fig.get("frequency", 0) >= 2:
            history.append(f"they buy every {round(fig['avg_days_between_orders']):,} days on average")
        if fig.get("expected_orders") is not None:
            history.append(
                f"about {fig['expected_orders']:.1f} orders are expected in the next {facts.horizon_days} days"
            )
        if facts.next_order_date:
            history.append(f"the next one around {facts.next_order_date}")
        if history:
            lines.append("; ".join(history) + ".")
        if other_quotes:
            lines.append(
                "In their reviews: " + " ".join(f"\u201c{e.text}\u201d ({e.source})." for e in other_quotes[:2])
            )
        if browsing:
            lines.append(
                "Recently looked at (browsing, not their words): "
                + " ".join(f"\u201c{e.text}\u201d ({e.source})." for e in browsing[:1])
            )
        if facts.next_action:
            lines.append(f"Suggested next action: {facts.next_action}")
        return "\n".join(lines)


_RATING = re.compile(r"(\d)(?:\.\d+)?/5")


def review_rating(e: Evidence) -> int | None:
    if not e.source.startswith("review"):
        return None
    m = _RATING.search(e.source)
    return int(m.group(1)) if m else None


def _split_evidence(facts: Facts) -> tuple[dict[bool, list[Evidence]], list[Evidence], list[Evidence]]:
    """Reviews that can illustrate the review-text driver ({True: rated 4-5, False: rated 1-3}, only when that driver is
    among the facts), the other reviews, and browsing texts."""
    reviews = [e for e in facts.evidence if e.source.startswith("review")]
    browsing = [e for e in facts.evidence if not e.source.startswith("review")]
    if not any(d.name == "review text" for d in facts.drivers):
        return {}, reviews, browsing
    by: dict[bool, list[Evidence]] = {True: [], False: []}
    for e in reviews:
        r = review_rating(e)
        if r is not None:
            by[r >= 4].append(e)
    return by, [], browsing


# ----------------------------------------------------------------------------- faithfulness check

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


def _allowed_numbers(f: Facts) -> list[float]:
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
    for text in (f.next_action or "", f.next_order_date or ""):  # the playbook's own numbers, the date's parts
        nums += [float(n.replace(",", "")) for n in _NUMBER.findall(text)]
    for e in f.evidence:  # dates and ratings in the source labels
        nums += [float(n.replace(",", "")) for n in _NUMBER.findall(e.source)]
    return nums


def _matches(x: float, allowed: list[float]) -> bool:
    # Within rounding: the narrative may round to whole units or to one decimal, as people do.
    return any(abs(x - a) <= max(0.51, 0.005 * abs(a)) or abs(x - round(a)) < 1e-9 for a in allowed)


def _strip_quotes(narrative: str, texts: list[str], quotes: list[str]) -> tuple[str, list[str]]:
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


def _other_tier_claims(unquoted: str, tier: str) -> set[str]:
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
    unquoted, found = _strip_quotes(narrative, evidence_texts, quotes or [])
    for q in found:
        if not q.strip() or not any(q.strip() in t for t in evidence_texts):
            reasons.append(f"quote not found verbatim in the customer's texts: \u201c{q[:80]}\u201d")
    unquoted = unquoted.replace(facts.customer_id, " ")
    allowed = _allowed_numbers(facts)
    for raw in _NUMBER.findall(unquoted):
        try:
            x = float(raw.replace(",", ""))
        except ValueError:
            continue
        if not _matches(x, allowed):
            reasons.append(f"number {raw} matches no fact")
    if facts.tier not in unquoted:
        reasons.append(f"the customer's tier ({facts.tier}) is not stated")
    wrong = _other_tier_claims(unquoted, facts.tier)
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
            # one clear direction in the sentence, and it is the wrong one
            if up != down and (d.contribution > 0) != up:
                reasons.append(
                    f"driver '{name}' is said to {'raise' if up else 'lower'} the value, but its contribution is "
                    f"{d.contribution:+,.2f}"
                )
    return CheckResult(passed=not reasons, reasons=list(dict.fromkeys(reasons)))


ALL_DRIVER_NAMES = set(HEADLINE)


class Attempt(BaseModel):
    """One narration attempt and its check."""

    draft: Draft
    check: CheckResult
    seconds: float


class Outcome(BaseModel):
    """Every attempt of one narrator on one customer, and what is returned: the accepted narrative or the template."""

    attempts: list[Attempt]
    narrative: str
    narrator: str
    check: CheckResult
    fallback: bool
    next_action: str | None = None
    prompt_version: str | None = None
    cacheable: bool = True

    @property
    def seconds(self) -> float:
        return sum(a.seconds for a in self.attempts)


LLM_RETRIES = 1  # a failing LLM narrative is retried once, with the failures fed back


def _safe_error(exc: BaseException) -> str:
    from service.privacy import redact

    return f"{type(exc).__name__}: {redact(str(exc), cards=True) or ''}"[:300]


def narrate_checked(
    facts: Facts, narrator: Narrator, question: str | None = None, retries: int = LLM_RETRIES
) -> Outcome:
    """Narrate and check; a failing LLM narrative is retried with its failures fed back, then replaced by the template.

    A narrator with a ``draft(facts, question, feedback=..., previous=...)`` method (service.narrators.llm)
    takes the feedback; a plain ``narrate`` narrator is simply asked again.
    """
    import time

    is_template = narrator.name == TemplateNarrator.name
    attempts: list[Attempt] = []
    feedback: list[str] | None = None
    previous: Draft | None = None
    for _ in range(1 + (0 if is_template else max(0, retries))):
        t0 = time.perf_counter()
        try:
            if hasattr(narrator, "draft"):
                draft = narrator.draft(facts, question, feedback=feedback, previous=previous)
            else:
                draft = Draft(narrative=narrator.narrate(facts, question))
        except Exception as exc:  # noqa: BLE001 - an LLM call that fails is a failed narrative, not a failed request
            if is_template:
                raise
            draft = Draft(reasons=[f"the narrator failed: {_safe_error(exc)}"], error=True)
        if draft.narrative:
            check = check_narrative(
                draft.narrative, draft.checked_facts or facts, ALL_DRIVER_NAMES, quotes=draft.quotes
            )
            reasons = list(dict.fromkeys([*draft.reasons, *check.reasons]))
        else:
            reasons = draft.reasons or ["the narrator returned no narrative"]
        attempts.append(
            Attempt(
                draft=draft, check=CheckResult(passed=not reasons, reasons=reasons), seconds=time.perf_counter() - t0
            )
        )
        if not reasons or draft.error:
            break
        feedback, previous = reasons, draft
    last = attempts[-1]
    prompt_version = last.draft.prompt_version
    if last.check.passed or is_template:
        return Outcome(
            attempts=attempts,
            narrative=last.draft.narrative,
            narrator=narrator.name,
            check=last.check,
            fallback=False,
            next_action=last.draft.next_action,
            prompt_version=prompt_version,
        )
    # Fall back. The reasons of the rejected LLM narratives are kept: they are what the caller needs to see.
    if len(attempts) == 1:
        reasons = last.check.reasons
    else:  # "attempts 1, 2: same reason" once, rather than the same line per attempt
        seen: dict[str, list[int]] = {}
        for i, a in enumerate(attempts, 1):
            for r in a.check.reasons:
                seen.setdefault(r, []).append(i)
        reasons = [f"attempt{'s' if len(ix) > 1 else ''} {', '.join(map(str, ix))}: {r}" for r, ix in seen.items()]
    return Outcome(
        attempts=attempts,
        narrative=TemplateNarrator().narrate(facts, question),
        narrator=TemplateNarrator.name,
        check=CheckResult(passed=False, reasons=reasons),
        fallback=True,
        prompt_version=prompt_version,
        cacheable=not any(a.draft.error for a in attempts),
    )


def explain_facts(facts: Facts, narrator: Narrator, question: str | None = None) -> Explanation:
    """Narrate, check, retry once with the failures fed back, and fall back to the template narrative.

    A narrator with a ``cache`` (service.narrators.cache) answers repeat questions from it: the key holds
    the customer, the facts, the model version, the prompt version and the provider and model.
    """
    cache = getattr(narrator, "cache", None)
    if cache is not None:
        hit = cache.get(facts, narrator, question)
        if hit is not None:
            return hit
    outcome = narrate_checked(facts, narrator, question)
    exp = Explanation(
        customer_id=facts.customer_id,
        tier=facts.tier,
        predicted_value=facts.predicted_value,
        narrative=outcome.narrative,
        drivers=facts.drivers,
        evidence=facts.evidence,
        narrator=cast(NarratorName, outcome.narrator),
        check=outcome.check,
        fallback=outcome.fallback,
        model_version=facts.model_version,
        horizon_days=facts.horizon_days,
        churn_probability=facts.churn_probability,
        rfm_segment=facts.rfm_segment,
        prompt_version=outcome.prompt_version,
        next_action=outcome.next_action or facts.next_action,
        churn_band=facts.churn_band,
    )
    if cache is not None and outcome.cacheable:
        cache.put(facts, narrator, question, exp)
    return exp


def explain_profile(profile: dict, meta: dict, narrator: Narrator) -> Explanation:
    return explain_facts(facts_from_profile(profile, meta), narrator)
