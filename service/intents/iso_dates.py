"""Dates with a day, as an agent types them ("1/2/24", "01.03.2024", "1 March 2024", "2024-02-01 - 2024-04-15"),
rewritten as ISO dates and ranges, which the period readers (``service.intents.period``) take.

Why: a date range in numbers was read as the whole year its dates name ("vom 01.03.2024 bis 31.05.2024" answered
for 2024), and "between 1 March and 31 May 2024" as its last day alone.
"""

from __future__ import annotations

import re

import pandas as pd

from service.claim_dates import dates_in

# 1-2 digits, a dot, slash or dash, 1-2 digits, the same separator, a year of 2 or 4 digits; not inside a longer number
_NUMERIC = re.compile(r"(?<![\d./-])(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})(?![\d./-]?\d)")
# a year first, with slashes or dots ("2025/02/28", "2025.02.28")
_YEAR_FIRST = re.compile(r"(?<![\d./-])(\d{4})([./])(\d{1,2})\2(\d{1,2})(?![\d./-]?\d)")
_ISO = r"(?:19|20)\d\d-\d\d-\d\d"
# two ISO dates joined by a dash or "to" with no "between" or "from" before them: a range all the same
_BARE_RANGE = re.compile(rf"(?<![\w-])({_ISO})\s*(?:-|\u2013|\u2014|to|until|till|bis|au|al|tot|a)\s*({_ISO})\b", re.I)
# the words that open a range ("between ... and", "vom ... bis"), which the period reader looks for too
RANGE_FROM = r"between|zwischen|entre|tussen|tra|from|von|vom|de|del|du|van|da|dal"
_RANGE_WORD = re.compile(rf"\b(?:{RANGE_FROM}|since|seit)\s*$", re.I)


def year_in_full(yy: str) -> int:
    """'24' -> 2024, '97' -> 1997 (a two-digit year up to next year is this century's), '2024' -> 2024."""
    y = int(yy)
    if len(yy) == 4:
        return y
    return 2000 + y if 2000 + y <= pd.Timestamp.now().year + 1 else 1900 + y


def _iso(year: int, month: int, day: int) -> str | None:
    try:
        return pd.Timestamp(year=year, month=month, day=day).date().isoformat()
    except ValueError:  # no such day: left as written, to be read (or not) as before
        return None


def _numeric(m: re.Match) -> str:
    """Day first ('01.03.2024', '1/2/24' is 1 February), as in every language the router reads but American English,
    whose order ('12/31/2024') is taken where the second number cannot be a month's."""
    a, sep, b, year = int(m.group(1)), m.group(2), int(m.group(3)), year_in_full(m.group(4))
    day, month = (b, a) if sep != "." and b > 12 and a <= 12 else (a, b)
    return _iso(year, month, day) or m.group(0)


def _named(text: str) -> str:
    """Dates with a day and a month's name as ISO; a day without a year takes the year of a later date with one
    ("1 March and 31 May 2024"), a year earlier when it would come after it. A day with no year anywhere is left."""
    found = [d for d in dates_in(text) if d.day is not None]
    out = text
    for i in range(len(found) - 1, -1, -1):
        d, day = found[i], found[i].day or 1
        year = d.year
        later = next((e for e in found[i + 1 :] if e.year is not None), None)
        if year is None and later is not None and later.year is not None:
            year = later.year if (d.month, day) <= (later.month, later.day or 31) else later.year - 1
        iso = _iso(year, d.month, day) if year is not None else None
        if iso is not None:
            out = out[: d.start] + iso + out[d.end :]
    return out


def _range(m: re.Match) -> str:
    before = m.string[: m.start()]
    return m.group(0) if _RANGE_WORD.search(before) else f"from {m.group(1)} to {m.group(2)}"


def dates_as_iso(question: str) -> str:
    """``question`` with its dates that have a day written as ISO dates, and two such dates joined by a dash as a
    range ("from ... to ...")."""
    q = _YEAR_FIRST.sub(lambda m: _iso(int(m[1]), int(m[3]), int(m[4])) or m.group(0), question)
    q = _named(_NUMERIC.sub(_numeric, q))
    return _BARE_RANGE.sub(_range, q)
