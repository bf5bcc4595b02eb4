"""The kinds of claim round 10 of the fact check's red team (tests/data/fact_check_round10.json) found wrongly judged,
in new wordings and for another customer than the round's: a false claim refused, a true one in the same words
passed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.explain import ALL_DRIVER_NAMES, check_narrative
from service.facts import Facts
from service.template_narrator import TemplateNarrator

DATA = Path(__file__).parent / "data"
FACTS = {k: Facts(**v) for k, v in json.loads((DATA / "fact_check_facts.json").read_text()).items()}

# High (tests/data/fact_check_facts.json): $551.51 over 90 days (80% range $0.00 to $1,084.09); spent $919.42 over 7
# purchases, one every 68 days; 2.12 orders expected; monetary +$342.98, expected orders +$268.92, tenure -$93.46,
# average order value -$20.04; churn 23% (low); browsed "Mavi Essential Building Blocks"
CASES = [
    # a rate of purchases is the cadence's, not a count of purchases
    ("High", "They order about 5 times a year.", True),
    ("High", "They order more than three times a month.", False),
    ("High", "Sie bestellen etwa fünfmal im Jahr.", True),
    # a multiple of an amount named right there
    ("High", "The forecast is more than half of the $919.42 they have spent so far.", True),
    ("High", "The forecast is roughly twice the $919.42 they have spent so far.", False),
    ("High", "The forecast is less than half of the $919.42 they have spent so far.", False),
    # the window the forecast is said for
    ("High", "The model expects $551.51 over the next three months.", True),
    ("High", "The model expects $551.51 over the next year.", False),
    ("High", "Le modèle prévoit 551,51 $ l'année prochaine.", False),
    ("High", "Das Modell erwartet im nächsten Monat Umsätze von 551,51 $.", False),
    # the orders expected in a table's row
    ("High", "| Expected orders (90 days) | ~2.1 |", True),
    ("High", "| Expected orders (90 days) | ~3.4 |", False),
    # a call to customer service the facts do not hold, in other languages
    ("High", "Il a appelé le service client la semaine dernière.", False),
    ("High", "Er hat letzte Woche den Kundenservice angerufen.", False),
    # browsing named as the last purchase
    ("High", "Su última compra fue Mavi Essential Building Blocks.", False),
    ("High", "Sein letzter Kauf: Mavi Essential Building Blocks.", False),
    # an end of the interval, in German
    ("High", "80-%-Intervall 0,00 $ bis 1.084,09 $.", True),
    ("High", "80-%-Intervall 0,00 $ bis 1.048,09 $.", False),
    # signed amounts in a list without a verb, each the effect of the driver named just before it
    ("High", "- Up: spend to date of $919.42 (+$342.98), purchase pattern (+$268.92)", True),
    ("High", "- Up: spend to date of $919.42 (+$268.92)", False),
    ("High", "Belastend: die Kundendauer von 14 Monaten (+93,46 $).", False),
    # a caveat of what a driver usually does is no direction
    (
        "High",
        "Holding it back: tenure (−$93.46) and average order value (−$20.04), the latter usually counts in a "
        "customer's favour.",
        True,
    ),
    # a churn risk named as such after a purchase
    ("High", "Bisher 7 Käufe über 919,42 $, Abwanderungsrisiko niedrig (rund 23 %).", True),
    ("High", "Bisher 7 Käufe über 919,42 $, Abwanderungsrisiko hoch (rund 23 %).", False),
    # another tier's floor after "vanaf", and the interval's own name with a hyphen
    ("High", "VIP vanaf 565,32 $; 80%-interval 0,00 $ – 1.084,09 $.", True),
    # the average per order, spend over purchases
    ("High", "7 orders so far, averaging roughly $131 each.", True),
]


# Round 11's kinds (tests/data/fact_check_round11.json), on the same customer
CASES_11 = [
    # the forecast as a share of an amount named there
    ("High", "The forecast is about 60% of the $919.42 they have spent so far.", True),
    ("High", "The forecast is less than 40% of the $919.42 they have spent so far.", False),
    # a difference from the spend so far
    ("High", "That is about $368 less than their entire spend to date.", True),
    # top shares in other languages
    ("High", "Damit gehört er zu den oberen 10 % der bewerteten Kunden.", True),
    ("High", "Damit gehört er zu den oberen 2 % der bewerteten Kunden.", False),
    ("High", "Lo que lo sitúa en el 1 % superior de los clientes.", False),
    # a churn level in Italian
    ("High", "Rischio di abbandono medio (23 %).", False),
    ("High", "Rischio di abbandono basso (23 %).", True),
    # "more than anything else" of a driver that is not the largest
    ("High", "Their purchase pattern adds more to the forecast than anything else.", False),
    ("High", "Their spend to date adds more to the forecast than anything else.", True),
    # a trend in German, with the amount in brackets
    ("High", "Die Ausgaben im jüngsten Zeitraum (435,16 $) liegen unter denen des Zeitraums davor.", False),
    ("High", "Im jüngsten Zeitraum hat er mehr ausgegeben als im Zeitraum davor.", True),
    # a flag in Dutch, a question that tells no one to act, a floor after "em"
    ("High", "Het account staat gemarkeerd voor retourcontrole.", False),
    ("High", "Does the team need to act? Keep them engaged with recommendations from the categories they buy.", True),
    ("High", "VIP em 565,32 $.", True),
]


@pytest.mark.parametrize(
    "tier, added, true", CASES + CASES_11, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES + CASES_11)]
)
def test_round_10_and_11_kinds_in_new_words(tier, added, true):
    facts = FACTS[tier]
    result = check_narrative(TemplateNarrator().narrate(facts) + "\n" + added, facts, ALL_DRIVER_NAMES)
    assert result.passed is true, result.reasons
