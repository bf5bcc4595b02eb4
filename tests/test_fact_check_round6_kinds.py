"""The kinds of claim round 6 of the fact check's red team (tests/data/fact_check_round6.json) found wrongly judged,
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


def _with(tier: str, added: str) -> str:
    return TemplateNarrator().narrate(FACTS[tier]) + "\n" + added


# (tier, sentence added to the true template, whether it is true)
AMOUNTS = [
    # an amount bound by words in other languages: the average order (High: $131.35; spend so far $919.42)
    ("High", "Sus 7 compras suman 919,42 $ hasta ahora, con un ticket medio de 131,35 $.", True),
    ("High", "Il a un panier moyen de 131,35 $ et a dépensé 919,42 $ jusqu'à présent.", True),
    ("High", "Der durchschnittliche Bestellwert liegt bei 919,42 $.", False),
    # purchases already made "worth" an amount are the spend so far, not the forecast (VIP: $1,295.58 and $1,380.15)
    ("Medium", "Two orders so far, worth $97.28 in total.", True),
    ("VIP", "Its 12 orders to date are worth $1,380.15.", False),
    # a tier's line in other languages, with the tier named after it (Low: Medium at $25.72; High: VIP at $565.32)
    ("Low", "La previsión de 24,92 $ queda justo por debajo del umbral de Medium de 25,72 $.", True),
    ("High", "Le seuil VIP de 565,32 $ est encore loin.", True),
    ("High", "Die Schwelle für VIP liegt bei 565,32 $, die Prognose bei 551,51 $.", True),
    ("High", "The threshold for VIP is $551.51.", False),
]


SHARES = [
    # a share in words, hyphenated or not (read "2-thirds" once number words are digits; ranks: Low 49.1, Medium 79.7,
    # High 94.8)
    ("Medium", "Their forecast is higher than three-quarters of scored customers.", True),
    ("High", "Their forecast is higher than nine-tenths of scored customers.", True),
    ("Low", "Their forecast is above a third of scored customers.", True),
    ("Low", "Their forecast is higher than three-quarters of customers.", False),
    ("Low", "Their forecast is higher than nine-tenths of scored customers.", False),
    # a comparison that measures one driver is of that driver, not of the forecast named in its clause (tenure
    # percentiles: Low 73.3, Medium 17.8, High 69.3; browsing: Medium 39.6; frequency: Low 55.9)
    ("Low", "Their forecast is modest, but they have been with us longer than most customers.", True),
    ("Medium", "They have been with us for under three months, shorter than most customers.", True),
    ("High", "They have been with us longer than about two-thirds of customers.", True),
    ("Low", "They have been with us longer than three quarters of customers.", False),
    ("Medium", "They browse less actively than most customers.", True),
    ("Medium", "They browse more actively than three-quarters of customers.", False),
    ("Low", "They order more often than most customers.", True),
    ("Low", "They order less often than three quarters of customers.", False),
]


ABROAD = [
    # spans, counts and the next order in other languages (tenure: High 412 days, VIP 157, Low 437; orders expected:
    # High 2.1, VIP 6.1; next order: Low 2026-02-09, Medium 2026-01-29, High 2026-01-30)
    ("High", "Er ist seit etwa 14 Monaten Kunde bei uns.", True),
    ("High", "Er ist seit 4 Monaten bei uns.", False),
    ("VIP", "È cliente da circa 5 mesi e sono previsti circa 6 ordini nei prossimi 90 giorni.", True),
    ("VIP", "È cliente da circa 5 mesi e sono previsti circa 9 ordini nei prossimi 90 giorni.", False),
    ("Low", "Es cliente desde hace 2 años.", False),
    ("High", "Kunde seit etwa 14 Monaten; in den nächsten 90 Tagen werden etwa 5 Bestellungen erwartet.", False),
    ("Low", "Su próximo pedido se espera hacia el 9 de febrero de 2026.", True),
    ("Low", "Su próximo pedido se espera hacia el 9 de marzo de 2026.", False),
    ("Medium", "La prochaine commande est attendue vers le 29 janvier 2026, mais rien n'est sûr.", True),
    ("Medium", "La prochaine commande est attendue vers le 29 février 2026.", False),
    ("High", "Il prossimo ordine è atteso intorno al 30 gennaio 2026.", True),
    ("High", "Il prossimo ordine è atteso a fine marzo 2026.", False),
    ("Medium", "Am 29. Januar 2026 wird die nächste Bestellung erwartet.", True),
    ("Medium", "Die nächste Bestellung kommt wohl am 9. März 2026.", False),
    # a month said alone, an English date with its year
    ("Medium", "The next order is likely in early May.", False),
    ("Medium", "Their next order should land around January 29, 2026.", True),
]


LINES = [
    # a tier's line said crossed or not, in other words and languages (Low: $24.92, Medium from $25.72; Medium:
    # $122.14, High from $123.41; High: $551.51, VIP from $565.32)
    ("Medium", "The forecast is just above the threshold for High.", False),
    ("Medium", "The forecast is well above where Medium begins.", True),
    ("High", "Their forecast sits just under the line where VIP begins.", True),
    ("Low", "Le modèle prévoit environ 24,92 $, juste en dessous du seuil Medium.", True),
    ("Low", "Le modèle prévoit environ 24,92 $, juste au-dessus du seuil de Medium.", False),
    ("Low", "La previsione di 24,92 $ è sopra la soglia Medium.", False),
    # the spend so far may clear a line the forecast does not
    ("Low", "Sie haben bisher 122,82 $ ausgegeben, weit über der Medium-Schwelle.", True),
    # a forecast rounded across a line puts the customer on its other side
    ("Low", "The model expects about $26 over the next 90 days.", False),
    ("High", "The forecast is around $570 for the next 90 days.", False),
    ("High", "The forecast is around $560 for the next 90 days.", True),
    ("High", "The forecast is just shy of $570 for the next 90 days.", True),
    ("Medium", "The forecast is about $122 for the next 90 days, just under the High line at $123.41.", True),
]


EVENT_DATES = [
    # a date said of a review or of what they browsed is that event's (High: reviews 2025-08-25 of the sneakers, 5/5,
    # and 2025-08-05 of the earbuds, browsing 2025-12-24; Low: reviews 2025-04-20 of the beanie hat and 2024-10-24;
    # VIP: browsing 2025-11-28; Medium: browsing 2025-10-16, review 2025-11-12)
    ("High", "Their 5/5 review from 25 August 2025 praised the sneakers.", True),
    ("High", "Their 5/5 review from 5 August 2025 praised the sneakers.", False),
    ("High", "In August 2025 they reviewed the wireless earbuds (3/5) and the sneakers (5/5).", True),
    ("High", "On Christmas Eve, 24 December 2025, they looked at the Mavi Essential Building Blocks.", True),
    ("High", "They looked at the Mavi Essential Building Blocks on 2025-08-25.", False),
    ("Low", "The beanie hat review came in April 2025, the mouse one in October 2024.", True),
    ("Low", "The beanie hat review came in April 2024.", False),
    ("VIP", "Am 28. November 2025 suchten sie nach Rücksendungen.", True),
    ("VIP", "Im Oktober 2025 suchten sie nach Rücksendungen.", False),
    ("Medium", "They browsed the Brio Compact Rain Coat in mid-October 2025, before the 12 November review.", True),
    # a sentence that also speaks of purchases may give an order's date
    ("Low", "They last bought in April 2025 and reviewed the beanie hat.", True),
]


REVIEWS = [
    # a review named by its product, with the words of a problem blanked out (the earbuds' "colour" in "the sneakers
    # came in the wrong colour" names the problem, not the earbuds): High: sneakers 5/5 (VAT invoice), earbuds 3/5
    # (colour not as shown); Low: beanie hat 4/5 (perfect), mouse 3/5 (colour, packaging); Medium: summer dress 3/5,
    # coffee grinder 1/5 (damaged); VIP: poetry collection 4/5 (damaged), cookbook 3/5 (packaging)
    ("Low", "The ergonomic mouse was perfect, but the beanie hat came in the wrong colour.", False),
    ("Low", "They praised the beanie hat, but the ergonomic mouse came in the wrong colour.", True),
    (
        "Low",
        "They complained the mouse colour was not as shown and the packaging could be better, but loved the beanie.",
        True,
    ),
    ("Low", "Their 3/5 review said the colour was not as shown.", True),
    ("High", "They were unhappy that the sneakers were the wrong size.", False),
    ("High", "The earbuds' colour was not as shown; the sneakers were good but they need a VAT invoice.", True),
    ("VIP", "The poetry collection's packaging could be better.", False),
    ("VIP", "The cookbook's packaging could be better and the poetry collection arrived damaged.", True),
    ("Medium", "The summer dress arrived damaged, they wrote.", False),
    ("Medium", "The coffee grinder arrived damaged and they are still waiting for a refund.", True),
]


EVENTS = [
    # what support or a refund did, and the customer's life: the facts hold their words, orders and browsing only
    # (Medium: "... still waiting for my refund. Support was slow to respond."; High: "... a proper VAT invoice for our
    # company")
    ("Medium", "The grinder arrived damaged, but the refund was quickly processed.", False),
    ("Medium", "The team resolved the issue within a day.", False),
    ("Medium", "They are still waiting for their refund and found support slow to respond.", True),
    ("VIP", "The poetry collection arrived damaged; the refund has been sorted out since.", False),
    ("VIP", "They buy poetry for their students.", False),
    ("VIP", "She is a retired teacher who loves poetry.", False),
    ("Low", "He organises a hiking group and buys hats for the group.", False),
    ("High", "They buy toys for their kids.", False),
    # ... unless their own words tell of it
    ("High", "They asked for a VAT invoice for their company.", True),
]

BROWSED = [
    # what they are said to have browsed shares a word with what they browsed (High: "Mavi Essential Building Blocks";
    # Medium: "Brio Compact Rain Coat"; VIP: "how to return item")
    ("High", "They were browsing building block toys in late December.", True),
    ("High", "They browsed for a kitchen blender.", False),
    ("Medium", "They looked at waterproof rain jackets.", True),
    ("Medium", "They looked at outerwear.", True),  # one word: a summary, not checked
    ("VIP", "They searched for how to return an item.", True),
    ("VIP", "They searched for how to cancel their subscription.", False),
    ("Low", "Recently they viewed a rain coat and some other items.", True),
]


@pytest.mark.parametrize("tier, added, true", EVENTS, ids=[f"{c[0]}-{i}" for i, c in enumerate(EVENTS)])
def test_an_event_or_a_detail_of_their_life_needs_their_own_words(tier, added, true):
    result = check_narrative(_with(tier, added), FACTS[tier], ALL_DRIVER_NAMES)
    assert result.passed is true, result.reasons


@pytest.mark.parametrize("tier, added, true", BROWSED, ids=[f"{c[0]}-{i}" for i, c in enumerate(BROWSED)])
def test_what_they_browsed_is_named_in_its_own_words(tier, added, true):
    result = check_narrative(_with(tier, added), FACTS[tier], ALL_DRIVER_NAMES)
    assert result.passed is true, result.reasons


@pytest.mark.parametrize("tier, added, true", REVIEWS, ids=[f"{c[0]}-{i}" for i, c in enumerate(REVIEWS)])
def test_a_review_named_by_its_product_is_described_as_it_is(tier, added, true):
    result = check_narrative(_with(tier, added), FACTS[tier], ALL_DRIVER_NAMES)
    assert result.passed is true, result.reasons


@pytest.mark.parametrize("tier, added, true", EVENT_DATES, ids=[f"{c[0]}-{i}" for i, c in enumerate(EVENT_DATES)])
def test_a_date_said_of_a_review_or_of_browsing_is_that_events(tier, added, true):
    result = check_narrative(_with(tier, added), FACTS[tier], ALL_DRIVER_NAMES)
    assert result.passed is true, result.reasons


@pytest.mark.parametrize("tier, added, true", LINES, ids=[f"{c[0]}-{i}" for i, c in enumerate(LINES)])
def test_a_tier_line_is_crossed_only_where_the_forecast_crosses_it(tier, added, true):
    result = check_narrative(_with(tier, added), FACTS[tier], ALL_DRIVER_NAMES)
    assert result.passed is true, result.reasons


@pytest.mark.parametrize("tier, added, true", ABROAD, ids=[f"{c[0]}-{i}" for i, c in enumerate(ABROAD)])
def test_spans_counts_and_the_next_order_in_other_languages(tier, added, true):
    result = check_narrative(_with(tier, added), FACTS[tier], ALL_DRIVER_NAMES)
    assert result.passed is true, result.reasons


def test_a_date_is_read_with_its_day_and_year_in_each_language():
    from service.claim_dates import dates_in

    def read(text: str) -> list[tuple[int | None, int, int | None]]:
        return [(d.year, d.month, d.day) for d in dates_in(text)]

    assert read("On 28 November 2025 they browsed") == [(2025, 11, 28)]
    assert read("around Feb. 3, 2026, or later") == [(2026, 2, 3)]
    assert read("el 30 de enero de 2026") == [(2026, 1, 30)]
    assert read("um den 11. Februar erwartet") == [(None, 2, 11)]
    assert read("le 1er mars 2026") == [(2026, 3, 1)]
    assert read("expected in January, in mid-March") == [(None, 1, None), (None, 3, None)]
    # words that start like a month, and "may" as a verb, are no dates
    assert read("they may buy 2 sets and 3 novels; the decor was great") == []


@pytest.mark.parametrize("tier, added, true", SHARES, ids=[f"{c[0]}-{i}" for i, c in enumerate(SHARES)])
def test_a_share_of_customers_is_checked_against_what_it_compares(tier, added, true):
    result = check_narrative(_with(tier, added), FACTS[tier], ALL_DRIVER_NAMES)
    assert result.passed is true, result.reasons


@pytest.mark.parametrize("tier, added, true", AMOUNTS, ids=[f"{c[0]}-{i}" for i, c in enumerate(AMOUNTS)])
def test_an_amount_is_bound_to_the_fact_its_words_name(tier, added, true):
    result = check_narrative(_with(tier, added), FACTS[tier], ALL_DRIVER_NAMES)
    assert result.passed is true, result.reasons
