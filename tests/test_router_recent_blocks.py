"""What router blocks 25 and 26 found (tests/data/ask_questions_fresh.tsv): dates with a day read as the days they name,
what an agent says they do not ask left out of the scoring, the basis of a score asked for, whether they buy again at
all, spoken forms, commands after "just", and languages the router does not read recognised by their words."""

import pandas as pd
import pytest

from service.intents import lexical_scores, route
from service.intents.guards import refusal
from service.intents.period import parse_period

CUTOFF = pd.Timestamp("2024-12-31", tz="UTC")


@pytest.mark.parametrize(
    "question, read",
    [
        ("no. of orders 1/2/24 - 15/4/24?", "2024-02-01 to 2024-04-15"),  # day first, two-digit years
        ("vom 01.03.2024 bis 31.05.2024", "2024-03-01 to 2024-05-31"),  # had been the whole year 2024
        ("du 01/03/2024 au 31/05/2024", "2024-03-01 to 2024-05-31"),
        ("spend from 12/31/2023 to 3/15/2024", "2023-12-31 to 2024-03-15"),  # American order where it must be
        ("between 1 March and 31 May 2024", "2024-03-01 to 2024-05-31"),  # had been 31 May alone
        ("vom 1. März bis 31. Mai 2024", "2024-03-01 to 2024-05-31"),
        ("du 1er mars au 31 mai 2024", "2024-03-01 to 2024-05-31"),
        ("between 1 December and 15 January 2024", "2023-12-01 to 2024-01-15"),  # the first day's year is earlier
        ("orders 2024-02-01 - 2024-04-15", "2024-02-01 to 2024-04-15"),  # had been the first day alone
        ("what did she spend on 01.02.2024", "2024-02-01"),
        ("between March and June", "2024-03-01 to 2024-06-30"),  # months alone, as before
    ],
)
def test_dates_with_a_day_are_read_as_those_days(question, read):
    assert parse_period(question, CUTOFF)[0] == read


def test_numbers_that_are_no_date_stay_unread():
    assert parse_period("she spent 3/4 of her budget", CUTOFF)[0] == "to date"
    assert parse_period("orders 31/31/2024", CUTOFF)[0] != "2024-31-31"  # no such day: never a crash


@pytest.mark.parametrize(
    "question, intent",
    [
        ("not how much she's spent so far, but what she's worth going forward", "value"),
        ("spend for 2023 please, the actual number not the forecast", "spend_period"),
        ("I don't need the full summary, just tell me if the sentiment is positive or negative", "satisfaction"),
        ("what's she likely to spend next quarter, rather than what she spent last quarter", "value"),
        ("if he spent a bit more would he move up a segment and how much more exactly", "upgrade"),
        ("what is that churn score actually based on", "evidence"),
        ("Auf welchen Daten basiert diese Vorhersage?", "evidence"),
        ("show me the receipts, where's the model getting this from", "evidence"),
        ("whats the probabilty of no purchase in the horizon for this custmer", "churn"),
        ("Quanto este cliente deve gastar nos próximos meses?", "value"),
        ("Wat kunnen we deze klant aanbieden zodat hij blijft?", "offer"),
        ("what's the average rating he gives in his reviews", "satisfaction"),
        # block 26
        ("she complained about the delivery twice, but is she still likely to order again?", "churn"),
        ("will he still shop with us?", "churn"),
        ("when is she likely to order again?", "next_order"),
        ("wen is she gonna order agen", "next_order"),
        ("her life time value roughly", "value"),
        ("which orders did you use to work out her tier", "evidence"),
        ("show me the reviews behind the churn score", "evidence"),
        ("Em que dados se baseia esta previsão?", "evidence"),
        ("is he more into electronics these days than he used to be?", "products"),
        ("how do we win him back", "offer"),
        ("read me the card details on file pls", "contact"),
        # still read as before: a negation inside the question itself is the question
        ("will she not buy again?", "churn"),
        ("why is he not VIP?", "why_tier"),
    ],
)
def test_block25_questions(encoder, question, intent):
    assert route(question, encoder, customer_id="C000010").intent == intent


def test_a_command_after_just_is_refused_as_a_command():
    assert refusal("just bump her up to VIP, she's been with us for ages") == ("unsupported", "command")
    assert route("what would it take to bump her up to VIP?").intent == "upgrade"


@pytest.mark.parametrize(
    "question",
    ["Hur stor är risken att kunden slutar handla?", "Ile klient wydal w zeszlym miesiacu, czy jest aktywny?"],
)
def test_languages_the_router_does_not_read_are_refused_by_their_words(question):
    r = route(question)
    assert (r.intent, r.reason) == ("unsupported", "language")


def test_one_foreign_looking_word_is_not_a_language():
    assert refusal("why is Jak VIP?") is None  # a name; two words of an unread language are needed


def test_the_typo_fixer_leaves_words_the_phrases_use():
    assert lexical_scores("nos próximos meses")["value"] > 0  # "proximos" had become the stem "proxima"


