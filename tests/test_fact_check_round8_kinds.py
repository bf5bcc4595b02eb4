"""The kinds of claim round 8 of the fact check's red team (tests/data/fact_check_round8.json) found wrongly judged,
each in new wordings and for other customers than the round's: a false claim refused, a true one in the same words
passed. Each case is a sentence added to the customer's true template narrative."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.explain import ALL_DRIVER_NAMES, check_narrative
from service.facts import Facts
from service.template_narrator import TemplateNarrator

DATA = Path(__file__).parent / "data"
FACTS = {k: Facts(**v) for k, v in json.loads((DATA / "fact_check_facts.json").read_text()).items()}

# (tier, sentence added to the true template, whether it is true); facts in tests/data/fact_check_facts.json:
# VIP churn 21.83%, forecast $1,380.15, spend rising ($370.20 -> $925.38), reviews of a poetry collection (damaged,
# still waiting for a refund) and a cookbook (okay for the price), no discount in the playbook; High forecast $551.51
# (above 94.8%), High at $123.41, spent $919.42, 4 reviews (sneakers 2025-08-25 5/5, earbuds 2025-08-05 3/5), browsed
# Mavi Essential Building Blocks, tenure 412 days (-$93.46), average order $131.35 (-$20.04); Medium forecast $122.14,
# Medium at $25.72, reviews of a summer dress (instructions confusing) and a coffee grinder (damaged, refund, support
# slow); Low forecast $24.92, Medium at $25.72
CASES = [
    # a chance of no purchase in other languages, and "no-purchase" written with a hyphen
    ("VIP", "Hay un 78 % de probabilidad de que no compre nada en ese periodo.", False),
    ("VIP", "Hay un 22 % de probabilidad de que no vuelva a comprar.", True),
    ("VIP", "Die Wahrscheinlichkeit, dass kein Kauf erfolgt, liegt bei 78 %.", False),
    ("VIP", "Es besteht ein Risiko von etwa 22 %, in dieser Zeit nichts zu kaufen.", True),
    ("VIP", "Churn is low (a 78% no-purchase chance).", False),
    # stars beside a review's date, whatever the language around them
    ("High", "Os fones de ouvido foram avaliados (5/5, 05/08/2025).", False),
    ("High", "Os fones de ouvido foram avaliados (3/5, 05/08/2025).", True),
    # what they browsed said to be bought, in other languages
    ("High", "Sie hat die Mavi Essential Building Blocks gekauft.", False),
    ("High", "Il a acheté les Mavi Essential Building Blocks.", False),
    ("High", "Sie hat sich die Mavi Essential Building Blocks angesehen.", True),
    # one review's content said of another review's product
    ("VIP", "They said the cookbook arrived and they are still waiting for a refund.", False),
    ("Medium", "They wrote that the summer dress was slow to arrive and support was slow to respond.", False),
    ("VIP", "They found the cookbook okay for the price.", True),
    ("Medium", "The summer dress works, but the instructions were confusing.", True),
    # what we did, which the facts never hold
    ("Medium", "We issued her a full refund for the grinder.", False),
    ("Medium", "Support has already sent them a replacement.", False),
    # a multiple of a floor in other languages
    ("Medium", "La prévision fait environ le double du seuil Medium.", False),
    ("Medium", "La previsione è circa il doppio della soglia Medium.", False),
    ("Medium", "La prévision fait environ 5 fois le seuil Medium.", True),
    # a span in other languages with its number in words and a bound
    ("High", "Klant sinds ruim twee jaar.", False),
    ("High", "Cliente da più di due anni.", False),
    ("High", "Kunde seit über zwölf Monaten.", True),
    # an incentive in other languages, and one said not to be needed
    ("VIP", "Als Anreiz 15 % Rabatt anbieten.", False),
    ("VIP", "Un bon de réduction le ferait revenir plus vite.", False),
    ("VIP", "Ein Rabatt ist nicht nötig.", True),
    ("VIP", "No hace falta ofrecer un descuento.", True),
    # spend said to rise or fall, in other languages
    ("VIP", "La spesa è in calo rispetto al periodo precedente.", False),
    ("VIP", "De uitgaven zijn gedaald ten opzichte van de vorige periode.", False),
    ("VIP", "La spesa è in crescita rispetto al periodo precedente.", True),
    # a driver's direction in the past tense
    ("High", "The forecast was helped by their frequency.", False),
    ("High", "The forecast was helped by their long tenure.", False),
    ("High", "The forecast was held back by their long tenure.", True),
    # a round number said as a bound
    ("High", "They have spent over $900 so far.", True),
    ("High", "They have spent over $950 so far.", False),
    ("High", "The model expects just under $560.", True),
    ("High", "The model expects just under $500.", False),
    ("High", "The forecast beats more than 94% of customers.", True),
    ("High", "The forecast beats more than 96% of customers.", False),
    ("High", "The forecast is below $27.52.", False),
    # a part of a count
    ("High", "Three of their reviews were written in August.", True),
    ("High", "Six of their reviews were written in August.", False),
    # a tier's floor in Dutch and German, the verb after the amount
    ("Low", "Medium begint pas bij 25,72 $.", True),
    ("Low", "Medium begint pas bij 24,92 $.", False),
    ("Low", "Medium fängt erst ab 25,72 $ an.", True),
    # a driver's effect in Spanish, two in one sentence
    ("High", "El valor medio por pedido resta 20,04 $ y la antigüedad otros 93,46 $.", True),
    ("High", "El valor medio por pedido resta 131,35 $.", False),
    # how far the forecast is above a floor it clears
    ("High", "The forecast is $428.10 above the High threshold.", True),
    ("High", "The forecast is $14.00 above the High threshold.", False),
]


@pytest.mark.parametrize("tier, added, true", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_round_8_kinds_in_new_words(tier, added, true):
    facts = FACTS[tier]
    result = check_narrative(TemplateNarrator().narrate(facts) + "\n" + added, facts, ALL_DRIVER_NAMES)
    assert result.passed is true, result.reasons


def test_one_of_our_vips_states_the_tier():
    text = "C001037 is one of our VIPs: the model expects $1,380.15 over the next 90 days."
    assert check_narrative(text, FACTS["VIP"], ALL_DRIVER_NAMES).passed
