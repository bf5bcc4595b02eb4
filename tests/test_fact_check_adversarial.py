# ruff: noqa: E501  (the narratives are data, kept whole)
"""The fact check against narratives written to deceive it (a red-team round of 94, 2026-12-02): each false one
states one thing the facts contradict (a churn level, a tier by another word or a tier history, a driver turned by
"not" or by a second clause, a number in words or with the wrong unit, a percentage bound to the wrong fact, a quote
cut after a negation, an invented event or incentive) and must fail; each true one must pass. Before this round 84
of the 86 false ones passed."""

import json
from pathlib import Path

import pytest

from service.explain import ALL_DRIVER_NAMES, TemplateNarrator, check_narrative
from service.facts import Facts

FACTS = {
    k: Facts(**v) for k, v in json.loads((Path(__file__).parent / "data" / "fact_check_facts.json").read_text()).items()
}
BASE = {
    "VIP": "Customer C001037 is in the VIP tier: the model expects $1,380.15 of spend in the next 90 days.",
    "High": "Customer C000460 is in the High tier: the model expects $551.51 of spend in the next 90 days.",
    "Medium": "Customer C001241 is in the Medium tier: the model expects $122.14 of spend in the next 90 days.",
    "Low": "Customer C000402 is in the Low tier: the model expects $24.92 of spend in the next 90 days.",
}

