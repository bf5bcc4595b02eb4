"""service.intents.period: a period that does not exist (Q9, H3, week 53 of 2025, the first half of year 0, the last 0
days) is said to be unread, never read as another period (the year around it, the latest first half, a period after the
data); the periods it reads are read as before."""

import datetime as dt

import pandas as pd
import pytest

from service.ask import CustomerContext, answer, route
from service.bundle import ModelBundle
from service.explain import TemplateNarrator
from service.intents.period import future_period, names_period, parse_period, unread_period
from service.store import ProfileStore

CUTOFF = pd.Timestamp("2025-10-02 14:00", tz="UTC")


@pytest.mark.parametrize(
    ("question", "words"),
    [
        # the tester's cases: each was read as another period before
        ("how much did they spend in Q9 of 2024?", "q9 of 2024"),  # was: calendar 2024
        ("how much did they spend in Q0 2025?", "q0 2025"),  # was: 2025 to date
        ("spend in week 53 of 2025", "week 53 of 2025"),  # was: 2025 to date (2025 has 52 ISO weeks)
        ("spend in the first half of 0", "first half of 0"),  # was: H1 2025
        ("spend in the last 0 days", "last 0 days"),  # was: 'after the data'
        # more of the same kinds
        ("spend in Q5", "q5"),
        ("what did she spend in q12 2024", "q12 2024"),
        ("since Q9", "q9"),
        ("between Q0 and Q3", "q0"),
        ("from Q1 to Q7 2024", "q7 2024"),
        ("spend in H3 2024", "h3 2024"),
        ("spend in H0", "h0"),
        ("spend in quarter 7 of 2024", "quarter 7 of 2024"),
        ("spend in quarter 0", "quarter 0"),
        ("spend in the 5th quarter of 2024", "5th quarter of 2024"),
        ("the fifth quarter of 2024", "fifth quarter of 2024"),
        ("im 5. Quartal 2024", "5. quartal 2024"),
        ("au 5e trimestre 2024", "5e trimestre 2024"),
        ("the 3rd half of 2024", "3rd half of 2024"),
        ("spend in the last quarter of 2024", "last quarter of 2024"),  # was: calendar 2024
        ("spend in the last month of 2024", "last month of 2024"),  # was: calendar 2024
        ("spend in week 10 of 2025", "week 10 of 2025"),  # numbered weeks are not read: was calendar 2025
        ("spend in week 53 of 2026", "week 53 of 2026"),
        ("spend in KW 12 2025", "kw 12 2025"),
        ("semaine 53 de 2025", "semaine 53 de 2025"),
        ("since the 3rd week of 2024", "3rd week"),
        ("spend in the second half of 1600", "second half of 1600"),
        ("H1 0", "h1 0"),
        ("q3 of 1650", "q3 of 1650"),
        ("spend in March 0", "march 0"),
        ("spend in March 1650", "march 1650"),
        ("spend in the year 0", "the year 0"),
        ("im Jahr 1650", "im jahr 1650"),
        ("spend in 1650", "in 1650"),
        ("spend during 1066", "during 1066"),
        ("spend in the last 0 months", "last 0 months"),
        ("spend in the past 00 weeks", "past 00 weeks"),
        ("spend in the last -3 days", "last -3 days"),
        ("spend in the last \u22122 years", "last \u22122 years"),
        ("spend in the last zero days", "last zero days"),
        ("in den letzten 0 Tagen", "letzten 0 tagen"),
        ("les derniers 0 jours", "derniers 0 jours"),
        # a fiscal year starts in a month that differs between companies: never read as the calendar year
        ("FY2024 spend?", "fy2024"),
        ("spend in fiscal 2024", "fiscal 2024"),
        ("how much did he spend in 99999999999?", "in 99999999999"),
        ("how much did he spend in the last 1e3 days?", "last 1e3 days"),
        ("what did she spend in the financial year", "financial year"),
        ("Umsatz im Geschäftsjahr 2024", "geschaftsjahr"),
        # a week given by a day that is not an ISO date had been read as the month, or as the one day
        ("spend the week of December 22", "week of december 22"),
        ("in the first week of September?", "week of september"),
        ("the week of 2025-02-30", "week of 2025-02-30"),
        # web probe (stop 32, F7): a day in numbers that does not exist had been the whole year, "before 2025" 2025
        ("what did she spend on 2025/02/29", "2025/02/29"),
        ("spend on 31/31/2025?", "31/31/2025"),
        ("orders on 30.02.2024", "30.02.2024"),
        ("How much did they spend before 2025?", "before 2025"),
        ("spend prior to March", "prior to march"),
        ("Umsatz vor 2024?", "vor 2024"),
    ],
)
def test_a_period_that_does_not_exist_is_unread_not_another_period(question, words):
    got_words, start, end, rolling = parse_period(question, CUTOFF)
    assert (got_words, start, end, rolling) == ("to date", None, CUTOFF.normalize(), False)
    assert unread_period(question, CUTOFF) == words
    assert not names_period(question) and future_period(question) is None


