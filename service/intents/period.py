"""The period a spend question asks about ("last year", "in March 2025", "the last 3 months", "Q3", "since January",
"between March and June"), in any of the router's languages, relative to the data cutoff.

A period the question names but this module cannot read ("since Christmas") or one after the data end ("next month")
is reported as such (``unread_period``, ``future_period``), so the answer never passes spend to date off as it.
"""

from __future__ import annotations

import re

import pandas as pd

from service.intents.iso_dates import RANGE_FROM, dates_as_iso, year_in_full
from service.intents.normalise import fold
from service.privacy import INVISIBLE

# month names and their usual abbreviations ("Mar 2025", "Okt."), in the languages the router reads
_MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("january", "januar", "janvier", "enero", "januari", "gennaio", "jan", "janv", "ene", "genn"),
            ("february", "februar", "fevrier", "febrero", "februari", "febbraio", "feb", "febr", "fevr"),
            ("march", "marz", "mars", "marzo", "maart", "mar", "mrz", "mrt"),
            ("april", "avril", "abril", "aprile", "apr", "avr"),
            ("may", "mai", "mayo", "mei", "maggio"),
            ("june", "juni", "juin", "junio", "giugno", "jun"),
            ("july", "juli", "juillet", "julio", "luglio", "jul", "juil"),
            ("august", "aout", "agosto", "augustus", "aug"),
            ("september", "septembre", "septiembre", "settembre", "sep", "sept"),
            ("october", "oktober", "octobre", "octubre", "ottobre", "oct", "okt", "ott"),
            ("november", "novembre", "noviembre", "nov"),
            ("december", "dezember", "decembre", "diciembre", "dicembre", "dec", "dez", "dic"),
        ],
        1,
    )
    for m in names
}
_UNIT_DAYS = {
    "day": 1,
    "days": 1,
    "tag": 1,
    "tage": 1,
    "tagen": 1,
    "jour": 1,
    "jours": 1,
    "dia": 1,
    "dias": 1,
    "dag": 1,
    "dagen": 1,
    "giorni": 1,
    "week": 7,
    "weeks": 7,
    "woche": 7,
    "wochen": 7,
    "semaine": 7,
    "semaines": 7,
    "semana": 7,
    "semanas": 7,
    "weken": 7,
    "settimane": 7,
    "month": 30,
    "months": 30,
    "monat": 30,
    "monate": 30,
    "monaten": 30,
    "mois": 30,
    "mes": 30,
    "meses": 30,
    "maand": 30,
    "maanden": 30,
    "mesi": 30,
    "year": 365,
    "years": 365,
    "jahr": 365,
    "jahre": 365,
    "jahren": 365,
    "an": 365,
    "ans": 365,
    "ano": 365,
    "anos": 365,
    "jaar": 365,
    "anni": 365,
}
_NUM_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "six": 6,
    "five": 5,
    "twelve": 12,
    "eighteen": 18,
    "twenty four": 24,
    "ein": 1,
    "zwei": 2,
    "drei": 3,
    "sechs": 6,
    "zwolf": 12,
    "vier": 4,
    "funf": 5,
    "deux": 2,
    "trois": 3,
    "quatre": 4,
    "douze": 12,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "seis": 6,
    "doce": 12,
    "twee": 2,
    "drie": 3,
    "zes": 6,
    "twaalf": 12,
    "due": 2,
    "tre": 3,
    "quattro": 4,
    "sei": 6,
    "dodici": 12,
}


# (words, start or None for 'to date', end, rolling): what parse_period returns.
Period = tuple[str, pd.Timestamp | None, pd.Timestamp, bool]

