"""The fact check against red-team rounds. Round 2 (2026-12-02, 156 false narratives and 34 true ones, written by a
session that had read the check): each false one adds one claim an agent would believe to a customer's template
narrative, most of them a number that is some other fact (the spend so far given as the forecast, the days between
orders as the days since the last one, the chance of buying as the chance of not buying, another review's rating),
a date, a rank, a churn level in other words or another language, an invented event or incentive. Before this
round's changes 145 of the 156 passed and 13 of the 34 true ones were refused; now 135 are caught and none of the
true ones is refused. What each round still misses is kept in its data file (``still_missed``) and listed in the
README: products and reviews described wrongly, dates of reviews, multiples ("3 times the VIP floor")."""

import json
from pathlib import Path

import pytest

from service.explain import ALL_DRIVER_NAMES, check_narrative
from service.facts import Facts

DATA = Path(__file__).parent / "data"
FACTS = {k: Facts(**v) for k, v in json.loads((DATA / "fact_check_facts.json").read_text()).items()}
ROUND = json.loads((DATA / "fact_check_round2.json").read_text(encoding="utf-8"))
# Round 3 (the same day, another session): 60 false and 25 true narratives written before it read the check (20 of the
# false ones passed and 1 true one was refused when first run: the held-out figure), then 40 false ones aimed at what
# the code does not check (all 40 passed). After the changes they led to, 7 and 27 passed; after round 4's, 6 and 25;
# after round 5's, 4 and 25.
ROUND3 = json.loads((DATA / "fact_check_round3.json").read_text(encoding="utf-8"))
# Round 4 (2026-12-03, another session that had not read the check): 17 of 60 false narratives passed and 8 of 25 true
# ones were refused for false reasons when first run (the held-out figure; see the file's "about"); 1 and 0 after. Its
# "partial" true narratives leave the tier out and are refused for that alone (an explanation states the tier).
ROUND4 = json.loads((DATA / "fact_check_round4.json").read_text(encoding="utf-8"))
# Round 5 (the same day, a third session, blind, in an LLM's voice; every true narrative names the tier): 17 of 60
# false ones passed and 7 of 25 true ones were refused when first run; 1 and 0 after (see the file's "about").
ROUND5 = json.loads((DATA / "fact_check_round5.json").read_text(encoding="utf-8"))
# Round 6 (the end of the same stop, a fourth blind session): 12 of 40 false ones passed and 4 of 20 true ones were
# refused when first run: that is the honest held-out figure, and it stays so until a new blind round is run. Fixed
# after that run, by kind (each kind in new words and for other customers in tests/test_fact_check_round6_kinds.py):
# an amount bound by words in other languages or by "purchases ... worth" (3 refused true ones now pass); a share of
# customers in words ("two-thirds") and a comparison that measures one driver ("shorter than most customers" is the
# tenure, "browse more actively" the browsing; 2 false ones caught, 1 refused true one passes); spans, counts and the
# next order's date in German, French, Spanish and Italian ("Kunde seit 14 Monaten", "3 commandes sont attendues",
# "am 11. Februar 2026", service/claim_dates.py; 3 caught); a tier's line said crossed in other words ("just above the
# line where Medium starts") and a forecast rounded across a line ("about $26" of $24.92; 1 caught); a date said of a
# review or of browsing that is not that event's (1 caught); a review named by its product once a problem's words are
# set aside ("the sneakers arrived in the wrong colour": 2 caught); what support or a refund did and the customer's life
# ("support sorted out their refund", "they run a local book club"), unless their own words tell of it (2 caught); what
# they browsed named in none of its words ("how to close their account" of "how to return item", 1 caught). So all 40
# and all 20 are now asserted; the weakest of these (a browsed object of two or more words sharing none with the
# browsing text is refused, so "outdoor clothing" for a rain coat would be a false alarm) is said in claim_texts.
ROUND6 = json.loads((DATA / "fact_check_round6.json").read_text(encoding="utf-8"))
CHECKED = (
    ROUND["checked"]
    + ROUND3["blind"]["checked"]
    + ROUND3["whitebox"]["checked"]
    + ROUND4["checked"]
    + ROUND5["checked"]
    + ROUND6["checked"]
)
FALSE = [r for r in CHECKED if r["false"]]
TRUE = [r for r in CHECKED if not r["false"]]


