"""The fact check against a second red-team round (2026-12-02, 156 false narratives and 34 true ones, written by a
session that had read the check): each false one adds one claim an agent would believe to a customer's template
narrative, most of them a number that is some other fact (the spend so far given as the forecast, the days between
orders as the days since the last one, the chance of buying as the chance of not buying, another review's rating),
a date, a rank, a churn level in other words or another language, an invented event or incentive. Before this round's
changes 145 of the 156 passed and 13 of the 34 true ones were refused; now 117 are caught and none of the true ones is
refused. The 39 it still misses are kept in the data file (``still_missed``) and listed in the README: drivers named
by paraphrase, products and reviews described wrongly, dates of reviews, a change said in German."""

import json
from pathlib import Path

import pytest

from service.explain import ALL_DRIVER_NAMES, check_narrative
from service.facts import Facts

DATA = Path(__file__).parent / "data"
FACTS = {k: Facts(**v) for k, v in json.loads((DATA / "fact_check_facts.json").read_text()).items()}
ROUND = json.loads((DATA / "fact_check_round2.json").read_text(encoding="utf-8"))
FALSE = [r for r in ROUND["checked"] if r["false"]]
TRUE = [r for r in ROUND["checked"] if not r["false"]]


@pytest.mark.parametrize("row", FALSE, ids=[r["id"] for r in FALSE])
def test_a_narrative_with_one_false_claim_fails(row):
    result = check_narrative(row["text"], FACTS[row["tier"]], ALL_DRIVER_NAMES)
    assert not result.passed, row["what"]


@pytest.mark.parametrize("row", TRUE, ids=[r["id"] for r in TRUE])
def test_a_true_narrative_in_other_words_passes(row):
    result = check_narrative(row["text"], FACTS[row["tier"]], ALL_DRIVER_NAMES)
    assert result.passed, (row["what"], result.reasons)


def test_the_round_is_as_large_as_stated():
    assert (len(FALSE), len(TRUE), len(ROUND["still_missed"])) == (117, 34, 39)