_ORDINALS = {
    w: i
    for i, words in enumerate(
        [
            ("first", "1st", "erste", "ersten", "erstes", "premier", "1er", "primer", "primero", "eerste", "primo"),
            ("second", "2nd", "zweite", "zweiten", "zweites", "deuxieme", "2e", "segundo", "tweede", "secondo"),
            ("third", "3rd", "dritte", "dritten", "troisieme", "3e", "tercer", "tercero", "derde", "terzo"),
            ("fourth", "4th", "vierte", "vierten", "quatrieme", "4e", "cuarto", "vierde", "quarto"),
        ],
        1,
    )
    for w in words
}
_QUARTER = r"(?:quarter|quartal|trimestre|kwartaal)"
_HALF = r"(?:half|halbjahr|semestre|halfjaar)"
_YEAR = r"((?:19|20)\d\d)"
_MONTH = r"(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")"
_OF_YEAR = r"(?:\s+(?:of\s+|de\s+|del\s+|van\s+)?(?:the\s+year\s+)?" + _YEAR + r")?"
# 'the third quarter (of 2024)', 'quarter 3', '3. Quartal': groups (ordinal, number, number, year)
_NAMED_QUARTER = re.compile(
    rf"\b(?:({'|'.join(_ORDINALS)})\s+{_QUARTER}|{_QUARTER}\s+([1-4])|([1-4])\.\s*{_QUARTER}){_OF_YEAR}\b"
)
# what a period after 'since', 'between' or 'to' begins with (after an article): a month, a year, a quarter, a half
_STARTS_PERIOD = re.compile(
    rf"(?:(?:the|dem|den|der|le|la|el|de|het|il)\s+)?(?:{_MONTH[1:-1]}|(?:19|20)\d\d|q[1-4]|h[12]|"
    rf"{'|'.join(_ORDINALS)}|[1-4]\.|quarter|start|beginning)\b"
)
_SINCE = r"(?:since|seit|depuis|desde|sinds|dal|dall|from)"
_UNTIL = r"(?:to|until|till|through|thru|and|bis|und|et|a|au|jusqu a|hasta|y|tot|en|al|e|-|–)"
_FUTURE = re.compile(
    r"\b(next|coming|upcoming|naechste|nachsten|nachste|kommende|prochain|prochaine|proximo|proxima|volgende|"
    r"prossimo|prossima)\s+(\d+\s+)?(week|weeks|month|months|quarter|year|years|\w*jahr|mois|annee|mes|meses|ano|"
    r"maand|jaar|mese|anno|quartal|trimestre)\b"
)
# a question about what someone will do: a period it names ("in March", "in Q1") is the next one, after the data
_FUTURE_TENSE = re.compile(
    r"\b(?:will|won't|wont|going to|gonna|shall|expected|forecast|predicted|wird|werden|vont|sera|seront|zal|zullen|"
    r"sara|saranno|va a|van a)\b|\w'll\b"
)
# A fiscal year ("FY2024", "fiscal 2024"): it starts in a month that differs between companies, so it is never read as
# a calendar year; the answer says it could not read it and which periods it can.
_FISCAL = re.compile(
    r"\b(?:fy\s?'?\d{2,4}|fiscal(?: year)?(?:\s+'?\d{2,4})?|financial year|geschaftsjahr\w*|exercice(?: fiscal)?|"
    r"ano fiscal|ejercicio(?: fiscal)?|boekjaar|anno fiscale|esercizio)\b"
)


def names_fiscal_year(question: str) -> bool:
    """Whether the question names a fiscal year (a spend question this module cannot read)."""
    return _FISCAL.search(fold(question)) is not None


# words that say a question names a period, for telling an unread period from none
_PERIOD_WORDS = re.compile(
    r"\b(?:since|between|during|seit|zwischen|depuis|entre|desde|sinds|tussen)(?:\s+[a-z0-9-]+){1,2}|"
    r"\b(?:week|weekend|quarter|half|season|christmas|xmas|holidays?|black friday|summer|winter|spring|autumn|fall|"
    r"easter|yesterday|today|woche|weihnachten|semaine|noel|semana|navidad|kerst|settimana|natale)\b|"
    r"\b\d{4}-\d\d-\d\d\b|"
    # a year or a length the readers do not take ("in 99999999999", "the last 1e3 days")
    r"\b(?:in|during|since|im|seit|en|depuis|desde|nel|dal)\s+\d{5,}\b|"
    r"\b(?:last|past|previous)\s+\S*\d\S*\s+(?:days?|weeks?|months?|years?)\b|" + _FISCAL.pattern
)