@pytest.mark.parametrize("row", FALSE, ids=[f"{r['id']}-{i}" for i, r in enumerate(FALSE)])
def test_a_narrative_with_one_false_claim_fails(row):
    result = check_narrative(row["text"], FACTS[row["tier"]], ALL_DRIVER_NAMES)
    assert not result.passed, row["what"]


@pytest.mark.parametrize("row", TRUE, ids=[f"{r['id']}-{i}" for i, r in enumerate(TRUE)])
def test_a_true_narrative_in_other_words_passes(row):
    result = check_narrative(row["text"], FACTS[row["tier"]], ALL_DRIVER_NAMES)
    assert result.passed, (row["what"], result.reasons)


@pytest.mark.parametrize("row", ROUND4["partial"], ids=[r["id"] for r in ROUND4["partial"]])
def test_a_true_narrative_that_leaves_out_the_tier_is_refused_for_that_alone(row):
    result = check_narrative(row["text"], FACTS[row["tier"]], ALL_DRIVER_NAMES)
    assert result.reasons == [f"the customer's tier ({row['tier']}) is not stated"], row["what"]


def test_the_rounds_are_as_large_as_stated():
    still = (
        len(ROUND["still_missed"]),
        len(ROUND3["blind"]["still_missed"]),
        len(ROUND3["whitebox"]["still_missed"]),
        len(ROUND4["still_missed"]),
        len(ROUND5["still_missed"]),
        len(ROUND6["still_missed"]),
    )
    assert (len(FALSE), len(TRUE), len(ROUND4["partial"]), len(ROUND6["still_refused"]), still) == (
        135 + 56 + 15 + 59 + 60 + 40,
        34 + 25 + 16 + 25 + 20,
        9,
        0,
        (21, 4, 25, 1, 0, 0),
    )


def _round(n: int) -> tuple[dict, dict[str, Facts]]:
    """A round written for customers of its own: its narratives and those customers' facts."""
    rows = json.loads((DATA / f"fact_check_round{n}.json").read_text(encoding="utf-8"))
    facts = json.loads((DATA / f"fact_check_facts_round{n}.json").read_text())
    return rows, {k: Facts(**v) for k, v in facts.items()}


# Round 7 (stop 29, a fifth blind session, about four customers no earlier round used): run once after round 6 was
# fixed, the held-out figure: 6 of 40 false ones passed and 4 of 20 true ones were refused (7 and 5 before round 6's
# fixes). Fixed in stop 30, by kind (tests/test_fact_check_round7_kinds.py): a multiple of the spend so far, browsing
# named with words before it, a reviewed product said to be browsed, a review's date beside a paraphrase saying "buy
# again", the two spend windows swapped and "accelerating", "no returns" in Dutch and other languages; a tier's floor
# after "High at", "$76 each", the gap to the next tier unbound, a review's month beside "buy again". All 60 asserted.
ROUND7, FACTS7 = _round(7)


def test_round_7_is_as_large_as_stated():
    rows = ROUND7["checked"] + ROUND7["still_missed"] + ROUND7["still_refused"]
    assert (sum(r["false"] for r in rows), len(ROUND7["still_missed"]), len(ROUND7["still_refused"])) == (40, 0, 0)
    assert len(rows) == 60 and len({r["id"] for r in rows}) == 60


# Round 8 (stop 30, a sixth blind session, four customers of another generated store): run once after round 7 was fixed,
# the held-out figure: 10 of 40 false ones passed and 9 of 20 true ones were refused. Fixed in the same stop, by kind
# (tests/test_fact_check_round8_kinds.py): chances, purchases, incentives, trends, spans and floors in other languages,
# stars beside a review's date, one review's content said of another's product, "we issued a full refund", a multiple
# of "le seuil Medium", round numbers said as bounds ("over $2,500", "più del 90%"), "two of their reviews", a driver's
# effect in Spanish, "$14.84 above the VIP threshold", "one of our VIPs". All 60 asserted.
ROUND8, FACTS8 = _round(8)


