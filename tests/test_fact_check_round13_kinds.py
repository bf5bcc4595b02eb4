"""The kinds of claim round 13 of the fact check's red team (tests/data/fact_check_round13.json) found wrongly judged,
in new wordings and for the customers of round 12 rather than round 13's own: a false claim refused, a true one in the
same words passed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.explain import ALL_DRIVER_NAMES, check_narrative
from service.facts import Facts
from service.template_narrator import TemplateNarrator

DATA = Path(__file__).parent / "data"
FACTS = {k: Facts(**v) for k, v in json.loads((DATA / "fact_check_facts_round12.json").read_text()).items()}

# Round 12's customers: Low C000229 ($0.65 in 90 days, last bought 272 days ago, one order every 136 days, churn 93.7%
# high); Medium C001291 ($53.22, Medium from $24.48, High from $135.76, last bought 42 days ago, every 16 days);
# High C000280 ($197.60, rank 86.1, spent $463.26 at the 90th percentile, monetary +127.28 the largest driver, then
# expected orders +93.48, tenure -23.03, churn 18.8% low); VIP C000626 ($1,133.69, $525.27 over the $608.42 floor,
# monetary +594.15 the largest, browsing +143.33, tenure -56.90)
CASES = [
    # amounts with a decimal comma and a comma after them, and cents (as money: under a dollar, any amount is within the
    # rounding the check allows, so only the true case is asserted)
    ("Medium", "Medium vanaf $ 24,48, High vanaf $ 135,76.", True),
    ("Medium", "Medium vanaf $ 24,48, High vanaf $ 153,76.", False),
    ("Low", "Das Modell erwartet nur rund 65 Cent.", True),
    # a range that holds the fact, or does not
    ("Medium", "When active they buy every two to three weeks.", True),
    ("Low", "When active they buy every four to five weeks.", False),
    ("High", "That puts them in the top 13-14% of customers.", True),
    # a share said as "N in M"
    ("High", "The forecast is ahead of more than eight in ten scored customers.", True),
    # a level labelled as churn's, beside the chance of buying
    ("Low", "Churn: high, about a 6% chance of a purchase in 90 days.", True),
    ("Low", "Churn: low, about a 6% chance of a purchase in 90 days.", False),
    # "high value" said of what they bought, not of the customer
    ("Medium", "Both orders were small rather than at a high value.", True),
    ("Medium", "A high-value customer for us.", False),
    # a tier to reach said with "bis", and the margin over a floor named with its amount
    ("High", "Bis VIP fehlen noch rund 411 $.", True),
    ("VIP", "That is about $525 over the $608.42 VIP floor.", True),
    ("VIP", "That is about $900 over the $608.42 VIP floor.", False),
    # what the forecast would need to climb by, and to
    ("High", "To reach VIP the forecast would need to climb by about $411, to $608.42.", True),
    ("High", "To reach VIP the forecast would need to climb by about $250, to $608.42.", False),
    # the days since the last purchase in other languages, and a start as a customer said with "ago"
    ("Medium", "De laatste aankoop is ongeveer 42 dagen geleden.", True),
    ("Medium", "De laatste aankoop is ongeveer 16 dagen geleden.", False),
    ("Low", "Der letzte Kauf war vor etwa 136 Tagen.", False),
    ("Medium", "Two purchases since they became a customer about 8 weeks ago.", True),
    # a share of customers in German
    ("High", "Mit bisherigen Ausgaben von 463,26 $ liegt er vor rund 90 % der Kunden.", True),
    ("High", "Mit bisherigen Ausgaben von 463,26 $ liegt er vor mehr als 98 % der Kunden.", False),
    # the driver a superlative is said of, when more are named after it
    ("VIP", "The biggest single driver is what they've already spent, followed by their purchase pattern.", True),
    ("VIP", "The biggest single driver is their purchase pattern, followed by what they've already spent.", False),
    # a driver's direction said in Spanish
    ("High", "La antigüedad resta 23,03 $.", True),
    ("High", "La antigüedad le suma otros 23,03 $.", False),
    # the season given a reason of the customer's own
    ("Medium", "The time-of-year factor (-$14.47) is because she only buys in spring.", False),
    ("Medium", "The time of year takes $14.47 off: the weeks ahead are a quieter season for spend.", True),
]


@pytest.mark.parametrize("tier, added, true", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_round_13_kinds_in_new_words(tier, added, true):
    facts = FACTS[tier]
    result = check_narrative(TemplateNarrator().narrate(facts) + "\n" + added, facts, ALL_DRIVER_NAMES)
    assert result.passed is true, result.reasons