_LAST = r"(?:last|past|previous|letzten|vergangenen|derniers?|dernieres?|ultimos?|ultime|ultimi|afgelopen|laatste)"
_OF = r"(?:of|de|del|van)"
_SUFFIX = r"(?:st|nd|rd|th|e|er|eme|o|a|\.)"  # 5th, 5e, 5eme, 5o, 5.
_WEEK = r"(?:week|woche|semaine|semana|settimana|kw)"
_A_YEAR = rf"(?:\s+(?:{_OF}\s+)?\d{{4}})?"
# Named periods that do not exist, or that this module does not read, and that the patterns above would otherwise read
# as another period: 'Q9 of 2024' as the year 2024, 'the first half of 0' as the latest first half, 'the last 0 days' as
# a period after the data. Each is an unread period, which the answer says it could not read.
_PAST_PREPOSITIONS = (
    "in during since between from to until till through im seit zwischen bis au en depuis entre desde hasta sinds "
    "tussen tot nel dal tra"
)
# lookbehinds, so that the words said unread are the period's own ('q9', not 'in q9')
_PAST_PREP = "(?:^|" + "|".join(rf"(?<=\b{w}\s)" for w in _PAST_PREPOSITIONS.split()) + ")"
_NUMBERED = [  # (pattern whose one matched group is the number, the highest that exists)
    # Q0, Q5; H3: after a preposition or before a year only, as 'the H7 bulbs' names no period
    (re.compile(rf"{_PAST_PREP}q(\d{{1,2}})\b{_A_YEAR}|\bq(\d{{1,2}})\s+(?:of\s+)?\d{{4}}\b"), 4),
    (re.compile(rf"{_PAST_PREP}h(\d{{1,2}})\b{_A_YEAR}|\bh(\d{{1,2}})\s+(?:of\s+)?\d{{4}}\b"), 2),
    (re.compile(rf"\b{_QUARTER}\s+(\d{{1,2}})\b{_A_YEAR}|\b(\d{{1,2}}){_SUFFIX}\s*{_QUARTER}\b{_A_YEAR}"), 4),
    (re.compile(rf"\b(\d{{1,2}}){_SUFFIX}\s*{_HALF}\b{_A_YEAR}"), 2),
]
# a numbered week ('week 53 of 2025', 'KW 12', 'the 3rd week'): this module reads 'this week' and 'last week' only
_NUMBERED_WEEK = re.compile(
    rf"\b{_WEEK}\s+(?:no\.?\s*|nr\.?\s*|#\s*)?\d{{1,2}}\b{_A_YEAR}|\b\d{{1,2}}{_SUFFIX}\s*{_WEEK}\b"
)
# the year of a named period, or 'the year N', that is no year this module reads: 0, 1650, 'of 24'
_PERIOD_YEAR = re.compile(
    rf"\b(?:q\d|h\d|(?:(?:{'|'.join(_ORDINALS)})\s+)?(?:{_QUARTER}|{_HALF})|{_MONTH[1:-1]}|"
    r"(?:in|im|of|the)\s+(?:year|jahr|annee|ano|jaar|anno))\s+"
    rf"(?:({_OF})\s+)?(?:the\s+year\s+)?(\d+)\b(?![.,:/]\d)"
)
_IN_YEAR = re.compile(
    r"\b(?:in|during|since|im|seit|wahrend|depuis|desde|durante|sinds|tijdens|nel|dal)\s+(\d{4})\b(?![.,:/]\d)"
)
# a rolling period of no length or less: 'the last 0 days', 'the past -3 months'
_NO_LENGTH = re.compile(rf"\b{_LAST}\s+([-\u2212]\s*\d+|\d+|zero|null|cero|nul)\s+(\w+)")
# a part of a year that the period readers did not read: 'the fifth quarter of 2024', 'the last month of 2024'
_PART_OF_A_YEAR = re.compile(
    rf"\b(?:\d{{1,2}}{_SUFFIX}?|{'|'.join(_ORDINALS)}|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|funfte|"
    rf"funften|cinquieme|quinto|vijfde|last|final|letzte|letzten|dernier|derniere|ultimo|ultima|laatste)\s+"
    rf"(?:{_QUARTER}|{_HALF}|{_WEEK}|month|monat|mois|mes|maand|mese)\s+(?:{_OF}\s+)?(?:the\s+year\s+)?{_YEAR}\b"
)


# "the week of 2025-12-22": the Monday-to-Sunday week that holds that day; "the week starting (from, beginning,
# commencing) 2025-12-24": seven days from it. Only an ISO date is read there; "the week of December 22" is unread (it
# would otherwise be read as the month).
_WEEK_OF = re.compile(
    rf"\b{_WEEK}\s+(?:(of|du|de|del|vom|van|della)|from|starting|beginning|commencing|dal|ab)\s+(?:the\s+)?"
    r"((?:19|20)\d\d-\d\d-\d\d\b|[^?.!,;]{1,30})"
)


# "on December 29" / "am 11. Februar": a day, not the month (which "in March 15" still reads as, a count may follow a
# month there); with its year given ("December 29, 2025"), a day whatever word comes before
_ON_DAY = re.compile(r"\b(?:on|am|le|el|op|il|del|vom)\s+(?:the\s+)?$", re.I)


