"""The kinds of claim round 12 of the fact check's red team (tests/data/fact_check_round12.json) found wrongly judged,
in new wordings and for the customers of round 11 rather than round 12's own: a false claim refused, a true one in the
same words passed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.explain import ALL_DRIVER_NAMES, check_narrative
from service.facts import Facts
from service.template_narrator import TemplateNarrator

DATA = Path(__file__).parent / "data"
FACTS = {k: Facts(**v) for k, v in json.loads((DATA / "fact_check_facts_round11.json").read_text()).items()}

# Round 11's customers: Low C000688 ($5.72 in 90 days, rank 30.3, churn 97.3% high, drivers -33.62 browsing, +15.62
# monetary, -10.03 average order, -7.39 recency (310 days), -7.06 expected orders: -42.48 in all); Medium C000322
# ($37.15, range $0.00-$61.92, spent $82.68 over 4 purchases, churn 61% medium, monetary +11.48 and recency +4.45 the
# only lifts); High C001158 ($297.94, 4 purchases, 3 reviews, churn 26% low, no returns); VIP C000743 ($1,483.69,
# spent $1,274.67, 3 returned or cancelled orders)
CASES = [
    # the forecast per month: spread over the horizon, never the forecast itself
    ("VIP", "That is about $495 a month.", True),
    ("VIP", "Roughly $500/mo over the next three months.", True),
    ("VIP", "That is roughly $1,480 per month.", False),
    ("Medium", "Cerca de 12,38 $ por mês.", True),
    ("Medium", "Ungefähr 37 $ pro Monat.", False),
    # spans and counts in the other languages
    ("Low", "Der letzte Kauf liegt rund 44 Wochen zurück.", True),
    ("Low", "Der letzte Kauf liegt rund 10 Wochen zurück.", False),
    ("High", "Bisher 268,60 $ aus 4 Bestellungen.", True),
    ("High", "Bisher 268,60 $ aus 5 Bestellungen.", False),
    ("High", "Il a passé 3 commandes jusqu'ici.", False),
    # a rank said as what the forecast beats
    ("Low", "That still beats roughly 30% of the customers we scored.", True),
    ("Low", "That still beats roughly 70% of the customers we scored.", False),
    # a churn band in Portuguese
    ("High", "Risco de churn baixo (26 %).", True),
    ("High", "Risco de churn elevado (26 %).", False),
    # a chance whose event its chance word names first
    ("Low", "La probabilità che compri qualcosa è intorno al 3 %, quindi il rischio di abbandono è alto.", True),
    ("Low", "La probabilità che compri qualcosa è intorno al 97 %, quindi il rischio di abbandono è alto.", False),
    ("Low", "The chance that they buy anything is under 3%, so the churn risk is high.", True),
    # the 80% range in other words
    ("Medium", "They should spend somewhere between $0 and $61.92 in 80% of cases.", True),
    ("Medium", "They should spend somewhere between $0 and $90 in 80% of cases.", False),
    ("Medium", "Intervallo all'80 % da 0,00 $ a 61,92 $.", True),
    ("Medium", "Rango del 80 %: 0,00 $–61,92 $.", True),
    # the drivers added up
    ("Low", "The drivers shown net out to about -$42.", True),
    ("Low", "The drivers shown net out to about -$60.", False),
    # the forecast as a share of the spend so far, and how far it is above it
    ("Medium", "That is about 45% of lifetime $82.68.", True),
    ("Medium", "That is about 80% of lifetime $82.68.", False),
    ("VIP", "The forecast exceeds their spend to date by roughly 16%.", True),
    # the largest driver that supports the forecast
    ("Medium", "The principal factor supporting the forecast is monetary.", True),
    ("Medium", "The principal factor supporting the forecast is recency.", False),
    # events the facts do not hold, and the same said of a customer whose facts hold them
    ("High", "As a long-standing rewards-club member, they get early access.", False),
    (
        "High",
        "Action: recommend from their categories and offer loyalty programme membership if they don't have it.",
        True,
    ),
    ("Medium", "Im Sommer gab es eine Rücksendung.", False),
    ("VIP", "Es gab mehrere Rücksendungen.", True),
    ("High", "Their order values have been rising steadily.", False),
    # personal contact where the playbook keeps to automated e-mails
    ("Low", "An account manager should call C000688 this week.", False),
    ("Low", "Leave them to the automated win-back e-mails; no need to phone them.", True),
]


@pytest.mark.parametrize("tier, added, true", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_round_12_kinds_in_new_words(tier, added, true):
    facts = FACTS[tier]
    result = check_narrative(TemplateNarrator().narrate(facts) + "\n" + added, facts, ALL_DRIVER_NAMES)
    assert result.passed is true, result.reasons