def test_iso_week_53_exists_in_2026_not_2025_and_numbered_weeks_are_unread_either_way():
    # why 'week 53 of 2025' was wrong to read at all: 2025 has no ISO week 53 (2025-12-28 is in week 52)
    assert dt.date(2025, 12, 28).isocalendar()[1] == 52
    with pytest.raises(ValueError):
        dt.date.fromisocalendar(2025, 53, 1)
    assert dt.date.fromisocalendar(2026, 53, 1) == dt.date(2026, 12, 28)
    # the reader reads 'this week' and 'last week' only; a numbered week, existing or not, is unread, never the year
    for year in (2024, 2025, 2026):
        for week in (0, 1, 26, 52, 53, 54, 99):
            q = f"how much did she spend in week {week} of {year}?"
            assert parse_period(q, CUTOFF)[1] is None and unread_period(q, CUTOFF) == f"week {week} of {year}", q


def test_every_quarter_and_half_number_outside_the_year_is_unread():
    for n in range(0, 100):
        forms = (("q{n} 2024", 4), ("quarter {n} of 2024", 4), ("h{n} 2024", 2), ("{n}th half of 2024", 2))
        for form, highest in forms:
            q = "spend in " + form.format(n=n)
            if form.startswith("{n}th") and n in (1, 2):
                continue  # '1th half' is no ordinal this module reads either way
            _, start, _, _ = parse_period(q, CUTOFF)
            if 1 <= n <= highest:
                assert start is not None and start.year == 2024, q
            else:
                assert start is None and unread_period(q, CUTOFF) is not None, q


def test_every_rolling_period_of_no_length_is_unread_and_one_day_still_reads():
    for k in ("0", "00", "-1", "- 5", "-30"):
        for unit in ("days", "weeks", "months", "years", "tage", "jours", "dias"):
            q = f"spend in the last {k} {unit}"
            assert parse_period(q, CUTOFF)[1] is None and unread_period(q, CUTOFF) is not None, q
    words, start, end, rolling = parse_period("spend in the last 1 day", CUTOFF)
    assert (start, end, rolling) == (CUTOFF.normalize(), CUTOFF.normalize(), True)
    assert words.startswith("the last 1 day")


@pytest.mark.parametrize(
    ("question", "start", "end"),
    [
        ("spend in Q1 2025", "2025-01-01", "2025-03-31"),
        ("what did she spend on 2025/02/28", "2025-02-28", "2025-02-28"),  # a year first, with slashes: that day
        ("spend in Q4 2024", "2024-10-01", "2024-12-31"),
        ("spend in q3 of 2024", "2024-07-01", "2024-09-30"),
        ("q3 1999", "1999-07-01", "1999-09-30"),
        ("Q3 25", "2025-07-01", "2025-09-30"),  # a two-digit number after it is not its year, as before
        ("quarter 4 of 2024", "2024-10-01", "2024-12-31"),
        ("3. Quartal 2024", "2024-07-01", "2024-09-30"),
        ("combien au 3e trimestre 2024 ?", "2024-07-01", "2024-09-30"),
        ("spend in the fourth quarter of 2024", "2024-10-01", "2024-12-31"),
        ("between Q1 and Q3 2024", "2024-01-01", "2024-09-30"),
        # written end first: the same range (it had been read as its first month alone)
        ("between June 2025 and March 2025", "2025-03-01", "2025-06-30"),
        ("between December 2024 and January 2020", "2020-01-01", "2024-12-31"),
        ("H1 2024", "2024-01-01", "2024-06-30"),
        ("H2 2024", "2024-07-01", "2024-12-31"),
        ("the 2nd half of 2024", "2024-07-01", "2024-12-31"),
        ("spend in the first half of 2024", "2024-01-01", "2024-06-30"),
        ("spend in the first half of the year", "2025-01-01", "2025-06-30"),
        ("in the year 2024", "2024-01-01", "2024-12-31"),
        ("spend in 1900", "1900-01-01", "1900-12-31"),
        ("what did she spend in march 15", "2025-03-01", "2025-03-31"),  # a day after a month: read as before
        ("spend in March, 1,500 total", "2025-03-01", "2025-03-31"),
        ("spend each month of 2024", "2024-01-01", "2024-12-31"),
        ("spend on the H7 bulbs in 2024", "2024-01-01", "2024-12-31"),  # a product code, not a half
        ("how much did they spend last year?", "2024-01-01", "2024-12-31"),
        ("what did she spend last week", "2025-09-22", "2025-09-28"),
        ("spend in the last 2 weeks", "2025-09-19", "2025-10-02"),
        ("spend in the last fortnight", "2025-09-19", "2025-10-02"),  # a fortnight is 2 weeks
        ("in the last 90 days", "2025-07-05", "2025-10-02"),
        ("in den letzten 3 Monaten", "2025-07-05", "2025-10-02"),
        ("since 2025-09-15", "2025-09-15", "2025-10-02"),
        # the week that holds a day (Monday to Sunday), or seven days from it; the probe's "week of" was one day
        ("in the week of 2025-09-24?", "2025-09-22", "2025-09-28"),
        ("week starting 2025-09-10", "2025-09-10", "2025-09-16"),
        ("semaine du 2025-09-24", "2025-09-22", "2025-09-28"),
        # a day named with its month had been read as the whole month (probe of stop 29)
        ("how much did she spend on September 29, 2025?", "2025-09-29", "2025-09-29"),
        ("spend on 3 August 2024", "2024-08-03", "2024-08-03"),
        ("spend on Sep 30", "2025-09-30", "2025-09-30"),
        ("what did she spend on Dec 24", "2024-12-24", "2024-12-24"),  # without a year: the latest by the cutoff
        ("Umsatz am 11. Februar", "2025-02-11", "2025-02-11"),
    ],
)
def test_periods_that_exist_are_read_as_before(question, start, end):
    _, got_start, got_end, _ = parse_period(question, CUTOFF)
    assert (got_start.date().isoformat(), got_end.date().isoformat()) == (start, end)
    assert unread_period(question, CUTOFF) is None


