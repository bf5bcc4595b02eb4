"""The template narrator: deterministic prose from the facts alone.

Step two of an explanation (``service.explain``) when no LLM is configured, and the fallback of every LLM narrator
(``service.narrators``) whose narrative fails the fact check. The wording of each driver comes from
``service.plain``; this module puts the paragraphs together: the tier and the forecast against its threshold, what
lifts and what holds back the forecast, churn risk, purchase history, the customer's own words and the playbook's
next action.
"""

from __future__ import annotations

import re

from service.facts import Driver, Evidence, Facts
from service.plain import chance, distinct_money, driver_fact, effect_against_fact, money

# Reviews that can illustrate the review-text driver, by whether they agree with a positive effect (rated 4-5: True).
ReviewQuotes = dict[bool, list[Evidence]]


class TemplateNarrator:
    """Deterministic prose from the facts alone; the offline default and the fallback of every LLM narrator.

    Written for a CRM agent (see ``service.plain``): each driver as the fact it is, comparisons that read in
    the direction of the fact, whole counts and days, review quotes only where they agree with what the
    review-text driver says, browsing texts labelled as browsing (never as the customer's words), amounts
    with enough decimals not to look equal to a threshold they are below, and the playbook's next action.
    """

    name = "template"

    def narrate(self, facts: Facts, question: str | None = None) -> str:
        review_quotes, other_quotes, browsing = _split_evidence(facts)
        lines = _forecast_lines(facts)
        lines += _driver_lines(facts, review_quotes)
        lines.append(_churn_line(facts))
        history = _history(facts)
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


def _forecast_lines(facts: Facts) -> list[str]:
    """The tier and the forecast (with its range and rank), then the threshold(s) it is measured against.

    The amounts use the exact prediction and floors: amounts that round to the same cent get more decimals."""
    c = facts.currency
    fig = facts.figures
    exact = fig.get("predicted_value_exact", facts.predicted_value)
    # The threshold the value is measured against: the tier's own floor for VIP and Low, else the next tier's.
    own = facts.tier == "VIP" or facts.next_tier is None
    ref = facts.tier_floor if own else facts.next_tier_floor
    ref_key = f"floor_{facts.tier if own else facts.next_tier}"
    value_txt, ref_txt = (
        distinct_money(exact, fig.get(ref_key, ref), c) if ref is not None else (money(facts.predicted_value, c), "")
    )
    interval = ""
    if facts.value_interval:
        lo, hi = facts.value_interval
        interval = f" (80% range {money(lo, c)} to {money(hi, c)})"
    if facts.value_rank_pct >= 1:
        rank = f"more than {facts.value_rank_pct:.1f}% of scored customers"
    else:
        rank = "one of the lowest forecasts among scored customers"
    lines = [
        f"Customer {facts.customer_id} is in the {facts.tier} tier: the model expects {value_txt} of spend in the "
        f"next {facts.horizon_days} days{interval}, {rank}."
    ]
    if facts.tier == "VIP" and facts.tier_floor is not None:
        lines.append(f"VIP starts at {ref_txt}.")
    elif facts.tier_floor is not None and facts.next_tier:
        floor_txt = distinct_money(exact, fig.get(f"floor_{facts.tier}", facts.tier_floor), c)[1]
        lines.append(f"{facts.tier} starts at {floor_txt}; {facts.next_tier} starts at {ref_txt}.")
    elif facts.next_tier and ref is not None and exact >= fig.get(ref_key, ref):
        # tiers cut among equal forecasts (a shop where nobody has spent yet): "below" the line would be false
        lines.append(f"{facts.next_tier} starts at {ref_txt}; this forecast is level with that line.")
    elif facts.next_tier:
        lines.append(f"{facts.tier} means a forecast below {ref_txt}, where {facts.next_tier} starts.")
    return lines


def _driver_lines(facts: Facts, review_quotes: ReviewQuotes) -> list[str]:
    """'What lifts the forecast:' and 'What holds it back:', each with one '- ' line per driver."""
    c = facts.currency
    ups = [d for d in facts.drivers if d.contribution > 0]
    downs = [d for d in facts.drivers if d.contribution < 0]
    lines = []
    for title, group in (("What lifts the forecast:", ups), ("What holds it back:", downs)):
        if not group:
            continue
        lines.append(title)
        for d in group:
            verb = "adds" if d.contribution > 0 else "takes off"
            against = effect_against_fact(d)
            lead = f"- {d.name} {verb} {money(d.contribution, c)}" + (f", {against}" if against else "")
            line = f"{lead}: {driver_fact(d, c, facts.figures)}"
            if d.name == "review text":
                line += _review_examples(d, review_quotes)
            lines.append(line + ".")
    return lines


def _review_examples(d: Driver, review_quotes: ReviewQuotes) -> str:
    """Up to two reviews that agree with the review-text driver's effect, or a note that those shown disagree."""
    agree = review_quotes.get(d.contribution > 0, [])
    if agree:
        return ", for example " + " ".join(f"\u201c{e.text}\u201d ({e.source})" for e in agree[:2])
    if review_quotes.get(d.contribution <= 0):
        return (
            " (none of the reviews shown here is critical; the model reads the wording as a whole)"
            if d.contribution < 0
            else " (the reviews shown here are critical; the model reads the wording as a whole)"
        )
    return ""


def _churn_line(facts: Facts) -> str:
    chance_txt = f"{chance(facts.churn_probability)} chance of no purchase in the next {facts.horizon_days} days"
    return (
        f"Churn risk: {f'{facts.churn_band} ({chance_txt})' if facts.churn_band else chance_txt}. RFM segment: "
        f"{facts.rfm_segment}."
    )


def _history(facts: Facts) -> list[str]:
    """The purchase history clauses: spend and purchases so far, buying rhythm, orders expected and when the next is."""
    fig = facts.figures
    history = []
    spent = fig.get("historic_value", fig.get("monetary_total"))
    if spent is not None and fig.get("frequency") is not None:
        n = int(round(fig["frequency"]))
        history.append(
            f"So far they have spent {money(spent, facts.currency)} over "
            f"{'one purchase' if n == 1 else f'{n:,} purchases'}"
            if n >= 1
            else "No purchases kept so far (every order was returned or cancelled)"
        )
    if fig.get("avg_days_between_orders") is not None and fig.get("frequency", 0) >= 2:
        history.append(f"they buy every {round(fig['avg_days_between_orders']):,} days on average")
    if fig.get("expected_orders") is not None:
        history.append(f"about {fig['expected_orders']:.1f} orders are expected in the next {facts.horizon_days} days")
    if facts.next_order_date:
        history.append(f"the next one around {facts.next_order_date}")
    return history


_RATING = re.compile(r"(\d)(?:\.\d+)?/5")


def review_rating(e: Evidence) -> int | None:
    if not e.source.startswith("review"):
        return None
    m = _RATING.search(e.source)
    return int(m.group(1)) if m else None


def _split_evidence(facts: Facts) -> tuple[ReviewQuotes, list[Evidence], list[Evidence]]:
    """Reviews that can illustrate the review-text driver ({True: rated 4-5, False: rated 1-3}, only when that driver is
    among the facts), the other reviews, and browsing texts."""
    reviews = [e for e in facts.evidence if e.source.startswith("review")]
    browsing = [e for e in facts.evidence if not e.source.startswith("review")]
    if not any(d.name == "review text" for d in facts.drivers):
        return {}, reviews, browsing
    by: ReviewQuotes = {True: [], False: []}
    for e in reviews:
        r = review_rating(e)
        if r is not None:
            by[r >= 4].append(e)
    return by, [], browsing
