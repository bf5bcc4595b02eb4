"""The period a spend question asks about ("last year", "in March 2025", "the last 3 months"), in any of the
router's languages, relative to the data cutoff."""

from __future__ import annotations

import re

import pandas as pd

_MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("january", "januar", "janvier", "enero", "januari", "gennaio"),
            ("february", "februar", "fevrier", "febrero", "februari", "febbraio"),
            ("march", "marz", "mars", "marzo", "maart"),
            ("april", "avril", "abril", "aprile"),
            ("may", "mai", "mayo", "mei", "maggio"),
            ("june", "juni", "juin", "junio", "giugno"),
            ("july", "juli", "juillet", "julio", "luglio"),
            ("august", "aout", "agosto", "augustus"),
            ("september", "septembre", "septiembre", "settembre"),
            ("october", "oktober", "octobre", "octubre", "ottobre"),
            ("november", "novembre", "noviembre"),
            ("december", "dezember", "decembre", "diciembre", "dicembre"),
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
    "twelve": 12,
    "ein": 1,
    "zwei": 2,
    "drei": 3,
    "sechs": 6,
    "zwolf": 12,
}


# (words, start or None for 'to date', end, rolling): what parse_period returns.
Period = tuple[str, pd.Timestamp | None, pd.Timestamp, bool]


def parse_period(question: str, cutoff: pd.Timestamp) -> tuple[str, pd.Timestamp | None, pd.Timestamp, bool]:
    """(words, start or None for 'to date', end, rolling) of the period a spend question asks about; relative to the
    cutoff.

    'last year' is the last complete calendar year at the cutoff (the cutoff's own year when the data end on 31
    December); 'this year' the cutoff's year to date; 'last N days/weeks/months' a rolling window ending at the cutoff;
    'last month' / 'last quarter' the last complete calendar month / quarter; a year ('in 2024') or a month ('in March
    2025') that one.
    """
    from service.intents import fold

    q = fold(question)
    end = cutoff.normalize()
    # a named month or year first, then a period counted back from the cutoff, else everything to date
    return _calendar_period(q, cutoff, end) or _relative_period(q, cutoff, end) or ("to date", None, end, False)


def _calendar_period(q: str, cutoff: pd.Timestamp, end: pd.Timestamp) -> Period | None:
    """A named month ('in March 2025') or year ('in 2024'), up to the cutoff; None when the question names neither."""
    m = re.search(r"\b(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\b(?:\s+((?:19|20)\d\d))?", q)
    if m and not re.search(r"\bmay (i|we|he|she|they)\b", q):
        month = _MONTHS[m.group(1)]
        year = int(m.group(2)) if m.group(2) else (cutoff.year if month <= cutoff.month else cutoff.year - 1)
        start = pd.Timestamp(year=year, month=month, day=1, tz=cutoff.tz)
        stop = min(start + pd.offsets.MonthEnd(0), end)
        return f"{start.strftime('%B %Y')}", start, stop, False
    years = re.findall(r"\b((?:19|20)\d\d)\b", q)
    if years:
        y = int(years[-1])
        start = pd.Timestamp(year=y, month=1, day=1, tz=cutoff.tz)
        stop = min(pd.Timestamp(year=y, month=12, day=31, tz=cutoff.tz), end)
        return (
            (f"{y} (calendar year)" if stop.month == 12 and stop.day == 31 else f"{y} up to {stop.date()}"),
            start,
            stop,
            False,
        )
    return None


def _relative_period(q: str, cutoff: pd.Timestamp, end: pd.Timestamp) -> Period | None:
    """'last N days/weeks/months', 'this year', 'last quarter', 'last month' or 'last year' at the cutoff; None for
    none of these."""
    day = pd.Timedelta(days=1)
    full_year = (cutoff.month, cutoff.day) == (12, 31)
    n = re.search(
        r"\b(?:last|past|previous|letzten|vergangenen|derniers?|dernieres?|ultimos?|ultime|ultimi|afgelopen|laatste)\s+"
        r"(\d+|" + "|".join(_NUM_WORDS) + r")\s+(\w+)",
        q,
    )
    if n and n.group(2) in _UNIT_DAYS:
        k = int(n.group(1)) if n.group(1).isdigit() else _NUM_WORDS[n.group(1)]
        days = k * _UNIT_DAYS[n.group(2)]
        unit = {1: "day", 7: "week", 30: "month", 365: "year"}[_UNIT_DAYS[n.group(2)]]
        return (
            f"the last {k} {unit}{'s' if k != 1 else ''} (to {end.date()})",
            end - pd.Timedelta(days=days) + day,
            end,
            True,
        )
    if re.search(
        r"\b(this year|dieses jahr|diesem jahr|cette annee|este ano|dit jaar|quest anno|year to date|ytd)\b", q
    ):
        start = pd.Timestamp(year=cutoff.year, month=1, day=1, tz=cutoff.tz)
        return f"{cutoff.year} up to {end.date()}", start, end, False
    if re.search(
        r"\b(last|previous|letzten|vorigen|dernier|ultimo|vorige|scorso) (quarter|quartal|trimestre|kwartaal)\b", q
    ):
        q_end = (cutoff + pd.offsets.QuarterEnd(0)).normalize()
        if q_end > end:
            q_end = (cutoff - pd.offsets.QuarterEnd(1)).normalize()
        start = (q_end - pd.offsets.QuarterBegin(1, startingMonth=1)).normalize()
        return f"the quarter {start.date()} to {q_end.date()}", start, q_end, False
    if re.search(
        r"\b(last|previous|letzten|vorigen|dernier|mes pasado|vorige maand|mese scorso)\s*(month|monat|mois|maand)?\b",
        q,
    ) and re.search(r"\b(month|monat|mois|mes|maand|mese)\b", q):
        m_end = (cutoff + pd.offsets.MonthEnd(0)).normalize()
        if m_end > end:
            m_end = (cutoff - pd.offsets.MonthEnd(1)).normalize()
        start = m_end.replace(day=1)
        return start.strftime("%B %Y"), start, m_end, False
    if re.search(
        r"\b(last year|last yr|previous year|letztes jahr|letzten jahr|vorjahr|annee derniere|l annee derniere|"
        r"ano pasado|"
        r"vorig jaar|anno scorso|past year)\b",
        q,
    ):
        y = cutoff.year if full_year else cutoff.year - 1
        start = pd.Timestamp(year=y, month=1, day=1, tz=cutoff.tz)
        return f"{y} (calendar year)", start, pd.Timestamp(year=y, month=12, day=31, tz=cutoff.tz), False
    return None