def _named_day_period(question: str, cutoff: pd.Timestamp) -> Period | None:
    """One day named with its month's name ('on December 29, 2025', 'am 11. Februar'); without a year, the latest such
    day by the cutoff. None when the question names none, or a day no month has (read as the month, as before)."""
    from service.claim_dates import dates_in  # the one reader of dates in words, shared with the fact check

    for d in dates_in(question):
        if d.day is None or (d.year is None and not _ON_DAY.search(question[: d.start])):
            continue
        try:
            day = pd.Timestamp(year=d.year or cutoff.year, month=d.month, day=d.day, tz=cutoff.tz)
            if d.year is None and day > cutoff:
                day = pd.Timestamp(year=cutoff.year - 1, month=d.month, day=d.day, tz=cutoff.tz)
        except ValueError:
            return None
        return day.date().isoformat(), day, day, False
    return None


def _week_of_period(q: str, end: pd.Timestamp) -> Period | None:
    m = _WEEK_OF.search(q)
    if m is None or not re.fullmatch(r"(?:19|20)\d\d-\d\d-\d\d", m.group(2)):
        return None
    try:
        day = pd.Timestamp(m.group(2), tz=end.tz)
    except ValueError:
        return None
    start = day - pd.Timedelta(days=day.day_of_week) if m.group(1) else day
    stop = start + pd.Timedelta(days=6)
    return f"the week {start.date()} to {stop.date()}", start, stop, False


_NO_DAY = re.compile(r"(?<![\d./-])(?!(?:19|20)\d\d-\d\d-\d\d\b)\d{1,4}[./-]\d{1,2}[./-]\d{1,4}(?![\d./-]?\d)")
_BEFORE = re.compile(
    r"\b(?:before|prior to|earlier than|vor|avant|antes de|antes del|prima del?|prima di|voor|vóór)\s+(?:the\s+)?"
    r"(?:start of\s+|end of\s+|beginning of\s+)?(?:\d{4}\b|q[1-4]\b|h[12]\b|"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|januar|februar|marz|janvier|fevrier|mars|avril|mai|juin|juillet|aout|enero|febrero|marzo|abril|mayo|junio|"
    r"julio|agosto|gennaio|febbraio|aprile|maggio|giugno|luglio|januari|februari|maart|mei|juni|juli|augustus|janeiro|"
    r"fevereiro|marco|maio|junho|julho)\w*)"
)


def _no_such_period(q: str, cutoff: pd.Timestamp) -> str | None:
    """The words of a period the folded question names that does not exist or that this module does not read (see
    _NUMBERED and below); None when it names none."""
    fiscal = _FISCAL.search(q)
    if fiscal is not None:  # "in fiscal 2024" is no calendar year 2024
        return fiscal.group(0)
    # a date in numbers that is no day ("31/31/2025", "2025/02/29": left as written by dates_as_iso), which the readers
    # would take as its year
    bad_day = _NO_DAY.search(q)
    if bad_day is not None:
        return bad_day.group(0)
    # everything before a point ("before 2025", "prior to March"): an open start this module does not read; read as
    # the year or the month it names, it had been answered for that very period
    before = _BEFORE.search(q)
    if before is not None:
        return before.group(0)
    for pattern, highest in _NUMBERED:
        for m in pattern.finditer(q):
            n = int(next(g for g in m.groups() if g is not None))
            if not 1 <= n <= highest:
                return m.group(0).strip()
    if week := _NUMBERED_WEEK.search(q):
        return week.group(0)
    week_of = _WEEK_OF.search(q)
    if week_of is not None and _week_of_period(q, cutoff) is None:
        return week_of.group(0).strip()
    for m in _PERIOD_YEAR.finditer(q):
        of, number = m.groups()
        # a day ('March 15') or a count ('Q3 2 orders') may follow a period; only a 4-digit number, 0 or a number
        # after 'of' / 'the year' is its year
        if not re.fullmatch(_YEAR, number) and (of or "year" in m.group(0) or int(number) == 0 or len(number) == 4):
            return m.group(0)
    for m in _IN_YEAR.finditer(q):
        if not re.fullmatch(_YEAR, m.group(1)):
            return m.group(0)
    rolling = _NO_LENGTH.search(q)
    if rolling and rolling.group(2) in _UNIT_DAYS:
        k = rolling.group(1).replace("\u2212", "-").replace(" ", "")
        if not k[-1].isdigit() or int(k) <= 0:  # 'zero', '0', '-3'
            return rolling.group(0)
    for m in _PART_OF_A_YEAR.finditer(q):
        point = _point(m.group(0), cutoff)
        if point is not None and re.fullmatch(_YEAR, point[0]):  # read as the bare year: the part was not read
            return m.group(0)
    return None