@pytest.mark.parametrize(
    ("question", "months"),
    [
        ("how many orders did they place in the last two quarters", 6),
        ("spend over the past 3 quarters", 9),
        ("Umsatz der letzten zwei Quartale", 6),
        ("gasto en los ultimos dos trimestres", 6),
        ("spend in the past half year", 6),
        ("les trois derniers mois", 3),  # the count before "last"
        ("los tres ultimos meses", 3),
        ("de afgelopen drie maanden", 3),
        ("negli ultimi tre mesi", 3),
    ],
)
def test_quarters_half_years_and_counts_in_other_languages_are_read_as_months(question, months):
    words, start, end, rolling = parse_period(question, CUTOFF)
    assert words.startswith(f"the last {months} months") and rolling, (question, words)
    assert unread_period(question, CUTOFF) is None


def test_a_count_before_last_with_a_singular_unit_is_a_count_of_orders_not_a_length():
    assert parse_period("did she order 2 last week", CUTOFF)[0].startswith("the week ")
    q = "spend in the last 0 quarters"
    assert parse_period(q, CUTOFF)[1] is None and unread_period(q, CUTOFF) is not None


def test_a_question_without_a_period_still_names_none():
    for q in ("how much has she spent?", "spend on Q50 headphones", "what did she spend on the H7 bulbs"):
        assert parse_period(q, CUTOFF)[1] is None and unread_period(q, CUTOFF) is None, q


@pytest.fixture(scope="module")
def ctx_for(scored, trained):
    store = ProfileStore(scored.store)
    bundle = ModelBundle.load(trained.out_dir)

    def make(tier: str) -> CustomerContext:
        cid = scored.frame.loc[scored.frame["tier"] == tier, "customer_id"].iloc[3]
        return CustomerContext(
            profile=store.get(cid),
            meta=store.meta(),
            narrator=TemplateNarrator(),
            bundle=bundle,
            similar=lambda k: [],
            population_churn=0.7,
        )

    yield make
    store.close()


@pytest.mark.parametrize(
    ("question", "words"),
    [
        ("how much did they spend in Q9 of 2024?", "q9 of 2024"),
        ("how much did they spend in Q0 2025?", "q0 2025"),
        ("how much did they spend in week 53 of 2025?", "week 53 of 2025"),
        ("how much did they spend in the first half of 0?", "first half of 0"),
        ("how much did they spend in the last 0 days?", "last 0 days"),
        ("FY2024 spend?", "fy2024"),
    ],
)
def test_the_answer_says_the_period_is_unread_before_the_spend_to_date(ctx_for, question, words):
    assert route(question).intent == "spend_period"
    a = answer(question, ctx_for("High"))
    assert a.intent == "spend_period" and a.spend.start is None and a.spend.after_data is None
    assert a.answer.startswith(f'I could not read the period in the question ("{words}")') and a.check.passed
    assert "to date" in a.answer