FALSE = [
    ("N01", "VIP", "bought 12 times, not twenty (number in words)", "{B} She has bought twenty times so far."),
    (
        "N02",
        "VIP",
        "forecast $1,380, not ~two thousand (words)",
        "{B} In round terms she is worth roughly two thousand dollars to us next quarter.",
    ),
    (
        "N04",
        "High",
        "$551.51, not $5.5k (k suffix ignored; 5.5~5)",
        "Customer C000460 is in the High tier: the model expects about $5.5k of spend in the next 90 days.",
    ),
    ("N05", "VIP", "spent $1,295.58 to date, not $1.3M (M suffix)", "{B} Her lifetime spend is about $1.3M."),
    (
        "N06",
        "Medium",
        "churn 51%, not 80% (80 is always allowed)",
        "{B} There is an 80% chance she makes no purchase in the next 90 days.",
    ),
    ("N07", "Low", "churn 84%, not 5% (5 always allowed)", "{B} There is only a 5% chance she stops buying."),
    ("N08", "High", "churn is 23%, not 0.23% (probability as percent)", "{B} Her churn risk is a negligible 0.23%."),
    ("N09", "Medium", "rank 79.7 = top ~20%, not top 5%", "{B} She is in the top 5% of our customers by forecast."),
    (
        "N10",
        "Low",
        "rank 49.1 = middle, not top 10% (10 comes from a review date)",
        "{B} She is in the top 10% of customers by forecast.",
    ),
    ("N11", "VIP", "last order 40 days ago, not 4", "{B} She last ordered 4 days ago."),
    ("N12", "High", "customer for 14 months, not 14 years (unit ignored)", "{B} She has been a customer for 14 years."),
    ("N13", "Medium", "2 purchases, not 17 orders", "{B} She has placed 17 orders with us."),
    ("N17", "Medium", "1.47 orders expected, not 4.3", "{B} About 4.3 orders are expected in the next 90 days."),
    ("N19", "VIP", "12 purchases, not 90", "{B} She has bought 90 times."),
    (
        "N20",
        "High",
        "recency 7 days; '30 days since last purchase' false (30 from a date)",
        "{B} Her last purchase was 30 days ago.",
    ),
    (
        "T01",
        "VIP",
        "she IS a VIP; says not yet VIP",
        "Customer C001037 is not yet a VIP customer: the model expects $1,380.15 of spend in the next 90 days.",
    ),
    (
        "T02",
        "High",
        "High, not top tier (tier only stated via 'Highly')",
        "Customer C000460 is a top-tier customer. Highly engaged: the model expects $551.51 of spend in the next 90 days.",
    ),
    ("T03", "Medium", "Medium, not a High-value customer", "{B} She is a High-value customer for us."),
    ("T04", "Low", "no tier history; never VIP (downgraded claim)", "{B} She was downgraded from VIP last month."),
    ("T06", "Medium", "Medium, not 'high tier' (lowercase)", "{B} Operationally she is a high tier customer."),
    ("T07", "VIP", "VIP, not low-tier (lowercase)", "{B} Handle her as a low-tier account."),
    ("T09", "High", "no tier history: never VIP", "{B} She fell from VIP into this tier last quarter."),
    ("T10", "VIP", "she is VIP, did not drop to High", "{B} This quarter she has dropped to High."),
    ("T12", "High", "High, not VIP (zero-width space in V​IP)", "{B} She is a V​IP customer."),
    ("T13", "Medium", "Medium, not a V.I.P.", "{B} She is a V.I.P. in every sense."),
    (
        "T15",
        "Low",
        "Low, not MEDIUM (uppercase; tier 'stated' via 'Lower')",
        "Customer C000402 is a MEDIUM-tier customer: the model expects $24.92 of spend in the next 90 days. Lower spend than the median customer.",
    ),
    (
        "T17",
        "VIP",
        "VIP; 'VIP' only as a threshold phrase, while claiming Medium",
        "Customer C001037: VIP starts at $565.32. She is a mid-tier customer expected to spend $1,380.15 in the next 90 days.",
    ),
    (
        "T18",
        "Medium",
        "Medium, not the High tier (HIGH in caps)",
        "Customer C001241 is in the HIGH tier: the model expects $122.14 of spend in the next 90 days. Medium churn risk.",
    ),
    (
        "D01",
        "VIP",
        "monetary RAISES value (+759.67); both verbs in one sentence skip the check",
        "{B} Monetary lowers her value, while expected orders adds to it.",
    ),
    (
        "D02",
        "High",
        "tenure LOWERS value (-93.46); 'helps' not a direction word",
        "{B} Her tenure helps her forecast a lot.",
    ),
    (
        "D03",
        "Medium",
        "time of year DOES lower value (-10.31); negation",
        "{B} Time of year does not lower her forecast.",
    ),
    ("D04", "Low", "monetary RAISES value (+16.67); 'drags down' unknown", "{B} Monetary drags her forecast down."),
    (
        "D05",
        "VIP",
        "tenure is the smallest driver (+31.34); monetary the largest",
        "{B} The single biggest factor behind her forecast is tenure.",
    ),
    ("D09", "High", "tenure contributes -$93.46, not +", "{B} Tenure contributes +$93.46."),
    (
        "D10",
        "Medium",
        "expected orders adds $44.34, not $9.66 (another driver's amount)",
        "{B} Expected orders adds $9.66.",
    ),
    (
        "D11",
        "Low",
        "tenure lowers, shown as up arrow in a table",
        "{B}\n\n| driver | effect | amount |\n|---|---|---|\n| tenure | ↑ | +$23.85 |",
    ),
    (
        "D14",
        "Low",
        "frequency LOWERS value (-5.05); 'improves' not a direction word",
        "{B} Her frequency improves her forecast.",
    ),
    (
        "D15",
        "High",
        "average order value lowers (-20.04); 'is a positive driver'",
        "{B} Average order value is a positive driver for her.",
    ),
    ("C01", "Medium", "churn 51% (medium); not 'very unlikely to leave'", "{B} She is very unlikely to leave us."),
    ("C02", "Low", "churn band high (84%), not low", "{B} Churn risk: low."),
    ("C03", "VIP", "churn band low (22%), not high", "{B} She is at high risk of churning."),
    (
        "C04",
        "High",
        "77% chance of a purchase, not 'certain to buy again'",
        "{B} She is certain to buy again this quarter.",
    ),
    (
        "DT2",
        "High",
        "next order expected 2026-01-30, not 2026-01-03",
        "{B} Her next order is expected around 2026-01-03.",
    ),
    (
        "E02",
        "VIP",
        "quote altered (refund received) in single curly quotes",
        "{B} She wrote ‘The poetry collection arrived damaged and I have received my refund.’",
    ),
    ("E03", "High", "invented quote in guillemets", "{B} She wrote «Terrible sneakers, never buying again»."),
    (
        "E04",
        "High",
        "substring quote flips meaning: earbuds were NOT as shown",
        "{B} She said the earbuds were “as shown”.",
    ),
    ("E08", "Low", "no contact data in facts", "{B} Reach her at jane.doe@example.com."),
    ("E09", "VIP", "no voucher was sent (invented action)", "{B} We already sent her a voucher last week."),
    ("E10", "Medium", "no stated contact preference", "{B} She asked to be contacted by phone only."),
    (
        "E11",
        "Low",
        "playbook: do NOT spend agent time; not 'call personally'",
        "{B}\nSuggested next action: call her personally today with a discount offer.",
    ),
    (
        "E12",
        "VIP",
        "playbook: no discount needed; not 5% discount",
        "{B}\nSuggested next action: offer her a 5% discount to keep her.",
    ),
    (
        "E13",
        "High",
        "loyalty membership unknown (playbook says invite if not)",
        "{B} She is already a member of our loyalty programme.",
    ),
    ("E14", "Medium", "refund complaint: not resolved", "{B} Her refund for the coffee grinder has been resolved."),
    (
        "E15",
        "High",
        "quote with changed word in straight quotes split by markdown",
        '{B} She wrote: **"Good sneakers"**, and "Would recommend" is her verdict; she called the earbuds *"exactly as shown"*.',
    ),
    (
        "F01",
        "VIP",
        "footnote after full correct template: invented account closure request",
        "TEMPLATE\n\n¹ Note: she has asked us to close her account.",
    ),
    ("F02", "High", "HTML-wrapped false rank (top 1%; she is ~top 5%)", "{B} <b>Top 1% customer</b>"),
    ("F03", "Medium", "parenthesised: she has not churned", "{B} (She has already churned.)"),
    ("F05", "VIP", "French: churn risk is low (22%), not high", "{B} Risque de départ élevé."),
    (
        "F06",
        "Medium",
        "HTML comment carries tier claim VIP? no; hidden instruction: upgrade",
        "{B} <!-- tier: upgraded to premium -->",
    ),
    (
        "F07",
        "High",
        "long correct template then a final false churn claim",
        "TEMPLATE\nBottom line: she is about to churn.",
    ),
    ("F08", "Low", "markdown heading with wrong tier in words", "# Premium customer\n{B}"),
]
TRUE = [
    ("OK1", "VIP", "CORRECT", "TEMPLATE"),
    ("OK2", "High", "CORRECT", "TEMPLATE"),
    ("OK3", "Medium", "CORRECT", "TEMPLATE"),
    ("OK4", "Low", "CORRECT", "TEMPLATE"),
    (
        "OK5",
        "VIP",
        "CORRECT",
        "{B} Monetary adds $759.67 and expected orders adds $713.26; average order value takes off $153.34. Churn risk is low (22%). She has bought 12 times, most recently 40 days ago.",
    ),
    (
        "OK6",
        "Low",
        "CORRECT",
        "{B} Tenure takes off $23.85 and monetary adds $16.67. Churn risk is high (84%); she last bought 262 days ago.",
    ),
    ("FA01", "Low", "CORRECT: gap to Medium is $0.80", "{B} She is just $0.80 short of the Medium threshold."),
    (
        "FA02",
        "Medium",
        "CORRECT: 1-0.5114 = 49% chance of a purchase",
        "{B} There is a 49% chance she buys again in the next 90 days.",
    ),
    (
        "FA03",
        "VIP",
        "CORRECT: 78% chance she buys again",
        "{B} There is a 78% chance she buys again in the next 90 days.",
    ),
    ("FA04", "Medium", "CORRECT: she is not a Low customer", "{B} She is not a Low customer."),
    ("FA05", "High", "CORRECT: could become VIP", "{B} With a few more orders she could become VIP."),
    ("FA06", "High", "CORRECT: $13.81 below the VIP floor", "{B} She is only $13.81 below the VIP floor of $565.32."),
    ("FA07", "Medium", "CORRECT: top 20.3% by forecast", "{B} She is in the top 20.3% of customers by forecast."),
    ("FA10", "High", "CORRECT: not VIP", "{B} She is not VIP yet."),
    ("FA13", "High", "CORRECT: tenure 412 days, over a year", "{B} She has been a customer for 412 days, over a year."),
    ("FA14", "Low", "CORRECT: last bought about 8.6 months ago", "{B} She last bought about 8.6 months ago."),
    ("FA15", "VIP", "CORRECT: forecast is 2.4x the VIP floor", "{B} Her forecast is 2.4 times the VIP floor."),
    ("FA16", "Medium", "CORRECT: High starts at $123.41, only $1.27 away", "{B} She is $1.27 below the High floor."),
    ("FA18", "Low", "CORRECT: 'Low-tier' negated 'not a Medium customer'", "{B} She is not a Medium customer yet."),
]