_FORTNIGHT = re.compile(r"\b(?:a |one )?fortnight\b")
# "the last two quarters" / "die letzten 2 Quartale" / "the past half year" are read as that many months
_QUARTERS = re.compile(
    rf"\b({_LAST})\s+(\d+|{'|'.join(_NUM_WORDS)})\s+(?:quarters?|quartale?n?|trimestres?|trimestri|kwartalen|kwartaal)\b"
)
# "les trois derniers mois", "los tres ultimos meses": the count before "last", with a unit in the plural (never "2 last
# week", which is a count of orders)
_COUNT_FIRST = re.compile(
    rf"\b(\d+|{'|'.join(_NUM_WORDS)})\s+({_LAST})\b(?=\s+(?:days|jours|dias|giorni|dagen|tage|tagen|weeks|semaines|"
    r"semanas|settimane|weken|wochen|months|mois|meses|mesi|maanden|monate|monaten|years|ans|anos|anni|jaren|jahre|"
    r"jahren|quarters|trimestres|trimestri|kwartalen|quartale|quartalen)\b)"
)
_HALF_YEAR = re.compile(r"\b(?:last|past|previous)\s+half[- ]?year\b")


# a year of two digits after a month, quarter or half ("Mar '25", "Q3 '24"): '97 is 1997, '25 is 2025
_SHORT_YEAR = re.compile(rf"\b({_MONTH[1:-1]}|q[1-4]|h[12])\.?\s*'(\d\d)\b")
_ABBREVIATED = re.compile(rf"\b({_MONTH[1:-1]})\.")  # "Sept. 2024" read as "sept 2024"


def _four_digit_year(m: re.Match) -> str:
    return f"{m.group(1)} {year_in_full(m.group(2))}"


def _read_form(question: str) -> str:
    """The question folded, dates with a day as ISO dates, a year of two digits in four, a fortnight as 2 weeks,
    quarters or a half year as months (what the readers take); invisible characters are gone first (a zero-width space
    before the dash of "1/2/25 - 15/4/25" had left the range read as its first day)."""
    q = _ABBREVIATED.sub(r"\1", _SHORT_YEAR.sub(_four_digit_year, fold(dates_as_iso(INVISIBLE.sub("", question)))))
    q = _COUNT_FIRST.sub(lambda m: f"{m.group(2)} {m.group(1)}", _FORTNIGHT.sub("2 weeks", q))
    return _in_months(q)


def _in_months(q: str) -> str:
    """``q`` with a number of quarters or a half year written as months ("last 2 quarters" -> "last 6 months")."""
    q = _QUARTERS.sub(lambda m: f"{m.group(1)} {3 * _count(m.group(2))} months", q)
    return _HALF_YEAR.sub("last 6 months", q)


def _count(word: str) -> int:
    return int(word) if word.isdigit() else _NUM_WORDS[word]


def parse_period(question: str, cutoff: pd.Timestamp) -> Period:
    """(words, start or None for 'to date', end, rolling) of the period a spend question asks about; relative to the
    cutoff.

    'last year' is the last complete calendar year at the cutoff (the cutoff's own year when the data end on 31
    December); 'this year' / 'this quarter' / 'this month' / 'this week' that period to the cutoff; 'last N
    days/weeks/months' and 'the past year' a rolling window ending at the cutoff; 'last month' / 'last quarter' / 'last
    week' the last complete calendar month / quarter / week (Monday to Sunday); a year ('in 2024'), a quarter ('Q3',
    'the third quarter of 2024'), a half ('H1', 'the first half'), a month ('in March 2025') that one; 'since X' from
    the start of X to the cutoff; 'between X and Y' from the start of X to the end of Y. A month, quarter or half
    without a year is the latest one that has begun by the cutoff. Every period ends at the cutoff at the latest.
    """
    question = INVISIBLE.sub("", question)  # as the agent sees it: also for the day read from the words as written
    q = _read_form(question)
    end = cutoff.normalize()
    if _no_such_period(q, cutoff) is not None:  # never read as another period: unread_period names it
        return ("to date", None, end, False)
    found = (
        _week_of_period(q, end)
        or _range_period(q, cutoff, end)
        or _since_period(q, cutoff, end)
        or _named_day_period(question, cutoff)
        or _calendar_period(q, cutoff, end)
        or _relative_period(q, cutoff, end)
    )
    if found is None:
        return ("to date", None, end, False)
    words, start, stop, rolling = found
    return words, start, min(stop, end), rolling