def test_round_8_is_as_large_as_stated():
    rows = ROUND8["checked"]
    assert (len(rows), sum(r["false"] for r in rows), len({r["id"] for r in rows})) == (60, 40, 60)


# Round 9 (stop 30, a seventh blind session, four more customers, a third in other languages, tables and markdown): run
# once after round 8 was fixed, the held-out figure: 10 of 40 false ones passed and 8 of 20 true ones were refused.
# Fixed by kind in the same stop (tests/test_fact_check_round9_kinds.py), the last ("about 1.3 orders expected" of 3.1)
# by reading a count with a decimal as that precise. All 60 asserted.
ROUND9, FACTS9 = _round(9)


def test_round_9_is_as_large_as_stated():
    rows = ROUND9["checked"] + ROUND9["still_missed"]
    assert (len(rows), sum(r["false"] for r in rows), len(ROUND9["still_missed"])) == (60, 40, 0)


# Round 10 (stop 31, an eighth blind session, four customers of the /tmp/demo31 store, 23 of 60 in other languages): run
# once after round 9 was fixed, the held-out figure: 7 of 40 false ones passed and 9 of 20 true ones were refused. Fixed
# by kind in the same stop (tests/test_fact_check_round10_kinds.py). R10-11 never states the tier and stays refused by
# design. The other 59 asserted.
ROUND10, FACTS10 = _round(10)


def test_round_10_the_narrative_without_its_tier_is_refused_for_that():
    (row,) = ROUND10["still_refused"]
    result = check_narrative(row["text"], FACTS10[row["tier"]], ALL_DRIVER_NAMES)
    assert not result.passed and result.reasons == ["the customer's tier (Low) is not stated"]
    assert len(ROUND10["checked"]) == 59 and sum(r["false"] for r in ROUND10["checked"]) == 40


# Round 11 (stop 31, a ninth blind session asked for subtler kinds than digit swaps: wrong comparisons between facts,
# spans converted wrongly, trends flipped, paraphrases that turn a review's meaning, intentions): run once after round
# 10
# was fixed, the held-out figure: 16 of 40 false ones passed and 7 of 20 true ones were refused. After the fixes of the
# same stop 8 false ones still pass and 1 true one is refused; they are kept, named, in still_missed and still_refused
# (an intention read into browsing, "une chance sur deux", Portuguese "metade", a return the facts do not hold, review
# paraphrases in Spanish and French, a review said to say what none says, "each a bit under $12.50"). 51 asserted.
ROUND11, FACTS11 = _round(11)


def test_round_11_keeps_what_it_still_misses_in_view():
    rows = ROUND11["checked"] + ROUND11["still_missed"] + ROUND11["still_refused"]
    assert (len(rows), sum(r["false"] for r in rows)) == (60, 40)
    assert (len(ROUND11["still_missed"]), len(ROUND11["still_refused"])) == (8, 1)


# Round 12 (stop 32, a tenth blind session, four other customers of the same store, 24 of 60 in other languages, asked
# for realistic errors and hard true ones): run once after round 11 was fixed, the held-out figure: 13 of 40 false ones
# passed and 15 of 20 true ones were refused (the forecast per month, "39 Wochen", ranges said as "somewhere between $0
# and $88.70 in 80% of cases", "43% of lifetime $463.26", "aus 12 Bestellungen" of 14, "beats roughly 84%" of a rank of
# 15.7, "Risco de churn m\u00e9dio", a loyalty membership, an account manager's call). After the fixes of the same stop
# (tests/test_fact_check_round12_kinds.py) 5 false ones still passed (review paraphrases that turn its meaning, a season
# read as "only shops in summer", the Medium band said to end at the range's top), 4 after round 13's fixes (the season
# given a reason of the customer's own is now refused), and 3 true ones are refused (two never state the tier, one
# quotes a review translated).
ROUND12, FACTS12 = _round(12)