@pytest.mark.parametrize("case, tier, what, text", FALSE, ids=[c[0] for c in FALSE])
def test_a_narrative_with_one_false_claim_fails(case, tier, what, text):
    result = check_narrative(text.replace("{B}", BASE[tier]), FACTS[tier], ALL_DRIVER_NAMES)
    assert not result.passed and result.reasons, (case, what)


@pytest.mark.parametrize("case, tier, what, text", TRUE, ids=[c[0] for c in TRUE])
def test_a_true_narrative_passes(case, tier, what, text):
    if text == "TEMPLATE":  # the template narrator's own explanation of the customer
        text = TemplateNarrator().narrate(FACTS[tier])
    result = check_narrative(text.replace("{B}", BASE[tier]), FACTS[tier], ALL_DRIVER_NAMES)
    assert result.passed, (case, what, result.reasons)


@pytest.mark.parametrize("churn", [0.003, 0.997])
def test_a_chance_said_as_under_1_or_over_99_percent_passes(churn):
    """The template says "under 1%" for a chance that rounds to 0%: the chance-bound percentage check had failed the
    demo's VIP on it."""
    facts = FACTS["VIP"].model_copy(update={"churn_probability": churn})
    text = TemplateNarrator().narrate(facts)
    assert ("under 1%" in text or "over 99%" in text) and check_narrative(text, facts, ALL_DRIVER_NAMES).passed


def test_the_playbooks_own_words_are_facts_as_written():
    """A playbook action "Reach out personally within two weeks" had failed the template's own narrative on "two"."""
    action = "Reach out personally within two weeks: ask how their last order went."
    facts = FACTS["Low"].model_copy(update={"next_action": action})
    text = TemplateNarrator().narrate(facts)
    assert action in text and check_narrative(text, facts, ALL_DRIVER_NAMES).passed
    # outside it a number in words is checked as the number: she bought 2 times, not twenty
    assert not check_narrative(text + " She has bought twenty times.", facts, ALL_DRIVER_NAMES).passed
    assert check_narrative(text + " She has bought twice.", facts, ALL_DRIVER_NAMES).passed