def future_period(question: str) -> str | None:
    """The words of a period after the data that the question asks about: "next month", or a period named in a
    question about what someone will do ("how much will she spend in March?"); None when it names none."""
    q = fold(question)
    m = _FUTURE.search(q)
    if m:
        return m.group(0)
    if _FUTURE_TENSE.search(q) and parse_period(q, pd.Timestamp.now(tz="UTC"))[1] is not None:
        return "the period asked about"
    return None


def names_period(question: str) -> bool:
    """Whether the question names a period of the past this module can read ("in Q3", "since March", "last week")."""
    q = _read_form(question)
    # the same test as future_period, with the question read once (the router asks this of every question and part)
    if _FUTURE.search(q) or _FUTURE_TENSE.search(q):
        return False
    return parse_period(q, pd.Timestamp.now(tz="UTC"))[1] is not None


def unread_period(question: str, cutoff: pd.Timestamp) -> str | None:
    """The period words of a question that ``parse_period`` could not read ("since Christmas"); None when the question
    names no period or a readable one."""
    q = _read_form(question)
    if parse_period(question, cutoff)[1] is not None:
        return None
    missing = _no_such_period(q, cutoff)
    if missing is not None:
        return missing
    m = _PERIOD_WORDS.search(q)
    return m.group(0) if m else None


def _latest(make, cutoff: pd.Timestamp, year: int | None) -> pd.Timestamp:
    """The start of a period made by ``make(year)``: in ``year`` when given, else the latest that began by the
    cutoff."""
    if year is not None:
        return make(year)
    start = make(cutoff.year)
    return start if start <= cutoff else make(cutoff.year - 1)


def _point(text: str, cutoff: pd.Timestamp) -> tuple[str, pd.Timestamp, pd.Timestamp] | None:
    """(words, first day, last day) of the one period ``text`` names: a date, a quarter, a half, a month or a year."""
    tz = cutoff.tz
    m = re.search(r"\b((?:19|20)\d\d)-(\d\d)-(\d\d)\b", text)
    if m:
        try:
            day = pd.Timestamp(year=int(m.group(1)), month=int(m.group(2)), day=int(m.group(3)), tz=tz)
        except ValueError:  # no such day (2025-02-30): a period this module cannot read, never a crash
            return None
        return day.date().isoformat(), day, day
    quarter = _quarter(text)
    if quarter:
        n, year = quarter
        start = _latest(lambda y: pd.Timestamp(year=y, month=3 * n - 2, day=1, tz=tz), cutoff, year)
        return f"Q{n} {start.year}", start, (start + pd.offsets.QuarterEnd(0)).normalize()
    m = re.search(r"\bh([12])(?:\s+" + _YEAR + r")?\b", text) or re.search(
        r"\b(first|second|1st|2nd|erste|ersten|zweite|zweiten|premier|deuxieme|primer|segundo|eerste|tweede|primo|"
        r"secondo)\s+" + _HALF + _OF_YEAR + r"\b",
        text,
    )
    if m:
        n = int(m.group(1)) if m.group(1).isdigit() else _ORDINALS[m.group(1)]
        year = int(m.group(2)) if m.group(2) else None
        start = _latest(lambda y: pd.Timestamp(year=y, month=6 * n - 5, day=1, tz=tz), cutoff, year)
        stop = (start + pd.offsets.MonthEnd(6)).normalize()
        return f"the {'first' if n == 1 else 'second'} half of {start.year}", start, stop
    m = re.search(r"\b" + _MONTH + r"\b(?:\s+" + _YEAR + r")?", text)
    if m and not re.search(r"\bmay (i|we|he|she|they|be|have)\b", text):
        month = _MONTHS[m.group(1)]
        year = int(m.group(2)) if m.group(2) else None
        start = _latest(lambda y: pd.Timestamp(year=y, month=month, day=1, tz=tz), cutoff, year)
        return start.strftime("%B %Y"), start, (start + pd.offsets.MonthEnd(0)).normalize()
    years = re.findall(r"\b" + _YEAR + r"\b", text)
    if years:
        y = int(years[-1])
        return str(y), pd.Timestamp(year=y, month=1, day=1, tz=tz), pd.Timestamp(year=y, month=12, day=31, tz=tz)
    return None


