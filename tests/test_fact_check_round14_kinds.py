"""The kinds of claim round 14 of the fact check's red team (tests/data/fact_check_round14.json, an LLM asked to go
beyond the template: comparisons, talking points, opening lines) found wrongly judged, in new wordings and for the
customers of round 13: a false claim refused, a true one in the same words passed. The round's many true refusals of
derived figures (ratios, per-week rates, sums in tables) are by design: the narrator is told to write no number the
facts do not hold (prompts/narrator.v1.system.md), and a refused narrative falls back to the template."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.explain import ALL_DRIVER_NAMES, check_narrative
from service.facts import Facts
from service.template_narrator import TemplateNarrator

DATA = Path(__file__).parent / "data"
FACTS = {k: Facts(**v) for k, v in json.loads((DATA / "fact_check_facts_round13.json").read_text()).items()}

# Round 13's customers: Medium C000625 ($102.99 in 90 days, spent $383.91, the forecast 27% of it; a 4/5 review of
# 2025-08-31 about a linen shirt); High C000481 (next order 2026-01-18, a Sunday; a 5/5 review of 2025-12-05 about a
# blender); VIP C001325 ($630.49, spent $227.06)
CASES = [
    # a fraction of an amount named right there
    ("Medium", "That forecast is roughly a quarter of the $383.91 they have spent so far.", True),
    ("Medium", "That forecast is roughly half of the $383.91 they have spent so far.", False),
    # deliveries and promotions the facts do not hold
    ("Medium", "Open with: 'I hope the tent gift box arrived safely!'", False),
    ("VIP", "They have redeemed several of our discount codes in the past.", False),
    # a weekday in Portuguese before a date with "de ... de"
    ("High", "Próxima encomenda por volta de domingo, 18 de janeiro de 2026.", True),
    ("High", "Próxima encomenda por volta de terça-feira, 18 de janeiro de 2026.", False),
    # a date given with a rating in brackets is that review's, whatever the product is called
    ("High", "Avaliações: o liquidificador (5/5, dezembro de 2025) e os lençóis (5/5, agosto de 2025).", True),
    ("High", "Avaliações: o liquidificador (5/5, dezembro de 2025) e os lençóis (5/5, julho de 2025).", False),
]


@pytest.mark.parametrize("tier, added, true", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_round_14_kinds_in_new_words(tier, added, true):
    facts = FACTS[tier]
    result = check_narrative(TemplateNarrator().narrate(facts) + "\n" + added, facts, ALL_DRIVER_NAMES)
    assert result.passed is true, result.reasons