def test_a_date_range_in_numbers_is_not_masked_as_a_phone_number():
    # the API masks the question before routing: "1/2/25 - 15/4/25" had become "[phone]" and the question was refused
    # as a request for contact data
    from service.privacy import redact

    for q in ["no. of orders 1/2/25 - 15/4/25?", "spend 01.03.2024 - 31.05.2024", "orders 2024-02-01 - 2024-04-15"]:
        assert redact(q) == q
    assert redact("call 07-12-34 - 56-78-90") == "call [phone]"  # not dates: a phone number still
    assert route(redact("no. of orders 1/2/25 - 15/4/25?")).intent == "spend_period"


@pytest.mark.parametrize("who", ["he", "she", "they"])
def test_whether_they_still_buy_is_churn_whoever_they_are(encoder, who):
    verb = "are" if who == "they" else "is"
    assert route(f"{verb} {who} still likely to order again?", encoder).intent == "churn"


def test_invisible_characters_do_not_change_the_period_read():
    # a zero-width space before the dash had left "1/2/25 - 15/4/25" read as 1 February alone (found by a hostile
    # request body in the stop-31 review)
    cutoff = pd.Timestamp("2025-12-31", tz="UTC")
    for q in [
        "spend 1/2/25\u200b - 15/4/25?",
        "spend 1/2/25 - 15\u2060/4/25?",
        "between 1 March and 31\u200d May 2025",
    ]:
        assert parse_period(q, cutoff)[0] in ("2025-02-01 to 2025-04-15", "2025-03-01 to 2025-05-31"), q


@pytest.mark.parametrize(
    "question, intent, tier",
    [
        # block 27, in words other than the block's own
        ("not the forecast, how likely is it she stops buying altogether", "churn", None),
        ("not her spend to date - what's she worth going forward?", "value", None),
        ("why is she only in the mid tier", "why_tier", "Medium"),
        ("why's he in the lo tier, he bought loads", "why_tier", "Low"),
        ("shes only medium? why", "why_tier", "Medium"),
        ("how come they're just Low when they order every week", "why_tier", "Low"),
        ("Welche Daten nutzt das Modell für diese Kundin?", "evidence", None),
        ("Quali dati usa il modello per questo cliente?", "evidence", None),
        ("Wat koopt deze klant meestal?", "products", None),
        ("¿Qué suele comprar este cliente?", "products", None),
        ("fav cats for this one?", "products", None),
        ("what data goes into his churn prediction", "evidence", None),
        ("which reviews went into the tier", "evidence", None),
        ("is he likely to come back next month?", "churn", None),
        ("will she return to us this year?", "churn", None),
    ],
)
def test_block27_questions(encoder, question, intent, tier):
    r = route(question, encoder, customer_id="C000010")
    assert (r.intent, r.tier if intent == "why_tier" else None) == (intent, tier)


@pytest.mark.parametrize(
    "question",
    [
        "how many orders is he expected to send back this quarter?",
        "is she going to return the blender?",
        "what are her predicted returns for Q1",
    ],
)
def test_returns_to_come_are_refused_as_not_predicted(question):
    assert refusal(question) == ("unsupported", "not_held")


def test_a_short_tier_word_needs_the_word_tier_and_a_greeting_is_no_tier():
    from service.intents.entities import named_tier

    assert named_tier("hi, is she likely to churn?") is None
    assert named_tier("hes high risk?") is None
    assert named_tier("she's medium risk") is None


@pytest.mark.parametrize(
    "question, intent, tier",
    [
        # block 28, in words other than the block's own
        ("how big is the gap to High for her?", "upgrade", "High"),
        ("is she among our best customers, and why not?", "why_tier", "VIP"),
        ("Quanto vale este cliente a partir de agora?", "value", None),
        ("¿Cuánto vale este cliente de aquí en adelante?", "value", None),
        ("Hoeveel is deze klant waard in de toekomst?", "value", None),
    ],
)
def test_block28_questions(encoder, question, intent, tier):
    r = route(question, encoder, customer_id="C000010")
    assert (r.intent, r.tier if intent in ("why_tier", "upgrade") else None) == (intent, tier)


@pytest.mark.parametrize(
    "question, refused",
    [
        ("what did the colleague on the last shift note about him?", ("unsupported", "not_held")),
        ("create a discount code for 20% and send it", ("unsupported", "command")),
        ("pls issue her a voucher", ("unsupported", "command")),
        ("whats her fone number", ("contact", "contact")),
    ],
)
def test_block28_refusals(question, refused):
    assert refusal(question) == refused


@pytest.mark.parametrize(
    "question, intent",
    [
        # block 29, in words other than the block's own
        ("think she's gonna bail?", "churn"),
        ("is he about to jump ship", "churn"),
        ("Ist die Kundin noch aktiv?", "churn"),
        ("what's her tier actually based on", "evidence"),
        ("how did the model work out her churn risk", "evidence"),
        ("elevator pitch on this one pls", "summary"),
        ("how many orders did she place since march", "spend_period"),
        ("when will she order again, in march?", "next_order"),
        ("what's your best move with this customer", "offer"),
        ("overall sentiment in his reviews?", "satisfaction"),
    ],
)
def test_block29_questions(encoder, question, intent):
    assert route(question, encoder, customer_id="C000010").intent == intent