def _quarter(text: str) -> tuple[int, int | None] | None:
    """(quarter, year or None) of 'Q3', 'Q3 2024', 'the third quarter (of 2024)', 'quarter 3', '3. Quartal'."""
    m = re.search(r"\bq([1-4])(?:\s*(?:of\s+)?" + _YEAR + r")?\b", text)
    if m:
        return int(m.group(1)), int(m.group(2)) if m.group(2) else None
    m = _NAMED_QUARTER.search(text)
    if not m:
        return None
    n = _ORDINALS[m.group(1)] if m.group(1) else int(m.group(2) or m.group(3))
    return n, int(m.group(4)) if m.group(4) else None


def _range_period(q: str, cutoff: pd.Timestamp, end: pd.Timestamp) -> Period | None:
    """'between March and June', 'from Q1 to Q3 2025': from the start of the first to the end of the second. A first
    part without a year takes the second's, a year earlier when it would otherwise come after it."""
    ranges = (re.match(rf"(.+?)\s+{_UNTIL}\s+(.+)", q[w.end() :]) for w in re.finditer(rf"\b(?:{RANGE_FROM})\s+", q))
    m = next((r for r in ranges if r and _STARTS_PERIOD.match(r.group(1)) and _STARTS_PERIOD.match(r.group(2))), None)
    if m is None:
        return None
    second = _point(m.group(2), cutoff)
    first = _point(m.group(1), cutoff)
    if first is None or second is None:
        return None
    _, start, _ = first
    _, stop_start, stop = second
    if not re.search(_YEAR, m.group(1)) and start.year != stop_start.year:
        start = start.replace(year=stop_start.year)
        if start > stop_start:
            start = start.replace(year=stop_start.year - 1)
    if start > stop:  # written end first ("between June 2025 and March 2025"): the same range; it had been read as
        start, stop = stop_start, first[2]  # its first month alone
    if start > stop:
        return None
    stop = min(stop, end)
    return f"{start.date()} to {stop.date()}", start, stop, False


def _since_period(q: str, cutoff: pd.Timestamp, end: pd.Timestamp) -> Period | None:
    """'since January', 'since 2024', 'since Q2', 'since 2025-03-15': from the start of that period to the cutoff."""
    m = re.search(rf"\b{_SINCE}\s+(.+)", q)
    if not m or not _STARTS_PERIOD.match(m.group(1)):
        return None
    year_start = re.match(rf"the\s+(?:start|beginning)\s+of\s+(?:the\s+year|{_YEAR})", m.group(1))
    if year_start:
        start = pd.Timestamp(year=int(year_start.group(1) or cutoff.year), month=1, day=1, tz=cutoff.tz)
    else:
        point = _point(m.group(1), cutoff)
        if point is None:
            return None
        start = point[1]
    if start > end:  # after the data: the answer says so, in the words of the start
        return start.date().isoformat(), start, start, False
    return f"{start.date()} to {end.date()}", start, end, False


def _calendar_period(q: str, cutoff: pd.Timestamp, end: pd.Timestamp) -> Period | None:
    """A named date, quarter, half, month or year ('in Q3 2024', 'in March', 'in 2024'); None when it names none."""
    point = _point(q, cutoff)
    if point is None:
        return None
    words, start, stop = point
    if start > end:
        return words, start, stop, False  # after the data: the answer says so
    if re.fullmatch(r"(?:19|20)\d\d", words):
        words = f"{words} (calendar year)" if stop <= end else f"{words} up to {end.date()}"
    elif stop > end:
        words = f"{words} up to {end.date()}"
    return words, start, stop, False


_EARLIEST = "1700-01-01"  # before any order date the tables accept, within pandas' range


