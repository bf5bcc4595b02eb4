"""The kinds of claim round 7 of the fact check's red team (tests/data/fact_check_round7.json) found wrongly judged,
each in new wordings and, where the facts allow, for other customers than the round's: a false claim refused, a true
one in the same words passed. Each case is a sentence added to the customer's true template narrative."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.explain import ALL_DRIVER_NAMES, check_narrative
from service.facts import Facts
from service.template_narrator import TemplateNarrator

DATA = Path(__file__).parent / "data"
FACTS = {k: Facts(**v) for k, v in json.loads((DATA / "fact_check_facts.json").read_text()).items()}
# round 7's own customers: the only ones whose facts hold a returned order (High: 1; its 4 reviews)
FACTS7 = {k: Facts(**v) for k, v in json.loads((DATA / "fact_check_facts_round7.json").read_text()).items()}

# (tier, sentence added to the true template, whether it is true); facts in tests/data/fact_check_facts.json:
# VIP forecast $1,380.15, spent $1,295.58, spend $370.20 in the prior window and $925.38 in the recent one, reviews of
# a poetry collection (2025-11-15, 4/5) and a cookbook (2025-11-11, 3/5); High forecast $551.51, VIP at $565.32, 7
# orders worth $919.42 ($131.35 each), reviews of sneakers and earbuds, browsed building blocks; Medium forecast
# $122.14, High at $123.41, spent $97.28, browsing takes off $9.66, reviews of a dress and a coffee grinder, browsed a
# rain coat; Low forecast $24.92, spent $122.82, next order 2026-02-09, reviews of a beanie hat (2025-04-20, 4/5) and a
# mouse (2024-10-24)
CASES = [
    # a multiple of the spend so far ("more than double everything they've spent to date" of 1.25x)
    ("Medium", "The forecast is more than double everything she has spent to date.", False),
    ("VIP", "The forecast is nearly twice their lifetime spend.", False),
    ("Low", "The forecast is under half of their total spend so far.", True),
    # browsing named with words between the pronoun and the noun, and its direction
    ("Medium", "Their fairly light browsing adds $9.66.", False),
    ("Medium", "The browsing behaviour lifts the forecast a little.", False),
    ("Medium", "Their recent browsing history takes off $9.66.", True),
    # one word said to be browsed that names another of their texts
    ("High", "Lately they browsed sneakers.", False),
    ("Medium", "In October they looked at a grinder.", False),
    ("High", "Lately they browsed toys.", True),
    # a review's date in a parenthesis beside a paraphrase that says "buy again"
    ("VIP", "The cookbook review called it 'okay for the price, would buy again' (3/5, 15 November 2025).", False),
    ("VIP", "The cookbook review called it 'okay for the price, would buy again' (3/5, 11 November 2025).", True),
    # the month of a review beside "order again" is the review's, not the next order's
    ("Low", "They said the beanie hat was perfect and that they would order again, 4/5 in April 2025.", True),
    ("Low", "They will probably order again in April 2026.", False),
    # a tier named with "at" before its floor
    ("Medium", "The forecast is just short of High at $123.41.", True),
    ("Medium", "The forecast is just short of High at $25.72.", False),
    # "each" after an amount is the average order
    ("High", "They have placed 7 orders worth $919.42, about $131 each.", True),
    ("High", "They have placed 7 orders, about $919 each.", False),
    # the gap to the next tier, when no words bind it
    ("High", "That leaves the forecast about $14 short of VIP.", True),
    ("Medium", "Only $1.27 short of High.", True),
    ("High", "That leaves the forecast about $24 short of VIP.", False),
    # a change in spend said in words that need no window, and the two windows' amounts swapped
    ("VIP", "Their spending is decelerating.", False),
    ("VIP", "Their spending is accelerating.", True),
    ("VIP", "They spent $370.20 in the last 90 days versus $925.38 in the 90 days before.", False),
    ("VIP", "They spent $925.38 in the last 90 days, up from $370.20 in the previous 90 days.", True),
]
CASES7 = [
    # something said never to have happened that did (High: 1 returned or cancelled order, 4 reviews)
    ("High", "Keine Retouren bisher.", False),
    ("High", "Sans aucun retour jusqu'ici.", False),
    ("High", "They have never returned an order.", False),
    ("High", "No cancellations or returns on record.", False),
    ("High", "They have never left a review.", False),
    ("High", "Nunca ha dejado una reseña.", False),
    ("High", "No returns in the last 90 days, as far as the profile shows.", True),
    ("High", "They have no open returns.", True),
    ("High", "They left 4 reviews and returned one order.", True),
]


def _check(facts: Facts, added: str):
    return check_narrative(TemplateNarrator().narrate(facts) + "\n" + added, facts, ALL_DRIVER_NAMES)


@pytest.mark.parametrize("tier, added, true", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_round_7_kinds_in_new_words(tier, added, true):
    result = _check(FACTS[tier], added)
    assert result.passed is true, result.reasons


@pytest.mark.parametrize("tier, added, true", CASES7, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES7)])
def test_something_said_never_to_have_happened_that_did_is_refused(tier, added, true):
    result = _check(FACTS7[tier], added)
    assert result.passed is true, result.reasons


def test_no_returns_is_left_alone_when_the_facts_hold_no_count_of_them():
    assert _check(FACTS["VIP"], "No returns so far.").passed
