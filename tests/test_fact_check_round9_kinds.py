"""The kinds of claim round 9 of the fact check's red team (tests/data/fact_check_round9.json) found wrongly judged, in
new wordings and for other customers than the round's: a false claim refused, a true one in the same words passed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.explain import ALL_DRIVER_NAMES, check_narrative
from service.facts import Facts
from service.privacy import redact
from service.template_narrator import TemplateNarrator

DATA = Path(__file__).parent / "data"
FACTS = {k: Facts(**v) for k, v in json.loads((DATA / "fact_check_facts.json").read_text()).items()}

# facts in tests/data/fact_check_facts.json (see test_fact_check_round8_kinds.py); High: monetary +$342.98 (largest),
# expected orders +$268.92, tenure -$93.46 (the largest drag), average order -$20.04; next order 2026-01-30 (a
# Friday); churn 23.47% (low); segment of VIP Champions; Medium: 2 purchases, reviews 2025-10-19 (dress, 3/5) and
# 2025-11-12 (grinder, 1/5)
CASES = [
    # "the biggest" of those that lower or raise the value, named in other words or by its amount
    ("High", "The biggest thing dragging the forecast down is their average order.", False),
    ("High", "The biggest thing dragging the forecast down is their long history with us.", True),
    ("High", "The main thing propping it up is their purchase pattern.", False),
    ("High", "The main thing propping it up is their spend to date.", True),
    ("High", "El principal motivo es su patrón de compra, que suma 268,92 $.", False),
    ("High", "El principal motivo es su gasto acumulado, que suma 342,98 $.", True),
    # a weekday in another language beside the date it names
    ("High", "Die nächste Bestellung wird am Donnerstag, dem 30. Januar 2026 erwartet.", False),
    ("High", "Die nächste Bestellung wird am Freitag, dem 30. Januar 2026 erwartet.", True),
    ("High", "La prochaine commande est attendue le vendredi 30 janvier 2026.", True),
    # the next order with its noun left out, in other languages
    ("High", "Bisher 7 Käufe; die nächste voraussichtlich am 1. März 2026.", False),
    ("High", "Bisher 7 Käufe; die nächste voraussichtlich am 30. Januar 2026.", True),
    # a churn level with "ne pas" in the event it is of
    ("High", "Risque d'attrition élevé : 23 % de probabilité de ne pas racheter.", False),
    ("High", "Risque d'attrition faible : 23 % de probabilité de ne pas racheter.", True),
    # the forecast per month in other languages
    ("High", "Prévision : 551,51 $ par mois.", False),
    ("High", "Prognose: 551,51 $ pro Monat.", False),
    # a review's date beside its quote (the quote names the review) and dashed dates
    (
        "Medium",
        "In hun review van 12-11-2025 schreven ze: “The summer dress works but the instructions were confusing.”",
        False,
    ),
    (
        "Medium",
        "In hun review van 19-10-2025 schreven ze: “The summer dress works but the instructions were confusing.”",
        True,
    ),
    # browsing said to be an order, or on a wishlist
    ("High", "Latest order: Mavi Essential Building Blocks.", False),
    ("High", "They put the Mavi Essential Building Blocks on their wishlist.", False),
    # a table's count
    ("High", "| Orders to date | 3 |", False),
    ("High", "| Orders to date | 7 |", True),
    # a signed amount is a driver's effect
    ("High", "- spend to date $919.42 (+$342.98)", True),
    ("High", "- tenure (412 days): +$342.98", False),
    # membership and a rank said with "just"
    ("High", "They are a Gold member of the loyalty programme.", False),
    ("High", "Invite them to the loyalty programme if they are not already a member.", True),
    ("High", "The forecast ranks above just 5.2% of scored customers.", False),
    # the segment's own name in guillemets
    ("VIP", "Segment RFM : « Champions ».", True),
    ("VIP", "Segment RFM : « Hibernating ».", False),
    # the threshold of another tier said in Spanish
    ("High", "El nivel VIP empieza en 565,32 $.", True),
    # a count with a decimal is that precise (High: 2.12 orders expected; the driver's unlevelled value is 1.21)
    ("High", "About 1.3 orders are expected in the next 90 days.", False),
    ("High", "About 2.1 orders are expected in the next 90 days.", True),
]


@pytest.mark.parametrize("tier, added, true", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_round_9_kinds_in_new_words(tier, added, true):
    facts = FACTS[tier]
    result = check_narrative(TemplateNarrator().narrate(facts) + "\n" + added, facts, ALL_DRIVER_NAMES)
    assert result.passed is true, result.reasons


def test_an_amount_beside_a_share_is_no_phone_number():
    """ "$832.33 (80% range" had been masked as a phone number and the narrative refused for contact data."""
    assert redact("$832.33 (80% range $0.00 to $1,318.28)") == "$832.33 (80% range $0.00 to $1,318.28)"