def _relative_period(q: str, cutoff: pd.Timestamp, end: pd.Timestamp) -> Period | None:
    """'last N days/weeks/months', 'the past year', 'this year/quarter/month/week', 'last quarter/month/week' or 'last
    year' at the cutoff; None for none of these."""
    day = pd.Timedelta(days=1)
    full_year = (cutoff.month, cutoff.day) == (12, 31)
    n = re.search(
        rf"\b{_LAST}\s+(\d+|" + "|".join(_NUM_WORDS) + r")\s+(\w+)",
        q,
    )
    if n and n.group(2) in _UNIT_DAYS:
        k = int(n.group(1)) if n.group(1).isdigit() else _NUM_WORDS[n.group(1)]
        days = k * _UNIT_DAYS[n.group(2)]
        unit = {1: "day", 7: "week", 30: "month", 365: "year"}[_UNIT_DAYS[n.group(2)]]
        # "the last 3000 years" reaches before any date the data can hold: it starts at the earliest one instead
        # (pandas cannot go further back, and the sum is the same)
        earliest = pd.Timestamp(_EARLIEST, tz=end.tz)
        start = end - pd.Timedelta(days=days) + day if days < (end - earliest).days else earliest
        return f"the last {k:,} {unit}{'s' if k != 1 else ''} (to {end.date()})", start, end, True
    if re.search(r"\b(?:past|last)\s+(?:twelve|12)\s+months\b|\b(?:the|over|in|during)\s+(?:the\s+)?past year\b", q):
        return f"the last 12 months (to {end.date()})", end - pd.Timedelta(days=365) + day, end, True
    if re.search(
        r"\b(this year|dieses jahr|diesem jahr|cette annee|este ano|dit jaar|quest anno|year to date|ytd)\b", q
    ):
        start = pd.Timestamp(year=cutoff.year, month=1, day=1, tz=cutoff.tz)
        return f"{cutoff.year} up to {end.date()}", start, end, False
    if re.search(r"\b(this " + _QUARTER + r"|dieses quartal|ce trimestre|este trimestre|quarter to date|qtd)\b", q):
        start = (end - pd.offsets.QuarterBegin(1, startingMonth=1)).normalize() if not _quarter_start(end) else end
        return f"Q{(start.month - 1) // 3 + 1} {start.year} up to {end.date()}", start, end, False
    if re.search(
        r"\b(this month|diesen monat|dieser monat|ce mois|este mes|deze maand|questo mese|month to date|mtd)\b", q
    ):
        start = end.replace(day=1)
        return f"{start.strftime('%B %Y')} up to {end.date()}", start, end, False
    if re.search(r"\b(this week|diese woche|cette semaine|esta semana|deze week|questa settimana)\b", q):
        start = end - pd.Timedelta(days=end.day_of_week)
        return f"the week from {start.date()} up to {end.date()}", start, end, True
    if re.search(
        r"\b(last|previous|letzte|vorige|derniere|pasada|vorige|scorsa) (week|woche|semaine|semana|settimana)\b|"
        r"\bsemaine derniere\b|\bsemana pasada\b|\bsettimana scorsa\b",
        q,
    ):
        stop = end - pd.Timedelta(days=end.day_of_week + 1) if end.day_of_week != 6 else end
        start = stop - pd.Timedelta(days=6)
        return f"the week {start.date()} to {stop.date()}", start, stop, True
    if re.search(
        r"\b(last|previous|letzten|vorigen|dernier|ultimo|vorige|scorso) (quarter|quartal|trimestre|kwartaal)\b", q
    ):
        q_end = (cutoff + pd.offsets.QuarterEnd(0)).normalize()
        if q_end > end:
            q_end = (cutoff - pd.offsets.QuarterEnd(1)).normalize()
        start = (q_end - pd.offsets.QuarterBegin(1, startingMonth=1)).normalize()
        return f"the quarter {start.date()} to {q_end.date()}", start, q_end, False
    if re.search(
        r"\b(last|previous|letzten|vorigen|dernier|ultimo|vorige|mes pasado|vorige maand|mese scorso)\s*"
        r"(month|monat|mois|maand)?\b",
        q,
    ) and re.search(r"\b(month|monat|mois|mes|maand|mese)\b", q):
        m_end = (cutoff + pd.offsets.MonthEnd(0)).normalize()
        if m_end > end:
            m_end = (cutoff - pd.offsets.MonthEnd(1)).normalize()
        start = m_end.replace(day=1)
        return start.strftime("%B %Y"), start, m_end, False
    if re.search(
        r"\b(last year|last yr|previous year|letztes jahr|letzten jahr|vorjahr|annee derniere|l annee derniere|"
        r"ano pasado|vorig jaar|anno scorso)\b",
        q,
    ):
        y = cutoff.year if full_year else cutoff.year - 1
        start = pd.Timestamp(year=y, month=1, day=1, tz=cutoff.tz)
        return f"{y} (calendar year)", start, pd.Timestamp(year=y, month=12, day=31, tz=cutoff.tz), False
    return None


def _quarter_start(day: pd.Timestamp) -> bool:
    return day.day == 1 and day.month in (1, 4, 7, 10)
