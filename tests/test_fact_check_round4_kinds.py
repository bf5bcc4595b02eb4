"""The kinds of claim rounds 4 and 5 of the fact check's red team found unchecked (tests/data/fact_check_round4.json,
fact_check_round5.json), one case each way: a false claim refused, the true claim in the same words passed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.explain import ALL_DRIVER_NAMES, check_narrative
from service.facts import Facts
from service.template_narrator import TemplateNarrator

DATA = Path(__file__).parent / "data"
FACTS = {k: Facts(**v) for k, v in json.loads((DATA / "fact_check_facts.json").read_text()).items()}


def _with(tier: str, added: str) -> str:
    return TemplateNarrator().narrate(FACTS[tier]) + "\n" + added


# (tier, sentence added to the true template, whether it is true)
CASES = [
    # multiples of a floor (Medium: forecast $122.14, floor $25.72, 4.75 times; VIP: $1,380.15 against $565.32, 2.44)
    ("Medium", "Their forecast is almost five times the Medium floor.", True),
    ("Medium", "Their forecast is about double the Medium floor.", False),
    ("VIP", "Their forecast is more than three times that floor.", False),
    ("VIP", "Their forecast is roughly 2.4 times the VIP floor.", True),
    ("Medium", "They ordered twice that month.", True),  # no multiple of an amount
    # shares of customers, in their direction (Low: rank 49.1; Medium: monetary percentile 58)
    ("Low", "The model's forecast is higher than 49% of scored customers.", True),
    ("Low", "The model's forecast is higher than half of scored customers.", False),
    ("Medium", "On monetary they spent less than 58% of customers.", False),
    ("Medium", "On monetary they spent more than 58% of customers.", True),
    # European number formats (VIP: $1,380.15 forecast, 6.1 orders expected)
    ("VIP", "Dépense prévue : 1 380,15 $ sur 90 jours. Environ 6,1 commandes attendues.", True),
    ("VIP", "Dépense prévue : 1 830,15 $ sur 90 jours.", False),
    # counts and spans said another way (High: 7 purchases; Medium: every 22 days)
    ("High", "They have spent $919.42 over 7 purchases.", True),
    ("High", "They have spent $919.42 over 4 purchases.", False),
    ("Medium", "El cliente compra cada 22 días de media.", True),
    ("Medium", "El cliente compra cada 12 días de media.", False),
    # the last purchase said vaguely (Low: 262 days ago)
    ("Low", "They last bought several months ago.", True),
    ("Low", "They last bought a few weeks ago.", False),
    # a dotted date (Medium: next order 2026-01-29)
    ("Medium", "Die nächste Bestellung wird um den 29.01.2026 erwartet.", True),
    ("Medium", "Die nächste Bestellung wird um den 19.03.2026 erwartet.", False),
    # the RFM segment "At risk" and a tier name are no churn level (Low: churn high)
    ("Low", "C000402 \u2014 Low tier, At risk segment.", True),
    # a floor named with its tier after the amount (High: VIP floor $565.32, forecast $551.51)
    ("High", "The forecast is short of the $565.32 VIP floor.", True),
    ("High", "Their forecast already clears that VIP floor.", False),
    # round 5: a weekday with a date (Medium's next order 2026-01-29 is a Thursday)
    ("Medium", "The next order is expected around Thursday, 29 January 2026.", True),
    ("Medium", "The next order is expected around Wednesday, 29 January 2026.", False),
    # times said vaguely (Low: with us 437 days, last purchase 262 days ago; Medium: every 22 days)
    ("Low", "They have been with us for several years.", False),
    ("Low", "They have only been with us for a few weeks.", False),
    ("Medium", "They tend to buy every few weeks.", True),
    ("Medium", "They tend to buy every couple of months.", False),
    # the forecast's horizon after 'of spend' (Low: $24.92 over 90 days)
    ("Low", "The model expects about $24.92 of spend per month.", False),
    # churn in idioms (Low: high risk; VIP: low risk)
    ("Low", "On retention they are rock-solid.", False),
    ("VIP", "On retention they are rock-solid.", True),
    # events the facts never hold
    ("Medium", "They called support twice last week.", False),
    ("Medium", "The refund has since been issued.", False),
    ("High", "As an existing loyalty programme member, they get recommendations.", False),
    ("High", "They run a small business in Munich.", False),
    # a review named by its product, described with the wrong stars or a problem it does not tell of
    ("High", "They were unhappy with the sneakers.", False),
    ("High", "They rated the wireless earbuds 3 out of 5 because they stopped working.", False),
    ("High", "They rated the wireless earbuds 3 out of 5 because the colour was not as shown.", True),
    ("VIP", "They left a one-star review about the poetry collection.", False),
]


@pytest.mark.parametrize("tier, added, true", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_a_claim_of_each_kind_is_checked(tier, added, true):
    result = check_narrative(_with(tier, added), FACTS[tier], ALL_DRIVER_NAMES)
    assert result.passed is true, result.reasons


def test_browsing_is_never_a_purchase_nor_their_words():
    f = FACTS["High"]  # browsed "Mavi Essential Building Blocks"
    base = TemplateNarrator().narrate(f)
    for added, ok in (
        ("On 2025-12-24 they bought the Mavi Essential Building Blocks.", False),
        ("They wrote to us about the Mavi Essential Building Blocks.", False),
        ("They looked at the Mavi Essential Building Blocks but have not bought them.", True),
    ):
        assert check_narrative(base + "\n" + added, f, ALL_DRIVER_NAMES).passed is ok, added


def test_a_review_is_described_with_its_own_product_and_tone():
    vip, high = FACTS["VIP"], FACTS["High"]
    cases = (
        (vip, "The cookbook arrived damaged and they await a refund (review 2025-11-15, 4/5).", False),
        (vip, "The poetry collection arrived damaged and they await a refund (review 2025-11-15, 4/5).", True),
        (high, "They complained about the sneakers (review 2025-08-25, 5/5).", False),
        (high, "They were happy with the sneakers and asked for a VAT invoice (review 2025-08-25, 5/5).", True),
    )
    for f, added, ok in cases:
        text = TemplateNarrator().narrate(f) + "\n" + added
        assert check_narrative(text, f, ALL_DRIVER_NAMES).passed is ok, added


def test_the_templates_own_driver_lines_and_rating_line_pass():
    """A driver line that explains itself in other drivers' words ("expected orders adds ...: how often and how
    recently they have bought") and the average-rating line ("rates us 4.0 out of 5") are no claims about a second
    driver or a review's stars: 17 of the 1,896 demo customers' own narratives had been refused for them."""
    raw = json.loads((DATA / "fact_check_facts.json").read_text())["Medium"]
    raw["drivers"] = raw["drivers"] + [
        {"name": "recency", "value": 235.0, "contribution": -4.26, "percentile": 66.0, "feature": "recency_days",
         "unit": "days since the last purchase", "churn_contribution": 0.01},
        {"name": "reviews and ratings", "value": 4.0, "contribution": -1.52, "percentile": None,
         "feature": "avg_rating", "unit": "average rating", "churn_contribution": 0.0},
    ]  # fmt: skip
    raw["evidence"] = [
        {"text": "Average quality mechanical keyboard, delivery was fine.", "source": "review 2025-07-03, 4/5"}
    ]
    facts = Facts(**raw)
    narrative = TemplateNarrator().narrate(facts)
    assert "how recently" in narrative
    result = check_narrative(narrative, facts, ALL_DRIVER_NAMES)
    assert result.passed, result.reasons


def test_a_review_quoted_whole_may_name_what_they_browsed():
    """A review quoted whole that holds the words of a browsing text ("The makeup brush set ...") is no browsing
    presented as their words: a demo customer's own narrative had been refused for it."""
    raw = json.loads((DATA / "fact_check_facts.json").read_text())["High"]
    raw["evidence"] = [
        {"text": "The makeup brush set arrived quickly and looks good.", "source": "review 2025-08-25, 5/5"},
        {"text": "makeup brush set", "source": "browsing 2025-12-24"},
    ]
    facts = Facts(**raw)
    narrative = TemplateNarrator().narrate(facts)
    assert "\u201cThe makeup brush set arrived" in narrative
    result = check_narrative(narrative, facts, ALL_DRIVER_NAMES)
    assert result.passed, result.reasons