def test_round_12_keeps_what_it_still_misses_in_view():
    rows = ROUND12["checked"] + ROUND12["still_missed"] + ROUND12["still_refused"]
    assert (len(rows), sum(r["false"] for r in rows)) == (60, 40)
    assert (len(ROUND12["still_missed"]), len(ROUND12["still_refused"])) == (4, 3)


# Round 13 (stop 32, an eleventh blind session, four more customers, 18 of 60 in other languages, asked for the prose a
# real LLM writes): run once after round 12 was fixed, the held-out figure: 9 of 40 false ones passed and 11 of 20 true
# ones were refused ("US$ 383,91," and "$ 24,48," with a comma after them, "around 20 cents", "every five to six weeks",
# "top ~10-11%", "nine in ten", "Churn: high, ~2.4% chance of a purchase", "at a high value" read as a tier, "bis VIP",
# "$22 over the $608.42 VIP floor", "climb by roughly $324, to $608.42"; missed "38 dagen geleden" of the rhythm, "vor
# mehr als 95 % der Kunden" of spend at 79%, "the biggest single driver is what they've already spent", Spanish
# "le suma" of a drag). After the fixes of the same stop (tests/test_fact_check_round13_kinds.py) 5 false ones still
# passed (review paraphrases, "twelve times higher" of 120, the forecast said to equal the average order), 4 after
# round 14's, and 2 true ones are refused (a one-word translated quote, two reviews named by topic in brackets).
ROUND13, FACTS13 = _round(13)


def test_round_13_keeps_what_it_still_misses_in_view():
    rows = ROUND13["checked"] + ROUND13["still_missed"] + ROUND13["still_refused"]
    assert (len(rows), sum(r["false"] for r in rows)) == (60, 40)
    assert (len(ROUND13["still_missed"]), len(ROUND13["still_refused"])) == (4, 2)


# Round 14 (stop 32, a twelfth blind session asked to go beyond the template: derived comparisons, talking points,
# opening lines, answers to follow-ups): run once after round 13 was fixed: 8 of 40 false ones passed ("roughly a fifth
# of the $14.22" of 35%, a delivery and promotion codes the facts do not hold, a wrong weekday in Portuguese) and 14 of
# 20 true ones were refused, by design for most: derived figures the narrator's prompt forbids (tables of ratios, sums
# and per-week rates) and narratives that never state the tier. After the fixes
# (tests/test_fact_check_round14_kinds.py) 4 false ones still pass (feelings read into a review, "my third order here"
# read as a count, the range's bottom said to clear the Medium floor in French, "about half" of 98%) and the 14 true
# ones stay refused.
ROUND14, FACTS14 = _round(14)


def test_round_14_keeps_what_it_still_misses_in_view():
    rows = ROUND14["checked"] + ROUND14["still_missed"] + ROUND14["still_refused"]
    assert (len(rows), sum(r["false"] for r in rows)) == (60, 40)
    assert (len(ROUND14["still_missed"]), len(ROUND14["still_refused"])) == (4, 14)


# Every narrative of rounds 7-14 the check judges right (what it still gets wrong stays in still_missed and
# still_refused, and is asserted above as such)
OWN_CUSTOMERS = [
    (facts, row)
    for rows, facts in (
        (ROUND7, FACTS7),
        (ROUND8, FACTS8),
        (ROUND9, FACTS9),
        (ROUND10, FACTS10),
        (ROUND11, FACTS11),
        (ROUND12, FACTS12),
        (ROUND13, FACTS13),
        (ROUND14, FACTS14),
    )
    for row in rows["checked"]
]


@pytest.mark.parametrize("facts, row", OWN_CUSTOMERS, ids=[r["id"] for _, r in OWN_CUSTOMERS])
def test_rounds_with_customers_of_their_own_are_judged_right(facts, row):
    result = check_narrative(row["text"], facts[row["tier"]], ALL_DRIVER_NAMES)
    assert result.passed != row["false"], (row["what"], result.reasons)
